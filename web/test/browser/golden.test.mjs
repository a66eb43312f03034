// Every golden case of the shared manifest in headless Chromium, on the relaxed-SIMD variants
// (single-threaded and 2 threads) and the SIMD128 variant: Chromium's engine is where the relaxed
// dot-product kernels run for real (Node 20's engine falls back to SIMD128 kernels). Quantized and
// integer outputs must equal the goldens bit for bit, floats within the native test's tolerance.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer } from '../server.mjs';
import { CHROMIUM, launchChromium, playwrightChromium } from '../chromium.mjs';
import { SHARED, WEB_DIR, haveShared, loadManifest } from '../shared.mjs';

const skip = !haveShared() ? `no shared data at ${SHARED}`
  : !fs.existsSync(CHROMIUM) ? `${CHROMIUM} not found (apt-get install chromium)`
  : !playwrightChromium() ? 'playwright-core is not installed (cd web && npm ci --ignore-scripts)'
  : !fs.existsSync(path.join(WEB_DIR, 'dist/wisp_relaxed.wasm')) ? 'web/dist is not built (scripts/test_web.sh builds it)'
  : false;

let server, browser;
before(async () => {
  if (skip) return;
  server = await startServer({ coi: true });
  browser = await launchChromium();
  browser.context.setDefaultTimeout(120000);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

function checkOutputs(t, r) {
  const failures = [];
  for (const c of r.results) {
    c.outputs.forEach((o, i) => {
      t.diagnostic(`[golden] ${c.id.padEnd(48)} out${i} ${o.dtype.padEnd(7)} ${o.exact}/${o.n} exact  max|diff| ${o.maxAbs.toPrecision(3)}`);
      if (!o.lengthOk) failures.push(`${c.id} output ${i}: wrong element count`);
      else if (o.dtype === 'float32' ? o.maxAbs > 1e-4 : o.exact !== o.n) {
        failures.push(`${c.id} output ${i}: ${o.n - o.exact}/${o.n} elements differ (max ${o.maxAbs})`);
      }
    });
  }
  assert.deepEqual(failures, []);
}

for (const [simd, threads, isa] of [['relaxed', 1, 'wasmrelaxed'], ['relaxed', 2, 'wasmrelaxed'], ['simd128', 1, 'wasmsimd']]) {
  test(`every golden case, ${simd} SIMD, ${threads} thread(s)`, { skip, timeout: 900000 }, async (t) => {
    const cases = loadManifest().cases.map((c) => ({
      id: c.id, model: c.model, inputs: c.inputs, outputs: c.outputs, stateful: /lstm/.test(c.model),
    }));
    const page = await browser.context.newPage();
    try {
      await page.goto(`${server.url}/test/browser/golden_page.html`, { timeout: 60000 });
      await page.waitForFunction(() => window.pageReady === true, null, { timeout: 60000 });
      const r = await page.evaluate((a) => window.runGoldens(a), { simd, threads, cases });
      t.diagnostic(`variant ${r.variant.name}, microkernels ${r.variant.isa}, ${r.variant.numThreads} thread(s)`);
      // The relaxed variant always runs the wasmrelaxed level (its float kernels use relaxed_madd);
      // its int8 kernels use the relaxed dot product where this engine computes it in a way an
      // exact kernel exists for (VNNI-style or Arm-style), and the SIMD128 ones otherwise
      // (config.cc): the diagnostic names them.
      assert.equal(r.variant.isa, isa, `expected the ${isa} microkernels`);
      assert.equal(r.variant.numThreads, threads);
      assert.equal(r.results.length, cases.length);
      checkOutputs(t, r);
    } finally {
      await page.close();
    }
  });
}
