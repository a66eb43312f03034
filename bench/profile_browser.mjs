// Per-operator profile of Wisp in headless Chromium: for each model, the operators sorted by time
// with their microkernel, shape and share (model.profile(), the same report as
// `wisp bench --profile` natively). A tool for deciding what to optimise; not a comparison.
//   node bench/profile_browser.mjs [--models a,b] [--simd relaxed|simd128] [--threads N]
//                                  [--isa scalar|wasmsimd|wasmrelaxed] [--runs N] [--top N] [--json F]
import fs from 'node:fs';
import path from 'node:path';
import { arg, launchChromium, loadManifest, startServer } from './lib/browser_kit.mjs';

const manifest = loadManifest();
const all = [...new Set(manifest.cases.map((c) => path.basename(c.model, '.tflite')))];
const models = arg('--models', all.join(',')).split(',');
const options = { simd: arg('--simd', 'relaxed'), threads: Number(arg('--threads', 1)), isa: arg('--isa', undefined), runs: Number(arg('--runs', 30)) };
const top = Number(arg('--top', 15));

const server = await startServer({ coi: true });
const browser = await launchChromium();
const results = [];
try {
  for (const model of models) {
    const c = manifest.cases.find((x) => x.model === `models/${model}.tflite`);
    if (!c) { console.log(`${model}: no golden case`); continue; }
    const page = await browser.context.newPage();
    try {
      await page.goto(`${server.url}/bench/bench.html`, { timeout: 60000 });
      await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60000 });
      const r = await Promise.race([
        page.evaluate((a) => window.runProfile(a), { model, inputFile: c.inputs[0], ...options }),
        new Promise((_, rej) => setTimeout(() => rej(new Error('timed out after 300 s')), 300000).unref()),
      ]);
      results.push({ model, ...r });
      console.log(`\n${model}: ${r.variant} (${r.isa}), ${r.numThreads} thread(s), ${(r.totalUs / 1000).toFixed(3)} ms over ${r.ops.length} operators`);
      for (const o of [...r.ops].sort((a, b) => b.us - a.us).slice(0, top)) {
        console.log(`  ${String(o.op).padStart(4)} ${o.type.padEnd(20)} ${o.shape.padEnd(20)} ${o.microkernel.padEnd(32)} ${o.us.toFixed(1).padStart(9)} us ${(100 * o.share).toFixed(1).padStart(5)}%`);
      }
    } catch (e) {
      console.log(`${model}: ERROR ${String(e.message).slice(0, 300)}`);
    } finally {
      await page.close();
    }
  }
} finally {
  await browser.close();
  await server.close();
}
if (arg('--json')) fs.writeFileSync(arg('--json'), JSON.stringify(results, null, 1));
