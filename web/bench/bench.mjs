// Median model.run() latency of the Wisp WebAssembly package in Node and in headless Chromium,
// single-threaded (SIMD128) and threaded (SIMD128 + pthreads), on one golden input per model.
// Not a test. Usage (from web/):
//   node bench/bench.mjs [--models a,b] [--threads 1,2] [--only node|chromium] [--min-ms 2000] [--json out.json]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import '../src/node.mjs';  // the Node platform for the runtime bench-core.mjs imports (src/wisp.mjs)
import { benchModel } from './bench-core.mjs';
import { SHARED, loadManifest, readTensor } from '../test/shared.mjs';
import { startServer } from '../test/server.mjs';
import { launchChromium } from '../test/chromium.mjs';

const argv = process.argv.slice(2);
const arg = (name, dflt) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : dflt; };
const models = arg('--models', 'tf2_mobilenet_v2_1.0_224_ptq,mlperf_tiny_vww_96_int8').split(',');
const threadCounts = arg('--threads', '1,2').split(',').map(Number);
const only = arg('--only', null);
const minMs = Number(arg('--min-ms', 3000));
const maxMs = Number(arg('--max-ms', 30000));

const manifest = loadManifest();
const firstCase = (m) => manifest.cases.find((c) => c.model === `models/${m}.tflite`);
const results = [];
const fmt = (x) => (x == null ? '–' : x < 10 ? x.toFixed(3) : x.toFixed(2));

// Node: one child process per configuration (a fresh runtime, no interference between runs).
if (only !== 'chromium') {
  if (argv.includes('--child')) {
    const model = arg('--model');
    const threads = Number(arg('--t'));
    const c = firstCase(model);
    const r = await benchModel({ modelSource: path.join(SHARED, c.model), input: readTensor(c.inputs[0].file, c.inputs[0].dtype), threads, minMs, maxMs });
    process.stdout.write(JSON.stringify(r));
    process.exit(0);
  }
  for (const model of models) {
    for (const threads of threadCounts) {
      const p = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', '--only', 'node', '--model', model, '--t', String(threads), '--min-ms', String(minMs), '--max-ms', String(maxMs)],
        { encoding: 'utf8', timeout: maxMs + 180000 });
      let r;
      try { r = JSON.parse(p.stdout); } catch { r = { error: (p.stderr || p.error?.message || 'failed').slice(0, 300) }; }
      results.push({ host: 'node', model, threads, ...r });
      console.error(`node     ${model.padEnd(32)} t=${threads} ${r.error ? 'ERROR ' + r.error : `${r.variant} median ${fmt(r.median)} ms (min ${fmt(r.min)}, p90 ${fmt(r.p90)}, n=${r.runs})`}`);
    }
  }
}

if (only !== 'node') {
  const server = await startServer({ coi: true });
  const browser = await launchChromium();
  const ctx = browser.context;
  try {
    for (const model of models) {
      for (const threads of threadCounts) {
        const page = await ctx.newPage();
        let r;
        try {
          await page.goto(`${server.url}/bench/bench.html`, { timeout: 60000 });
          await page.waitForFunction(() => window.benchReady === true, null, { timeout: 60000 });
          const c = firstCase(model);
          r = await page.evaluate((a) => window.runBench(a), { model, inputFile: c.inputs[0], threads, minMs, maxMs });
        } catch (e) {
          r = { error: String(e.message).slice(0, 300) };
        }
        await page.close();
        results.push({ host: 'chromium', model, threads, ...r });
        console.error(`chromium ${model.padEnd(32)} t=${threads} ${r.error ? 'ERROR ' + r.error : `${r.variant} median ${fmt(r.median)} ms (min ${fmt(r.min)}, p90 ${fmt(r.p90)}, n=${r.runs})`}`);
      }
    }
  } finally {
    await browser.close();
    await server.close();
  }
}

console.log('\n| model | host | variant | threads | median ms | min ms | p90 ms | runs |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(`| ${r.model} | ${r.host} | ${r.variant ?? 'error'} | ${r.numThreads ?? r.threads} | ${fmt(r.median)} | ${fmt(r.min)} | ${fmt(r.p90)} | ${r.runs ?? 0} |`);
}
const out = arg('--json', null);
if (out) fs.writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), cpu: os.cpus()[0]?.model, results }, null, 1));
