// Replayed and expired channel manifests, refused by the web client (registry_client.mjs, the
// code under rt.loadFromServer) against a real wisp-server on 127.0.0.1, with an in-memory
// Cache-like object as the persistent store (Node has no Cache API). A tampering proxy plays the
// mirror that replays an old, validly signed manifest. No WebAssembly needed: with
// WISP_SERVER_BIN=.../wisp-server-fake-engine the models are the fake engine's FAKEWISP bytes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fetchServerModel } from '../../src/registry_client.mjs';
import { MemoryCache } from '../memory_cache.mjs';
import { SHARED, haveShared } from '../shared.mjs';
import { SERVER_BIN, startTamperingProxy, startWispServer } from '../wisp_server.mjs';

const fake = SERVER_BIN.includes('fake-engine');
const skip = !fs.existsSync(SERVER_BIN) ? `${SERVER_BIN} is not built (scripts/build.sh native)`
  : !fake && !haveShared() ? `no shared data at ${SHARED}` : false;
if (skip && process.env.WISP_REQUIRE_SERVER_TESTS === '1') throw new Error(`server tests cannot run: ${skip}`);

// Two different models: FAKEWISP bytes for the fake engine, shared .tflite files for the real one.
function modelFile(dir, i) {
  if (!fake) {
    return path.join(SHARED, 'models', ['mlperf_tiny_kws_dscnn_int8.tflite', 'mlperf_tiny_ad01_int8.tflite'][i]);
  }
  const file = path.join(dir, `fake${i}.wisp`);
  const bytes = Buffer.alloc(2000 + 1000 * i);
  bytes.write('FAKEWISP');
  for (let j = 8; j < bytes.length; j++) bytes[j] = (j * 31 + i * 7) & 0xff;
  fs.writeFileSync(file, bytes);
  return file;
}

const load = (url, options) => fetchServerModel(url, 'm', options, { makeError: (m, o) => new Error(m, o) });
const manifestOf = async (server) => (await fetch(`${server.url}/v1/models/m/channels/stable`)).text();

let server, short;

before(async () => {
  if (skip) return;
  server = await startWispServer();
  short = await startWispServer({ extraArgs: ['--manifest-ttl', '2s'] });
});

after(async () => {
  await server?.close();
  await short?.close();
});

test('a replayed older channel manifest is refused; the cached model stays', { skip, timeout: 60000 }, async () => {
  await server.publish('m', modelFile(server.dir, 0), { channel: 'stable' });
  const old = await manifestOf(server);
  assert.equal(JSON.parse(old).sequence, 1);
  const v2 = await server.publish('m', modelFile(server.dir, 1), { channel: 'stable' });
  let replay = false;
  const mirror = await startTamperingProxy(server.url, (p) => (replay && p.endsWith('/channels/stable') ? Buffer.from(old) : null));
  const cache = new MemoryCache();
  try {
    const first = await load(mirror.url, { cache, publicKey: server.publicPem });
    assert.equal(first.manifest.version, v2.version);
    assert.equal(first.manifest.sequence, 2);
    // The channel moves on (a rollback: sequence 3), and the mirror replays sequence 1.
    await server.setChannel('m', 'stable', 1);
    replay = true;
    for (const publicKey of [server.publicPem, undefined]) {
      await assert.rejects(load(mirror.url, { cache, publicKey }),
        /m@stable .*sequence 1 is lower than sequence 2 already accepted .*keeping v2 from the cache/);
    }
    // The model already loaded keeps working: policy 'cached' returns it, the update says why not.
    const kept = await load(mirror.url, { cache, policy: 'cached', publicKey: server.publicPem });
    assert.equal(kept.manifest.version, v2.version);
    assert.equal(kept.from, 'cache');
    const update = await kept.update;
    assert.equal(update.updated, false);
    assert.match(update.error.message, /sequence 1 is lower than sequence 2/);
    // A raised outer sequence does not fool a pinned key.
    const raised = await startTamperingProxy(server.url, (p) => (p.endsWith('/channels/stable')
      ? Buffer.from(JSON.stringify({ ...JSON.parse(old), sequence: 9 })) : null));
    try {
      await assert.rejects(load(raised.url, { cache: new MemoryCache(), publicKey: server.publicPem }),
        /do not match the manifest's 'sequence' \(9\)/);
    } finally {
      await raised.close();
    }
    // The real, newer manifest (sequence 3, the rollback) is accepted.
    replay = false;
    const now = await load(mirror.url, { cache, publicKey: server.publicPem });
    assert.equal(now.manifest.sequence, 3);
    assert.equal(now.manifest.version, 1);
  } finally {
    await mirror.close();
  }
});

test('an expired channel manifest is refused; the server re-signs before expiry', { skip, timeout: 60000 }, async () => {
  await short.publish('m', modelFile(short.dir, 0), { channel: 'stable' });
  let frozen = null;
  const mirror = await startTamperingProxy(short.url, (p) => (frozen && p.endsWith('/channels/stable') ? Buffer.from(frozen) : null));
  const cache = new MemoryCache();
  try {
    const first = await load(mirror.url, { cache, publicKey: short.publicPem });
    frozen = await manifestOf(short);
    const expires = JSON.parse(frozen).expires;
    assert.ok(Date.parse(expires) - Date.now() <= 2000);
    await new Promise((r) => setTimeout(r, 2200));
    // The server itself never serves an expired manifest: it re-signed with a later expiry.
    const fresh = JSON.parse(await manifestOf(short));
    assert.ok(Date.parse(fresh.expires) > Date.now());
    assert.equal(fresh.sequence, first.manifest.sequence);
    await load(short.url, { cache: new MemoryCache(), publicKey: short.publicPem });
    // The mirror keeps serving the frozen one: refused, with or without a pinned key.
    for (const publicKey of [short.publicPem, undefined]) {
      await assert.rejects(load(mirror.url, { cache, publicKey }),
        new RegExp(`expired at ${expires} \\(now .*\\).*keeping v${first.manifest.version} from the cache`));
    }
    const kept = await load(mirror.url, { cache, policy: 'cached' });
    assert.equal(kept.manifest.sha256, first.manifest.sha256);
    assert.match((await kept.update).error.message, /expired at/);
  } finally {
    await mirror.close();
  }
});
