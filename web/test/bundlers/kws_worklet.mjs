// An AudioWorkletProcessor running the keyword-spotting model on the first second of its input.
// AudioWorkletGlobalScope has no fetch and no import(): the .wasm and model bytes arrive in
// processorOptions, and wisp.mjs imports the single-threaded glue statically. The audio passes
// through unchanged, so the rendered buffer holds exactly the samples the model saw.
import { Wisp } from '../../src/wisp.mjs';
import { kwsFeatures, WINDOW } from './kws_features.mjs';

class KwsProcessor extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const { wasm, model, variant } = options.processorOptions;
    this.window = new Float32Array(WINDOW);
    this.filled = 0;
    this.started = false;
    this.ready = Wisp.create({ threads: 1, variant, wasmBinary: wasm }).then(async (rt) => ({ rt, model: await rt.load(model) }));
    this.ready.catch((e) => this.port.postMessage({ error: String(e?.stack ?? e) }));
  }

  process(inputs, outputs) {
    const input = inputs[0]?.[0];
    const output = outputs[0]?.[0];
    if (input) {
      output?.set(input);
      const n = Math.min(input.length, WINDOW - this.filled);
      this.window.set(input.subarray(0, n), this.filled);
      this.filled += n;
    }
    if (this.filled === WINDOW && !this.started) {
      this.started = true;
      this.ready.then(({ rt, model }) => {
        const tensor = kwsFeatures(this.window, model.inputs[0].quantization);
        const [out] = model.runSync(tensor);
        this.port.postMessage({
          scope: globalThis.constructor.name, hasFetch: typeof fetch === 'function', variant: { ...rt.variant },
          input: Array.from(tensor), output: Array.from(out.data), dtype: out.dtype,
        });
      }).catch((e) => this.port.postMessage({ error: String(e?.stack ?? e) }));
    }
    return true;
  }
}

registerProcessor('wisp-kws', KwsProcessor);
