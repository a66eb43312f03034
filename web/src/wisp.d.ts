// Type declarations for wisp-runtime (src/wisp.mjs).

export type DType = 'float32' | 'int8' | 'uint8' | 'int16' | 'int32' | 'int64' | 'bool' | 'float16';

export type TypedArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array
  | Int32Array | BigInt64Array;

/** real = (q - zeroPoint) * scale; per-channel along `axis` when scale has more than one entry. */
export interface Quantization {
  scale: number[];
  zeroPoint: number[];
  axis: number;
}

export interface TensorInfo {
  readonly name: string;
  readonly index: number;
  readonly dtype: DType;
  readonly shape: number[];
  readonly quantization: Quantization | null;
  /** Size of the tensor in bytes. */
  readonly bytes: number;
  /**
   * Inputs: the real range image pixels 0..255 map to ('0,1', '-1,1', ...) as the model records it
   * (TFLite Metadata normalization or `wisp convert --input-range`), else null. Outputs: absent.
   */
  readonly range?: string | null;
}

export interface InputMetadata {
  /** Normalization (x - mean) / std, per channel (one value: every channel); null when absent. */
  mean: number[] | null;
  std: number[] | null;
  /** The range that normalization maps pixels 0..255 to, as 'lo,hi'; null when absent. */
  range: string | null;
  /** The input's value statistics, per channel. */
  valueRange: { min: number[]; max: number[] } | null;
}

export interface AssociatedFile {
  name: string;
  /** TFLite Metadata AssociatedFileType: 'TENSOR_AXIS_LABELS', 'DESCRIPTIONS', ... */
  type: string;
  /** 'model', 'subgraph', 'input 0', 'output 0', ... */
  owner: string;
}

/** What a model says about itself (TFLite Metadata kept by the importer, or convert options). */
export interface ModelMetadata {
  /** The model's display name ("ImageClassifier"), else info.name. */
  name: string;
  description: string;
  version: string;
  author: string;
  license: string;
  /** The pixel range image inputs use ('lo,hi'), or null. */
  inputRange: string | null;
  /** One entry per model input. */
  inputs: InputMetadata[];
  /** Number of embedded labels (model.labels.length), 0 when none. */
  labelCount: number;
  /** Where the labels came from, e.g. 'imagenet_labels.txt (output 0)'. */
  labelsSource: string | null;
  associatedFiles: AssociatedFile[];
  /** Optional metadata the importer could not read, and why. */
  warnings: string | null;
}

export interface Tensor {
  name: string;
  dtype: DType;
  shape: number[];
  /** Int8Array for int8, Uint8Array for uint8/bool, Float32Array for float32, BigInt64Array for int64, ... */
  data: TypedArray;
  quantization: Quantization | null;
  /** With { dequantize: true }: the raw quantized values and their dtype. */
  raw?: TypedArray;
  rawDtype?: DType;
}

export interface RunOptions {
  /** Quantize float inputs (Float32Array / number[]) for quantized input tensors. Default false. */
  quantize?: boolean;
  /** Return quantized outputs dequantized to Float32Array (raw values in `raw`). Default false. */
  dequantize?: boolean;
  /**
   * Preallocated output arrays, one per model output in order: each must be the output's typed
   * array type (Int8Array for int8, Uint8Array or Uint8ClampedArray for uint8/bool, Float32Array
   * for float32 and for quantized outputs with `dequantize: true`, BigInt64Array for int64, ...)
   * with exactly the output's element count, else the run throws a WispError naming the output.
   * The results are written into these arrays and the returned tensors' `data` are these arrays
   * (no `raw` with `dequantize`). Passing the same arrays on every run makes a steady-state
   * in-thread run allocation-free: the returned array and tensor objects are then reused from the
   * previous run with the same arrays.
   */
  outputs?: TypedArray[];
}

export interface LoadProgress {
  loaded: number;
  /** 0 when unknown (no Content-Length, or a compressed response). */
  total: number;
}

export interface LoadOptions {
  onProgress?: (progress: LoadProgress) => void;
  /** Name recorded for an imported .tflite (defaults to the file name). */
  name?: string;
  /** Check the content hash recorded in a .wisp file. */
  verifySha256?: boolean;
  /** Keep variable state (e.g. LSTM) from one run to the next, as TFLite does. Default: each run starts from zero state. */
  keepState?: boolean;
  /**
   * Before the first model of at least 256 KB a runtime loads, it runs its int8 kernels for a few
   * milliseconds on a tiny built-in network, so that the WebAssembly engine starts optimizing them
   * while the model downloads and is imported: a faster first load and first run. A large uint8 or
   * float model runs its own kernels' network once it is read, before its weights are packed.
   * Default true; false skips both.
   */
  warmUp?: boolean;
  signal?: AbortSignal;
}

