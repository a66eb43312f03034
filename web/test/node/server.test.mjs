// rt.loadFromServer in Node against the real wisp-server on 127.0.0.1: Node has no Cache API,
// so every load revalidates and downloads, with the same manifest, size, sha256 and signature
// checks as in the browser (the Cache API paths are tested in Chromium, test/browser/server.test.mjs).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Wisp } from '../../src/node.mjs';
import { SHARED, haveShared } from '../shared.mjs';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import { ARTIFACT_ROUTE, CLI_BIN, SERVER_BIN, haveServerBinaries, startCuttingProxy, startTamperingProxy, startWispServer } from '../wisp_server.mjs';

const skip = !haveShared() ? `no shared data at ${SHARED}`
  : !haveServerBinaries() ? `${SERVER_BIN} is not built (scripts/build.sh native)` : false;
if (skip && process.env.WISP_REQUIRE_SERVER_TESTS === '1') throw new Error(`server tests cannot run: ${skip}`);

let server, rt, manifest;

before(async () => {
  if (skip) return;
  server = await startWispServer();
  manifest = await server.publish('kws', path.join(SHARED, 'models', 'mlperf_tiny_kws_dscnn_int8.tflite'), { channel: 'stable' });
  rt = await Wisp.create({ threads: 1 });
});

after(async () => {
  rt?.dispose();
  await server?.close();
});

test('loads the stable version, verified, and runs it', { skip, timeout: 60000 }, async () => {
  const progress = [];
  const before = await server.requests(ARTIFACT_ROUTE);
  const m = await rt.loadFromServer(server.url, 'kws', { onProgress: (p) => progress.push(p) });
  try {
    assert.equal(m.served.version, manifest.version);
    assert.equal(m.served.sha256, manifest.sha256);
    assert.equal(m.served.from, 'network');
    assert.equal(m.served.channel, 'stable');
    assert.equal(m.info.name, 'kws');
    assert.deepEqual(progress.at(-1), { loaded: manifest.size, total: manifest.size });
    const [out] = await m.run(new Int8Array(m.inputs[0].bytes));
    assert.deepEqual(out.shape, [1, 12]);
    assert.equal(await server.requests(ARTIFACT_ROUTE) - before, 1);
  } finally {
    m.dispose();
  }
});

test('a pinned PEM key verifies; a different key and an unsigned manifest are refused', { skip, timeout: 60000 }, async () => {
  const m = await rt.loadFromServer(server.url, 'kws', { publicKey: server.publicPem });
  m.dispose();
  const other = await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const raw = new Uint8Array(await crypto.subtle.exportKey('raw', other.publicKey));
  await assert.rejects(rt.loadFromServer(server.url, 'kws', { publicKey: raw }),
    /signature does not verify with the pinned public key/);
  await assert.rejects(rt.loadFromServer(server.url, 'kws', { publicKey: 'not a key!' }), /not a usable Ed25519 public key/);
  const unsigned = await startTamperingProxy(server.url, (p, body) => {
    if (!p.includes('/channels/')) return null;
    const doc = JSON.parse(body);
    delete doc.signature;
    return Buffer.from(JSON.stringify(doc));
  });
  try {
    await assert.rejects(rt.loadFromServer(unsigned.url, 'kws', { publicKey: server.publicPem }), /the manifest is not signed/);
  } finally {
    await unsigned.close();
  }
});

test('an altered or truncated artifact is refused with a message naming the check', { skip, timeout: 60000 }, async () => {
  const altered = await startTamperingProxy(server.url, (p, body) => {
    if (!p.endsWith('/model.wisp')) return null;
    const b = Buffer.from(body);
    b[100] ^= 1;
    return b;
  });
  const truncated = await startTamperingProxy(server.url, (p, body) => (p.endsWith('/model.wisp') ? body.subarray(0, body.length - 10) : null));
  try {
    await assert.rejects(rt.loadFromServer(altered.url, 'kws'), (e) => {
      assert.equal(e.name, 'WispError');
      assert.match(e.message, /kws@stable .*sha256 mismatch \(manifest [0-9a-f]{64}, received [0-9a-f]{64}\)/);
      return true;
    });
    await assert.rejects(rt.loadFromServer(truncated.url, 'kws'), /stopped after \d+ of \d+ bytes/);
  } finally {
    await altered.close();
    await truncated.close();
  }
});

