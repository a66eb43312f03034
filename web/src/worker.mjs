// The browser side of Wisp.create({ worker: true }): a module Worker serving one runtime (Node
// uses node_worker.mjs). Imports nothing from node:, so bundlers can build it for the web.
import { serveRuntime } from './serve_runtime.mjs';

serveRuntime((msg, transfer) => self.postMessage(msg, transfer), (fn) => { self.onmessage = (e) => fn(e.data); });
