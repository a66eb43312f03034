// One ES module in every context (issue 13): the package, imported by name, bundled by esbuild and
// by Vite, loaded by a plain <script type="module"> page, run in a dedicated module Worker, a
// SharedWorker and an AudioWorklet, all in headless Chromium. Every case asserts the model's
// output bytes: the vww_96_int8 golden for cat.bmp, and for the AudioWorklet (keyword spotting on a
// generated signal) the same tensor and output as the main thread and as Node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startServer } from '../server.mjs';
import { chromiumSkip, launchChromium } from '../chromium.mjs';
import { SHARED, WEB_DIR, readTensor } from '../shared.mjs';
import { Wisp } from '../../src/node.mjs';

const FIXTURES = path.join(WEB_DIR, 'test/bundlers');
const require = createRequire(path.join(WEB_DIR, 'package.json'));
const skip = chromiumSkip(['esbuild', 'vite']);

const GOLDEN = skip ? null : Array.from(readTensor('mlperf_tiny_vww_96_int8/cat.output0.bin', 'int8'));
let out, server, plainServer, browser, esbuildMeta;
const pageErrors = [];

// A scratch project that depends on the package as an app would (node_modules/wisp-runtime links
// to web/), with the fixture app copied in; esbuild and Vite build it into out/esbuild, out/vite.
async function buildApps() {
  const project = path.join(out, 'project');
  fs.mkdirSync(path.join(project, 'node_modules'), { recursive: true });
  fs.writeFileSync(path.join(project, 'package.json'), '{ "name": "app", "private": true, "type": "module" }\n');
  fs.symlinkSync(WEB_DIR, path.join(project, 'node_modules/wisp-runtime'), 'dir');
  fs.cpSync(path.join(FIXTURES, 'app'), path.join(project, 'app'), { recursive: true });

  // esbuild: the README's recipe. It bundles the JS; the .wasm files are copied next to the bundle,
  // where dist/wisp_urls.mjs's new URL('./x.wasm', import.meta.url) then points.
  const esbuild = await import(require.resolve('esbuild'));
  const esOut = path.join(out, 'esbuild');
  // wisp-runtime/worker is a second entry point, worker.mjs beside the bundle, for { worker: true }.
  const result = await esbuild.build({
    entryPoints: { app: path.join(project, 'app/app.mjs'), worker: 'wisp-runtime/worker' }, absWorkingDir: project,
    bundle: true, format: 'esm', platform: 'browser', outdir: esOut, outExtension: { '.js': '.mjs' },
    metafile: true, logLevel: 'error',
  });
  esbuildMeta = result.metafile;
  fs.copyFileSync(path.join(project, 'app/index.html'), path.join(esOut, 'index.html'));
  // The same bundle with the threaded variant's files copied too (the README's second cp).
  const esOutMt = path.join(out, 'esbuild-mt');
  fs.cpSync(esOut, esOutMt, { recursive: true });
  for (const f of fs.readdirSync(path.join(WEB_DIR, 'dist'))) {
    if (/^wisp_(simd|relaxed)\.wasm$/.test(f)) fs.copyFileSync(path.join(WEB_DIR, 'dist', f), path.join(esOut, f));
    if (/^wisp_\w+\.wasm$|^wisp_\w+_mt\.(mjs|worker\.js)$/.test(f)) fs.copyFileSync(path.join(WEB_DIR, 'dist', f), path.join(esOutMt, f));
  }

  // Vite: a production build with nothing but worker.format 'es' (the worker-backed runtime's
  // module Worker imports the glue dynamically, which Vite's default 'iife' workers cannot).
  const vite = await import(require.resolve('vite'));
  await vite.build({
    root: path.join(project, 'app'), base: '/vite/', configFile: false, logLevel: 'error',
    build: { outDir: path.join(out, 'vite'), emptyOutDir: true },
    worker: { format: 'es' },
  });
}

before(async () => {
  if (skip) return;
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'wisp-bundlers-'));
  await buildApps();
  // plain.html with its import map pointed at the prebuilt single-file bundle instead of src/.
  const bundlePage = path.join(out, 'bundle-page');
  fs.cpSync(path.join(FIXTURES, 'app'), path.join(bundlePage, 'app'), { recursive: true });
  const plain = fs.readFileSync(path.join(FIXTURES, 'plain.html'), 'utf8');
  assert.match(plain, /"wisp-runtime": "\/src\/wisp\.mjs"/);
  fs.writeFileSync(path.join(bundlePage, 'index.html'), plain.replace('"/src/wisp.mjs"', '"/dist/wisp.bundle.mjs"'));
  const mounts = {
    '/esbuild/': path.join(out, 'esbuild'), '/esbuild-mt/': path.join(out, 'esbuild-mt'), '/vite/': path.join(out, 'vite'),
    '/bundle-page/': bundlePage,
  };
  server = await startServer({ coi: true, mounts });
  plainServer = await startServer({ coi: false, mounts });
  browser = await launchChromium();
  browser.context.setDefaultTimeout(120000);
});

