// What the demo makes of a model, from its tensor shapes and labels (models carry no task
// metadata yet), plus the tables the overlays need. Plain data in, plain data out: the demo page
// uses it for loaded models and for the model picker (from wisp-server manifests or, on the test
// server, from the .tflite signatures that web/test/server.mjs reads with tfliteSignature).

export const KIND_NAMES = {
  classifier: 'image classifier', segmentation: 'segmentation', pose: 'pose',
  audio: 'keyword spotting', tensor: 'other tensor',
};

// The MLPerf Tiny keyword-spotting classes (Speech Commands v2: 10 words, silence, unknown).
export const KWS_LABELS = ['down', 'go', 'left', 'no', 'off', 'on', 'right', 'stop', 'up', 'yes', '_silence_', '_unknown_'];

// PASCAL VOC 2012 segmentation classes (index = class id) and their usual colour map.
export const VOC_LABELS = ['background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
  'diningtable', 'dog', 'horse', 'motorbike', 'person', 'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor'];

/** The PASCAL VOC colour of class `id` as [r, g, b] (bit-interleaved; background is black). */
export function vocColor(id) {
  const rgb = [0, 0, 0];
  for (let bit = 7, c = id; c; bit--, c >>= 3) {
    for (let k = 0; k < 3; k++) rgb[k] |= ((c >> k) & 1) << bit;
  }
  return rgb;
}

// MoveNet's 17 keypoints (COCO order) and the skeleton drawn between them.
export const KEYPOINTS = ['nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder',
  'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee',
  'left_ankle', 'right_ankle'];
export const SKELETON = [[0, 1], [0, 2], [1, 3], [2, 4], [5, 6], [5, 7], [7, 9], [6, 8], [8, 10], [5, 11], [6, 12],
  [11, 12], [11, 13], [13, 15], [12, 14], [14, 16]];

const isKwsLabels = (labels) => Array.isArray(labels) && ['yes', 'no', 'stop', 'go'].every((w) => labels.includes(w));

/**
 * The kind of a model: 'classifier' | 'segmentation' | 'pose' | 'audio' | 'tensor'.
 *  - audio (keyword spotting): keyword labels, or a [1, T, F] / [1, T, F, 1] feature map (T >= 16
 *    frames of F < 16 features) giving a short vector of scores;
 *  - tensor: any other input that is not one picture ([1,H,W,1|3] or [1,H,W], sides >= 16), e.g.
 *    an anomaly detector's vector: the demo says so instead of feeding it a photo;
 *  - pose: an output [..., K, 3] with K keypoints of (y, x, score);
 *  - segmentation: an output as tall and wide as a fraction of the input ([1,H,W] class ids or
 *    [1,H,W,C] scores);
 *  - classifier: anything else with a vector of scores.
 * @param {{ inputs: { shape: number[] }[], outputs: { shape: number[] }[], labels?: string[] | null }} m
 */
export function modelKind({ inputs, outputs, labels = null }) {
  const s = inputs[0]?.shape ?? [];
  const o = outputs[0]?.shape ?? [];
  const c = s.length === 4 ? s[3] : 1;
  const classes = o.length >= 1 && o.slice(0, -1).every((d) => d === 1) ? o.at(-1) : 0;
  const oneInput = inputs.length === 1 && s[0] === 1;
  if (isKwsLabels(labels)) return 'audio';
  if (oneInput && (s.length === 3 || (s.length === 4 && c === 1)) && s[1] >= 16 && s[2] >= 1 && s[2] < 16 &&
      classes >= 2 && classes <= 64) return 'audio';
  const image = oneInput && (s.length === 4 || s.length === 3) && (c === 1 || c === 3) && s[1] >= 16 && s[2] >= 16;
  if (!image) return 'tensor';
  if (o.length >= 2 && o.at(-1) === 3 && o.at(-2) >= 5 && o.at(-2) <= 133) return 'pose';
  if ((o.length === 3 || o.length === 4) && o[1] >= 8 && o[2] >= 8 && o[1] * 32 >= s[1]) return 'segmentation';
  return 'classifier';
}

const TFLITE_TYPES = ['float32', 'float16', 'int32', 'uint8', 'int64', 'string', 'bool', 'int16', 'complex64', 'int8',
  'float64', 'complex128', 'uint64', 'resource', 'variant', 'uint32', 'uint16', 'int4'];

/**
 * The inputs and outputs ({ name, dtype, shape }) of the first subgraph of a .tflite file, read
 * straight from its FlatBuffer without loading the model; null if the bytes are not a TFLite model.
 * @param {Uint8Array} bytes
 */
export function tfliteSignature(bytes) {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 16 || String.fromCharCode(...bytes.subarray(4, 8)) !== 'TFL3') return null;
  const u32 = (p) => dv.getUint32(p, true);
  // The position of field `i` of the table at `t`, or 0 when the field is absent.
  const field = (t, i) => {
    const vt = t - dv.getInt32(t, true);
    return 4 + 2 * i < dv.getUint16(vt, true) && dv.getUint16(vt + 4 + 2 * i, true) ? t + dv.getUint16(vt + 4 + 2 * i, true) : 0;
  };
  const ref = (p) => p + u32(p);  // follows an offset field
  const vector = (t, i) => {
    const f = field(t, i);
    if (!f) return [];
    const v = ref(f);
    return Array.from({ length: u32(v) }, (_, k) => v + 4 + 4 * k);
  };
  try {
    const model = ref(0);
    const [subgraph] = vector(model, 2).map(ref);
    if (subgraph === undefined) return null;
    const tensors = vector(subgraph, 0).map(ref);
    const describe = (p) => {
      const t = tensors[dv.getInt32(p, true)];
      const type = field(t, 1);
      const name = field(t, 3);
      const str = name ? ref(name) : 0;
      return {
        name: str ? new TextDecoder().decode(bytes.subarray(str + 4, str + 4 + u32(str))) : '',
        dtype: TFLITE_TYPES[type ? dv.getInt8(type) : 0] ?? 'unknown',
        shape: vector(t, 0).map((q) => dv.getInt32(q, true)),
      };
    };
    return { inputs: vector(subgraph, 1).map(describe), outputs: vector(subgraph, 2).map(describe) };
  } catch {
    return null;  // out of bounds: truncated or not a FlatBuffer
  }
}
