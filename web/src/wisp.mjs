// Wisp: on-device inference in WebAssembly, for browsers, Web Workers, AudioWorklets and Node 20.
//
//   import { Wisp } from 'wisp-runtime';
//   const rt = await Wisp.create({ threads: 'auto' });          // or { worker: true }
//   const model = await rt.load(urlOrBytes, { onProgress });     // .wisp or .tflite
//   const [out] = await model.run(inputTypedArray);              // or [a, b] or { name: a }
//   model.inputs / model.outputs                                 // name, dtype, shape, quantization
//   model.dispose(); rt.dispose();
//   const m = await rt.loadFromServer('https://models.example', 'mobilenet', { channel: 'stable' });
//
// Each runtime owns one WebAssembly instance (its own heap and, in the threaded variant, its own
// pthread workers); nothing is shared between runtimes and nothing is written to globalThis.
//
// This is the entry for every JS context (window, module Worker, SharedWorker, AudioWorklet): it
// imports nothing from node:, and nothing dynamically that an AudioWorklet would need (worklets
// have no import()). What only Node has (files, the CPU count, worker_threads, require) comes from
// node.mjs, the entry under the `node` condition of package.json "exports", through
// _setNodePlatform().

import { fetchServerModel, OutcomeReporter } from './registry_client.mjs';
// registry_client.mjs's own import, named here as well: a page that imports the package unbundled
// then fetches every module in two round trips instead of three (about 10-20 ms of a cold start
// in Chromium on loopback, more over a network).
import './chunker.mjs';
import createSimdModule from '../dist/wisp_simd.mjs';
import createRelaxedModule from '../dist/wisp_relaxed.mjs';
import { WASM_URLS, THREAD_SCRIPTS } from '../dist/wisp_urls.mjs';

const IS_NODE = typeof process === 'object' && process !== null &&
  typeof process.versions === 'object' && process.versions !== null && typeof process.versions.node === 'string';

let nodePlatform = null;

/** Called once by node.mjs: { readFile, fileExists, hardwareThreads, require, distDir, startWorker }. */
export function _setNodePlatform(platform) {
  nodePlatform = platform;
}

function node() {
  if (!nodePlatform) {
    throw new WispError("in Node, import 'wisp-runtime' (its `node` export condition loads src/node.mjs), not src/wisp.mjs");
  }
  return nodePlatform;
}

// AudioWorkletGlobalScope has neither TextEncoder/TextDecoder nor performance: small stand-ins.
const now = typeof performance !== 'undefined' ? () => performance.now() : () => Date.now();

function utf8Encoder() {
  if (typeof TextEncoder !== 'undefined') return new TextEncoder();
  return { encode: (s) => Uint8Array.from(unescape(encodeURIComponent(s)), (c) => c.charCodeAt(0)) };
}

function utf8Decoder() {
  if (typeof TextDecoder !== 'undefined') return new TextDecoder();
  return {
    decode: (bytes) => {
      let s = '';
      for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
      try { return decodeURIComponent(escape(s)); } catch { return s; }
    },
  };
}

// Data types, numbered as in schemas/wisp.fbs (enum DType).
const DTYPES = ['float32', 'int8', 'uint8', 'int16', 'int32', 'int64', 'bool', 'float16'];
const ARRAY_TYPES = {
  float32: Float32Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array, int32: Int32Array,
  int64: BigInt64Array, bool: Uint8Array, float16: Uint16Array,
};
const QUANT_RANGE = { int8: [-128, 127], uint8: [0, 255], int16: [-32768, 32767] };

/** An Error carrying the core's message (which tensor, operator or byte offset is at fault). */
export class WispError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'WispError';
  }
}

// ---------------------------------------------------------------------------------------------
// Feature detection

// (module (func (result v128) i32.const 0 i8x16.splat))
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10,
  8, 1, 6, 0, 65, 0, 253, 15, 11]);

function simdSupported() {
  try { return WebAssembly.validate(SIMD_PROBE); } catch { return false; }
}

// (module (func (param v128) (result v128)
//   local.get 0 local.get 0 local.get 0 i32x4.relaxed_dot_i8x16_i7x16_add_s))
const RELAXED_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 6, 1, 96, 1, 123, 1, 123, 3, 2, 1,
  0, 10, 13, 1, 11, 0, 32, 0, 32, 0, 32, 0, 253, 147, 2, 11]);

function relaxedSimdSupported() {
  try { return WebAssembly.validate(RELAXED_PROBE); } catch { return false; }
}

function sharedMemorySupported() {
  if (typeof SharedArrayBuffer === 'undefined') return false;
  if (!IS_NODE && globalThis.crossOriginIsolated !== true) return false;
  try {
    const m = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return m.buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}

async function hardwareThreads() {
  if (typeof navigator !== 'undefined' && navigator.hardwareConcurrency) return navigator.hardwareConcurrency;
  if (IS_NODE) return node().hardwareThreads();
  return 1;
}

/**
 * What this environment supports: { simd, relaxedSimd, threads, crossOriginIsolated,
 * hardwareConcurrency }.
 */
export async function detectFeatures() {
  return {
    simd: simdSupported(),
    relaxedSimd: relaxedSimdSupported(),
    threads: sharedMemorySupported(),
    crossOriginIsolated: IS_NODE ? true : globalThis.crossOriginIsolated === true,
    hardwareConcurrency: await hardwareThreads(),
  };
}

// ---------------------------------------------------------------------------------------------
// Fetching bytes (the model, the .wasm) with progress

function isUrlLike(x) {
  return (typeof URL !== 'undefined' && x instanceof URL) || typeof x === 'string';
}

function toUrl(x) {
  if (x instanceof URL) return x;
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(x) && !(IS_NODE && /^[a-zA-Z]:[\\/]/.test(x))) return new URL(x);
  if (IS_NODE) return null;  // a file path
  return new URL(x, globalThis.location?.href);
}

// A download started before the runtime that will load it exists (Wisp.load): the body is read
// into chunks as it arrives, so the network keeps going while the WebAssembly compiles instead of
// stalling once the browser's buffer for an unread body is full. readSource() takes it over.
class EarlyDownload {
  constructor(source, { signal } = {}) {
    this.url = toUrl(source);
    this.chunks = [];
    this.stopped = false;
    this.opened = fetch(this.url, { signal, credentials: 'same-origin' }).then((response) => {
      this.response = response;
      if (!response.ok || !response.body || typeof response.body.getReader !== 'function') return;
      this.reader = response.body.getReader();
      this.pumped = this._pump();
    });
    this.opened.catch(() => {});  // reported by takeOver(), or dropped with cancel()
  }

  async _pump() {
    try {
      while (!this.stopped) {
        const r = await this.reader.read();
        if (r.done) { this.ended = true; return; }
        this.chunks.push(r.value);
      }
    } catch (e) {
      this.failed = e;  // reported after the chunks that did arrive
    }
  }

  // The response and its reader, with the chunks read so far (the reader continues after them).
  async takeOver() {
    try {
      await this.opened;
    } catch (e) {
      throw new WispError(`cannot fetch ${this.url}: ${e.message}`, { cause: e });
    }
    this.stopped = true;
    await this.pumped;  // the read in flight lands in chunks
    return { response: this.response, reader: this.reader, chunks: this.chunks, ended: !!this.ended, failed: this.failed };
  }

  cancel() {
    this.stopped = true;
    this.opened.then(() => this.reader?.cancel()).catch(() => {});
  }
}

