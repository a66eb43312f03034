// The worker_threads side of Wisp.create({ worker: true }) in Node (the browser's is worker.mjs).
import { parentPort } from 'node:worker_threads';
import './node.mjs';
import { serveRuntime } from './serve_runtime.mjs';

serveRuntime((msg, transfer) => parentPort.postMessage(msg, transfer), (fn) => parentPort.on('message', fn));
