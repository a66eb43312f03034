// The real wisp-server (native build) for the web package's tests: started on 127.0.0.1 with an
// ephemeral port, a fresh data directory, a bearer token and an Ed25519 signing key, serving web/
// with --web. Publishing and channel moves go over HTTP like an operator's client; /metrics is
// read to count what actually crossed the wire.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { REPO_DIR, WEB_DIR } from './shared.mjs';

const BUILD = process.env.WISP_NATIVE_BUILD || path.join(REPO_DIR, 'build', 'native');
export const SERVER_BIN = process.env.WISP_SERVER_BIN || path.join(BUILD, 'native', 'server', 'wisp-server');
export const CLI_BIN = process.env.WISP_CLI_BIN || path.join(BUILD, 'native', 'cli', 'wisp');

// Writes the delta-update test models (tests/support/delta_models.h) into a directory.
export const DELTA_MODELS_BIN = process.env.WISP_DELTA_MODELS_BIN || path.join(BUILD, 'tests', 'support', 'wisp_delta_models');

export function haveServerBinaries() {
  return fs.existsSync(SERVER_BIN) && fs.existsSync(CLI_BIN);
}

export const ARTIFACT_ROUTE = '/v1/models/{name}/versions/{v}/model.wisp';
export const CHANNEL_ROUTE = '/v1/models/{name}/channels/{channel}';

export async function startWispServer({ extraArgs = [] } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wisp-web-server-'));
  const token = [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
  fs.writeFileSync(path.join(dir, 'tokens'), token + '\n');
  const keyFile = path.join(dir, 'signing.pem');
  execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', keyFile], { stdio: 'ignore' });
  const publicPem = execFileSync('openssl', ['pkey', '-in', keyFile, '-pubout'], { encoding: 'utf8' });
  const child = spawn(SERVER_BIN, ['--address', '127.0.0.1', '--port', '0', '--data', path.join(dir, 'data'),
    '--token-file', path.join(dir, 'tokens'), '--signing-key', keyFile, '--web', WEB_DIR, '--cors-origins', '*',
    '--threads', '2', ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`wisp-server did not start in 20 s: ${stderr}`)), 20000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`wisp-server exited (${code}): ${stderr}`)); });
  });
  child.stdout.resume();
  const auth = { authorization: `Bearer ${token}` };

  const server = {
    url, dir, token, publicPem, child,
    async json(method, p, body, headers = {}) {
      const r = await fetch(url + p, {
        method, headers: { ...auth, ...headers, ...(body && !(body instanceof Uint8Array) ? { 'content-type': 'application/json' } : {}) },
        body: body instanceof Uint8Array ? body : body ? JSON.stringify(body) : undefined,
      });
      const text = await r.text();
      if (!r.ok) throw new Error(`${method} ${p}: HTTP ${r.status} ${text}`);
      return text ? JSON.parse(text) : null;
    },
    // Publishes a model file (.tflite or .wisp); returns the new version's manifest.
    publish(name, file, { channel } = {}) {
      const q = channel ? `?channel=${encodeURIComponent(channel)}` : '';
      return server.json('POST', `/v1/models/${name}/versions${q}`, new Uint8Array(fs.readFileSync(file)),
        { 'content-type': 'application/octet-stream' });
    },
    setChannel(name, channel, version) {
      return server.json('PUT', `/v1/models/${name}/channels/${channel}`, { version });
    },
    // wisp_artifact_bytes_sent_total once it has reached `atLeast` (the server counts a response
    // when its write completes, which can be just after the client has read it), at most 5 s.
    async artifactBytesSent(atLeast = 0) {
      const deadline = Date.now() + 5000;
      for (;;) {
        const text = await (await fetch(`${url}/metrics`)).text();
        const n = Number(/^wisp_artifact_bytes_sent_total (\d+)$/m.exec(text)?.[1] ?? NaN);
        if (!(n < atLeast) || Date.now() > deadline) return n;
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    // wisp_http_requests_total for a route, summed over methods and statuses unless given.
    async requests(route, { method, status } = {}) {
      const text = await (await fetch(`${url}/metrics`)).text();
      let n = 0;
      for (const line of text.split('\n')) {
        const m = /^wisp_http_requests_total\{route="([^"]*)",method="([^"]*)",status="([^"]*)"\} (\d+)/.exec(line);
        if (m && m[1] === route && (!method || m[2] === method) && (!status || m[3] === String(status))) n += Number(m[4]);
      }
      return n;
    },
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((resolve) => {
          const t = setTimeout(() => { child.kill('SIGKILL'); resolve(); }, 10000);
          child.once('exit', () => { clearTimeout(t); resolve(); });
        });
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}

// Converts a .tflite to .wisp with the CLI (embedding labels when given).
export function convertWithCli(input, output, { labels } = {}) {
  execFileSync(CLI_BIN, ['convert', input, output, ...(labels ? ['--labels', labels] : [])], { stdio: 'pipe' });
  return output;
}

// A "compromised mirror" in front of a server: forwards every request, but `tamper(pathname,
// body, status)` may rewrite a response body (the length is fixed up) of a 200, or of another
// status in `statuses` (e.g. 206 range answers). Loopback only.
export function startTamperingProxy(targetUrl, tamper, { statuses = [200] } = {}) {
  const target = new URL(targetUrl);
  const proxy = http.createServer((req, res) => {
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url,
      headers: { ...req.headers, host: target.host, 'accept-encoding': 'identity' } }, (upRes) => {
      const chunks = [];
      upRes.on('data', (c) => chunks.push(c));
      upRes.on('end', () => {
        let body = Buffer.concat(chunks);
        const pathname = new URL(req.url, 'http://x').pathname;
        const changed = statuses.includes(upRes.statusCode) ? tamper(pathname, body, upRes.statusCode) : null;
        const headers = { ...upRes.headers };
        if (changed) { body = changed; headers['content-length'] = String(body.length); }
        res.writeHead(upRes.statusCode, headers);
        res.end(body);
      });
    });
    up.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
    req.pipe(up);
  });
  return listen(proxy);
}

