// Two builds of the web package side by side in one headless Chromium, for the before/after
// figures of an optimisation (bench/README.md): the cold start (fresh pages, the builds
// alternating, the order swapped every round) and the steady state (both builds loaded in one
// page, their runs alternating, then again with the order swapped). Wisp against Wisp, not a
// comparison with LiteRT.js (bench/browser_vs_litert.mjs is that).
//
//   cp -r web/dist web/dist_before      # before the change; rebuild, then:
//   node bench/ab_builds.mjs --a dist_before --b dist [--model NAME] [--cold-rounds 30]
//        [--steady-models a,b,...] [--steady-runs 400] [--no-cold] [--no-steady]
//
// --a/--b: directories under web/ holding a build's wisp.bundle.mjs and .wasm files (the test
// server serves web/). Cold start: import + Wisp.load(model URL) + first inference of --model,
// reported as lower quartile, lowest and median of the rounds, with the load and first-run parts.
// Steady state: median and lower quartile of model.lastInvokeMs per build, and B/A.
import { arg, argv, launchChromium, startServer } from './lib/browser_kit.mjs';

const a = arg('--a'), b = arg('--b');
if (!a || !b || argv.includes('--help')) {
  console.error('usage: node bench/ab_builds.mjs --a DIR --b DIR [--model NAME] [--cold-rounds N] [--steady-models a,b] [--steady-runs N] [--no-cold] [--no-steady]');
  process.exit(2);
}
const model = arg('--model', 'tf2_mobilenet_v2_1.0_224_ptq');
const coldRounds = Math.max(1, Number(arg('--cold-rounds', 30)));
const steadyModels = arg('--steady-models', model).split(',').filter(Boolean);
const steadyRuns = Math.max(10, Number(arg('--steady-runs', 400)));
const bundle = (dir) => `/${dir.replace(/^\/+|\/+$/g, '')}/wisp.bundle.mjs`;
const sorted = (x) => [...x].sort((p, q) => p - q);
const quantile = (x, f) => sorted(x)[Math.floor((x.length - 1) * f)];
const fmt = (v) => v.toFixed(v < 1 ? 3 : 1);

// One fresh page: import the build, Wisp.load the model, run it twice.
function coldPage(page, url, modelName) {
  return page.evaluate(async ([url, modelName]) => {
    const t0 = performance.now();
    const { Wisp } = await import(url);
    const m = await Wisp.load(`/shared/models/${modelName}.tflite`, { threads: 1, simd: 'relaxed' });
    const t1 = performance.now();
    const inputs = m.inputs.map((d) => new (d.dtype === 'float32' ? Float32Array : d.dtype === 'int8' ? Int8Array : Uint8Array)(d.shape.reduce((x, y) => x * y, 1)));
    m.runSync(inputs);
    const t2 = performance.now();
    m.dispose();
    return { total: t2 - t0, load: t1 - t0, first: t2 - t1 };
  }, [url, modelName]);
}

// Both builds in one page, their runs alternating (first for the warm-up, then timed).
function steadyPage(page, first, second, modelName, runs) {
  return page.evaluate(async ([first, second, modelName, runs]) => {
    const A = (await import(first)).Wisp, B = (await import(second)).Wisp;
    const ma = await A.load(`/shared/models/${modelName}.tflite`, { threads: 1, simd: 'relaxed' });
    const mb = await B.load(`/shared/models/${modelName}.tflite`, { threads: 1, simd: 'relaxed' });
    const inputs = ma.inputs.map((d) => new (d.dtype === 'float32' ? Float32Array : d.dtype === 'int8' ? Int8Array : Uint8Array)(d.shape.reduce((x, y) => x * y, 1)));
    const warm = performance.now();
    while (performance.now() - warm < 3000) { ma.runSync(inputs); mb.runSync(inputs); }
    const ta = [], tb = [];
    const end = performance.now() + 10000;
    for (let i = 0; i < runs && performance.now() < end; i++) {
      ma.runSync(inputs); ta.push(ma.lastInvokeMs);
      mb.runSync(inputs); tb.push(mb.lastInvokeMs);
    }
    ma.dispose();
    mb.dispose();
    return [ta, tb];
  }, [first, second, modelName, runs]);
}

const server = await startServer();
const browser = await launchChromium();
try {
  const builds = { A: bundle(a), B: bundle(b) };
  console.log(`A = ${builds.A}, B = ${builds.B}`);
  if (!argv.includes('--no-cold')) {
    const res = { A: [], B: [] };
    for (let r = 0; r < coldRounds; r++) {
      for (const side of r % 2 ? ['B', 'A'] : ['A', 'B']) {
        const page = await browser.context.newPage();
        try {
          await page.goto(`${server.url}/test/browser/page.html`);
          res[side].push(await coldPage(page, builds[side], model));
        } finally {
          await page.close();
        }
      }
    }
    console.log(`\ncold start, ${model}, ${coldRounds} fresh pages per build (ms): q1 / lowest / median`);
    for (const side of ['A', 'B']) {
      const col = (k) => res[side].map((x) => x[k]);
      const row = (k) => `${fmt(quantile(col(k), 0.25))} / ${fmt(Math.min(...col(k)))} / ${fmt(quantile(col(k), 0.5))}`;
      console.log(`  ${side}: total ${row('total')} | import + load ${row('load')} | first run ${row('first')}`);
    }
  }
  if (!argv.includes('--no-steady')) {
    console.log(`\nsteady state, one page, runs alternating (ms): median / q1, and B/A of the medians`);
    for (const name of steadyModels) {
      const out = [];
      for (const order of [['A', 'B'], ['B', 'A']]) {
        const page = await browser.context.newPage();
        try {
          await page.goto(`${server.url}/test/browser/page.html`);
          const [t0, t1] = await steadyPage(page, builds[order[0]], builds[order[1]], name, steadyRuns);
          const t = { [order[0]]: t0, [order[1]]: t1 };
          const ratio = quantile(t.B, 0.5) / quantile(t.A, 0.5);
          out.push(`${order.join(' then ')}: A ${fmt(quantile(t.A, 0.5))} / ${fmt(quantile(t.A, 0.25))}, B ${fmt(quantile(t.B, 0.5))} / ${fmt(quantile(t.B, 0.25))}, B/A ${ratio.toFixed(3)} (${t.A.length} runs)`);
        } finally {
          await page.close();
        }
      }
      console.log(`  ${name}\n    ${out.join('\n    ')}`);
    }
  }
} finally {
  await browser.close();
  await server.close?.();
}
process.exit(0);