// Reads `source` (URL, path in Node, Response, Blob, EarlyDownload) and returns its bytes. With a
// `sink` and a known length, the body is streamed into sink.write(chunk, offset) after
// sink.begin(total) and { inHeap: true, length } is returned instead.
async function readSource(source, { onProgress, signal, sink } = {}) {
  // Node: a file path or a file: URL is read from disk (fs accepts both).
  if (IS_NODE && isUrlLike(source) && (toUrl(source) === null || toUrl(source).protocol === 'file:')) {
    const data = await node().readFile(toUrl(source) ?? source);
    onProgress?.({ loaded: data.length, total: data.length });
    return data;
  }
  let response = source;
  let early = null;
  if (source instanceof EarlyDownload) {
    early = await source.takeOver();
    response = early.response;
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const data = new Uint8Array(await source.arrayBuffer());
    onProgress?.({ loaded: data.length, total: data.length });
    return data;
  }
  if (isUrlLike(source)) {
    const url = toUrl(source);
    try {
      response = await fetch(url, { signal, credentials: 'same-origin' });
    } catch (e) {
      throw new WispError(`cannot fetch ${url}: ${e.message}`, { cause: e });
    }
  }
  if (!response || typeof response.arrayBuffer !== 'function') {
    throw new WispError('load() expects a URL, a file path (Node), a Response, a Blob, an ArrayBuffer or a typed array');
  }
  if (!response.ok) throw new WispError(`cannot fetch ${response.url}: HTTP ${response.status} ${response.statusText}`);
  const encoded = response.headers.get('content-encoding');
  const length = Number(response.headers.get('content-length')) || 0;
  const total = encoded && encoded !== 'identity' ? 0 : length;  // compressed: length is not the byte count
  if (!early?.reader && (!response.body || typeof response.body.getReader !== 'function')) {
    const data = new Uint8Array(await response.arrayBuffer());
    onProgress?.({ loaded: data.length, total: data.length });
    return data;
  }
  const reader = early?.reader ?? response.body.getReader();
  const buffered = early?.chunks ?? [];
  const where = response.url || 'the response';
  let loaded = 0;
  // The chunks an early download read first, then the rest from the reader.
  const read = async () => {
    if (buffered.length) return { done: false, value: buffered.shift() };
    if (early?.ended) return { done: true };
    try {
      if (early?.failed) throw early.failed;
      return await reader.read();
    } catch (e) {
      throw new WispError(`${where}: the download failed after ${loaded} bytes: ${e.message}`, { cause: e });
    }
  };
  if (sink && total && sink.begin(total)) {
    onProgress?.({ loaded: 0, total });
    // Done at the Content-Length's last byte: the stream's own end arrives one more hop later
    // (2-6 ms after the last bytes in a Chromium cold start), and HTTP framing allows no more.
    while (loaded < total) {
      const { done, value } = await read();
      if (done) break;
      if (loaded + value.length > total) {
        reader.cancel().catch(() => {});
        throw new WispError(`${where}: the response is longer than its Content-Length (${total} bytes)`);
      }
      sink.write(value, loaded);
      loaded += value.length;
      onProgress?.({ loaded, total });
    }
    if (loaded !== total) throw new WispError(`${where}: the response ended after ${loaded} of its ${total} bytes (Content-Length)`);
    return { inHeap: true, length: loaded };
  }
  let data = total ? new Uint8Array(total) : null;
  const chunks = [];
  onProgress?.({ loaded: 0, total });
  for (;;) {
    const { done, value } = await read();
    if (done) break;
    if (data && loaded + value.length <= data.length) {
      data.set(value, loaded);
    } else {
      if (data) { chunks.push(data.subarray(0, loaded)); data = null; }
      chunks.push(value);
    }
    loaded += value.length;
    onProgress?.({ loaded, total: total || 0 });
  }
  if (data) return loaded === data.length ? data : data.subarray(0, loaded);
  const out = new Uint8Array(loaded);
  let off = 0;
  for (const c of chunks) { out.set(c, off); off += c.length; }
  onProgress?.({ loaded, total: loaded });
  return out;
}

function asBytes(x) {
  if (x instanceof Uint8Array) return x;
  if (x instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && x instanceof SharedArrayBuffer)) return new Uint8Array(x);
  if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  return null;
}

// ---------------------------------------------------------------------------------------------
// WebAssembly instantiation

// Four builds of the same core: SIMD128 or SIMD128 + relaxed SIMD (dot-product kernels), each
// single-threaded or with pthreads. The single-threaded glue is imported statically (an
// AudioWorklet cannot import()); the threaded glue only when a threaded runtime starts. The
// import specifiers and the URLs (dist/wisp_urls.mjs) are literals so bundlers see them.
const VARIANTS = {
  simd: { name: 'simd', threads: false, relaxed: false, glue: async () => ({ default: createSimdModule }), wasm: 'wisp_simd.wasm' },
  'simd-mt': { name: 'simd-mt', threads: true, relaxed: false, glue: () => import('../dist/wisp_simd_mt.mjs'), wasm: 'wisp_simd_mt.wasm' },
  relaxed: { name: 'relaxed', threads: false, relaxed: true, glue: async () => ({ default: createRelaxedModule }), wasm: 'wisp_relaxed.wasm' },
  'relaxed-mt': { name: 'relaxed-mt', threads: true, relaxed: true, glue: () => import('../dist/wisp_relaxed_mt.mjs'), wasm: 'wisp_relaxed_mt.wasm' },
};

function resolveWasmUrl(file, options) {
  if (options.wasmUrl) {
    if (typeof options.wasmUrl === 'function') return options.wasmUrl(file);
    if (typeof options.wasmUrl === 'object' && !(options.wasmUrl instanceof URL) && options.wasmUrl[file]) return options.wasmUrl[file];
  }
  if (typeof options.locateFile === 'function') return options.locateFile(file, '');
  return WASM_URLS[file]();
}

// The threaded variant's pthread worker script and the glue module it imports: options.locateFile
// and options.mainScriptUrlOrBlob when given, else dist/wisp_urls.mjs.
function threadScripts(variant, options) {
  const own = THREAD_SCRIPTS[variant.name];
  const workerFile = `wisp_${variant.name.replace('-', '_')}.worker.js`;
  return {
    workerFile,
    worker: String(typeof options.locateFile === 'function' ? options.locateFile(workerFile, '') : own.worker()),
    glue: options.mainScriptUrlOrBlob ?? String(own.glue()),
  };
}

// Bundlers that do not copy the pthread worker script or its glue (esbuild never does) would leave
// the threaded variant waiting for workers that never start. Both scripts are fetched first (the
// browser caches them for the workers): a missing one, or an HTML page in its place (a dev server's
// fallback), is an error naming the URL, and createLocal falls back to the single-threaded variant.
// A data: URL (Vite inlines the small worker script) would start the worker in an opaque origin
// that cannot import the glue: it is started from a same-origin blob: URL instead.
async function checkThreadScripts(scripts) {
  if (scripts.worker.startsWith('data:')) {
    const text = await (await fetch(scripts.worker)).text();
    scripts.worker = URL.createObjectURL(new Blob([text], { type: 'text/javascript' }));
  }
  for (const url of [scripts.worker, scripts.glue]) {
    if (typeof url !== 'string' || url.startsWith('blob:') || url.startsWith('data:')) continue;
    let response;
    try {
      response = await fetch(url, { credentials: 'same-origin' });
    } catch (e) {
      throw new WispError(`cannot fetch ${url}: ${e.message}`, { cause: e });
    }
    response.body?.cancel().catch(() => {});
    const type = response.headers.get('content-type') ?? '';
    const hint = '; serve dist/wisp_*_mt.{mjs,worker.js,wasm} beside the bundle or pass locateFile and mainScriptUrlOrBlob';
    if (!response.ok) throw new WispError(`${url}: HTTP ${response.status}${hint}`);
    if (!/javascript|ecmascript/i.test(type)) throw new WispError(`${url} is ${type || 'of no content type'}, not JavaScript${hint}`);
  }
}

