// The worker side of Wisp.create({ worker: true }): a runtime in this thread, driven by messages
// from RemoteRuntime (wisp.mjs). worker.mjs runs it in a browser module Worker, node_worker.mjs in
// a worker_threads Worker.
import { _createLocal } from './wisp.mjs';

/** Serves one runtime: post(msg, transfer) answers, onMessage(fn) delivers each request to fn. */
export function serveRuntime(post, onMessage) {
  let runtime = null;
  const models = new Map();
  let nextHandle = 1;

  function reply(id, result, transfer = []) { post({ id, result }, transfer); }

  async function handle(msg) {
    const { id, op } = msg;
    try {
      switch (op) {
        case 'init': {
          runtime = await _createLocal(msg.options ?? {});
          reply(id, { ...runtime.variant });
          return;
        }
        case 'load': {
          if (!runtime) throw new Error('the worker runtime is not initialised');
          const onProgress = (progress) => post({ id, progress });
          const source = msg.bytes ?? msg.blob ?? msg.url;
          const model = await runtime.load(source, { ...msg.options, onProgress });
          const h = nextHandle++;
          models.set(h, model);
          reply(id, { handle: h, inputs: model.inputs, outputs: model.outputs, info: model.info, labels: model.labels, metadata: model.metadata });
          return;
        }
        case 'run': {
          const model = models.get(msg.handle);
          if (!model) throw new Error('this model was disposed');
          const outputs = model.runSync(msg.inputs, msg.options ?? {});
          const transfer = [];
          for (const o of outputs) {
            transfer.push(o.data.buffer);
            if (o.raw) transfer.push(o.raw.buffer);
          }
          reply(id, { outputs, invokeMs: model.lastInvokeMs }, transfer);
          return;
        }
        case 'profile': {
          const model = models.get(msg.handle);
          if (!model) throw new Error('this model was disposed');
          reply(id, model.profileSync({ inputs: msg.inputs, runs: msg.runs }));
          return;
        }
        case 'dispose': {
          models.get(msg.handle)?.dispose();
          models.delete(msg.handle);
          reply(id, true);
          return;
        }
        case 'convert': {
          const out = runtime.convertSync(msg.bytes, msg.options ?? {});
          reply(id, out, [out.buffer]);
          return;
        }
        case 'sha256': {
          reply(id, runtime.sha256HexSync(msg.bytes));
          return;
        }
        case 'resize': {
          const out = runtime.resizeImageSync(msg.pixels, msg.width, msg.height, msg.channels, msg.outWidth, msg.outHeight);
          reply(id, out, [out.buffer]);
          return;
        }
        default:
          throw new Error(`unknown request '${op}'`);
      }
    } catch (e) {
      post({ id, error: e?.message ?? String(e) });
    }
  }

  // Requests run one at a time, in order (a run must not interleave with a load).
  let queue = Promise.resolve();
  onMessage((msg) => { queue = queue.then(() => handle(msg)); });
}
