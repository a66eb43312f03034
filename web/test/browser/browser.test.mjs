// Browser tests in Debian's headless Chromium, driven by playwright-core (never downloads a
// browser). A 127.0.0.1 server serves web/ and the shared data with COOP/COEP (a second one
// without them checks the fallback). Asserts the golden top-1 for tf2_mobilenet_v2 + cat.bmp in
// the single-threaded and threaded variants (and in a Worker), corrupt-model errors and the image
// decoders. The demo page has its own tests: demo.test.mjs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer } from '../server.mjs';
import { CHROMIUM, launchChromium, playwrightChromium } from '../chromium.mjs';
import { REPO_DIR, SHARED, WEB_DIR, haveShared, loadManifest } from '../shared.mjs';

const ARTIFACTS = path.join(REPO_DIR, 'test-artifacts');
const chromium = playwrightChromium();

const skip = !haveShared() ? `no shared data at ${SHARED}`
  : !fs.existsSync(CHROMIUM) ? `${CHROMIUM} not found (apt-get install chromium)`
  : !chromium ? 'playwright-core is not installed (cd web && npm ci --ignore-scripts)'
  : !fs.existsSync(path.join(WEB_DIR, 'dist/wisp_simd_mt.wasm')) ? 'web/dist is not built (scripts/test_web.sh builds it)'
  : false;

const MODEL = 'tf2_mobilenet_v2_1.0_224_ptq.tflite';
const golden = skip ? null : loadManifest().cases.find((c) => c.id === 'tf2_mobilenet_v2_1.0_224_ptq/cat');

let coiServer, plainServer, browser, context;
const consoleLines = [];

before(async () => {
  if (skip) return;
  coiServer = await startServer({ coi: true });
  plainServer = await startServer({ coi: false });
  browser = await launchChromium({ viewport: { width: 1280, height: 860 } });
  context = browser.context;
  context.setDefaultTimeout(120000);
});

after(async () => {
  await browser?.close();
  await coiServer?.close();
  await plainServer?.close();
  if (consoleLines.length) {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS, 'browser-console.log'), consoleLines.join('\n') + '\n');
  }
});