async function instantiateWasm(url, imports, options) {
  if (options.wasmBinary) {
    return WebAssembly.instantiate(asBytes(options.wasmBinary), imports);
  }
  if (IS_NODE) {
    const bytes = await node().readFile(url instanceof URL ? url : String(url));
    return WebAssembly.instantiate(bytes, imports);
  }
  if (typeof WebAssembly.instantiateStreaming === 'function') {
    try {
      return await WebAssembly.instantiateStreaming(fetch(url, { credentials: 'same-origin' }), imports);
    } catch (e) {
      // A server that sends the wrong MIME type: fall back to compiling from bytes.
      if (!(e instanceof TypeError)) throw e;
    }
  }
  const response = await fetch(url, { credentials: 'same-origin' });
  if (!response.ok) throw new WispError(`cannot fetch ${url}: HTTP ${response.status}`);
  return WebAssembly.instantiate(await response.arrayBuffer(), imports);
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new WispError(`timed out after ${ms} ms: ${what}`)), ms); }),
  ]);
}

async function createModule(variant, numThreads, options) {
  const { default: factory } = await variant.glue();
  const wasmUrl = options.wasmBinary ? null : resolveWasmUrl(variant.wasm, options);
  let failInit;
  const initFailed = new Promise((_, reject) => { failInit = reject; });
  const state = { memory: null, abortReason: null };
  const args = {
    print: (text) => (options.print ?? console.log)(text),
    printErr: (text) => {
      // A pthread worker that cannot start (its script or glue failed to load) would leave the
      // threaded variant waiting until initTimeoutMs: fail at once instead.
      if (variant.threads && /^worker sent an error!/.test(text)) failInit(new WispError(`a pthread worker failed: ${text}`));
      (options.printErr ?? console.warn)(text);
    },
    onAbort: (what) => { state.abortReason = String(what); },
    instantiateWasm(imports, receiveInstance) {
      instantiateWasm(wasmUrl, imports, options).then(({ instance, module }) => {
        state.memory = instance.exports.memory ?? imports.env?.memory ?? null;
        receiveInstance(instance, module);
      }, (e) => failInit(new WispError(`cannot instantiate ${variant.wasm}: ${e.message}`, { cause: e })));
      return {};
    },
  };
  if (variant.threads) {
    args.wispPoolSize = Math.max(1, numThreads - 1);
    if (IS_NODE) {
      if (options.locateFile) args.locateFile = options.locateFile;
      if (options.mainScriptUrlOrBlob) args.mainScriptUrlOrBlob = options.mainScriptUrlOrBlob;
      // A bundle that did not copy the pthread worker script would die on the workers' uncaught
      // "cannot find module": an error here makes createLocal fall back to one thread instead.
      // The glue starts workers from new URL(workerFile, its own URL), which is where
      // dist/wisp_urls.mjs points too (bundled or not), or from options.locateFile.
      const { worker } = threadScripts(variant, options);
      if (/^file:|^\//.test(worker) && !(await node().fileExists(worker.startsWith('file:') ? new URL(worker) : worker))) {
        throw new WispError(`${worker} is missing; copy dist/wisp_*_mt.{mjs,worker.js,wasm} beside the bundle or pass locateFile`);
      }
    } else {
      const scripts = threadScripts(variant, options);
      await checkThreadScripts(scripts);
      args.locateFile = (file, prefix) => (file === scripts.workerFile ? scripts.worker
        : typeof options.locateFile === 'function' ? options.locateFile(file, prefix) : prefix + file);
      args.mainScriptUrlOrBlob = scripts.glue;
    }
  } else {
    // The wasm is instantiated by args.instantiateWasm; a locateFile keeps the glue from computing
    // its own new URL('wisp_simd.wasm', import.meta.url), which fails where there is no URL
    // (AudioWorkletGlobalScope).
    args.locateFile = (file, prefix) => prefix + file;
  }
  if (IS_NODE) {
    args.nodeRequire = node().require;
    args.nodeDirname = node().distDir;
  }
  const mod = await (variant.threads
    ? withTimeout(Promise.race([factory(args), initFailed]), options.initTimeoutMs ?? 60000, `starting the ${variant.name} variant`)
    : Promise.race([factory(args), initFailed]));
  if (!state.memory) state.memory = mod.wasmMemory ?? null;
  if (IS_NODE) mod.wispUnrefWorkers?.();
  return { mod, state };
}

// ---------------------------------------------------------------------------------------------
// The runtime (in this thread)

class Core {
  constructor(mod, state, variant) {
    this.mod = mod;
    this.state = state;
    this.variant = variant;
    this.dead = null;
    this.u8 = null;
    this.encoder = utf8Encoder();
    this.decoder = utf8Decoder();
  }

  heap() {
    const buffer = this.state.memory ? this.state.memory.buffer : this.mod.HEAPU8.buffer;
    if (!this.u8 || this.u8.buffer !== buffer) this.u8 = new Uint8Array(buffer);
    return this.u8;
  }

  // Calls an export; a trap (abort, out of memory, unreachable) becomes a WispError and poisons
  // this runtime: its heap may be inconsistent, so later calls fail fast with the same message.
  call(name, ...args) {
    if (this.dead) throw new WispError(this.dead);
    try {
      return this.mod['_' + name](...args);
    } catch (e) {
      this.trapped(name, e);
    }
  }

  // A trap in export `name`: poisons the runtime and throws.
  trapped(name, e) {
    const reason = this.state.abortReason ?? (e && e.message) ?? String(e);
    this.dead = `the WebAssembly runtime stopped in ${name}: ${reason}` +
      (/memory|alloc/i.test(reason) ? ' (out of memory?)' : '') + '; create a new runtime with Wisp.create()';
    throw new WispError(this.dead, { cause: e });
  }

  cstring(ptr) {
    if (!ptr) return '';
    const heap = this.heap();
    let end = ptr;
    while (heap[end] !== 0) end++;
    return this.decoder.decode(heap.slice(ptr, end));
  }

  lastError() {
    return this.cstring(this.call('wisp_last_error'));
  }

  malloc(size) {
    const ptr = this.call('malloc', Math.max(1, size));
    if (!ptr) throw new WispError(`out of memory: cannot allocate ${size} bytes in the WebAssembly heap`);
    return ptr;
  }

  allocString(s) {
    const bytes = this.encoder.encode(s);
    const ptr = this.malloc(bytes.length + 1);
    const heap = this.heap();
    heap.set(bytes, ptr);
    heap[ptr + bytes.length] = 0;
    return ptr;
  }
}

function describeIo(core, handle, isOutput, i) {
  const dtype = DTYPES[core.call('wisp_io_dtype', handle, isOutput, i)] ?? 'unknown';
  const rank = core.call('wisp_io_rank', handle, isOutput, i);
  const shape = [];
  for (let d = 0; d < rank; d++) shape.push(core.call('wisp_io_dim', handle, isOutput, i, d));
  const nq = core.call('wisp_io_quant_count', handle, isOutput, i);
  let quantization = null;
  if (nq > 0) {
    const scale = [];
    const zeroPoint = [];
    for (let k = 0; k < nq; k++) {
      scale.push(core.call('wisp_io_quant_scale', handle, isOutput, i, k));
      zeroPoint.push(core.call('wisp_io_quant_zero_point', handle, isOutput, i, k));
    }
    quantization = { scale, zeroPoint, axis: core.call('wisp_io_quant_axis', handle, isOutput, i) };
  }
  return {
    name: core.cstring(core.call('wisp_io_name', handle, isOutput, i)),
    index: i,
    dtype,
    shape,
    quantization,
    bytes: core.call('wisp_io_bytes', handle, isOutput, i),
  };
}

