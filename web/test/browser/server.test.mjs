// The product end to end in headless Chromium: the real wisp-server (native build) publishes
// models and serves web/ (--web). The demo page lists the server's models, loads `stable` over
// HTTP and classifies cat.bmp; a reload is served from the Cache API (the server's own request
// counter shows no artifact download). Then rt.loadFromServer: channel moves, rollback to a cached
// version, the 'cached' policy's background update, offline fallback, pinned signing keys, a
// tampering mirror, and the worker-backed runtime.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { launchChromium, playwrightChromium, CHROMIUM } from '../chromium.mjs';
import { REPO_DIR, SHARED, haveShared, loadManifest } from '../shared.mjs';
import {
  ARTIFACT_ROUTE, CHANNEL_ROUTE, SERVER_BIN, convertWithCli, haveServerBinaries, startTamperingProxy, startWispServer,
} from '../wisp_server.mjs';

const ARTIFACTS = path.join(REPO_DIR, 'test-artifacts');
const skip = !haveShared() ? `no shared data at ${SHARED}`
  : !fs.existsSync(CHROMIUM) ? `${CHROMIUM} not found (apt-get install chromium)`
  : !playwrightChromium() ? 'playwright-core is not installed (cd web && npm ci --ignore-scripts)'
  : !haveServerBinaries() ? `${SERVER_BIN} is not built (scripts/build.sh native)`
  : false;
if (skip && process.env.WISP_REQUIRE_SERVER_TESTS === '1') throw new Error(`server browser tests cannot run: ${skip}`);

const golden = skip ? null : loadManifest().cases.find((c) => c.id === 'tf2_mobilenet_v2_1.0_224_ptq/cat');
const model = (f) => path.join(SHARED, 'models', f);
// Three small models published in turn as versions 1, 2, 3 of `tiny`.
const TINY = ['mlperf_tiny_resnet8_int8.tflite', 'mlperf_tiny_kws_dscnn_int8.tflite', 'mlperf_tiny_ad01_int8.tflite'];

let server, browser, context, tmp;
const tiny = [];  // manifests of tiny v1..v3
const consoleLines = [];

before(async () => {
  if (skip) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wisp-server-browser-'));
  server = await startWispServer();
  // The operator embeds the ImageNet labels, so the demo shows names, not indices.
  const wisp = convertWithCli(model('tf2_mobilenet_v2_1.0_224_ptq.tflite'), path.join(tmp, 'mobilenet.wisp'),
    { labels: path.join(SHARED, 'labels', 'imagenet_labels.txt') });
  await server.publish('mobilenet', wisp, { channel: 'stable' });
  await server.publish('vww', model('mlperf_tiny_vww_96_int8.tflite'), { channel: 'canary' });
  for (const f of TINY) tiny.push(await server.publish('tiny', model(f)));
  await server.setChannel('tiny', 'stable', 1);
  browser = await launchChromium({ viewport: { width: 1280, height: 900 } });
  context = browser.context;
  context.setDefaultTimeout(120000);
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  if (consoleLines.length) {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS, 'server-browser-console.log'), consoleLines.join('\n') + '\n');
  }
});

function watch(page, tag) {
  page.on('console', (m) => consoleLines.push(`[${tag} ${m.type()}] ${m.text().slice(0, 500)}`));
  page.on('pageerror', (e) => consoleLines.push(`[${tag} pageerror] ${String(e).slice(0, 500)}`));
  return page;
}

// Waits for the demo's model, then gives it cat.bmp as a user would (file picker) and waits for the top 5.
async function demoClassifiesCat(page) {
  await page.waitForFunction(() => window.demoState?.ready || window.demoState?.error, null, { timeout: 240000 });
  const loaded = await page.evaluate(() => ({ error: window.demoState.error, served: window.demoState.served }));
  assert.equal(loaded.error, null);
  await page.setInputFiles('#image-file', path.join(SHARED, 'images', 'cat.bmp'));
  await page.waitForFunction(() => window.demoState.top5 || window.demoState.error, null, { timeout: 240000 });
  return page.evaluate(() => ({
    top5: window.demoState.top5, error: window.demoState.error, served: window.demoState.served,
    variant: window.demoState.variant, isolated: window.crossOriginIsolated, options: [...document.querySelectorAll('#model-select option')].map((o) => o.textContent),
  }));
}