/** Options of Runtime.loadFromServer (plus every LoadOptions field except onProgress semantics). */
export interface ServerLoadOptions extends Omit<LoadOptions, 'name'> {
  /** Channel to follow (default 'stable'). Ignored when `version` is given. */
  channel?: string;
  /** A pinned version number instead of a channel. */
  version?: number;
  /**
   * 'latest' (default): revalidate the channel now (If-None-Match), download only when its sha256
   * is not cached; when the server is unreachable, use the last good cached version.
   * 'cached': use the cached version at once when there is one and refresh in the background
   * (model.served.update) for the next load.
   */
  policy?: 'latest' | 'cached';
  /**
   * Pinned Ed25519 manifest-signing key: raw 32 bytes, their base64 (GET /v1/signing-key
   * `public_key`), an SPKI PEM, or a CryptoKey. The manifest must carry a valid signature.
   */
  publicKey?: string | ArrayBuffer | ArrayBufferView | CryptoKey;
  /** Extra request headers (e.g. Authorization for a server with token-only reads). */
  headers?: Record<string, string>;
  /** false: no caching; or a Cache-like object (match/put/delete/keys). Default: caches.open(cacheName). */
  cache?: false | Pick<Cache, 'match' | 'put' | 'delete' | 'keys'>;
  /** Cache API cache name (default 'wisp-models-v1'). */
  cacheName?: string;
  /** Name recorded for the model (default: the model name on the server). */
  name?: string;
  /** fetch implementation (default globalThis.fetch). */
  fetch?: typeof fetch;
  /**
   * This installation's stable id (X-Wisp-Client), by which the server assigns it during staged
   * rollouts. Default: one created on first use and kept in the cache (without a cache: one per
   * page or process).
   */
  clientId?: string;
  /**
   * false: send no outcome reports. Default: the load and then run/error counts are reported to
   * the server in batches (POST .../versions/{v}:report), never delaying a run.
   */
  report?: boolean;
  /** How often batched reports are sent, in ms (default 60000). */
  reportIntervalMs?: number;
}

/** Batched outcome reports of a served model (model.served.reporter). */
export interface OutcomeReporter {
  /** Sends the counts since the last report now; true when the server took them. */
  flush(): Promise<boolean>;
  /** Reports sent successfully. */
  readonly sent: number;
}

/** Where a model loaded with loadFromServer came from. */
export interface ServedInfo {
  server: string;
  name: string;
  /** null when a version was pinned. */
  channel: string | null;
  version: number;
  sha256: string;
  /** The server's manifest (size, sha256, sri, inputs, outputs, signature, ...). */
  manifest: Record<string, unknown> & { name: string; version: number; size: number; sha256: string; download_url: string };
  /** Where the artifact bytes came from: downloaded now, or the Cache API. */
  from: 'network' | 'cache';
  /**
   * 'modified': the server sent a (new) manifest; 'not-modified': a 304; 'offline': the server was
   * unreachable and the last good version was used; 'deferred': policy 'cached' (see update).
   */
  revalidation: 'modified' | 'not-modified' | 'offline' | 'deferred';
  /** Policy 'cached' only: the background refresh (never rejects; `error` says what failed). */
  update: Promise<{ updated: boolean; version: number; manifest: ServedInfo['manifest']; error: Error | null }> | null;
  /** The X-Wisp-Client id sent. */
  clientId: string;
  /** The outcome reporter, or null with `report: false`. */
  reporter: OutcomeReporter | null;
  /**
   * A delta update (docs/server.md, "Delta updates"): the cache held an earlier version, and only
   * the chunks it lacked were fetched with Range requests. null when none was tried. After a failed
   * delta (`error` says why) the whole artifact was downloaded: `baseVersion` is null and
   * `bytesFetched` counts both transfers.
   */
  delta: { baseVersion: number | null; bytesFetched: number; bytesReused: number; error: string | null } | null;
}

export interface ModelInfo {
  name: string;
  version: string;
  description: string;
  producer: string;
  /** sha256 of the .wisp content (computed on first read; null if first read after dispose()). */
  sha256: string | null;
  /** Bytes of the planned activation arena. */
  arenaBytes: number;
  /** Bytes of the .wisp model in the WebAssembly heap. */
  modelBytes: number;
}

export interface ProfileRow {
  /** Operator index in the model. */
  op: number;
  /** Operator type, e.g. 'CONV_2D'. */
  type: string;
  /** Shape of the operator's first output, e.g. '[1, 112, 112, 32]'. */
  shape: string;
  /** The microkernel (or reference kernel) chosen for it. */
  microkernel: string;
  /** Mean microseconds per invoke. */
  us: number;
  /** Share of the summed operator time, 0..1. */
  share: number;
}

export interface Profile {
  runs: number;
  totalUs: number;
  /** One row per operator, in operator order. */
  ops: ProfileRow[];
}

export type Inputs = TypedArray | TypedArray[] | Record<string, TypedArray>;

