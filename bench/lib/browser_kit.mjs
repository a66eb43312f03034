// What the browser benchmark tools share: the web package's test server and Chromium launcher
// (web/test), and their command-line flags.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const web = (f) => pathToFileURL(path.join(repo, 'web', f)).href;
export const { startServer } = await import(web('test/server.mjs'));
export const { launchChromium } = await import(web('test/chromium.mjs'));
export const { loadManifest } = await import(web('test/shared.mjs'));

export const argv = process.argv.slice(2);
// The value after flag `name`, or `dflt`.
export const arg = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