test('demo served by wisp-server lists its models, loads mobilenet@stable and classifies cat.bmp; a reload comes from the Cache API', { skip, timeout: 600000 }, async (t) => {
  const page = watch(await context.newPage(), 'demo');
  try {
    const downloads0 = await server.requests(ARTIFACT_ROUTE);
    await page.goto(`${server.url}/demo/?model=mobilenet`, { timeout: 60000 });
    const first = await demoClassifiesCat(page);
    assert.equal(first.error, null);
    assert.ok(first.options.some((o) => /^mobilenet · stable \(v1\) · image classifier$/.test(o)), first.options.join(' | '));
    assert.ok(first.options.some((o) => /^vww · canary \(v1\) · image classifier$/.test(o)), first.options.join(' | '));
    assert.ok(first.options.some((o) => /^tiny · stable \(v1\) · image classifier$/.test(o)), first.options.join(' | '));
    assert.deepEqual([first.served.from, first.served.revalidation, first.served.version], ['network', 'modified', 1]);
    assert.equal(first.isolated, true, 'wisp-server sends COOP/COEP with static files');
    assert.equal(first.top5[0].index, golden.top5[0].index);
    assert.equal(first.top5[0].label, golden.top5[0].label, 'label embedded by the operator');
    t.diagnostic(`first visit: ${first.variant.name} x${first.variant.numThreads}, top-1 ${first.top5[0].label}, downloaded v${first.served.version}`);
    assert.equal(await server.requests(ARTIFACT_ROUTE) - downloads0, 1, 'one artifact download');
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'demo-server.png'), fullPage: true });

    const manifest304 = await server.requests(CHANNEL_ROUTE, { status: 304 });
    await page.reload({ timeout: 60000 });
    const second = await demoClassifiesCat(page);
    assert.equal(second.error, null);
    assert.deepEqual([second.served.from, second.served.revalidation, second.served.version], ['cache', 'not-modified', 1]);
    assert.equal(second.top5[0].index, golden.top5[0].index);
    assert.equal(await server.requests(ARTIFACT_ROUTE) - downloads0, 1, 'the reload downloaded no artifact');
    assert.ok(await server.requests(CHANNEL_ROUTE, { status: 304 }) > manifest304, 'the channel was revalidated with a 304');
    t.diagnostic(`reload: ${second.served.from} (${second.served.revalidation}); artifact requests on the server: still 1`);
  } finally {
    await page.close();
  }
});

test('loadFromServer follows channel moves, rolls back from the cache, updates in the background and works offline', { skip, timeout: 300000 }, async (t) => {
  const page = watch(await context.newPage(), 'api');
  const call = (args) => page.evaluate((a) => window.loadAndRun(a), args);
  const downloads = () => server.requests(ARTIFACT_ROUTE);
  try {
    await page.goto(`${server.url}/test/browser/server_page.html`, { timeout: 60000 });
    await page.waitForFunction(() => window.pageReady === true, null, { timeout: 60000 });
    let d = await downloads();

    let r = await call({ name: 'tiny' });
    assert.equal(r.ok, true, r.message);
    assert.deepEqual([r.version, r.from, r.sha256], [1, 'network', tiny[0].sha256]);
    assert.deepEqual(r.progressLast, { loaded: tiny[0].size, total: tiny[0].size });
    assert.equal(await downloads(), ++d);

    await server.setChannel('tiny', 'stable', 2);
    r = await call({ name: 'tiny' });
    assert.deepEqual([r.ok, r.version, r.from, r.revalidation], [true, 2, 'network', 'modified'], r.message);
    assert.equal(await downloads(), ++d);

    await server.setChannel('tiny', 'stable', 1);  // rollback: v1 is still cached as the previous version
    r = await call({ name: 'tiny' });
    assert.deepEqual([r.ok, r.version, r.from, r.revalidation], [true, 1, 'cache', 'modified'], r.message);
    assert.equal(await downloads(), d, 'a rollback to a cached version downloads nothing');

    await server.setChannel('tiny', 'stable', 3);
    r = await call({ name: 'tiny', policy: 'cached' });
    assert.deepEqual([r.ok, r.version, r.from, r.revalidation, r.hasUpdate], [true, 1, 'cache', 'deferred', true], r.message);
    const u = await page.evaluate(() => window.awaitUpdate());
    assert.deepEqual(u, { updated: true, version: 3, error: null });
    assert.equal(await downloads(), ++d, 'the background update downloaded v3');
    r = await call({ name: 'tiny', policy: 'cached' });
    assert.deepEqual([r.ok, r.version, r.from], [true, 3, 'cache'], r.message);
    await page.evaluate(() => window.awaitUpdate());
    assert.equal(await downloads(), d);

    // Current (v3) and previous (v1) are kept; v2 was collected.
    const cached = await page.evaluate(() => window.cachedArtifacts());
    assert.ok(cached.includes(tiny[2].sha256) && cached.includes(tiny[0].sha256), 'current and previous kept');
    assert.ok(!cached.includes(tiny[1].sha256), 'unreferenced artifact deleted');

    await context.setOffline(true);
    try {
      r = await call({ name: 'tiny' });
      assert.deepEqual([r.ok, r.version, r.from, r.revalidation], [true, 3, 'cache', 'offline'], r.message);
      assert.deepEqual(r.outShape.length > 0, true, 'the offline model runs');
      r = await call({ name: 'vww', channel: 'canary' });
      assert.equal(r.ok, false, 'nothing cached for vww: offline load fails');
      assert.match(r.message, /cannot reach the server .* nothing is cached/);
      t.diagnostic(`offline, nothing cached: ${r.message}`);
    } finally {
      await context.setOffline(false);
    }

    r = await call({ name: 'nosuchmodel' });
    assert.equal(r.ok, false);
    assert.match(r.message, /no model named 'nosuchmodel'/);
    r = await call({ name: 'tiny', channel: 'beta' });
    assert.match(r.message, /has no channel 'beta'/);
    r = await call({ name: 'tiny', version: 2 });
    assert.deepEqual([r.ok, r.version, r.channel], [true, 2, null], r.message);

    r = await call({ name: 'tiny', kind: 'worker' });
    assert.deepEqual([r.ok, r.version, r.from], [true, 3, 'cache'], r.message);
  } finally {
    await page.close();
  }
});

