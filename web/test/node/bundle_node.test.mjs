// The package bundled for Node by esbuild (--platform=node), as web/README.md's "A bundle for Node"
// says, line by line: the package from `npm pack` installed in a fresh folder outside the
// repository, a small script importing it by name, the README's shell lines run there (esbuild from
// web/node_modules on PATH), then the bundle run with node from another folder with no
// node_modules. It must give the golden output of bird.bmp for mobilenet_v2_1.0_224_quant, in the
// calling thread, with { worker: true }, and (with the README's commented threaded lines) on 2 threads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { SHARED, WEB_DIR, haveShared, loadManifest, readTensor } from '../shared.mjs';
import { installPacked, codeBlockAfter, replaceOnce } from '../packed.mjs';

const require = createRequire(path.join(WEB_DIR, 'package.json'));
const esbuildInstalled = (() => { try { require.resolve('esbuild'); return true; } catch { return false; } })();
const skip = !haveShared() ? `no shared data at ${SHARED}`
  : !esbuildInstalled ? 'esbuild is not installed (cd web && npm ci --ignore-scripts)'
  : !fs.existsSync(path.join(WEB_DIR, 'dist/wisp_simd_mt.wasm')) ? 'web/dist is not built (scripts/test_web.sh builds it)'
  : false;

const CASE = 'mobilenet_v2_1.0_224_quant/bird';
// The app: classify an image, print the variant and the output as JSON. WISP_THREADS and
// WISP_WORKER pick the runtime.
const MAIN = `import fs from 'node:fs';
import { Wisp } from 'wisp-runtime';
import { decodeBmp, imageToTensor } from 'wisp-runtime/image';
const rt = await Wisp.create({ threads: Number(process.env.WISP_THREADS), worker: process.env.WISP_WORKER === '1' });
const model = await rt.load(${JSON.stringify(path.join(SHARED, 'models/mobilenet_v2_1.0_224_quant.tflite'))});
const image = decodeBmp(fs.readFileSync(${JSON.stringify(path.join(SHARED, 'images/bird.bmp'))}));
const [out] = await model.run(await imageToTensor(rt, image, model.inputs[0]));
console.log(JSON.stringify({ variant: rt.variant, dtype: out.dtype, output: Array.from(out.data) }));
rt.dispose();
`;

let packed, golden;

before(() => {
  if (skip) return;
  packed = installPacked('wisp-node-bundle-');
  fs.writeFileSync(path.join(packed.dir, 'main.js'), MAIN);
  const c = loadManifest().cases.find((x) => x.id === CASE);
  golden = Array.from(readTensor(c.outputs[0].file, c.outputs[0].dtype));
});

after(() => packed?.remove());

function run(file, args, { cwd, env = {} }) {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, timeout: 180000, env: { ...process.env, NODE_PATH: '', ...env } },
      (error, stdout, stderr) => resolve({ code: error ? (error.code ?? error.signal) : 0, stdout, stderr }));
  });
}

// Runs the README's lines in the project (bash: they use brace expansion), then the bundle from a
// copy of out/ in a folder of its own; returns what the app printed.
async function buildAndRun(script, name, env) {
  const sh = path.join(packed.dir, `${name}.sh`);
  fs.writeFileSync(sh, `set -euo pipefail\n${script}`);
  const built = await run('bash', [sh], { cwd: packed.dir, env: { ...env, PATH: `${path.join(WEB_DIR, 'node_modules/.bin')}:${process.env.PATH}` } });
  assert.equal(built.code, 0, `the README's lines failed: ${built.stderr}`);
  const alone = path.join(path.dirname(packed.dir), `${name}-alone`);
  fs.cpSync(path.join(packed.dir, 'out'), alone, { recursive: true });
  assert.ok(!fs.existsSync(path.join(alone, 'node_modules')));
  const r = await run(process.execPath, [path.join(alone, 'main.mjs')], { cwd: alone, env });
  assert.equal(r.code, 0, `the bundle, run from ${alone}: ${r.stderr}`);
  return [JSON.parse(built.stdout.trim().split('\n').at(-1)), JSON.parse(r.stdout.trim().split('\n').at(-1))];
}

function assertGolden(t, r, what) {
  t.diagnostic(`${what}: ${r.variant.name}, threads ${r.variant.numThreads}${r.variant.worker ? ', in a worker' : ''}`);
  assert.equal(r.dtype, 'uint8');
  assert.deepEqual(r.output, golden, `${what}: the golden output of ${CASE}`);
}

test('esbuild --platform=node bundle (web/README.md recipe): golden output in the thread and in a worker', { skip, timeout: 300000 }, async (t) => {
  const readme = fs.readFileSync(path.join(WEB_DIR, 'README.md'), 'utf8');
  const script = codeBlockAfter(readme, '* **A bundle for Node**', 'sh');
  for (const [env, what] of [[{ WISP_THREADS: '1' }, 'one thread'], [{ WISP_THREADS: '1', WISP_WORKER: '1' }, 'worker']]) {
    const [inProject, alone] = await buildAndRun(script, `single-${env.WISP_WORKER ?? 0}`, env);
    assertGolden(t, inProject, `${what}, in the project`);
    assertGolden(t, alone, `${what}, from a folder without node_modules`);
    assert.equal(alone.variant.threads, false);
    assert.equal(alone.variant.worker, env.WISP_WORKER === '1');
  }
  // What was bundled: the package's Node entry, not the browser one's fetch of the .wasm.
  const files = fs.readdirSync(path.join(packed.dir, 'out')).sort();
  assert.deepEqual(files, ['main.mjs', 'node_worker.mjs', 'wisp_relaxed.wasm', 'wisp_simd.wasm']);
});

test('esbuild --platform=node bundle with the threaded files (the README\'s commented line): 2 threads, golden output', { skip, timeout: 300000 }, async (t) => {
  const readme = fs.readFileSync(path.join(WEB_DIR, 'README.md'), 'utf8');
  const script = codeBlockAfter(readme, '* **A bundle for Node**', 'sh');
  const threaded = replaceOnce(script, '\n# cp node_modules/wisp-runtime/dist/wisp_*_mt.', '\ncp node_modules/wisp-runtime/dist/wisp_*_mt.');
  fs.rmSync(path.join(packed.dir, 'out'), { recursive: true, force: true });
  const [, alone] = await buildAndRun(threaded, 'threaded', { WISP_THREADS: '2' });
  assertGolden(t, alone, 'two threads, from a folder without node_modules');
  assert.equal(alone.variant.threads, true, alone.variant.fallback ?? '');
  assert.equal(alone.variant.numThreads, 2);
});

// As in the browser, a missing pthread worker script is found before any worker starts, and the
// runtime falls back to one thread instead of dying on the workers' uncaught error.
test('esbuild --platform=node bundle without the threaded files, asked for 2 threads: falls back to one thread', {
  skip, timeout: 300000,
}, async (t) => {
  const readme = fs.readFileSync(path.join(WEB_DIR, 'README.md'), 'utf8');
  fs.rmSync(path.join(packed.dir, 'out'), { recursive: true, force: true });
  const [, alone] = await buildAndRun(codeBlockAfter(readme, '* **A bundle for Node**', 'sh'), 'no-threads', { WISP_THREADS: '2' });
  assertGolden(t, alone, 'asked for two threads, without the threaded files');
  assert.equal(alone.variant.threads, false);
  assert.match(alone.variant.fallback, /worker\.js/);
});