after(async () => {
  await browser?.close();
  await server?.close();
  await plainServer?.close();
  if (out) fs.rmSync(out, { recursive: true, force: true });
});

// `requests`, when given, collects the path of every request the page makes.
async function openPage(url, ready, srv = server, requests = null) {
  const page = await browser.context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${url}: ${String(e).slice(0, 500)}`));
  if (requests) page.on('request', (r) => requests.push(new URL(r.url()).pathname));
  await page.goto(`${srv.url}${url}`, { timeout: 60000 });
  await page.waitForFunction(ready, null, { timeout: 120000 });
  return page;
}

// Runs the fixture app at `url` with `modes` and returns its results (one per mode).
async function runApp(url, modes, srv = server, requests = null) {
  const page = await openPage(`${url}?modes=${encodeURIComponent(JSON.stringify(modes))}`, () => window.wispResults, srv, requests);
  try {
    return await page.evaluate(() => window.wispResults);
  } finally {
    await page.close();
  }
}

function assertGolden(t, r, where) {
  assert.equal(r.error, undefined, `${where} ${JSON.stringify(r.mode)}: ${r.error}`);
  t.diagnostic(`${where} ${JSON.stringify(r.mode)}: ${r.variant.name}${r.variant.worker ? ' in a worker' : ''}, ` +
    `threads ${r.variant.numThreads}, create ${r.createMs} ms${r.variant.fallback ? `; ${r.variant.fallback}` : ''}`);
  assert.equal(r.dtype, 'int8');
  assert.deepEqual(r.output, GOLDEN, `${where} ${JSON.stringify(r.mode)}: output differs from the golden`);
}

test('esbuild bundle: the browser entry (no node: imports) runs vww_96_int8 bit-exact; threads fall back fast', { skip, timeout: 180000 }, async (t) => {
  const inputs = Object.keys(esbuildMeta.inputs);
  assert.ok(inputs.some((f) => f.endsWith('src/wisp.mjs')), inputs.join(', '));
  assert.ok(!inputs.some((f) => /src\/node(_worker)?\.mjs$|^node:/.test(f)), `Node-only modules bundled: ${inputs.join(', ')}`);
  assert.doesNotMatch(fs.readFileSync(path.join(out, 'esbuild/app.mjs'), 'utf8'), /from ["']node:|import\(["']node:/);
  const [single, threaded, inWorker] = await runApp('/esbuild/index.html', [{ threads: 1 }, { threads: 2 }, { threads: 1, worker: true }]);
  assertGolden(t, single, 'esbuild');
  assert.equal(single.variant.name, 'relaxed');
  assertGolden(t, inWorker, 'esbuild');
  assert.equal(inWorker.variant.worker, true);
  // Only the single-threaded .wasm files were copied: the threaded variant must not hang waiting
  // for its worker script, but fall back at once and say why.
  assertGolden(t, threaded, 'esbuild');
  assert.equal(threaded.variant.threads, false);
  assert.match(threaded.variant.fallback, /wisp_relaxed_mt\.worker\.js: HTTP 404/);
  assert.ok(threaded.createMs < 10000, `threaded start took ${threaded.createMs} ms before falling back`);
  // Served without COOP/COEP: no SharedArrayBuffer, so one thread at once, saying why.
  const [notIsolated] = await runApp('/esbuild-mt/index.html', [{ threads: 2 }], plainServer);
  assertGolden(t, notIsolated, 'esbuild, not cross-origin isolated');
  assert.match(notIsolated.variant.fallback, /not cross-origin isolated/);
  assert.ok(notIsolated.createMs < 10000, `${notIsolated.createMs} ms`);
  // With dist/wisp_*_mt.{wasm,mjs,worker.js} beside the bundle, the same bundle runs 2 pthreads.
  const [mt] = await runApp('/esbuild-mt/index.html', [{ threads: 2 }]);
  assertGolden(t, mt, 'esbuild + threaded files');
  assert.equal(mt.variant.name, 'relaxed-mt', mt.variant.fallback ?? '');
  assert.equal(mt.variant.numThreads, 2);
});

test('Vite build: local, threaded (2 pthreads) and worker-backed runtimes run vww_96_int8 bit-exact', { skip, timeout: 180000 }, async (t) => {
  const assets = fs.readdirSync(path.join(out, 'vite/assets'));
  assert.ok(assets.some((f) => /^wisp_relaxed-.*\.wasm$/.test(f)), `Vite copied the .wasm it found through new URL(): ${assets.join(', ')}`);
  const results = await runApp('/vite/index.html', [{ threads: 1 }, { threads: 2 }, { threads: 1, worker: true }]);
  for (const r of results) assertGolden(t, r, 'vite');
  assert.equal(results[0].variant.name, 'relaxed');
  // Vite copies the threaded glue and inlines the small worker script as a data: URL, which the
  // loader starts from a blob: URL: real threads, not a fallback.
  assert.equal(results[1].variant.name, 'relaxed-mt', results[1].variant.fallback ?? '');
  assert.equal(results[1].variant.numThreads, 2);
  assert.equal(results[2].variant.worker, true);
});

test('plain <script type="module"> page with an import map: single-threaded and threaded, bit-exact', { skip, timeout: 180000 }, async (t) => {
  const [single, threaded] = await runApp('/test/bundlers/plain.html', [{ threads: 1 }, { threads: 2 }]);
  assertGolden(t, single, 'plain');
  assertGolden(t, threaded, 'plain');
  assert.equal(threaded.variant.name, 'relaxed-mt', threaded.variant.fallback ?? '');
  assert.equal(threaded.variant.numThreads, 2);
});

test('the prebuilt dist/wisp.bundle.mjs in a plain page: one module request, single-threaded and threaded, bit-exact', { skip, timeout: 180000 }, async (t) => {
  assert.ok(fs.existsSync(path.join(WEB_DIR, 'dist/wisp.bundle.mjs')), 'web/dist/wisp.bundle.mjs is not built (wasm/bundle.mjs)');
  const requests = [];
  const [single, threaded] = await runApp('/bundle-page/index.html', [{ threads: 1 }, { threads: 2 }], server, requests);
  assertGolden(t, single, 'prebuilt bundle');
  assertGolden(t, threaded, 'prebuilt bundle');
  assert.equal(threaded.variant.name, 'relaxed-mt', threaded.variant.fallback ?? '');
  assert.equal(threaded.variant.numThreads, 2);
  // The package's code came in one file: nothing from src/, and of dist/'s glue only the threaded
  // variant's, which the bundle imports when a threaded runtime starts.
  assert.ok(requests.includes('/dist/wisp.bundle.mjs'), requests.join(', '));
  assert.deepEqual(requests.filter((p) => p.startsWith('/src/')), []);
  assert.deepEqual(requests.filter((p) => /^\/dist\/wisp_(simd|relaxed)\.mjs$|^\/dist\/wisp_urls\.mjs$/.test(p)), []);
});

test('dedicated module Worker and SharedWorker each run vww_96_int8 bit-exact', { skip, timeout: 180000 }, async (t) => {
  const page = await openPage('/test/bundlers/workers.html', () => window.pageReady);
  try {
    const r = await page.evaluate(() => window.runInWorkers([{ threads: 1 }]));
    assertGolden(t, r.dedicated[0], 'dedicated worker');
    assertGolden(t, r.shared[0], 'shared worker');
  } finally {
    await page.close();
  }
});

test('AudioWorklet: keyword spotting on a generated signal equals the main thread and Node', { skip, timeout: 180000 }, async (t) => {
  const page = await openPage('/test/bundlers/worklet.html', () => window.pageReady);
  let r;
  try {
    r = await page.evaluate(() => window.runWorklet());
  } finally {
    await page.close();
  }
  assert.equal(r.worklet.error, undefined, r.worklet.error);
  t.diagnostic(`worklet: ${r.worklet.scope}, variant ${r.worklet.variant.name}, output ${r.worklet.output.join(',')}`);
  assert.equal(r.worklet.scope, 'AudioWorkletGlobalScope');
  assert.equal(r.worklet.hasFetch, false);
  assert.equal(r.worklet.variant.name, r.variant);
  assert.equal(r.worklet.input.length, 490);
  assert.ok(new Set(r.worklet.input).size > 20, 'the features vary with the signal');
  assert.deepEqual(r.worklet.input, r.main.input, 'the worklet saw the rendered samples');
  assert.deepEqual(r.worklet.output, r.main.output);
  // And Node, on the worklet's tensor.
  const rt = await Wisp.create({ threads: 1 });
  try {
    const m = await rt.load(path.join(SHARED, 'models/mlperf_tiny_kws_dscnn_int8.tflite'));
    const [o] = await m.run(Int8Array.from(r.worklet.input));
    assert.deepEqual(Array.from(o.data), r.worklet.output);
  } finally {
    rt.dispose();
  }
});

test('no page errors', { skip }, () => {
  assert.deepEqual(pageErrors, []);
});
