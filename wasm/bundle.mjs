// Builds web/dist/wisp.bundle.mjs: web/src/wisp.mjs and everything it imports statically (the
// single-threaded glue included) in one minified ES module, for pages that load the package
// without a bundler (from a CDN or a static server). One request instead of two rounds of six:
// in headless Chromium the import of the unbundled sources took 20-50 ms, the bundle's 10-16 ms.
// It sits in dist/ beside the .wasm files, which it finds through new URL('./x.wasm',
// import.meta.url) as the sources do; the threaded glue stays a separate file, imported only when
// a threaded runtime starts (its path '../dist/x.mjs' resolves from dist/ as from src/).
//
//   node wasm/bundle.mjs        (run by the wasm build's wisp_web_dist target)
//
// esbuild is a dev dependency of web/ (npm ci --ignore-scripts); without it the bundle is not
// built, and this says so.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const WEB = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'web');
const OUT = path.join(WEB, 'dist', 'wisp.bundle.mjs');

let esbuild;
try {
  esbuild = createRequire(path.join(WEB, 'package.json'))('esbuild');
} catch {
  fs.rmSync(OUT, { force: true });
  console.log('wasm/bundle.mjs: esbuild is not installed (cd web && npm ci --ignore-scripts): web/dist/wisp.bundle.mjs not built');
  process.exit(0);
}
const { version } = JSON.parse(fs.readFileSync(path.join(WEB, 'package.json'), 'utf8'));
esbuild.buildSync({
  entryPoints: [path.join(WEB, 'src', 'wisp.mjs')],
  outfile: OUT,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  minify: true,
  keepNames: true,  // error classes keep their names (WispError)
  external: ['../dist/*_mt.mjs'],  // the threaded glue, loaded by import() beside the bundle
  banner: { js: `// wisp-runtime ${version}: src/wisp.mjs bundled; keep it beside dist/*.wasm` },
  // wisp.mjs imports ./chunker.mjs bare only so that unbundled pages fetch it early.
  logOverride: { 'ignored-bare-import': 'silent' },
  logLevel: 'error',
});
