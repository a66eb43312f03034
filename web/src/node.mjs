// The Node entry of wisp-runtime (the `node` condition of package.json "exports"): wisp.mjs, plus
// what only Node has: files read from disk, the CPU count, worker_threads for { worker: true },
// and the CommonJS require that the Emscripten glue's Node branch calls. The browser entry imports
// none of this, so a bundler building for the web never sees a node: import.
import fs from 'node:fs/promises';
import os from 'node:os';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { _setNodePlatform } from './wisp.mjs';

_setNodePlatform({
  readFile: async (pathOrUrl) => new Uint8Array(await fs.readFile(pathOrUrl)),
  fileExists: (file) => fs.access(file).then(() => true, () => false),
  hardwareThreads: () => (typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length),
  require: createRequire(import.meta.url),
  distDir: fileURLToPath(new URL('../dist/', import.meta.url)),
  startWorker: () => new Worker(new URL('./node_worker.mjs', import.meta.url)),
});

export * from './wisp.mjs';
export { default } from './wisp.mjs';