function numElements(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

// Per-element (scale, zero point) along the quantized axis.
function quantAt(q, shape, i) {
  if (q.scale.length === 1) return [q.scale[0], q.zeroPoint[0] ?? 0];
  let inner = 1;
  for (let d = q.axis + 1; d < shape.length; d++) inner *= shape[d];
  const c = Math.floor(i / inner) % q.scale.length;
  return [q.scale[c], q.zeroPoint[c] ?? 0];
}

/** Dequantizes a quantized output ({data, dtype, shape, quantization}) to a Float32Array. */
export function dequantize(tensor) {
  return dequantizeInto(tensor.data, tensor.shape, tensor.quantization, new Float32Array(tensor.data.length));
}

// (data - zero point) * scale into `out` (a Float32Array of data.length); per-tensor without a
// per-element lookup. For 8/16-bit data the product is exact in double, so storing it rounds once,
// as the core's f32(q - zp) * scale does.
function dequantizeInto(data, shape, q, out) {
  const n = data.length;
  if (!q) { for (let i = 0; i < n; i++) out[i] = Number(data[i]); return out; }
  if (q.scale.length === 1 && !(data instanceof BigInt64Array)) {
    const scale = q.scale[0];
    const zp = q.zeroPoint[0] ?? 0;
    for (let i = 0; i < n; i++) out[i] = (data[i] - zp) * scale;
    return out;
  }
  for (let i = 0; i < n; i++) {
    const [scale, zp] = quantAt(q, shape, i);
    out[i] = (Number(data[i]) - zp) * scale;
  }
  return out;
}

// Math.round rounds half up; TFLite rounds half away from zero.
function roundHalfAway(x) { return x < 0 ? -Math.round(-x) : Math.round(x); }

function normalizeInputs(inputs, descs) {
  if (inputs == null) throw new WispError('run() needs inputs');
  let list;
  if (ArrayBuffer.isView(inputs)) {
    list = [inputs];
  } else if (Array.isArray(inputs)) {
    list = inputs;
  } else if (typeof inputs === 'object') {
    const names = descs.map((d) => d.name);
    for (const key of Object.keys(inputs)) {
      if (!names.includes(key)) throw new WispError(`unknown input '${key}'; the model's inputs are: ${names.map((n) => `'${n}'`).join(', ')}`);
    }
    list = descs.map((d) => {
      if (!(d.name in inputs)) throw new WispError(`missing input '${d.name}'`);
      return inputs[d.name];
    });
  } else {
    throw new WispError('run() expects a typed array, an array of typed arrays, or an object keyed by input name');
  }
  if (list.length !== descs.length) {
    throw new WispError(`the model has ${descs.length} input(s) (${descs.map((d) => `'${d.name}'`).join(', ')}) but ${list.length} were given`);
  }
  return list;
}

// Converts one user input to the exact bytes of the input tensor.
function inputBytes(value, desc, options) {
  if (value && typeof value === 'object' && 'data' in value && !ArrayBuffer.isView(value)) value = value.data;  // a tensor object
  if (!ArrayBuffer.isView(value) && !Array.isArray(value)) {
    throw new WispError(`input '${desc.name}': expected a typed array, got ${value === null ? 'null' : typeof value}`);
  }
  const n = numElements(desc.shape);
  if (value.length !== n && !(value instanceof DataView)) {
    throw new WispError(`input '${desc.name}': expected ${n} elements for shape [${desc.shape.join(', ')}] (${desc.dtype}), got ${value.length}`);
  }
  const Want = ARRAY_TYPES[desc.dtype];
  if (!Want) throw new WispError(`input '${desc.name}': dtype ${desc.dtype} is not supported from JS`);
  if (value instanceof Want || (desc.dtype === 'uint8' && value instanceof Uint8ClampedArray) ||
      (desc.dtype === 'bool' && value instanceof Uint8Array)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  const isFloat = value instanceof Float32Array || value instanceof Float64Array || Array.isArray(value);
  if (isFloat && desc.quantization && QUANT_RANGE[desc.dtype]) {
    if (!options.quantize) {
      throw new WispError(`input '${desc.name}' is ${desc.dtype} (scale ${desc.quantization.scale[0]}, zero point ${desc.quantization.zeroPoint[0]}); ` +
        `pass a ${Want.name} or run(inputs, { quantize: true }) to quantize float values`);
    }
    const out = quantizeRounded(value, desc);
    return new Uint8Array(out.buffer);
  }
  if (Array.isArray(value)) {
    const out = desc.dtype === 'int64' ? Want.from(value, (v) => BigInt(v)) : Want.from(value);
    return new Uint8Array(out.buffer);
  }
  throw new WispError(`input '${desc.name}': expected a ${Want.name} (${desc.dtype}), got a ${value.constructor.name}`);
}

function quantizeRounded(values, desc) {
  const q = desc.quantization;
  const [lo, hi] = QUANT_RANGE[desc.dtype];
  const out = new ARRAY_TYPES[desc.dtype](values.length);
  for (let i = 0; i < values.length; i++) {
    const [scale, zp] = quantAt(q, desc.shape, i);
    const v = roundHalfAway(values[i] / scale) + zp;
    out[i] = v < lo ? lo : v > hi ? hi : v;
  }
  return out;
}

const NO_OPTIONS = Object.freeze({});

// Checks caller-provided output arrays (run options.outputs) against the output tensors: one typed
// array per output, of the output's element type (Float32Array for a quantized output when
// dequantizing) and element count.
function checkOutputArrays(outs, descs, dequantizeOutputs) {
  if (!Array.isArray(outs) || outs.length !== descs.length) {
    throw new WispError(`options.outputs must be an array of ${descs.length} typed array(s), one per output (${descs.map((d) => `'${d.name}'`).join(', ')})`);
  }
  for (let i = 0; i < descs.length; i++) {
    const d = descs[i];
    const a = outs[i];
    const asFloat = dequantizeOutputs && d.quantization != null;
    const Want = asFloat ? Float32Array : (ARRAY_TYPES[d.dtype] ?? Uint8Array);
    const n = numElements(d.shape);
    const typeOk = a instanceof Want || (Want === Uint8Array && a instanceof Uint8ClampedArray);
    if (!typeOk || a.length !== n) {
      const got = ArrayBuffer.isView(a) ? `a ${a.constructor.name} of ${a.length} elements` : (a === null ? 'null' : typeof a);
      throw new WispError(`options.outputs[${i}] (output '${d.name}', ${d.dtype} [${d.shape.join(', ')}]${asFloat ? ', dequantized' : ''}): ` +
        `expected a ${Want.name} of ${n} elements, got ${got}`);
    }
  }
}

class LocalModel {
  constructor(runtime, handle, info) {
    this.runtime = runtime;
    this.handle = handle;
    /** @type {ReadonlyArray<import('./wisp').TensorInfo>} */
    this.inputs = info.inputs;
    this.outputs = info.outputs;
    this.info = info.info;
    // The content sha256 is computed on first read, not at load: a .tflite imported in memory
    // records none, and hashing megabytes is a visible share of a cold start.
    let sha256 = null;
    Object.defineProperty(this.info, 'sha256', {
      enumerable: true,
      get: () => {
        if (sha256 === null && this.handle && !runtime.core.dead) sha256 = runtime.core.cstring(runtime.core.call('wisp_model_sha256', this.handle));
        return sha256;
      },
    });
    this.labels = info.labels;
    this.metadata = info.metadata;
    // The input and output buffers are planned at load and never move (wisp_io_data is fixed for
    // the model's lifetime), so their heap offsets are read once. The typed views over them are
    // rebuilt only when the heap grows (a new ArrayBuffer).
    const core = runtime.core;
    this._inPtr = info.inputs.map((_, i) => core.call('wisp_io_data', handle, 0, i));
    this._outPtr = info.outputs.map((_, i) => core.call('wisp_io_data', handle, 1, i));
    this._inTypes = info.inputs.map((d) => ARRAY_TYPES[d.dtype] ?? Uint8Array);
    this._inLengths = info.inputs.map((d) => numElements(d.shape));
    this._viewsBuffer = null;
    this._inBytes = null;  // Uint8Array views of the input buffers
    this._inViews = null;  // views of the input buffers in their element type
    this._outViews = null;  // views of the output buffers in their element type
    this._preallocArrays = null;  // the arrays of the last run with options.outputs ...
    this._preallocResult = null;  // ... and the tensors returned for them (reused)
  }

  _check() {
    if (!this.handle) throw new WispError('this model was disposed');
  }

  _views() {
    const core = this.runtime.core;
    const buffer = core.heap().buffer;
    if (this._viewsBuffer !== buffer) {
      this._inBytes = this.inputs.map((d, i) => new Uint8Array(buffer, this._inPtr[i], d.bytes));
      this._inViews = this.inputs.map((d, i) => {
        const T = this._inTypes[i];
        return new T(buffer, this._inPtr[i], d.bytes / T.BYTES_PER_ELEMENT);
      });
      this._outViews = this.outputs.map((d, i) => {
        const T = ARRAY_TYPES[d.dtype] ?? Uint8Array;
        return new T(buffer, this._outPtr[i], d.bytes / T.BYTES_PER_ELEMENT);
      });
      this._viewsBuffer = buffer;
    }
  }

  // Copies the inputs into the model's input buffers. The common case (typed arrays of the
  // tensors' element types) is a plain same-type copy with no intermediate objects.
  _writeInputs(inputs, options) {
    const n = this.inputs.length;
    if (ArrayBuffer.isView(inputs) && n === 1 && inputs instanceof this._inTypes[0] && inputs.length === this._inLengths[0]) {
      this._inViews[0].set(inputs);
      return;
    }
    if (Array.isArray(inputs) && inputs.length === n) {
      let fast = true;
      for (let i = 0; i < n && fast; i++) fast = inputs[i] instanceof this._inTypes[i] && inputs[i].length === this._inLengths[i];
      if (fast) {
        for (let i = 0; i < n; i++) this._inViews[i].set(inputs[i]);
        return;
      }
    }
    const list = normalizeInputs(inputs, this.inputs);
    for (let i = 0; i < n; i++) this._inBytes[i].set(inputBytes(list[i], this.inputs[i], options));
  }

  /**
   * Runs the model synchronously; returns [{ name, dtype, shape, data, quantization }]. With
   * options.outputs (one typed array per output, see RunOptions in wisp.d.ts) the results are
   * written into those arrays and the returned tensors hold them.
   */
  runSync(inputs, options = NO_OPTIONS) {
    this._check();
    const core = this.runtime.core;
    if (core.dead) throw new WispError(core.dead);
    const outs = options.outputs;
    if (outs != null) checkOutputArrays(outs, this.outputs, options.dequantize);
    this._views();
    this._writeInputs(inputs, options);
    const t0 = now();
    let rc;
    try {
      // Read each time: Emscripten replaces its lazy wrapper with the raw export after one call.
      rc = core.mod._wisp_model_invoke(this.handle);
    } catch (e) {
      core.trapped('wisp_model_invoke', e);
    }
    this.lastInvokeMs = now() - t0;
    if (rc !== 0) throw new WispError(core.lastError());
    this._views();  // an invoke never grows the heap today; stay correct if one ever does
    return outs != null ? this._readIntoArrays(outs, options) : this._readOutputs(options);
  }

  _readIntoArrays(outs, options) {
    const descs = this.outputs;
    for (let i = 0; i < descs.length; i++) {
      const d = descs[i];
      if (options.dequantize && d.quantization) dequantizeInto(this._outViews[i], d.shape, d.quantization, outs[i]);
      else outs[i].set(this._outViews[i]);
    }
    // The same arrays as last time: the same tensors describe them (no allocation per run).
    const dq = !!options.dequantize;
    let result = this._preallocResult;
    const last = this._preallocArrays;
    let same = result !== null && last.length === outs.length && this._preallocDequantized === dq;
    for (let i = 0; same && i < outs.length; i++) same = last[i] === outs[i];
    if (!same) {
      result = descs.map((d, i) => {
        const tensor = { name: d.name, dtype: d.dtype, shape: d.shape.slice(), data: outs[i], quantization: d.quantization };
        if (dq && d.quantization) { tensor.dtype = 'float32'; tensor.rawDtype = d.dtype; }
        return tensor;
      });
      this._preallocArrays = outs.slice();
      this._preallocResult = result;
      this._preallocDequantized = dq;
    }
    return result;
  }

  _readOutputs(options) {
    return this.outputs.map((d, i) => {
      const data = this._outViews[i].slice();
      const tensor = { name: d.name, dtype: d.dtype, shape: d.shape.slice(), data, quantization: d.quantization };
      if (options.dequantize && d.quantization) {
        return { ...tensor, dtype: 'float32', data: dequantize(tensor), raw: data, rawDtype: d.dtype };
      }
      return tensor;
    });
  }

  /** Runs the model; resolves to [{ name, dtype, shape, data, quantization }]. */
  async run(inputs, options = {}) {
    return this.runSync(inputs, options);
  }

  /**
   * Per-operator timing: runs the model `runs` times (default 20) on `inputs` (default: the
   * inputs of the last run) and returns { runs, totalUs, ops: [{ op, type, shape, microkernel,
   * us, share }] } in operator order; the same report as `wisp bench --profile`.
   */
  profileSync({ inputs, runs = 20 } = {}) {
    this._check();
    if (inputs != null) this.runSync(inputs);
    const core = this.runtime.core;
    const json = core.cstring(core.call('wisp_model_profile', this.handle, Math.max(1, runs | 0)));
    if (!json) throw new WispError(core.lastError());
    const r = JSON.parse(json);
    return { runs: r.runs, totalUs: r.total_us, ops: r.ops };
  }

  async profile(options = {}) {
    return this.profileSync(options);
  }

  dispose() {
    if (!this.handle) return;
    const core = this.runtime.core;
    this.runtime.models.delete(this);
    if (!core.dead) core.call('wisp_model_free', this.handle);
    this.handle = 0;
  }
}

// The model's description strings (wisp_model_info's length-prefixed pairs) as a Map from their
// keys ("name", "version", "description", "producer", "meta:<key>") to values; the first of
// repeated metadata keys wins, as in Model::Metadata.
function readInfoStrings(core, handle) {
  let p = core.call('wisp_model_info', handle);
  const heap = core.heap();
  const view = new DataView(heap.buffer);
  const next = () => {
    const n = view.getUint32(p, true);
    const text = n ? core.decoder.decode(heap.slice(p + 4, p + 4 + n)) : '';
    p += 4 + n;
    return text;
  };
  const strings = new Map();
  for (let key = next(); key !== ''; key = next()) {
    const value = next();
    if (!strings.has(key)) strings.set(key, value);
  }
  return strings;
}

// What the model says about itself: the .wisp metadata keys of runtime/format/model_metadata.h
// (TFLite Metadata kept by the importer, or `wisp convert` options). null when it says nothing.
function readMetadata(str, nIn) {
  const meta = (key) => str(`meta:${key}`);
  const numbers = (text) => (text ? text.split(',').map(Number) : null);
  const inputs = [];
  let any = false;
  for (let i = 0; i < nIn; i++) {
    const [min, max] = (meta(`input.${i}.value_range`) || ';').split(';');
    const input = {
      mean: numbers(meta(`input.${i}.mean`)),
      std: numbers(meta(`input.${i}.std`)),
      range: meta(`input.${i}.range`) || null,
      valueRange: min && max ? { min: numbers(min), max: numbers(max) } : null,
    };
    any ||= input.mean !== null || input.range !== null || input.valueRange !== null;
    inputs.push(input);
  }
  const files = meta('associated_files');
  const m = {
    name: meta('display_name') || str('name'),
    description: str('description'),
    version: str('version'),
    author: meta('author'),
    license: meta('license'),
    inputRange: meta('input_range') || null,
    inputs,
    labelsSource: meta('labels_source') || null,
    associatedFiles: files ? files.split('; ').map((f) => {
      const match = /^(.*) \(([A-Z_0-9]+), (.*)\)$/.exec(f);
      return match ? { name: match[1], type: match[2], owner: match[3] } : { name: f, type: 'UNKNOWN', owner: '' };
    }) : [],
    warnings: meta('metadata_warnings') || null,
    labelCount: 0,
  };
  any ||= Boolean(meta('display_name') || m.author || m.license || m.inputRange || m.labelsSource || files || m.warnings);
  return any ? m : null;
}

function readModelInfo(core, handle) {
  const nIn = core.call('wisp_model_num_io', handle, 0);
  const nOut = core.call('wisp_model_num_io', handle, 1);
  const inputs = [];
  const outputs = [];
  for (let i = 0; i < nIn; i++) inputs.push(Object.freeze(describeIo(core, handle, 0, i)));
  for (let i = 0; i < nOut; i++) outputs.push(Object.freeze(describeIo(core, handle, 1, i)));
  const strings = readInfoStrings(core, handle);
  const str = (what) => strings.get(what) ?? '';
  const metadata = readMetadata(str, nIn);
  // The pixel range image helpers use for a float input (imageToTensor's default).
  for (let i = 0; i < nIn; i++) {
    const range = metadata?.inputs[i]?.range ?? null;
    inputs[i] = Object.freeze({ ...inputs[i], range: (nIn === 1 && metadata?.inputRange) || range });
  }
  let labels = null;
  const nAssets = core.call('wisp_model_num_assets', handle);
  for (let i = 0; i < nAssets; i++) {
    const name = core.cstring(core.call('wisp_model_asset_name', handle, i));
    if (/label/i.test(name)) {
      const ptr = core.call('wisp_model_asset_data', handle, i);
      const size = core.call('wisp_model_asset_size', handle, i);
      labels = core.decoder.decode(core.heap().slice(ptr, ptr + size)).split(/\r?\n/);
      if (labels.length && labels[labels.length - 1] === '') labels.pop();
      break;
    }
  }
  if (metadata) metadata.labelCount = labels ? labels.length : 0;
  return {
    inputs: Object.freeze(inputs),
    outputs: Object.freeze(outputs),
    labels,
    metadata,
    info: {
      name: str('name'),
      version: str('version'),
      description: str('description'),
      producer: str('producer'),
      arenaBytes: core.call('wisp_model_arena_bytes', handle),
      modelBytes: core.call('wisp_model_size_bytes', handle),
    },
  };
}

// rt.loadFromServer: verified bytes from the registry client, then an ordinary load. The
// provenance (version, sha256, cache or network, background update) is on model.served.
async function loadFromServer(rt, serverUrl, name, options, hashFallback) {
  const {
    channel, version, policy, onProgress, publicKey, signal, headers, cache, cacheName, fetch: _f,
    clientId: _c, report, reportIntervalMs, ...loadOptions
  } = options;
  const got = await fetchServerModel(serverUrl, name, options, {
    hashFallback, makeError: (message, o) => new WispError(message, o),
  });
  if (got.from === 'cache') onProgress?.({ loaded: got.bytes.length, total: got.bytes.length });
  // Outcomes go back to the server (staged rollouts roll a bad version back on them).
  const reporter = report === false ? null : new OutcomeReporter(serverUrl, name, got.manifest.version, got.clientId, {
    fetch: options.fetch, headers, intervalMs: reportIntervalMs ?? 60000,
  });
  let model;
  try {
    model = await rt.load(got.bytes, { ...loadOptions, name: loadOptions.name ?? name, signal });
  } catch (e) {
    if (reporter) { reporter.load(false); reporter.close(); }
    throw e;
  }
  if (reporter) {
    reporter.load(true);
    countRuns(model, reporter);
    reporter.flush();  // the load report goes now, without waiting for it
  }
  model.served = Object.freeze({
    server: String(serverUrl),
    name,
    channel: version == null ? (channel ?? 'stable') : null,
    version: got.manifest.version,
    sha256: got.manifest.sha256,
    manifest: got.manifest,
    from: got.from,
    revalidation: got.revalidation,
    update: got.update,
    clientId: got.clientId,
    reporter,
    delta: got.delta ?? null,
  });
  return model;
}

// Counts every run of a served model (success or error) into its reporter, and sends the last
// batch on dispose. A local model's run() goes through runSync(), so only that one is counted.
function countRuns(model, reporter) {
  const method = typeof model.runSync === 'function' ? 'runSync' : 'run';
  const inner = model[method].bind(model);
  model[method] = method === 'runSync'
    ? (inputs, options) => {
      try {
        const out = inner(inputs, options);
        reporter.run(true);
        return out;
      } catch (e) {
        reporter.run(false);
        throw e;
      }
    }
    : async (inputs, options) => {
      try {
        const out = await inner(inputs, options);
        reporter.run(true);
        return out;
      } catch (e) {
        reporter.run(false);
        throw e;
      }
    };
  const dispose = model.dispose.bind(model);
  model.dispose = () => {
    reporter.close();
    dispose();
  };
}

// The warm-up (runtime/api/warm_up.h) pays for itself only where baseline-compiled code would
// otherwise spend long on a model: large ones.
const WARM_UP_MIN_BYTES = 256 * 1024;
const WARM_UP_INVOKES = 10;
// While the model downloads its dtype is unknown: the warm-up runs the int8 network (runtime/
// api/warm_up.h: 1 int8, 2 uint8, 4 float32), the usual case, and the load runs the model's own
// if it is another (load flag 4). Warming all three cost an int8 cold start more than it gained.
const WARM_UP_GUESS = 1;
const WARM_UP_AT_LOAD = 4;
// Whether loading a model of `size` bytes warms up (both the download-time and the load-time part).
const warmsUp = (size, options) => options.warmUp !== false && size >= WARM_UP_MIN_BYTES;

// The name a model loaded from a URL or path gets when none is given: its file name without .tflite or .wisp.
function modelNameOf(source) {
  return /([^/\\?#]+?)(\.tflite|\.wisp)?(?:[?#].*)?$/.exec(String(source))?.[1] ?? null;
}

class LocalRuntime {
  constructor(core, variantInfo) {
    this.core = core;
    this.variant = variantInfo;
    this.models = new Set();
    this.warmedUp = false;
  }

  // Once per runtime, before the first large model: a few milliseconds on tiny synthetic networks
  // get the engine's optimizing compiler going on the kernels (in background threads) while the
  // model is still downloading or being imported. Only an optimisation: a failure is ignored.
  _warmUp(size, options) {
    if (this.warmedUp || !warmsUp(size, options)) return;
    this.warmedUp = true;
    this.core.call('wisp_warm_up', WARM_UP_INVOKES, WARM_UP_GUESS);
  }

  // Copies the model bytes into the WebAssembly heap once; the runtime uses them in place.
  _loadBytes(bytes, options) {
    this._warmUp(bytes.length, options);
    const ptr = this.core.malloc(bytes.length);
    this.core.heap().set(bytes, ptr);
    return this._loadFromHeap(ptr, bytes.length, options);
  }

  // Loads the model whose bytes are at heap[ptr, ptr + size) (malloc'd; ownership passes to the core).
  _loadFromHeap(ptr, size, options) {
    const core = this.core;
    let namePtr;
    try {
      namePtr = core.allocString(options.name ?? '');
    } catch (e) {
      if (!core.dead) core.call('free', ptr);
      throw e;
    }
    let handle;
    try {
      const warmUp = warmsUp(size, options) ? WARM_UP_AT_LOAD : 0;
      handle = core.call('wisp_model_load', ptr, size, (options.verifySha256 ? 1 : 0) | (options.keepState ? 2 : 0) | warmUp, namePtr);  // owns ptr now
    } finally {
      if (!core.dead) core.call('free', namePtr);
    }
    if (!handle) throw new WispError(core.lastError() || 'the model could not be loaded');
    let info;
    try {
      info = readModelInfo(core, handle);
    } catch (e) {
      if (!core.dead) core.call('wisp_model_free', handle);
      throw e;
    }
    const model = new LocalModel(this, handle, info);
    this.models.add(model);
    return model;
  }

  /** Loads a .wisp or .tflite from a URL, a path (Node), a Response, a Blob or bytes. */
  async load(source, options = {}) {
    if (!options.name && isUrlLike(source)) {
      const name = modelNameOf(source);
      if (name) options = { ...options, name };
    }
    let bytes = asBytes(source);
    if (bytes) {
      options.onProgress?.({ loaded: bytes.length, total: bytes.length });
      return this._loadBytes(bytes, options);
    }
    // A download of known length streams straight into the WebAssembly heap: no full copy in JS.
    const core = this.core;
    let ptr = 0;
    const sink = {
      // Warms up while the rest of the body is still on its way.
      begin: (total) => { this._warmUp(total, options); ptr = core.malloc(total); return true; },
      write: (chunk, offset) => { core.heap().set(chunk, ptr + offset); },
    };
    let result;
    try {
      result = await readSource(source, { ...options, sink });
    } catch (e) {
      if (ptr && !core.dead) core.call('free', ptr);
      throw e;
    }
    if (result.inHeap) return this._loadFromHeap(ptr, result.length, options);
    return this._loadBytes(result, options);
  }

  /** Loads the current version of `name` from a Wisp server (see wisp.d.ts, ServerLoadOptions). */
  async loadFromServer(serverUrl, name, options = {}) {
    return loadFromServer(this, serverUrl, name, options, (bytes) => this.sha256HexSync(bytes));
  }

  sha256HexSync(bytes) {
    const core = this.core;
    const src = core.malloc(bytes.length);
    const out = core.malloc(65);
    try {
      core.heap().set(bytes, src);
      core.call('wisp_sha256_hex', src, bytes.length, out);
      return core.cstring(out);
    } finally {
      core.call('free', src);
      core.call('free', out);
    }
  }

  /** The core's integer half-pixel bilinear resize of interleaved 8-bit pixels. */
  async resizeImage(pixels, width, height, channels, outWidth, outHeight) {
    return this.resizeImageSync(pixels, width, height, channels, outWidth, outHeight);
  }

  /** Converts a .tflite (URL, path, bytes) to .wisp bytes, optionally embedding labels. */
  async convert(source, options = {}) {
    let bytes = asBytes(source);
    if (!bytes) bytes = await readSource(source, options);
    return this.convertSync(bytes, options);
  }

  convertSync(bytes, options = {}) {
    const core = this.core;
    const labels = Array.isArray(options.labels) ? options.labels.join('\n') + '\n' : (options.labels ?? '');
    const src = core.malloc(bytes.length);
    const name = core.allocString(options.name ?? '');
    const lab = core.allocString(labels);
    const sizePtr = core.malloc(4);
    try {
      core.heap().set(bytes, src);
      const out = core.call('wisp_convert_tflite', src, bytes.length, name, lab, sizePtr);
      if (!out) throw new WispError(core.lastError());
      const heap = core.heap();
      const size = new DataView(heap.buffer).getUint32(sizePtr, true);
      const result = heap.slice(out, out + size);
      core.call('free', out);
      return result;
    } finally {
      for (const p of [src, name, lab, sizePtr]) core.call('free', p);
    }
  }

  resizeImageSync(pixels, width, height, channels, outWidth, outHeight) {
    const core = this.core;
    const src = core.malloc(width * height * channels);
    const dst = core.malloc(outWidth * outHeight * channels);
    try {
      core.heap().set(asBytes(pixels).subarray(0, width * height * channels), src);
      if (core.call('wisp_resize_bilinear_u8', src, width, height, channels, dst, outWidth, outHeight) !== 0) {
        throw new WispError(core.lastError());
      }
      return core.heap().slice(dst, dst + outWidth * outHeight * channels);
    } finally {
      core.call('free', src);
      core.call('free', dst);
    }
  }

  // Test hook: 1 when the pool ran two tasks concurrently on different threads (threaded variant).
  _parallelSelfTest() {
    return this.core.call('wisp_parallel_selftest');
  }

  dispose() {
    for (const m of [...this.models]) m.dispose();
    try {
      if (!this.core.dead && this.variant.threads) this.core.call('wisp_set_num_threads', 1);
    } catch { /* already broken */ }
    this.core.mod.wispTerminateWorkers?.();
    this.core.dead = 'this runtime was disposed';
  }
}

async function createLocal(options) {
  if (!simdSupported()) {
    throw new WispError('this environment lacks WebAssembly SIMD (128-bit), which Wisp requires');
  }
  const features = await detectFeatures();
  let requested = options.threads ?? 'auto';
  let numThreads;
  if (requested === 'auto') numThreads = Math.max(1, Math.min(4, features.hardwareConcurrency));
  else numThreads = Math.max(1, Math.floor(Number(requested)) || 1);
  // simd: 'auto' (relaxed SIMD where the engine has it), 'relaxed' (the same, said explicitly)
  // or 'simd128' (never relaxed). A named variant ('simd', 'relaxed', ...) fixes both choices.
  let simd = options.simd ?? 'auto';
  if (!['auto', 'relaxed', 'simd128'].includes(simd)) {
    throw new WispError(`simd must be 'auto', 'relaxed' or 'simd128', not '${simd}'`);
  }
  if (options.variant != null) {
    const named = VARIANTS[options.variant];
    if (!named) throw new WispError(`unknown variant '${options.variant}'; one of ${Object.keys(VARIANTS).join(', ')}`);
    simd = named.relaxed ? 'relaxed' : 'simd128';
    if (!named.threads) numThreads = 1;
  }
  const relaxed = simd !== 'simd128' && features.relaxedSimd;
  let fallback = null;
  const single = relaxed ? VARIANTS.relaxed : VARIANTS.simd;
  let variant = single;
  if (numThreads > 1) {
    if (features.threads) variant = relaxed ? VARIANTS['relaxed-mt'] : VARIANTS['simd-mt'];
    else fallback = IS_NODE ? 'shared WebAssembly memory is unavailable' : 'the page is not cross-origin isolated (COOP/COEP), so SharedArrayBuffer is unavailable';
  }
  let created;
  if (variant.threads) {
    try {
      created = await createModule(variant, numThreads, options);
    } catch (e) {
      fallback = `the threaded variant failed to start (${e.message})`;
      variant = single;
    }
  }
  if (!created) created = await createModule(variant, 1, options);
  const core = new Core(created.mod, created.state, variant);
  const threads = variant.threads ? core.call('wisp_set_num_threads', numThreads) : 1;
  if (options.isa != null) {
    // Caps the microkernel level (tests run every level the engine offers).
    const isa = core.allocString(String(options.isa));
    const known = core.call('wisp_set_isa_limit', isa);
    core.call('free', isa);
    if (!known) throw new WispError(`unknown isa '${options.isa}' (scalar, wasmsimd${variant.relaxed ? ', wasmrelaxed' : ''})`);
  }
  return new LocalRuntime(core, Object.freeze({
    name: variant.name, simd: true, relaxed: variant.relaxed, threads: variant.threads, numThreads: threads, worker: false,
    isa: core.cstring(core.call('wisp_microkernel_isa')),
    fallback: fallback && numThreads > 1 ? `single-threaded: ${fallback}` : null,
  }));
}

// ---------------------------------------------------------------------------------------------
// Worker-backed runtime: the same API, with the runtime in a (module) Worker.

class RemoteModel {
  constructor(rt, handle, info) {
    this.runtime = rt;
    this.handle = handle;
    this.inputs = info.inputs;
    this.outputs = info.outputs;
    this.info = info.info;
    this.labels = info.labels;
    this.metadata = info.metadata ?? null;
  }

  async run(inputs, options = {}) {
    if (!this.handle) throw new WispError('this model was disposed');
    const { quantize: q, dequantize: dq, outputs: outs } = options;
    if (outs != null) checkOutputArrays(outs, this.outputs, dq);
    const r = await this.runtime._request('run', { handle: this.handle, inputs, options: { quantize: q, dequantize: dq } });
    this.lastInvokeMs = r.invokeMs;
    if (outs == null) return r.outputs;
    // The worker's heap is not this thread's: its results arrive as transferred arrays and are
    // copied into the caller's.
    return r.outputs.map((t, i) => {
      outs[i].set(t.data);
      const { raw: _raw, ...tensor } = t;
      return { ...tensor, data: outs[i] };
    });
  }

  async profile({ inputs, runs } = {}) {
    if (!this.handle) throw new WispError('this model was disposed');
    return this.runtime._request('profile', { handle: this.handle, inputs, runs });
  }

  dispose() {
    if (!this.handle) return;
    const h = this.handle;
    this.handle = 0;
    this.runtime._request('dispose', { handle: h }).catch(() => {});
  }
}

class RemoteRuntime {
  constructor(worker, isNodeWorker) {
    this.worker = worker;
    this.nodeWorker = isNodeWorker;
    this.pending = new Map();
    this.nextId = 1;
    this.variant = null;
    const onMessage = (msg) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      if (msg.progress) { p.onProgress?.(msg.progress); return; }
      this.pending.delete(msg.id);
      if (msg.error) p.reject(new WispError(msg.error));
      else p.resolve(msg.result);
    };
    const onError = (e) => {
      const err = new WispError(`the Wisp worker failed: ${e?.message ?? e}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    if (isNodeWorker) {
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.unref();
    } else {
      worker.onmessage = (e) => onMessage(e.data);
      worker.onerror = (e) => { e.preventDefault?.(); onError(e); };
    }
  }

  _request(op, payload, { onProgress, transfer = [] } = {}) {
    // A terminated worker never answers: without this a call after dispose() waited forever.
    if (this.disposed) return Promise.reject(new WispError('the runtime was disposed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      if (this.nodeWorker && this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ id, op, ...payload }, transfer);
    }).finally(() => {
      if (this.nodeWorker && this.pending.size === 0) this.worker.unref();
    });
  }

  async load(source, options = {}) {
    const { onProgress, ...rest } = options;
    let payload;
    const bytes = asBytes(source);
    if (bytes) {
      const copy = bytes.slice();  // transferred to the worker
      payload = { bytes: copy, options: rest };
      const r = await this._request('load', payload, { onProgress, transfer: [copy.buffer] });
      return new RemoteModel(this, r.handle, r);
    }
    if (typeof Blob !== 'undefined' && source instanceof Blob) {
      payload = { blob: source, options: rest };
    } else if (isUrlLike(source)) {
      let url = source;
      if (!IS_NODE || toUrl(String(source)) !== null) url = String(toUrl(String(source)));
      payload = { url: String(url), options: rest };
    } else {
      const data = await readSource(source, { onProgress });
      return this.load(data, rest);
    }
    const r = await this._request('load', payload, { onProgress });
    return new RemoteModel(this, r.handle, r);
  }

  async loadFromServer(serverUrl, name, options = {}) {
    return loadFromServer(this, serverUrl, name, options, (bytes) => {
      const copy = asBytes(bytes).slice();
      return this._request('sha256', { bytes: copy }, { transfer: [copy.buffer] });
    });
  }

  async convert(source, options = {}) {
    let bytes = asBytes(source);
    if (!bytes) bytes = await readSource(source, options);
    const copy = bytes.slice();
    const { onProgress: _p, signal: _s, ...rest } = options;
    return this._request('convert', { bytes: copy, options: rest }, { transfer: [copy.buffer] });
  }

  async resizeImage(pixels, width, height, channels, outWidth, outHeight) {
    const copy = asBytes(pixels).slice(0, width * height * channels);
    return this._request('resize', { pixels: copy, width, height, channels, outWidth, outHeight }, { transfer: [copy.buffer] });
  }

  dispose() {
    this.disposed = true;
    for (const p of this.pending.values()) p.reject(new WispError('the runtime was disposed'));
    this.pending.clear();
    this.worker.terminate();
  }
}

async function createRemote(options) {
  const { worker: _w, print: _p, printErr: _pe, wasmBinary, locateFile, wasmUrl, ...rest } = options;
  if (typeof locateFile === 'function' || typeof wasmUrl === 'function') {
    throw new WispError('with { worker: true }, pass wasmUrl as an object { "wisp_simd.wasm": url, ... } (functions cannot be sent to a worker)');
  }
  const init = { ...rest, wasmUrl: wasmUrl ? Object.fromEntries(Object.entries(wasmUrl).map(([k, v]) => [k, String(v)])) : undefined };
  if (wasmBinary) init.wasmBinary = asBytes(wasmBinary).slice();
  let worker;
  let rt;
  if (IS_NODE) {
    worker = node().startWorker();
    rt = new RemoteRuntime(worker, true);
  } else {
    worker = new Worker(new URL('./worker.mjs', import.meta.url), { type: 'module' });
    rt = new RemoteRuntime(worker, false);
  }
  try {
    const variant = await withTimeout(rt._request('init', { options: init }), options.initTimeoutMs ?? 90000, 'starting the Wisp worker');
    rt.variant = Object.freeze({ ...variant, worker: true });
  } catch (e) {
    rt.dispose();
    throw e;
  }
  return rt;
}

// ---------------------------------------------------------------------------------------------

export const Wisp = {
  /**
   * Creates a runtime. Options: threads ('auto' | number), worker (boolean), wasmUrl / locateFile
   * (where the .wasm files are), wasmBinary (bytes of the .wasm; single variant), variant ('simd').
   */
  async create(options = {}) {
    return options.worker ? createRemote(options) : createLocal(options);
  },
  /**
   * A runtime for one model, and the model: Wisp.create(options), then runtime.load(source,
   * options), except that a model URL is already downloading while the runtime's WebAssembly
   * compiles. The model's dispose() disposes its runtime too.
   */
  async load(source, options = {}) {
    let url = null;
    try {
      url = !options.worker && isUrlLike(source) ? toUrl(source) : null;  // null: a file path (Node)
    } catch { /* not a URL: runtime.load says so */ }
    const early = url && url.protocol !== 'file:' ? new EarlyDownload(url, options) : null;
    let rt;
    try {
      rt = await Wisp.create(options);
    } catch (e) {
      early?.cancel();
      throw e;
    }
    let model;
    try {
      model = await rt.load(early ?? source, early ? { ...options, name: options.name || modelNameOf(source) } : options);
    } catch (e) {
      early?.cancel();
      rt.dispose();
      throw e;
    }
    const dispose = model.dispose.bind(model);
    model.dispose = () => {
      dispose();
      rt.dispose();
    };
    return model;
  },
  detectFeatures,
  dequantize,
  DTYPES: Object.freeze([...DTYPES]),
};

export { createLocal as _createLocal };
export default Wisp;
