// A dedicated module Worker that runs the golden case itself (workers have no import maps, so the
// package is imported by path).
import { Wisp } from '../../src/wisp.mjs';
import { runModes } from './app/run_case.mjs';

self.onmessage = async (e) => self.postMessage(await runModes(Wisp, e.data.modes));
