// web/README.md's bundler recipes, taken from the README and run as written, in a project that
// installed the package from `npm pack` (a fresh folder outside the repository), checked in headless
// Chromium on the vww_96_int8 golden (cat.bmp) through the bundler fixture app (test/bundlers/app):
//  - Vite's dev server (createServer from 'vite', 127.0.0.1 only) with the README's vite.config.js:
//    one thread, two pthreads (the worker scripts served untouched) and { worker: true };
//  - the esbuild shell lines: the bundle with the single-threaded .wasm files, then with the
//    commented threaded line too: two pthreads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { startServer } from '../server.mjs';
import { chromiumSkip, launchChromium } from '../chromium.mjs';
import { SHARED, WEB_DIR, readTensor } from '../shared.mjs';
import { installPacked, codeBlockAfter, replaceOnce } from '../packed.mjs';

const require = createRequire(path.join(WEB_DIR, 'package.json'));
const skip = chromiumSkip(['esbuild', 'vite']);

const CASE = 'mlperf_tiny_vww_96_int8';
const README = skip ? '' : fs.readFileSync(path.join(WEB_DIR, 'README.md'), 'utf8');
let packed, browser, golden;
const pageErrors = [];

before(async () => {
  if (skip) return;
  golden = Array.from(readTensor(`${CASE}/cat.output0.bin`, 'int8'));
  packed = installPacked('wisp-recipes-');
  // The fixture app as the project's own files; the model and input where it fetches them (/shared/).
  const app = path.join(WEB_DIR, 'test/bundlers/app');
  fs.copyFileSync(path.join(app, 'app.mjs'), path.join(packed.dir, 'app.js'));
  fs.copyFileSync(path.join(app, 'run_case.mjs'), path.join(packed.dir, 'run_case.mjs'));
  fs.writeFileSync(path.join(packed.dir, 'index.html'), fs.readFileSync(path.join(app, 'index.html'), 'utf8').replace('./app.mjs', './app.js'));
  const pub = path.join(packed.dir, 'public/shared');
  fs.mkdirSync(path.join(pub, 'models'), { recursive: true });
  fs.mkdirSync(path.join(pub, 'goldens', CASE), { recursive: true });
  fs.copyFileSync(path.join(SHARED, 'models', `${CASE}.tflite`), path.join(pub, 'models', `${CASE}.tflite`));
  fs.copyFileSync(path.join(SHARED, 'goldens', CASE, 'cat.input0.bin'), path.join(pub, 'goldens', CASE, 'cat.input0.bin'));
  browser = await launchChromium();
  browser.context.setDefaultTimeout(120000);
});

after(async () => {
  await browser?.close();
  packed?.remove();
});

