// Keyword-spotting features for mlperf_tiny_kws_dscnn_int8 (input int8 [1, 49, 10, 1]): one second
// at 16 kHz cut into 49 frames of 40 ms (20 ms hop), each described by the log power (dB) of 10
// Hann-windowed Goertzel bins from 100 Hz to 4 kHz, quantized with the input's scale and zero
// point. Not the MFCCs the model was trained on: a fixed, cheap computation that the AudioWorklet
// and the main thread both run, so their tensors (and the model's outputs) must be equal.
export const SAMPLE_RATE = 16000;
export const WINDOW = 16000;
const FRAME = 640;
const HOP = 320;
const FRAMES = 49;
const BANDS = 10;

export function kwsFeatures(samples, quantization) {
  const scale = quantization.scale[0];
  const zeroPoint = quantization.zeroPoint[0];
  const out = new Int8Array(FRAMES * BANDS);
  for (let f = 0; f < FRAMES; f++) {
    const start = f * HOP;
    for (let b = 0; b < BANDS; b++) {
      const freq = 100 * Math.pow(40, b / (BANDS - 1));
      const coeff = 2 * Math.cos((2 * Math.PI * freq) / SAMPLE_RATE);
      let s1 = 0;
      let s2 = 0;
      for (let n = 0; n < FRAME; n++) {
        const w = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / (FRAME - 1));
        const s0 = samples[start + n] * w + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
      }
      const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
      const db = 10 * Math.log10(power + 1e-10);
      const q = Math.round(db / scale) + zeroPoint;
      out[f * BANDS + b] = Math.max(-128, Math.min(127, q));
    }
  }
  return out;
}