test('pinned signing key: the server key verifies, another key is refused, and a tampering mirror is refused', { skip, timeout: 300000 }, async (t) => {
  const page = watch(await context.newPage(), 'sig');
  const call = (args) => page.evaluate((a) => window.loadAndRun(a), args);
  const flipped = (buf) => { const b = Buffer.from(buf); b[b.length >> 1] ^= 0x40; return b; };
  // One mirror alters the artifact only; the other also rewrites the manifest's sha256 to match.
  const artifactMirror = await startTamperingProxy(server.url, (p, body) => (p.endsWith('/model.wisp') ? flipped(body) : null));
  const fullMirror = await startTamperingProxy(server.url, (p, body) => {
    if (p.endsWith('/model.wisp')) return flipped(body);
    if (p.includes('/channels/')) {
      const m = JSON.parse(body);
      m.sha256 = createHashHex(flipped(fs.readFileSync(path.join(server.dir, 'data', 'models', m.name, 'versions', String(m.version), 'model.wisp'))));
      return Buffer.from(JSON.stringify(m));
    }
    return null;
  });
  try {
    await page.goto(`${server.url}/test/browser/server_page.html`, { timeout: 60000 });
    await page.waitForFunction(() => window.pageReady === true, null, { timeout: 60000 });

    let r = await call({ name: 'tiny', publicKeyFrom: 'server' });
    assert.equal(r.ok, true, r.message);
    r = await call({ name: 'tiny', publicKeyFrom: 'random' });
    assert.equal(r.ok, false);
    assert.match(r.message, /signature does not verify with the pinned public key/);
    t.diagnostic(`wrong key: ${r.message}`);

    const before = await server.requests(ARTIFACT_ROUTE);
    r = await call({ server: artifactMirror.url, name: 'tiny', cacheName: 'mirror-a' });
    assert.equal(r.ok, false);
    assert.match(r.message, /sha256 mismatch .* refusing this model/);
    t.diagnostic(`altered artifact: ${r.message}`);
    assert.ok(await server.requests(ARTIFACT_ROUTE) > before, 'the mirror really fetched the artifact');
    assert.deepEqual(await page.evaluate(() => window.cachedArtifacts('mirror-a')), [], 'nothing stored from the bad mirror');

    r = await call({ server: fullMirror.url, name: 'tiny', cacheName: 'mirror-b', publicKeyFrom: 'server' });
    assert.equal(r.ok, false);
    assert.match(r.message, /signed fields .* do not match|signature does not verify/);
    t.diagnostic(`altered artifact + manifest, pinned key: ${r.message}`);
    assert.equal(await page.evaluate(() => window.cacheEntryCount('mirror-b')), 0);
  } finally {
    await artifactMirror.close();
    await fullMirror.close();
    await page.close();
  }
});

function createHashHex(buf) {
  return createHash('sha256').update(buf).digest('hex');
}
