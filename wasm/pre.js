// Prepended inside the module factory (MODULARIZE). Emscripten 3.1.6 emits an ES module whose
// Node branch still uses the CommonJS `require` and `__dirname`; these function-scoped stand-ins
// come from the loader (web/src/wisp.mjs passes Module.nodeRequire / Module.nodeDirname) or, in a
// pthread worker, from the globals the worker script installs. Nothing is written to globalThis.
var require = Module['nodeRequire'] || (typeof globalThis.require == 'function' ? globalThis.require : undefined);
var __dirname = Module['nodeDirname'] || '.';
