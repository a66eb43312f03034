// A SharedWorker (module) that runs the golden case for each page that connects.
import { Wisp } from '../../src/wisp.mjs';
import { runModes } from './app/run_case.mjs';

self.onconnect = (e) => {
  const port = e.ports[0];
  port.onmessage = async (m) => port.postMessage(await runModes(Wisp, m.data.modes));
};
