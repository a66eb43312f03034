// Where the WebAssembly files are, copied into web/dist/ beside the files it names (by the
// wisp_web_dist target in wasm/CMakeLists.txt). Every URL is spelled new URL('./literal', import.meta.url)
// so that bundlers can see it: Vite (and webpack) copy the file into the build and rewrite the URL;
// esbuild leaves the expression as it is, and it then names a file next to the bundle (copy
// dist/*.wasm there, see web/README.md). Nothing is resolved until asked: an AudioWorklet, which is
// handed the .wasm bytes, never evaluates these.
export const WASM_URLS = {
  'wisp_simd.wasm': () => new URL('./wisp_simd.wasm', import.meta.url),
  'wisp_relaxed.wasm': () => new URL('./wisp_relaxed.wasm', import.meta.url),
  'wisp_simd_mt.wasm': () => new URL('./wisp_simd_mt.wasm', import.meta.url),
  'wisp_relaxed_mt.wasm': () => new URL('./wisp_relaxed_mt.wasm', import.meta.url),
};

// The threaded variants start their pthreads from a classic worker script, which imports the
// variant's glue module itself (not the bundle that may have inlined it).
export const THREAD_SCRIPTS = {
  'simd-mt': {
    worker: () => new URL('./wisp_simd_mt.worker.js', import.meta.url),
    glue: () => new URL('./wisp_simd_mt.mjs', import.meta.url),
  },
  'relaxed-mt': {
    worker: () => new URL('./wisp_relaxed_mt.worker.js', import.meta.url),
    glue: () => new URL('./wisp_relaxed_mt.mjs', import.meta.url),
  },
};