// A flaky link in front of a server: forwards every request, but the response of an artifact
// download (…/model.wisp) is cut after `cutAfter` body bytes (headers promise the whole length,
// then the socket is destroyed). Loopback only.
export function startCuttingProxy(targetUrl, cutAfter) {
  const target = new URL(targetUrl);
  const proxy = http.createServer((req, res) => {
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url,
      headers: { ...req.headers, host: target.host, 'accept-encoding': 'identity' } }, (upRes) => {
      const artifact = new URL(req.url, 'http://x').pathname.endsWith('/model.wisp') && upRes.statusCode < 300;
      res.writeHead(upRes.statusCode, upRes.headers);
      if (!artifact) return upRes.pipe(res);
      let sent = 0;
      upRes.on('data', (chunk) => {
        if (sent >= cutAfter) return;
        const part = chunk.subarray(0, cutAfter - sent);
        sent += part.length;
        // Once the cut's last byte is flushed, the connection goes (destroying at once would drop
        // bytes still in the socket's buffer).
        if (sent >= cutAfter) {
          upRes.destroy();
          res.write(part, () => res.socket?.destroy());
        } else {
          res.write(part);
        }
      });
      upRes.on('end', () => res.end());
    });
    up.on('error', () => res.socket?.destroy());
    req.pipe(up);
  });
  return listen(proxy);
}

// A mirror that does not do ranges: it forwards every request without Range / If-Range, so each
// range request is answered with the whole artifact (200). Loopback only.
export function startRangelessProxy(targetUrl) {
  const target = new URL(targetUrl);
  const proxy = http.createServer((req, res) => {
    const { range: _r, 'if-range': _i, ...headers } = req.headers;
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url,
      headers: { ...headers, host: target.host } }, (upRes) => {
      res.writeHead(upRes.statusCode, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
    req.pipe(up);
  });
  return listen(proxy);
}

// Starts a proxy on an ephemeral loopback port: { url, close() }.
function listen(proxy) {
  return new Promise((resolve) => {
    proxy.listen(0, '127.0.0.1', () => resolve({
      url: `http://127.0.0.1:${proxy.address().port}`,
      close: () => new Promise((r) => { proxy.closeAllConnections?.(); proxy.close(() => r()); }),
    }));
  });
}