test('unknown models, channels and versions, bad options and an unreachable server give clear errors', { skip, timeout: 60000 }, async () => {
  await assert.rejects(rt.loadFromServer(server.url, 'nope'), /no model named 'nope'/);
  await assert.rejects(rt.loadFromServer(server.url, 'kws', { channel: 'canary' }), /has no channel 'canary'/);
  await assert.rejects(rt.loadFromServer(server.url, 'kws', { version: 99 }), /has no version 99/);
  await assert.rejects(rt.loadFromServer(server.url, 'kws', { version: -1 }), /version must be a positive integer/);
  await assert.rejects(rt.loadFromServer(server.url, 'kws', { policy: 'sometimes' }), /unknown policy 'sometimes'/);
  // Port 9 (discard) is closed on loopback here: the connection is refused.
  await assert.rejects(rt.loadFromServer('http://127.0.0.1:9', 'kws'), /cannot reach the server .* nothing is cached/);
});

test('the worker-backed runtime loads from the server too', { skip, timeout: 120000 }, async () => {
  const wrt = await Wisp.create({ worker: true, threads: 1 });
  try {
    const m = await wrt.loadFromServer(server.url, 'kws', { version: manifest.version, publicKey: server.publicPem });
    assert.equal(m.served.version, manifest.version);
    assert.equal(m.served.channel, null);
    const [out] = await m.run(new Int8Array(m.inputs[0].bytes));
    assert.equal(out.data.length, 12);
    m.dispose();
  } finally {
    wrt.dispose();
  }
});

// A download cut mid-way (issue 11): through a proxy that drops the connection after 64 KB of
// the artifact, loadFromServer fails with a clear error and the model already loaded keeps
// running; `wisp pull` fails naming the cut, keeps the version it had, and the next pull resumes
// the partial file with a Range request and finishes with a verified artifact.
test('a download cut mid-way: clear errors, the previous version kept, wisp pull resumes', { skip, timeout: 120000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wisp-cut-'));
  const cutter = await startCuttingProxy(server.url, 64 * 1024);
  // Asynchronous: the proxy runs in this process and must keep serving while the CLI pulls.
  const pull = (url) => new Promise((resolve) => {
    execFile(CLI_BIN, ['pull', url, 'cut', '--dir', dir, '--json'], { timeout: 60000 }, (e, stdout, stderr) => {
      resolve(e ? { code: e.code ?? 1, err: String(stderr) } : { code: 0, out: JSON.parse(stdout) });
    });
  });
  try {
    const v1 = await server.publish('cut', path.join(SHARED, 'models', 'mlperf_tiny_kws_dscnn_int8.tflite'), { channel: 'stable' });
    const first = await pull(server.url);
    assert.equal(first.code, 0, first.err);
    assert.equal(first.out.version, v1.version);
    const previous = await rt.loadFromServer(server.url, 'cut');
    // v2 is larger than the cut: every download of it through the proxy breaks.
    const v2 = await server.publish('cut', path.join(SHARED, 'models', 'mlperf_tiny_ad01_int8.tflite'), { channel: 'stable' });
    assert.ok(v2.size > 64 * 1024, `${v2.size}`);
    try {
      await assert.rejects(rt.loadFromServer(cutter.url, 'cut'), (e) => {
        assert.match(String(e.message), /download|terminated|closed|socket|fetch|bytes/i, e.message);
        return true;
      });
      const [out] = await previous.run(new Int8Array(previous.inputs[0].bytes));
      assert.deepEqual(out.shape, [1, 12], 'the model loaded before still runs');
    } finally {
      previous.dispose();
    }
    const cut = await pull(cutter.url);
    assert.notEqual(cut.code, 0, 'a cut download is an error');
    assert.ok(cut.err.trim().length > 0);
    assert.match(cut.err, /cut|closed|end of stream|partial|eof|short|bytes/i, cut.err);
    // The version pulled before is still there, intact.
    const kept = fs.readFileSync(first.out.path);
    const { createHash } = await import('node:crypto');
    assert.equal(createHash('sha256').update(kept).digest('hex'), v1.sha256);
    // The next pull resumes the partial file and verifies the whole artifact.
    const resumed = await pull(server.url);
    assert.equal(resumed.code, 0, resumed.err);
    assert.equal(resumed.out.version, v2.version);
    assert.ok(resumed.out.resumed_from >= 64 * 1024 - 16 * 1024, JSON.stringify(resumed.out));
    assert.equal(createHash('sha256').update(fs.readFileSync(resumed.out.path)).digest('hex'), v2.sha256);
  } finally {
    await cutter.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
