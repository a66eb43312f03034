// The demo's model kinds (web/demo/kinds.mjs), without a browser or the runtime: the .tflite
// signature read from the FlatBuffer equals every shared model's golden inputs and outputs, and
// each shared model gets the kind the demo shows it as. Also the PASCAL VOC colours.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { SHARED, haveShared, loadManifest } from '../shared.mjs';
import { modelKind, tfliteSignature, vocColor, KWS_LABELS } from '../../demo/kinds.mjs';

const skip = haveShared() ? false : `no shared data at ${SHARED}`;

const KINDS = {
  deeplabv3_mnv2_dm05_pascal_quant: 'segmentation', movenet_single_pose_lightning_ptq: 'pose',
  mlperf_tiny_kws_dscnn_int8: 'audio', mlperf_tiny_kws_dscnn_float: 'audio',
  mlperf_tiny_ad01_int8: 'tensor', mlperf_tiny_ad01_float: 'tensor',
  mlperf_tiny_resnet8_int8: 'classifier', mlperf_tiny_vww_96_int8: 'classifier', mobilenet_v1_0_25_128_quant: 'classifier',
  tf2_mobilenet_v2_1_0_224_ptq: 'classifier', keras_lstm_mnist_ptq: 'classifier',  // an MNIST classifier over 28×28 rows
};

test('tfliteSignature equals the goldens\' inputs and outputs; each shared model has its kind', { skip }, () => {
  const seen = new Set();
  const kinds = {};
  for (const c of loadManifest().cases) {
    if (seen.has(c.model)) continue;
    seen.add(c.model);
    const sig = tfliteSignature(fs.readFileSync(path.join(SHARED, c.model)));
    const io = (ts) => ts.map((t) => ({ dtype: t.dtype, shape: t.shape }));
    assert.deepEqual(io(sig.inputs), io(c.inputs), c.model);
    assert.deepEqual(io(sig.outputs), io(c.outputs), c.model);
    const key = path.basename(c.model, '.tflite').replace(/\./g, '_');
    kinds[key] = modelKind(sig);
  }
  for (const [key, kind] of Object.entries(KINDS)) assert.equal(kinds[key], kind, key);
  assert.equal(tfliteSignature(new Uint8Array(64)), null);
  assert.equal(tfliteSignature(new TextEncoder().encode('xxxxTFL3 but truncated')), null);
});

test('modelKind: keyword labels make a model audio; VOC colours', () => {
  const vector = { inputs: [{ shape: [1, 64] }], outputs: [{ shape: [1, 12] }] };
  assert.equal(modelKind(vector), 'tensor');
  assert.equal(modelKind({ ...vector, labels: KWS_LABELS }), 'audio');
  assert.deepEqual([vocColor(0), vocColor(1), vocColor(8), vocColor(15), vocColor(20)],
    [[0, 0, 0], [128, 0, 0], [64, 0, 0], [192, 128, 128], [0, 64, 128]]);
});
