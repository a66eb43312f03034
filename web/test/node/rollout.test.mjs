// Staged rollouts seen from the web package: rt.loadFromServer sends a stable X-Wisp-Client id
// (kept in the cache), gets the version the server assigns that id, and reports loads, runs and
// errors in batches; clients whose runs fail drive the server's automatic rollback. Against the
// real wisp-server on 127.0.0.1 with a shared model and the WebAssembly runtime in Node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Wisp } from '../../src/node.mjs';
import { MemoryCache } from '../memory_cache.mjs';
import { SHARED, haveShared } from '../shared.mjs';
import { SERVER_BIN, haveServerBinaries, startWispServer } from '../wisp_server.mjs';

const skip = !haveShared() ? `no shared data at ${SHARED}`
  : !haveServerBinaries() ? `${SERVER_BIN} is not built (scripts/build.sh native)` : false;
if (skip && process.env.WISP_REQUIRE_SERVER_TESTS === '1') throw new Error(`server tests cannot run: ${skip}`);

const MODEL = () => path.join(SHARED, 'models', 'mlperf_tiny_kws_dscnn_int8.tflite');
let server, rt;

before(async () => {
  if (skip) return;
  server = await startWispServer();
  await server.publish('kws', MODEL(), { channel: 'stable' });  // version 1
  await server.publish('kws', MODEL());                         // version 2
  rt = await Wisp.create({ threads: 1 });
});

after(async () => {
  rt?.dispose();
  await server?.close();
});

const channelFor = async (id) => {
  const r = await fetch(`${server.url}/v1/models/kws/channels/stable`, { headers: id ? { 'x-wisp-client': id } : {} });
  assert.equal(r.status, 200);
  return r.json();
};

test('the client id is kept in the cache and decides the version', { skip, timeout: 120000 }, async () => {
  await server.json('PUT', '/v1/models/kws/channels/stable', { version: 2, rollout: { percent: 50 } });
  try {
    const cache = new MemoryCache();
    const a = await rt.loadFromServer(server.url, 'kws', { cache, report: false });
    const b = await rt.loadFromServer(server.url, 'kws', { cache, report: false });
    try {
      assert.match(a.served.clientId, /^[0-9a-f]{32}$/);
      assert.equal(b.served.clientId, a.served.clientId, 'one id per installation (cache)');
      assert.equal(a.served.reporter, null);
      assert.equal((await channelFor(a.served.clientId)).version, a.served.version);
    } finally {
      a.dispose();
      b.dispose();
    }
    // Across many ids both versions are handed out, each as the server assigns it.
    const seen = new Set();
    for (let i = 0; i < 16; i++) {
      const clientId = `web-${i}`;
      const m = await rt.loadFromServer(server.url, 'kws', { clientId, report: false });
      try {
        assert.equal(m.served.version, (await channelFor(clientId)).version, clientId);
        seen.add(m.served.version);
      } finally {
        m.dispose();
      }
    }
    assert.deepEqual([...seen].sort(), [1, 2]);
    await assert.rejects(rt.loadFromServer(server.url, 'kws', { clientId: 'bad id!' }), /clientId must match/);
  } finally {
    await server.json('DELETE', '/v1/models/kws/channels/stable/rollout');
  }
});

test('clients report runs and errors; a failing version is rolled back by the server', { skip, timeout: 120000 }, async () => {
  await server.json('PUT', '/v1/models/kws/channels/stable', {
    version: 2, rollout: { percent: 50, max_error_rate: 0.2, min_reports: 3, margin: 0.05 },
  });
  const onTwo = [];
  let rolledBack = false;
  for (let i = 0; i < 40 && !rolledBack; i++) {
    const clientId = `device-${i}`;
    const m = await rt.loadFromServer(server.url, 'kws', { clientId, reportIntervalMs: 0 });
    try {
      const good = new Int8Array(m.inputs[0].bytes);
      await m.run(good);
      if (m.served.version === 2) {
        onTwo.push(clientId);
        // Version 2 "misbehaves" on these devices: three runs fail (a wrong input here).
        for (let k = 0; k < 3; k++) await assert.rejects(m.run(new Int8Array(3)));
      } else {
        for (let k = 0; k < 3; k++) await m.run(good);
      }
      assert.equal(await m.served.reporter.flush(), true);
    } finally {
      m.dispose();  // sends nothing more: the batch was flushed
    }
    const state = await channelFor();
    rolledBack = !state.rollout;
  }
  assert.ok(rolledBack, 'the server rolled version 2 back');
  assert.ok(onTwo.length >= 2, `reports from >= 2 devices on version 2 (got ${onTwo.length})`);
  const state = await channelFor();
  assert.equal(state.version, 1);
  assert.equal(state.last_rollout.state, 'aborted');
  assert.match(state.last_rollout.reason, /automatic rollback: version 2's error rate/);
  // The devices that had version 2 get version 1 now.
  for (const clientId of onTwo) {
    const m = await rt.loadFromServer(server.url, 'kws', { clientId, report: false });
    assert.equal(m.served.version, 1, clientId);
    m.dispose();
  }
  const audit = await server.json('GET', '/v1/audit?limit=1000');
  assert.ok(audit.entries.some((e) => e.action === 'rollback' && e.rollout.version === 2));
});
