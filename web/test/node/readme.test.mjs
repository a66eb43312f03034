// The READMEs' JavaScript snippets, as a new user copies them: the package packed with `npm pack`
// and installed into a fresh folder outside the repository, the snippet written there line by line
// with only the model path substituted (a shared uint8 model, so the snippets' Uint8Array lines
// hold), and run with node. Each must exit 0, and its outputs are compared with the same model run
// by the package in this process.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Wisp } from '../../src/node.mjs';
import { REPO_DIR, SHARED, WEB_DIR, haveShared } from '../shared.mjs';
import { installPacked, codeBlockAfter, replaceEvery } from '../packed.mjs';

const MODEL = path.join(SHARED, 'models/mobilenet_v2_1.0_224_quant.tflite');
const skip = !haveShared() ? `no shared data at ${SHARED}`
  : !fs.existsSync(path.join(WEB_DIR, 'dist/wisp_simd.wasm')) ? 'web/dist is not built (scripts/test_web.sh builds it)'
  : false;
// Printed after a snippet, to read what it computed.
const REPORT = '\nconsole.log("REPORT " + JSON.stringify({ dtype: out.dtype, shape: out.shape, out: Array.from(out.data), outs: typeof outs === "undefined" ? null : outs.map((o) => Array.from(o)), oneCall: oneCallOutput() }));\n' +
  // Wisp.load's model (named m in both snippets): its output on the same all-zero input.
  'function oneCallOutput() { if (typeof m === "undefined") return null; const r = Array.from(m.runSync(new Uint8Array(224 * 224 * 3))[0].data); m.dispose(); return r; }\n';

let packed, reference;

before(async () => {
  if (skip) return;
  packed = installPacked('wisp-readme-');
  // The expected output: the package's own source on the same all-zero input.
  const rt = await Wisp.create({ threads: 1 });
  try {
    const m = await rt.load(MODEL);
    reference = Array.from((await m.run(new Uint8Array(224 * 224 * 3)))[0].data);
  } finally {
    rt.dispose();
  }
});

after(() => packed?.remove());

// Runs `code` as snippet.mjs in the installed project (2 minutes at most).
function runSnippet(code) {
  const file = path.join(packed.dir, 'snippet.mjs');
  fs.writeFileSync(file, code);
  return new Promise((resolve) => {
    execFile(process.execPath, [file], { cwd: packed.dir, timeout: 120000, env: { ...process.env, NODE_PATH: '' } },
      (error, stdout, stderr) => resolve({ code: error ? (error.code ?? error.signal) : 0, stdout, stderr }));
  });
}

function report(stdout) {
  const line = stdout.split('\n').find((l) => l.startsWith('REPORT '));
  assert.ok(line, `the snippet ran to its end: ${stdout}`);
  return JSON.parse(line.slice('REPORT '.length));
}

test("README.md: the JavaScript snippet runs as written in a fresh folder", { skip, timeout: 180000 }, async (t) => {
  const readme = fs.readFileSync(path.join(REPO_DIR, 'README.md'), 'utf8');
  const snippet = codeBlockAfter(readme, '## The JavaScript / WebAssembly package', 'js');
  const code = replaceEvery(snippet, "'model.tflite'", JSON.stringify(MODEL), 2);
  const r = await runSnippet(code + REPORT);
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr}`);
  assert.equal(r.stderr, '');
  const got = report(r.stdout);
  assert.equal(got.dtype, 'uint8');
  assert.deepEqual(got.shape, [1, 1001]);
  assert.deepEqual(got.out, reference, 'run(): the output of the model on the snippet input');
  assert.equal(got.outs.length, 1);
  assert.deepEqual(got.outs[0], reference, 'runSync() wrote the same output into the preallocated array');
  assert.deepEqual(got.oneCall, reference, 'Wisp.load(): the same model, same output');
  t.diagnostic(`top-1 class ${got.out.indexOf(Math.max(...got.out))}`);
});

test("web/README.md: the package's first snippet runs in a fresh folder", { skip, timeout: 180000 }, async () => {
  const readme = fs.readFileSync(path.join(WEB_DIR, 'README.md'), 'utf8');
  const snippet = codeBlockAfter(readme, '# wisp-runtime', 'js');
  // The model path, and the two arrays the snippet names but leaves to the reader.
  const code = 'const inputTypedArray = new Uint8Array(224 * 224 * 3);\n' +
    'const floats = new Float32Array(224 * 224 * 3);\n' +
    replaceEvery(snippet, "'/models/mobilenet.tflite'", JSON.stringify(MODEL), 2);
  const r = await runSnippet(code + REPORT);
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr}`);
  assert.equal(r.stderr, '');
  const got = report(r.stdout);
  assert.deepEqual(got.out, reference);
  assert.deepEqual(got.oneCall, reference, 'Wisp.load(): the same model, same output');
  // onProgress: ({ loaded, total }) => console.log(loaded, total): the whole file at the end.
  const size = fs.statSync(MODEL).size;
  assert.ok(r.stdout.split('\n').includes(`${size} ${size}`), `progress lines: ${r.stdout.slice(0, 300)}`);
});
