// Delta updates in the web client (registry_client.mjs, the code under rt.loadFromServer) against
// a real wisp-server on 127.0.0.1, with an in-memory Cache-like object as the browser cache (Node
// has no Cache API). The models are two versions of one classifier that differ only in its last
// layer's weights (tests/support/delta_models.h, written by the native wisp_delta_models tool).
// No WebAssembly needed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fetchServerModel } from '../../src/registry_client.mjs';
import { MemoryCache } from '../memory_cache.mjs';
import { DELTA_MODELS_BIN, SERVER_BIN, startRangelessProxy, startTamperingProxy, startWispServer } from '../wisp_server.mjs';

const fake = SERVER_BIN.includes('fake-engine');
const skip = !fs.existsSync(SERVER_BIN) ? `${SERVER_BIN} is not built (scripts/build.sh native)`
  : !fs.existsSync(DELTA_MODELS_BIN) ? `${DELTA_MODELS_BIN} is not built (scripts/build.sh native)` : false;
if (skip && process.env.WISP_REQUIRE_SERVER_TESTS === '1') throw new Error(`server tests cannot run: ${skip}`);

const load = (url, options) => fetchServerModel(url, 'cls', options, { makeError: (m, o) => new Error(m, o) });
let server, files, v1, v2;

before(async () => {
  if (skip) return;
  server = await startWispServer();
  execFileSync(DELTA_MODELS_BIN, ['models', server.dir]);
  files = [1, 2].map((v) => path.join(server.dir, `v${v}.wisp`));
  if (fake) {
    for (const f of files) { const b = fs.readFileSync(f); b.write('FAKEWISP'); fs.writeFileSync(f, b); }
  }
  [v1, v2] = files.map((f) => new Uint8Array(fs.readFileSync(f)));
  await server.publish('cls', files[0], { channel: 'stable' });  // version 1
  await server.publish('cls', files[1]);                           // version 2
});

after(async () => { await server?.close(); });

// A cache holding version 1, with the channel moved to version 2 afterwards.
async function cacheHoldingV1(url = server.url) {
  await server.setChannel('cls', 'stable', 1);
  const cache = new MemoryCache();
  const first = await load(url, { cache });
  assert.equal(first.manifest.version, 1);
  assert.equal(first.delta, null);
  await server.setChannel('cls', 'stable', 2);
  return cache;
}

test('an update fetches only the chunks the cached version lacks (<= 15% of the artifact)', { skip, timeout: 60000 }, async () => {
  const cache = await cacheHoldingV1();
  const before = await server.artifactBytesSent();
  const progress = [];
  const got = await load(server.url, { cache, onProgress: (p) => progress.push(p) });
  assert.equal(got.manifest.version, 2);
  assert.equal(got.from, 'network');
  assert.deepEqual(got.bytes, v2);
  assert.equal(got.delta.error, null);
  assert.equal(got.delta.baseVersion, 1);
  assert.equal(got.delta.bytesFetched + got.delta.bytesReused, v2.length);
  assert.deepEqual(progress.at(-1), { loaded: v2.length, total: v2.length });
  const sent = (await server.artifactBytesSent(before + got.delta.bytesFetched)) - before;
  assert.equal(sent, got.delta.bytesFetched);
  console.log(`# delta update: ${sent} of ${v2.length} artifact bytes sent (${(100 * sent / v2.length).toFixed(1)}%)`);
  assert.ok(sent * 100 <= v2.length * 15, `${sent} bytes is more than 15% of ${v2.length}`);
  assert.ok(sent > 100 * 1024, 'the classifier weights (100 KiB) changed and must have been fetched');
  // Cached under its sha256 like a download: the next load needs nothing.
  const again = await load(server.url, { cache });
  assert.equal(again.from, 'cache');
  assert.deepEqual(again.bytes, v2);
});

test('a range answered with wrong bytes falls back to a full download', { skip, timeout: 60000 }, async () => {
  const mirror = await startTamperingProxy(server.url, (p, body) => {
    const b = Buffer.from(body);
    b[b.length >> 1] ^= 0xff;
    return b;
  }, { statuses: [206] });
  try {
    const cache = await cacheHoldingV1(mirror.url);
    const got = await load(mirror.url, { cache });
    assert.deepEqual(got.bytes, v2);
    assert.equal(got.delta.baseVersion, null);
    assert.match(got.delta.error, /delta update from v1 failed, downloading the whole artifact: chunk at offset \d+ .* does not match its sha256/);
    assert.ok(got.delta.bytesFetched >= v2.length);
  } finally {
    await mirror.close();
  }
});

test('a mirror that ignores Range falls back to a full download', { skip, timeout: 60000 }, async () => {
  const mirror = await startRangelessProxy(server.url);
  try {
    const cache = await cacheHoldingV1(mirror.url);
    const got = await load(mirror.url, { cache });
    assert.deepEqual(got.bytes, v2);
    assert.match(got.delta.error, /answered HTTP 200/);
  } finally {
    await mirror.close();
  }
});

test('a corrupted cached artifact is not used as a base: the update is a full download', { skip, timeout: 60000 }, async () => {
  const cache = await cacheHoldingV1();
  const key = [...cache.entries.keys()].find((k) => k.includes('.wisp-cache/sha256/'));
  cache.entries.get(key).body[1000] ^= 0xff;
  const before = await server.artifactBytesSent();
  const got = await load(server.url, { cache });
  assert.deepEqual(got.bytes, v2);
  assert.equal(got.delta, null);
  assert.equal((await server.artifactBytesSent(before + v2.length)) - before, v2.length);
});