async function openTestPage(server) {
  const page = await context.newPage();
  page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text().slice(0, 500)}`));
  page.on('pageerror', (e) => consoleLines.push(`[pageerror] ${String(e).slice(0, 500)}`));
  await page.goto(`${server.url}/test/browser/page.html`, { timeout: 60000 });
  await page.waitForFunction(() => window.pageReady === true, null, { timeout: 60000 });
  return page;
}

const withTimeout = (p, ms, what) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error(`timeout after ${ms} ms: ${what}`)), ms).unref())]);

test('single-threaded variant: cat.bmp top-1 equals the golden', { skip, timeout: 300000 }, async (t) => {
  const page = await openTestPage(coiServer);
  try {
    const r = await withTimeout(page.evaluate((a) => window.classify(a), { threads: 1, model: MODEL, golden: golden.inputs[0].file }), 280000, 'classify');
    t.diagnostic(`variant ${r.variant.name} threads ${r.variant.numThreads}; top5 ${r.top5.join(',')}; run ${r.ms.toFixed(1)} ms`);
    // Chromium has relaxed SIMD, so the default (simd: 'auto') picks the relaxed build.
    assert.equal(r.variant.name, 'relaxed');
    assert.equal(r.inputMatchesGolden, true, 'the browser-built input equals the golden input bytes');
    assert.equal(r.top5[0], golden.top5[0].index);
    assert.ok(r.progress.count >= 1 && r.progress.last.loaded === r.progress.last.total && r.progress.last.total > 1e6, 'download progress');
  } finally {
    await page.close();
  }
});

test('threaded variant (cross-origin isolated): cat.bmp top-1 equals the golden', { skip, timeout: 300000 }, async (t) => {
  const page = await openTestPage(coiServer);
  try {
    const r = await withTimeout(page.evaluate((a) => window.classify(a), { threads: 2, model: MODEL }), 280000, 'classify');
    t.diagnostic(`variant ${r.variant.name} threads ${r.variant.numThreads}; top5 ${r.top5.join(',')}; run ${r.ms.toFixed(1)} ms`);
    assert.equal(r.crossOriginIsolated, true);
    assert.equal(r.variant.name, 'relaxed-mt', r.variant.fallback ?? '');
    assert.equal(r.variant.numThreads, 2);
    assert.equal(r.parallel, 1, 'the pthread pool ran two tasks concurrently');
    assert.equal(r.top5[0], golden.top5[0].index);
  } finally {
    await page.close();
  }
});

test('Wisp.load: runtime and model in one call (download during compile), same output, dispose frees the runtime', { skip, timeout: 300000 }, async (t) => {
  const page = await openTestPage(coiServer);
  try {
    const args = { threads: 1, model: MODEL, golden: golden.inputs[0].file };
    const one = await withTimeout(page.evaluate((a) => window.classify(a), { ...args, oneCall: true }), 280000, 'classify one call');
    const two = await withTimeout(page.evaluate((a) => window.classify(a), args), 280000, 'classify');
    assert.equal(one.inputMatchesGolden, true);
    assert.deepEqual(one.output, two.output);
    assert.equal(one.top5[0], golden.top5[0].index);
    assert.equal(one.progress.last.loaded, fs.statSync(path.join(SHARED, 'models', MODEL)).size);
    assert.match(one.runtimeAfterDispose, /disposed/);
  } finally { await page.close(); }
});

test('worker-backed runtime (threaded) in the browser: same top-1', { skip, timeout: 300000 }, async (t) => {
  const page = await openTestPage(coiServer);
  try {
    const r = await withTimeout(page.evaluate((a) => window.classify(a), { threads: 2, worker: true, model: MODEL }), 280000, 'classify');
    t.diagnostic(`variant ${r.variant.name} worker ${r.variant.worker}; top5 ${r.top5.join(',')}`);
    assert.equal(r.variant.worker, true);
    assert.equal(r.top5[0], golden.top5[0].index);
  } finally {
    await page.close();
  }
});

test('without COOP/COEP the loader falls back to the single-threaded variant', { skip, timeout: 120000 }, async (t) => {
  const page = await openTestPage(plainServer);
  try {
    const r = await withTimeout(page.evaluate(() => window.corruptThenGood({ threads: 'auto' })), 110000, 'fallback');
    t.diagnostic(`variant ${r.variant.name}; fallback: ${r.variant.fallback}`);
    assert.equal(r.variant.name, 'relaxed');
    assert.equal(r.goodLoadWorks, true);
  } finally {
    await page.close();
  }
});

for (const mode of [{ threads: 1 }, { threads: 2 }, { threads: 1, worker: true }]) {
  test(`corrupt models reject with a readable message, then a good load works (${JSON.stringify(mode)})`, { skip, timeout: 120000 }, async (t) => {
    const page = await openTestPage(coiServer);
    try {
      const r = await withTimeout(page.evaluate((a) => window.corruptThenGood(a), mode), 110000, 'corrupt');
      for (const e of r.errors) t.diagnostic(`rejected: ${e.message}`);
      assert.equal(r.errors.length, 4);
      for (const e of r.errors) {
        assert.equal(e.rejected, true);
        assert.equal(e.isError, true);
        assert.ok(e.message && e.message.length > 15 && !/^Aborted|RuntimeError/.test(e.message), e.message);
      }
      assert.match(r.errors[0].message, /identifier at byte offset 4/);
      assert.match(r.errors[1].message, /invalid model/);
      assert.match(r.errors[3].message, /HTTP 404/);
      assert.equal(r.goodLoadWorks, true);
    } finally {
      await page.close();
    }
  });
}

test('createImageBitmap decode (no colour conversion) equals the JS BMP decoder', { skip, timeout: 60000 }, async () => {
  const page = await openTestPage(coiServer);
  try {
    const r = await page.evaluate(() => window.compareDecoders('cat.bmp'));
    assert.equal(r.width, 512);
    assert.equal(r.same, true, `${r.diff} differing bytes`);
  } finally {
    await page.close();
  }
});
