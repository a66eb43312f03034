// A small static server for the demo and the browser tests, bound to 127.0.0.1 only.
//   /            -> web/ (the package: src/, dist/, demo/, test/browser/)
//   /shared/...  -> the shared data, read-only: models/, images/, labels/, goldens/
//   /api/shared.json -> lists of the shared models and images (for the demo page), with each
//                       .tflite model's inputs and outputs (so the demo's picker can name its kind)
//   mounts: { '/prefix/': dir } -> more folders (the bundler tests' build outputs)
// With coi (default on) every response carries COOP same-origin + COEP require-corp (+ CORP), so
// pages are cross-origin isolated and the threaded variant can use SharedArrayBuffer.
// Standalone: node test/server.mjs [--port N] [--no-coi]
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { WEB_DIR, SHARED } from './shared.mjs';
import { tfliteSignature } from '../demo/kinds.mjs';

const MIME = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.wasm': 'application/wasm', '.json': 'application/json', '.txt': 'text/plain; charset=utf-8',
  '.bmp': 'image/bmp', '.jpg': 'image/jpeg', '.png': 'image/png', '.svg': 'image/svg+xml', '.ts': 'text/plain; charset=utf-8',
};
const SHARED_DIRS = ['models', 'images', 'labels', 'goldens'];

function resolveUnder(root, rel) {
  const full = path.resolve(root, rel);
  return full === root || full.startsWith(root + path.sep) ? full : null;
}

function sharedListing() {
  const list = (dir, re) => {
    try { return fs.readdirSync(path.join(SHARED, dir)).filter((f) => re.test(f)).sort(); } catch { return []; }
  };
  const models = list('models', /\.(tflite|wisp)$/);
  const signatures = {};
  for (const f of models.filter((m) => m.endsWith('.tflite'))) {
    const sig = signatureOf(path.join(SHARED, 'models', f));
    if (sig) signatures[f] = sig;
  }
  return { models, images: list('images', /\.(bmp|jpg|jpeg|png)$/i), labels: list('labels', /\.txt$/), signatures };
}

// The inputs and outputs of a .tflite file, read once per file version (path, size, mtime).
const signatureCache = new Map();
function signatureOf(file) {
  try {
    const { size, mtimeMs } = fs.statSync(file);
    const key = `${file}:${size}:${mtimeMs}`;
    if (!signatureCache.has(key)) signatureCache.set(key, tfliteSignature(fs.readFileSync(file)));
    return signatureCache.get(key);
  } catch {
    return null;
  }
}

export function startServer({ coi = true, port = 0, log = false, mounts = {} } = {}) {
  const webRoot = path.resolve(WEB_DIR);
  const sharedRoot = path.resolve(SHARED);
  const server = http.createServer((req, res) => {
    const headers = { 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };
    if (coi) {
      Object.assign(headers, {
        'Cross-Origin-Opener-Policy': 'same-origin',
        'Cross-Origin-Embedder-Policy': 'require-corp',
        'Cross-Origin-Resource-Policy': 'same-origin',
      });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, headers);
      return res.end();
    }
    let url;
    try { url = new URL(req.url, 'http://127.0.0.1'); } catch { res.writeHead(400, headers); return res.end(); }
    let pathname;
    try { pathname = decodeURIComponent(url.pathname); } catch { res.writeHead(400, headers); return res.end(); }
    if (pathname === '/favicon.ico') { res.writeHead(204, headers); return res.end(); }
    if (pathname === '/') { res.writeHead(302, { ...headers, Location: '/demo/' }); return res.end(); }
    if (pathname === '/api/shared.json') {
      const body = JSON.stringify(sharedListing());
      res.writeHead(200, { ...headers, 'Content-Type': MIME['.json'], 'Content-Length': Buffer.byteLength(body) });
      return res.end(req.method === 'HEAD' ? undefined : body);
    }
    let file = null;
    const mount = Object.keys(mounts).find((prefix) => pathname.startsWith(prefix));
    if (mount) {
      file = resolveUnder(path.resolve(mounts[mount]), pathname.slice(mount.length));
    } else if (pathname.startsWith('/shared/')) {
      const rel = pathname.slice('/shared/'.length);
      if (SHARED_DIRS.includes(rel.split('/')[0])) file = resolveUnder(sharedRoot, rel);
    } else if (!pathname.startsWith('/node_modules/')) {
      file = resolveUnder(webRoot, pathname.slice(1));
    }
    if (file && fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!file || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      if (log) console.error('404', pathname);
      res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' });
      return res.end('not found');
    }
    const size = fs.statSync(file).size;
    res.writeHead(200, { ...headers, 'Content-Type': MIME[path.extname(file).toLowerCase()] ?? 'application/octet-stream', 'Content-Length': size });
    if (req.method === 'HEAD') return res.end();
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: p } = server.address();
      resolve({
        port: p,
        url: `http://127.0.0.1:${p}`,
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
      });
    });
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--port');
  const s = await startServer({ coi: !process.argv.includes('--no-coi'), port: i > 0 ? Number(process.argv[i + 1]) : 8080, log: true });
  console.log(`Wisp demo: ${s.url}/demo/  (shared data: ${SHARED})`);
}
