// Where a browser cold start of the package waits: one fresh headless-Chromium page per round, the
// package imported, created (1 thread, relaxed) and loading a model by URL, with a timeline of the
// load phase measured in the page: the calls into the WebAssembly core longer than 0.5 ms (the
// download-time warm-up, wisp_model_load, ...) and the body reads of the model's download (their
// count, the first and the last), from the moment Wisp.create() resolved. A tool for deciding what
// to work on, as bench/profile_browser.mjs is for steady state; not a comparison, not a test.
//
//   node bench/cold_timeline.mjs [--rounds 6] [--model tf2_mobilenet_v2_1.0_224_ptq] [--src]
//     --src: import web/src/wisp.mjs instead of the bundle web/dist/wisp.bundle.mjs
//
// Finding (2026-12-07, Chromium 156, 2 cores, tf2_mobilenet_v2 from the test server on loopback):
// the 4 MB body comes in 2-3 reads of about 2 MB (Chromium's body data pipe), and the network
// side does not move on while the page's main thread is busy and the pipe is full. So work moved
// into the download (the warm-up, or pre-faulting heap pages that the load writes later: 8 MB
// took 4-5 ms and made wisp_model_load 4-5 ms shorter) delays the last read by as much as it
// saves; on two cores only less work in total shortens a cold start. Typical quiet round: headers
// and warm-up at 5-7 ms (7-14 ms of warm-up), first read 3-8 ms after the warm-up, last read 6-12
// ms later, wisp_model_load 17-21 ms, then 2-4 ms of JavaScript reading the model's description.
import { arg, argv, launchChromium, startServer } from './lib/browser_kit.mjs';

const rounds = Math.max(1, Number(arg('--rounds', 6)));
const model = arg('--model', 'tf2_mobilenet_v2_1.0_224_ptq');
const moduleUrl = argv.includes('--src') ? '/src/wisp.mjs' : '/dist/wisp.bundle.mjs';

const server = await startServer();
const browser = await launchChromium();
const round1 = (x) => Math.round(x * 10) / 10;
try {
  for (let r = 1; r <= rounds; r++) {
    const page = await browser.context.newPage();
    try {
      await page.goto(`${server.url}/test/browser/page.html`);
      const t = await page.evaluate(async ([moduleUrl, model]) => {
        const now = () => performance.now();
        const events = [];
        let origin = 0, reads = 0, firstRead = null, lastRead = null;
        // The body reads of the download (readSource in wisp.mjs reads the stream this way).
        const read = ReadableStreamDefaultReader.prototype.read;
        ReadableStreamDefaultReader.prototype.read = async function () {
          const v = await read.call(this);
          if (origin && !v.done) {
            reads++;
            firstRead ??= now() - origin;
            lastRead = now() - origin;
          }
          return v;
        };
        const t0 = now();
        const { Wisp } = await import(moduleUrl);
        const t1 = now();
        const rt = await Wisp.create({ threads: 1, simd: 'relaxed' });
        const t2 = now();
        origin = t2;
        const core = rt.core;
        const call = core.call.bind(core);
        core.call = (name, ...args) => {
          const s = now();
          const v = call(name, ...args);
          const d = now() - s;
          if (d > 0.5) events.push({ name, at: s - t2, ms: d });
          return v;
        };
        const m = await rt.load(`/shared/models/${model}.tflite`);
        const t3 = now();
        const inputs = m.inputs.map((d) => new (d.dtype === 'float32' ? Float32Array : d.dtype === 'int8' ? Int8Array : Uint8Array)(d.shape.reduce((a, b) => a * b, 1)));
        m.runSync(inputs);
        const t4 = now();
        m.dispose();
        rt.dispose();
        return { importMs: t1 - t0, initMs: t2 - t1, loadMs: t3 - t2, firstRunMs: t4 - t3, totalMs: t4 - t0, reads, firstRead, lastRead, events };
      }, [moduleUrl, model]);
      const load = t.events.find((e) => e.name === 'wisp_model_load');
      const infoMs = load ? t.loadMs - (load.at + load.ms) : null;
      const calls = t.events.map((e) => `${e.name} @${round1(e.at)} +${round1(e.ms)}`).join(', ');
      console.log(`round ${r}: total ${round1(t.totalMs)} ms = import ${round1(t.importMs)} + init ${round1(t.initMs)} + load ${round1(t.loadMs)} + first run ${round1(t.firstRunMs)}`);
      console.log(`  load: ${t.reads} body reads, first @${round1(t.firstRead)}, last @${round1(t.lastRead)}; ${calls}; after wisp_model_load ${infoMs == null ? '?' : round1(infoMs)} ms`);
    } finally {
      await page.close();
    }
  }
} finally {
  await browser.close();
  await server.close?.();
}
process.exit(0);