export interface Model {
  /** The runtime the model runs in. */
  readonly runtime: Runtime;
  readonly inputs: ReadonlyArray<TensorInfo>;
  readonly outputs: ReadonlyArray<TensorInfo>;
  readonly info: ModelInfo;
  /**
   * Labels embedded in the model (an asset whose name contains "label": a .tflite's TFLite
   * Metadata labels file, or `wisp convert --labels`), if any.
   */
  readonly labels: string[] | null;
  /** The model's metadata (name, description, normalization, labels...), or null when it has none. */
  readonly metadata: ModelMetadata | null;
  /** Duration of the last invoke in milliseconds (inside the runtime's thread). */
  readonly lastInvokeMs?: number;
  /** Set by Runtime.loadFromServer. */
  readonly served?: ServedInfo;
  run(inputs: Inputs, options?: RunOptions): Promise<Tensor[]>;
  /**
   * The same as run(), synchronously, for a runtime in this thread (not with { worker: true }).
   * Inputs that are typed arrays of the input tensors' element types are copied straight into the
   * model's buffers; with `options.outputs` nothing is allocated per run.
   */
  runSync?(inputs: Inputs, options?: RunOptions): Tensor[];
  /**
   * Per-operator timing over `runs` invokes (default 20) on `inputs` (default: the last run's):
   * the same report as `wisp bench --profile`.
   */
  profile(options?: { inputs?: Inputs; runs?: number }): Promise<Profile>;
  /** Frees the model's memory. Idempotent. */
  dispose(): void;
}

export interface Variant {
  /** 'simd' / 'relaxed' (SIMD128, + relaxed SIMD; one thread) or 'simd-mt' / 'relaxed-mt' (pthreads). */
  name: 'simd' | 'relaxed' | 'simd-mt' | 'relaxed-mt';
  simd: true;
  threads: boolean;
  numThreads: number;
  worker: boolean;
  /** Why a threaded runtime was requested but a single-threaded one is in use, else null. */
  fallback: string | null;
}

export type ModelSource = string | URL | ArrayBuffer | ArrayBufferView | Blob | Response;

export interface Runtime {
  readonly variant: Variant;
  load(source: ModelSource, options?: LoadOptions): Promise<Model>;
  /**
   * Loads the current version of `name` (channel 'stable' by default) from a Wisp server: the
   * artifact is cached in the Cache API keyed by its sha256, its size and sha256 are checked
   * against the manifest before it is stored or run, and the manifest's signature is checked when
   * a publicKey is pinned. Works offline with the last good version.
   */
  loadFromServer(serverUrl: string | URL, name: string, options?: ServerLoadOptions): Promise<Model>;
  /** The core's integer half-pixel bilinear resize of interleaved 8-bit pixels. */
  resizeImage(pixels: Uint8Array | Uint8ClampedArray, width: number, height: number, channels: number,
              outWidth: number, outHeight: number): Promise<Uint8Array>;
  /** Converts a .tflite to .wisp bytes (as `wisp convert`), optionally embedding labels. */
  convert(source: ModelSource, options?: { name?: string; labels?: string | string[] }): Promise<Uint8Array>;
  /** Frees every model and stops the runtime's threads / worker. */
  dispose(): void;
}

export interface CreateOptions {
  /** 'auto' (default): up to 4 threads when SharedArrayBuffer is usable, else 1. */
  threads?: 'auto' | number;
  /** Run the runtime in a Worker (same API; inference off the main thread). */
  worker?: boolean;
  /** A named build: 'simd' / 'relaxed' (one thread), 'simd-mt' / 'relaxed-mt' (pthreads). */
  variant?: 'simd' | 'relaxed' | 'simd-mt' | 'relaxed-mt';
  /** Where the .wasm files are: a function of the file name, or a map file name -> URL. */
  wasmUrl?: ((file: string) => string | URL) | Record<string, string | URL>;
  /** Emscripten-style locator, also used for the pthread worker script (wisp_*_mt.worker.js). */
  locateFile?: (file: string, prefix: string) => string;
  /**
   * The threaded variant's glue module (dist/wisp_*_mt.mjs) that its pthread workers import;
   * default: beside dist/wisp_urls.mjs. Fetched first in browsers: missing, it falls back to one thread.
   */
  mainScriptUrlOrBlob?: string | Blob;
  /** The .wasm bytes (skips fetching; how an AudioWorklet, which has no fetch, gets them). */
  wasmBinary?: ArrayBuffer | Uint8Array;
  initTimeoutMs?: number;
  print?: (text: string) => void;
  printErr?: (text: string) => void;
}

export interface Features {
  simd: boolean;
  threads: boolean;
  crossOriginIsolated: boolean;
  hardwareConcurrency: number;
}

export declare class WispError extends Error {}

export declare function detectFeatures(): Promise<Features>;
export declare function dequantize(tensor: Pick<Tensor, 'data' | 'shape' | 'quantization'>): Float32Array;

export declare const Wisp: {
  create(options?: CreateOptions): Promise<Runtime>;
  /**
   * A runtime for one model, and the model, in one call: create(options) then runtime.load(source,
   * options), with a model URL already downloading while the runtime's WebAssembly compiles (the
   * shortest cold start). The model's dispose() disposes its runtime (model.runtime) too.
   */
  load(source: ModelSource, options?: CreateOptions & LoadOptions): Promise<Model>;
  detectFeatures: typeof detectFeatures;
  dequantize: typeof dequantize;
  readonly DTYPES: ReadonlyArray<DType>;
};
export default Wisp;
