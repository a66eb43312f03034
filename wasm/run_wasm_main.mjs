// Runs a program built with Emscripten as an ES module with a main() (the GoogleTest binaries of
// tests/wasm, the microkernel benchmark) under Node, or in headless Chromium with --browser, and
// exits with its status. Arguments after `--` are passed to main(). The module gets its .wasm
// bytes handed in (Debian's Emscripten 3.1.6 loader would call fetch() under Node 20).
//   node wasm/run_wasm_main.mjs build/wasm/wasm/tests/microkernel_tests_simd.mjs
//   node wasm/run_wasm_main.mjs --browser build/wasm/wasm/tests/microkernel_tests_relaxed.mjs
//   node wasm/run_wasm_main.mjs --browser build/wasm/bench/microkernel_bench_relaxed.mjs -- gemm
// Relaxed-SIMD modules need `node --experimental-wasm-relaxed-simd --no-liftoff` (V8 11.3's
// baseline tier miscompiles the relaxed dot product; the optimizing tier is right).
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { fileURLToPath, pathToFileURL } from 'node:url';

const all = process.argv.slice(2);
const dashes = all.indexOf('--');
const args = dashes >= 0 ? all.slice(0, dashes) : all;
const programArgs = dashes >= 0 ? all.slice(dashes + 1) : [];
const browser = args.includes('--browser');
const file = path.resolve(args.filter((a) => !a.startsWith('--'))[0] ?? '');
if (!fs.existsSync(file)) {
  console.error('usage: node run_wasm_main.mjs [--browser] program.mjs [-- args...]');
  process.exit(2);
}
const wasmFile = file.replace(/\.mjs$/, '.wasm');

async function runInNode() {
  const { default: factory } = await import(pathToFileURL(file).href);
  const { createRequire } = await import('node:module');
  return new Promise((resolve) => {
    factory({
      nodeRequire: createRequire(import.meta.url),  // wasm/pre.js: the glue's require/__dirname
      nodeDirname: path.dirname(file),
      arguments: programArgs,
      wasmBinary: fs.readFileSync(wasmFile),
      print: (t) => console.log(t),
      printErr: (t) => console.error(t),
      onExit: (code) => resolve(code),
      onAbort: (what) => { console.error(`aborted: ${what}`); resolve(1); },
    }).catch((e) => { console.error(e); resolve(1); });
  });
}

async function runInChromium() {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const { launchChromium } = await import(pathToFileURL(path.join(here, '..', 'web', 'test', 'chromium.mjs')).href);
  const server = http.createServer((req, res) => {
    const name = req.url === '/tests.wasm' ? wasmFile : req.url === '/tests.mjs' ? file : null;
    if (!name) { res.writeHead(req.url === '/' ? 200 : 404, { 'Content-Type': 'text/html' }); res.end('<!doctype html>'); return; }
    res.writeHead(200, { 'Content-Type': name.endsWith('.wasm') ? 'application/wasm' : 'text/javascript' });
    res.end(fs.readFileSync(name));
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${server.address().port}`;
  const b = await launchChromium();
  try {
    const page = await b.context.newPage();
    await page.goto(`${url}/`, { timeout: 60000 });
    const { code, lines } = await page.evaluate(async (programArgs) => {
      const { default: factory } = await import('/tests.mjs');
      const wasmBinary = new Uint8Array(await (await fetch('/tests.wasm')).arrayBuffer());
      const lines = [];
      const code = await new Promise((resolve) => {
        factory({
          wasmBinary,
          arguments: programArgs,
          print: (t) => lines.push(t),
          printErr: (t) => lines.push(t),
          onExit: resolve,
          onAbort: (what) => { lines.push(`aborted: ${what}`); resolve(1); },
        }).catch((e) => { lines.push(String(e)); resolve(1); });
      });
      return { code, lines };
    }, programArgs);
    console.log(lines.join('\n'));
    return code;
  } finally {
    await b.close();
    server.close();
  }
}

const timer = setTimeout(() => { console.error('timed out after 1200 s'); process.exit(1); }, 1200000);
const code = browser ? await runInChromium() : await runInNode();
clearTimeout(timer);
process.exit(code);