// Opens `url` with the fixture app's ?modes= and returns its results, one per mode.
async function runApp(url, modes) {
  const page = await browser.context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${url}: ${String(e).slice(0, 500)}`));
  try {
    await page.goto(`${url}?modes=${encodeURIComponent(JSON.stringify(modes))}`, { timeout: 60000 });
    await page.waitForFunction(() => window.wispResults, null, { timeout: 150000 });
    return { results: await page.evaluate(() => window.wispResults), viteClient: await page.$('script[src="/@vite/client"]') !== null };
  } finally {
    await page.close();
  }
}

function assertGolden(t, r, where) {
  assert.equal(r.error, undefined, `${where} ${JSON.stringify(r.mode)}: ${r.error}`);
  t.diagnostic(`${where} ${JSON.stringify(r.mode)}: ${r.variant.name}${r.variant.worker ? ' in a worker' : ''}, threads ${r.variant.numThreads}` +
    `${r.variant.fallback ? `; ${r.variant.fallback}` : ''}`);
  assert.equal(r.dtype, 'int8');
  assert.deepEqual(r.output, golden, `${where} ${JSON.stringify(r.mode)}: output differs from the golden`);
}

test("Vite's dev server with web/README.md's vite.config.js: one thread, two pthreads and a worker, bit-exact", { skip, timeout: 400000 }, async (t) => {
  const configFile = path.join(packed.dir, 'vite.config.js');
  fs.writeFileSync(configFile, codeBlockAfter(README, "* **Vite's dev server**", 'js'));
  const vite = await import(require.resolve('vite'));
  const server = await vite.createServer({
    root: packed.dir, configFile, logLevel: 'error', clearScreen: false,
    server: { host: '127.0.0.1', port: 0, strictPort: false },
  });
  try {
    await server.listen();
    const base = server.resolvedUrls.local[0];
    assert.match(base, /^http:\/\/127\.0\.0\.1:\d+\/$/, 'loopback only');
    const { results, viteClient } = await runApp(`${base}index.html`, [{ threads: 1 }, { threads: 2 }, { threads: 1, worker: true }]);
    assert.ok(viteClient, 'the page came from the dev server (it injects /@vite/client)');
    for (const r of results) assertGolden(t, r, 'vite dev');
    assert.equal(results[0].variant.threads, false);
    assert.equal(results[1].variant.threads, true, results[1].variant.fallback ?? '');
    assert.equal(results[1].variant.numThreads, 2);
    assert.equal(results[2].variant.worker, true);
  } finally {
    await server.close();
  }
});

// Runs web/README.md's esbuild lines (bash: brace expansion) in the project, esbuild on PATH.
function runRecipe(script) {
  fs.rmSync(path.join(packed.dir, 'out'), { recursive: true, force: true });
  return new Promise((resolve) => {
    execFile('bash', ['-c', `set -euo pipefail\n${script}`], {
      cwd: packed.dir, timeout: 120000, env: { ...process.env, PATH: `${path.join(WEB_DIR, 'node_modules/.bin')}:${process.env.PATH}` },
    }, (error, stdout, stderr) => resolve({ code: error ? (error.code ?? error.signal) : 0, stderr }));
  });
}

test("web/README.md's esbuild lines, as written: the bundle runs; with the threaded line, on two pthreads", { skip, timeout: 400000 }, async (t) => {
  const script = codeBlockAfter(README, '* **esbuild**', 'sh');
  const outs = {};
  for (const [name, lines] of [['single', script], ['threaded', replaceOnce(script, '# threads too: cp ', 'cp ')]]) {
    const r = await runRecipe(lines);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    outs[name] = fs.mkdtempSync(path.join(path.dirname(packed.dir), `${name}-`));
    fs.cpSync(path.join(packed.dir, 'out'), outs[name], { recursive: true });
    fs.writeFileSync(path.join(outs[name], 'index.html'), fs.readFileSync(path.join(packed.dir, 'index.html')));
  }
  assert.deepEqual(fs.readdirSync(outs.single).sort(), ['app.js', 'index.html', 'wisp_relaxed.wasm', 'wisp_simd.wasm']);
  // Served by the test server (COOP/COEP, /shared/ from the shared data), each bundle in its folder.
  const server = await startServer({ coi: true, mounts: { '/single/': outs.single, '/threaded/': outs.threaded } });
  try {
    const single = (await runApp(`${server.url}/single/index.html`, [{ threads: 1 }, { threads: 2 }])).results;
    assertGolden(t, single[0], 'esbuild');
    assertGolden(t, single[1], 'esbuild');
    assert.equal(single[1].variant.threads, false, 'without the threaded files: one thread');
    assert.match(single[1].variant.fallback, /worker\.js: HTTP 404/);
    const [threaded] = (await runApp(`${server.url}/threaded/index.html`, [{ threads: 2 }])).results;
    assertGolden(t, threaded, 'esbuild + threaded files');
    assert.equal(threaded.variant.threads, true, threaded.variant.fallback ?? '');
    assert.equal(threaded.variant.numThreads, 2);
  } finally {
    await server.close();
  }
});

test('no page errors', { skip }, () => {
  assert.deepEqual(pageErrors, []);
});
