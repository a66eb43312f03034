// Fetching a model from a Wisp server (wisp-server) the way an edge client should: resolve a
// channel (or a pinned version) to its manifest, check the manifest's Ed25519 signature against a
// pinned key, download the artifact only when its sha256 is not already cached, verify size and
// sha256 before anything is stored or run, and keep the last good version for offline use.
//
// Browser Cache API layout (cache `wisp-models-v1` unless options.cacheName says otherwise):
//   <manifest URL>                        the last good manifest of that channel/version, with
//                                         the server's ETag (revalidated with If-None-Match)
//   <server>/.wisp-cache/sha256/<hex>     the artifact bytes, keyed by their sha256
//   <server>/.wisp-cache/sequence/<name>/<channel>  {"sequence": n}: the highest channel sequence
//                                         accepted from that server (replayed manifests, with a
//                                         lower sequence, are refused; so are expired ones)
//   <server>/.wisp-cache/client-id       {"id": "<32 hex>"}: this installation's X-Wisp-Client id,
//                                         by which the server assigns it during staged rollouts
// Artifacts that no cached manifest references (as current or previous) are deleted.
// Delta updates: when the cache holds the channel's earlier artifact and the new version's manifest
// lists its chunks (gear64k-v1, ./chunker.mjs), only the chunks the earlier artifact lacks are
// fetched, with Range requests; the result is verified like a download, and any mismatch or
// refused range falls back to downloading the whole artifact.
// Without a Cache API (Node, insecure origins) the same checks run with nothing cached, unless a
// Cache-like object is passed as options.cache.

import { CHUNKING_ALGORITHM, chunkBoundaries } from './chunker.mjs';

const DEFAULT_CACHE_NAME = 'wisp-models-v1';
const ARTIFACT_PREFIX = '.wisp-cache/sha256/';
const SEQUENCE_PREFIX = '.wisp-cache/sequence/';
const CLIENT_ID_KEY = '.wisp-cache/client-id';
const CLIENT_ID = /^[0-9A-Za-z_-]{1,128}$/;
const HEX64 = /^[0-9a-f]{64}$/;

function hex(bytes) {
  let s = '';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

function base64ToBytes(b64) {
  const clean = String(b64).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) throw new Error('not base64');
  const bin = atob(clean);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function subtle() {
  return globalThis.crypto?.subtle ?? null;
}

/** Lower-case hex sha256 of `bytes`: SubtleCrypto when available, else `fallback(bytes)`. */
export async function sha256Hex(bytes, fallback) {
  const s = subtle();
  if (s) return hex(new Uint8Array(await s.digest('SHA-256', bytes)));
  if (fallback) return fallback(bytes);
  throw new Error('no SHA-256 implementation (SubtleCrypto needs a secure context: https or localhost)');
}

// A pinned manifest-signing key: a CryptoKey, the raw 32-byte key (bytes or base64, as served by
// GET /v1/signing-key) or an SPKI PEM (`openssl pkey -pubout`).
async function importPublicKey(key, fail) {
  if (typeof CryptoKey !== 'undefined' && key instanceof CryptoKey) return key;
  const s = subtle();
  if (!s) fail('verifying a manifest signature needs SubtleCrypto (a secure context: https or localhost)');
  let format = 'raw';
  let data;
  try {
    if (typeof key === 'string' && key.includes('-----BEGIN')) {
      format = 'spki';
      data = base64ToBytes(key.replace(/-----[^-]+-----/g, ''));
    } else if (typeof key === 'string') {
      data = base64ToBytes(key);
    } else if (key instanceof ArrayBuffer || ArrayBuffer.isView(key)) {
      data = key instanceof ArrayBuffer ? new Uint8Array(key) : new Uint8Array(key.buffer, key.byteOffset, key.byteLength);
    } else {
      throw new Error(`unsupported type ${typeof key}`);
    }
    if (format === 'raw' && data.length !== 32) throw new Error(`a raw Ed25519 key is 32 bytes, this one is ${data.length}`);
    return await s.importKey(format, data, { name: 'Ed25519' }, false, ['verify']);
  } catch (e) {
    return fail(`publicKey is not a usable Ed25519 public key: ${e.message}`);
  }
}

// The string a manifest without `signature.signed` (from an older server) was signed over:
// canonical JSON of {name, sha256, size, version}, keys sorted, no whitespace.
function legacySignedString(m) {
  return JSON.stringify({ name: m.name, sha256: m.sha256, size: m.size, version: m.version });
}

// Verifies the signature over the bytes of `signature.signed` (docs/server.md, "Signed
// manifests") and returns the signed fields, after checking that each equals the manifest's
// outer field of the same name: the outer JSON is not signed, so checks must use these.
async function verifySignature(manifest, key, what, fail) {
  const sig = manifest.signature;
  if (!sig || typeof sig !== 'object') fail(`${what}: the manifest is not signed, but a public key was pinned`);
  if (sig.algorithm !== 'ed25519') fail(`${what}: unsupported signature algorithm '${sig.algorithm}'`);
  const message = typeof sig.signed === 'string' ? sig.signed : legacySignedString(manifest);
  let value;
  try { value = base64ToBytes(sig.value); } catch { fail(`${what}: the signature is not base64`); }
  let ok = false;
  try {
    ok = await subtle().verify({ name: 'Ed25519' }, key, value, new TextEncoder().encode(message));
  } catch (e) {
    fail(`${what}: signature verification failed: ${e.message}`);
  }
  if (!ok) fail(`${what}: the manifest signature does not verify with the pinned public key; refusing this model`);
  let fields;
  try { fields = JSON.parse(message); } catch { fields = null; }
  if (!fields || typeof fields !== 'object') fail(`${what}: the signed string is not a JSON object`);
  for (const k of ['name', 'version', 'sha256', 'size']) {
    if (!(k in fields)) fail(`${what}: the signed fields lack '${k}'`);
  }
  for (const [k, v] of Object.entries(fields)) {
    if (manifest[k] !== v) {
      fail(`${what}: the signed fields (${message}) do not match the manifest's '${k}' (${JSON.stringify(manifest[k])})`);
    }
  }
  return fields;
}

// Refuses a channel manifest that has expired, names another channel, or has a sequence below
// `stored` (the highest accepted from this server). `fields`: the signed fields with a pinned
// key, else the manifest itself.
function checkFreshness(fields, channel, stored, keeping, what, fail) {
  if ('channel' in fields && fields.channel !== channel) {
    fail(`${what}: the manifest is for channel '${fields.channel}'; refused${keeping}`);
  }
  if ('expires' in fields) {
    const expires = typeof fields.expires === 'string' ? Date.parse(fields.expires) : NaN;
    if (Number.isNaN(expires)) fail(`${what}: the manifest's expires ${JSON.stringify(fields.expires)} is not an RFC 3339 time; refused${keeping}`);
    const now = Date.now();
    if (now >= expires) {
      fail(`${what}: the manifest expired at ${fields.expires} (now ${new Date(now).toISOString()}); a stale or frozen mirror? refused${keeping}`);
    }
  }
  const hasSequence = Number.isSafeInteger(fields.sequence);
  if (stored > 0 && !hasSequence) {
    fail(`${what}: the manifest carries no sequence, but sequence ${stored} was accepted before; refused${keeping}`);
  }
  if (hasSequence && fields.sequence < stored) {
    fail(`${what}: the manifest's sequence ${fields.sequence} is lower than sequence ${stored} already accepted (a replayed old manifest); refused${keeping}`);
  }
}

function expired(manifest) {
  return typeof manifest?.expires === 'string' && !(Date.now() < Date.parse(manifest.expires));
}

function checkManifest(m, name, what, fail) {
  if (!m || typeof m !== 'object') fail(`${what}: the manifest is not a JSON object`);
  if (m.name !== name) fail(`${what}: the manifest is for model '${m.name}', not '${name}'`);
  if (!Number.isSafeInteger(m.version) || m.version < 1) fail(`${what}: the manifest has no valid version`);
  if (!Number.isSafeInteger(m.size) || m.size < 0) fail(`${what}: the manifest has no valid size`);
  if (typeof m.sha256 !== 'string' || !HEX64.test(m.sha256)) fail(`${what}: the manifest has no valid sha256`);
  if (typeof m.download_url !== 'string' || !m.download_url) fail(`${what}: the manifest has no download_url`);
}

async function openCache(options) {
  if (options.cache === false) return null;
  if (options.cache && typeof options.cache.match === 'function') return options.cache;
  if (typeof globalThis.caches === 'undefined') return null;
  try {
    return await globalThis.caches.open(options.cacheName ?? DEFAULT_CACHE_NAME);
  } catch {
    return null;  // storage disabled (private mode, opaque origin): run uncached
  }
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    if (body?.error?.message) return body.error.message;
    if (typeof body?.error === 'string') return body.error;  // TF Serving's paths
  } catch { /* not JSON */ }
  return `HTTP ${response.status} ${response.statusText}`.trim();
}

// Streams a response body into one buffer of the expected size, reporting progress. A body that
// does not have exactly `size` bytes is an error (truncated download or wrong artifact).
async function readExactly(response, size, onProgress, what, fail) {
  const out = new Uint8Array(size);
  let loaded = 0;
  onProgress?.({ loaded: 0, total: size });
  if (!response.body || typeof response.body.getReader !== 'function') {
    const all = new Uint8Array(await response.arrayBuffer());
    if (all.length !== size) fail(`${what}: received ${all.length} bytes, the manifest says ${size}`);
    onProgress?.({ loaded: size, total: size });
    return all;
  }
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.length > size) {
      reader.cancel().catch(() => {});
      fail(`${what}: received more than the ${size} bytes the manifest announces`);
    }
    out.set(value, loaded);
    loaded += value.length;
    onProgress?.({ loaded, total: size });
  }
  if (loaded !== size) fail(`${what}: the download stopped after ${loaded} of ${size} bytes`);
  return out;
}

// The server's URL as the base its API paths resolve against (relative to the page, with a
// trailing slash so that a path prefix is kept).
function serverBase(serverUrl) {
  const base = new URL(String(serverUrl), globalThis.location?.href);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  return base;
}

class ServerModelSource {
  constructor(serverUrl, name, options, hashFallback, makeError) {
    if (typeof name !== 'string' || !name) throw makeError('loadFromServer(serverUrl, name): name is required');
    const base = serverBase(serverUrl);
    this.base = base;
    this.name = name;
    this.options = options;
    this.channel = options.version == null ? (options.channel ?? 'stable') : null;
    if (options.version != null && !(Number.isSafeInteger(options.version) && options.version > 0)) {
      throw makeError(`loadFromServer: version must be a positive integer, got ${options.version}`);
    }
    const path = this.channel ? `channels/${encodeURIComponent(this.channel)}` : `versions/${options.version}`;
    this.manifestUrl = new URL(`v1/models/${encodeURIComponent(name)}/${path}`, base);
    this.what = `${name}${this.channel ? `@${this.channel}` : ` v${options.version}`} from ${base.origin}`;
    this.hashFallback = hashFallback;
    this.fail = (message, cause) => { throw makeError(message, cause ? { cause } : undefined); };
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.headers = options.headers ?? {};
  }

  artifactKey(sha) {
    return new URL(ARTIFACT_PREFIX + sha, this.base).href;
  }

  sequenceKey() {
    return new URL(`${SEQUENCE_PREFIX}${encodeURIComponent(this.name)}/${encodeURIComponent(this.channel)}`, this.base).href;
  }

  // The highest sequence accepted for this server, model and channel (0: none).
  async storedSequence(cache) {
    if (!cache || !this.channel) return 0;
    try {
      const r = await cache.match(this.sequenceKey());
      const n = r ? (await r.json()).sequence : 0;
      return Number.isSafeInteger(n) && n > 0 ? n : 0;
    } catch {
      return 0;
    }
  }

  async storeSequence(cache, sequence) {
    if (!cache || !this.channel || !Number.isSafeInteger(sequence)) return;
    try {
      await cache.put(this.sequenceKey(), new Response(JSON.stringify({ sequence }), { headers: { 'content-type': 'application/json' } }));
    } catch {
      // Storage refused: the next load checks against the older number (still monotonic here).
    }
  }

  async key() {
    if (this.options.publicKey == null) return null;
    if (!this.keyPromise) this.keyPromise = importPublicKey(this.options.publicKey, this.fail);
    return this.keyPromise;
  }

  // The X-Wisp-Client id: options.clientId, else the one stored in the cache (created on first
  // use), else (no cache) one for this page or process only.
  async clientId(cache) {
    if (this.options.clientId != null) {
      if (!CLIENT_ID.test(String(this.options.clientId))) this.fail(`loadFromServer: clientId must match ${CLIENT_ID}`);
      return String(this.options.clientId);
    }
    const key = new URL(CLIENT_ID_KEY, this.base).href;
    if (cache) {
      try {
        const r = await cache.match(key);
        const id = r ? (await r.json()).id : null;
        if (typeof id === 'string' && CLIENT_ID.test(id)) return id;
      } catch { /* unreadable: replaced below */ }
    }
    const id = hex(globalThis.crypto.getRandomValues(new Uint8Array(16)));
    if (cache) {
      try {
        await cache.put(key, new Response(JSON.stringify({ id }), { headers: { 'content-type': 'application/json' } }));
      } catch { /* storage refused: this id lasts as long as the page */ }
    }
    return id;
  }

  // The cached manifest record: { manifest, etag, previous } or null.
  async cachedRecord(cache) {
    if (!cache) return null;
    try {
      const r = await cache.match(this.manifestUrl.href);
      if (!r) return null;
      const manifest = await r.json();
      checkManifest(manifest, this.name, this.what, this.fail);
      return { manifest, etag: r.headers.get('etag'), previous: r.headers.get('x-wisp-previous-sha256') };
    } catch {
      return null;  // unreadable record: treated as absent and replaced
    }
  }

  // Cached artifact bytes, re-verified (storage can be corrupted or tampered with); null if absent.
  async cachedArtifact(cache, manifest) {
    if (!cache) return null;
    let r;
    try { r = await cache.match(this.artifactKey(manifest.sha256)); } catch { return null; }
    if (!r) return null;
    const bytes = new Uint8Array(await r.arrayBuffer());
    if (bytes.length === manifest.size && await sha256Hex(bytes, this.hashFallback) === manifest.sha256) return bytes;
    await cache.delete(this.artifactKey(manifest.sha256)).catch(() => {});
    return null;
  }

  // GET the manifest; { status: 200, manifest, etag } | { status: 304 } | { offline: error }.
  async fetchManifest(etag, signal) {
    const headers = { accept: 'application/json', ...this.headers };
    if (etag) headers['if-none-match'] = etag;
    if (this.channel && this.client) headers['x-wisp-client'] = this.client;
    let r;
    try {
      // no-store: the revalidation must reach the server (or its proxies), not the HTTP cache.
      r = await this.fetch(this.manifestUrl.href, { headers, cache: 'no-store', signal, credentials: 'same-origin' });
    } catch (e) {
      if (signal?.aborted) throw e;
      return { offline: e };
    }
    if (r.status === 304) return { status: 304 };
    if (r.status >= 500 || r.status === 408 || r.status === 429) {
      return { offline: new Error(`${await errorMessage(r)} (from ${this.manifestUrl.href})`) };
    }
    if (!r.ok) this.fail(`${this.what}: ${await errorMessage(r)}`);
    let manifest;
    try { manifest = await r.json(); } catch (e) { this.fail(`${this.what}: the manifest is not valid JSON`, e); }
    checkManifest(manifest, this.name, this.what, this.fail);
    return { status: 200, manifest, etag: r.headers.get('etag') };
  }

  async download(manifest, onProgress, signal) {
    const url = new URL(manifest.download_url, this.manifestUrl);
    const what = `${this.what}: model.wisp v${manifest.version}`;
    let r;
    try {
      r = await this.fetch(url.href, { headers: this.headers, signal, credentials: 'same-origin' });
    } catch (e) {
      if (signal?.aborted) throw e;
      this.fail(`${what}: cannot download ${url.href}: ${e.message}`, e);
    }
    if (!r.ok) this.fail(`${what}: cannot download ${url.href}: ${await errorMessage(r)}`);
    const bytes = await readExactly(r, manifest.size, onProgress, what, this.fail);
    const got = await sha256Hex(bytes, this.hashFallback);
    if (got !== manifest.sha256) {
      this.fail(`${what}: sha256 mismatch (manifest ${manifest.sha256}, received ${got}); refusing this model`);
    }
    return bytes;
  }

  // The new version's chunk list (docs/server.md, "Delta updates"): in a version manifest, or in
  // the one a channel manifest links to (manifest_url). null when the server lists none. Unsigned,
  // and need not be: every chunk and the rebuilt artifact are checked against digests.
  async chunkList(manifest, signal) {
    let m = manifest;
    if (!m.chunking) {
      const url = new URL(manifest.manifest_url ?? `versions/${manifest.version}`, this.manifestUrl);
      const r = await this.fetch(url.href, { headers: { accept: 'application/json', ...this.headers }, signal, credentials: 'same-origin' });
      if (!r.ok) throw new Error(`fetching the version manifest ${url.href}: ${await errorMessage(r)}`);
      m = await r.json();
      if (m?.sha256 !== manifest.sha256 || m?.size !== manifest.size) {
        throw new Error(`the version manifest ${url.href} does not describe the artifact ${manifest.sha256}`);
      }
    }
    const c = m.chunking;
    if (!c || c.algorithm !== CHUNKING_ALGORITHM || !Array.isArray(c.chunks)) return null;
    let next = 0;
    for (const [i, e] of c.chunks.entries()) {
      if (!Array.isArray(e) || e.length !== 3 || e[0] !== next || !Number.isSafeInteger(e[1]) || e[1] <= 0 ||
          typeof e[2] !== 'string' || !HEX64.test(e[2])) {
        throw new Error(`chunk ${i} of the manifest is malformed (${JSON.stringify(e)})`);
      }
      next += e[1];
    }
    if (next !== manifest.size) throw new Error(`the manifest's chunks cover ${next} bytes, the artifact has ${manifest.size}`);
    return c.chunks;
  }

  // Rebuilds the artifact of `manifest` from `baseBytes` (a verified earlier artifact) and Range
  // requests for the chunks it lacks, adjacent ones in one range. Returns { bytes, fetched, reused },
  // or null when there is nothing to gain (no chunk list, no chunk in common); throws when a range
  // is refused or a chunk or the whole artifact does not match its digest.
  async deltaDownload(manifest, baseBytes, onProgress, signal, counter) {
    const chunks = await this.chunkList(manifest, signal);
    if (!chunks) return null;
    const local = new Map();  // sha256 -> [offset, size] in baseBytes
    for (const [off, size] of chunkBoundaries(baseBytes)) {
      local.set(await sha256Hex(baseBytes.subarray(off, off + size), this.hashFallback), [off, size]);
    }
    // Reused only with the listed size too: a list lying about sizes must not read past a chunk.
    const held = ([, size, sha]) => { const l = local.get(sha); return l && l[1] === size ? l : null; };
    if (!chunks.some(held)) return null;
    const url = new URL(manifest.download_url, this.manifestUrl);
    const out = new Uint8Array(manifest.size);
    let reused = 0;
    let done = 0;
    const place = async ([off, size, sha], data) => {
      const got = await sha256Hex(data, this.hashFallback);
      if (got !== sha) throw new Error(`chunk at offset ${off} (${size} bytes) does not match its sha256 ${sha}`);
      out.set(data, off);
      done += size;
      onProgress?.({ loaded: done, total: manifest.size });
    };
    onProgress?.({ loaded: 0, total: manifest.size });
    for (let i = 0; i < chunks.length;) {
      const l = held(chunks[i]);
      if (l) {
        await place(chunks[i], baseBytes.subarray(l[0], l[0] + l[1]));
        reused += l[1];
        i++;
        continue;
      }
      let j = i;
      while (j < chunks.length && !held(chunks[j])) j++;
      const first = chunks[i][0];
      const last = chunks[j - 1][0] + chunks[j - 1][1] - 1;
      // If-Range: another artifact under this URL comes back whole (200), never spliced in.
      const r = await this.fetch(url.href, {
        headers: { ...this.headers, range: `bytes=${first}-${last}`, 'if-range': `"${manifest.sha256}"` },
        signal, credentials: 'same-origin',
      });
      const body = new Uint8Array(await r.arrayBuffer());
      counter.fetched += body.length;
      const range = r.headers.get('content-range');
      if (r.status !== 206 || range !== `bytes ${first}-${last}/${manifest.size}` || body.length !== last - first + 1) {
        throw new Error(`range bytes=${first}-${last} of ${url.href} answered HTTP ${r.status} with Content-Range '${range}' and ${body.length} bytes`);
      }
      for (let k = i; k < j; k++) await place(chunks[k], body.subarray(chunks[k][0] - first, chunks[k][0] - first + chunks[k][1]));
      i = j;
    }
    const got = await sha256Hex(out, this.hashFallback);
    if (got !== manifest.sha256) throw new Error(`the rebuilt artifact has sha256 ${got}, the manifest says ${manifest.sha256}`);
    return { bytes: out, fetched: counter.fetched, reused };
  }

  async store(cache, manifest, etag, bytes, previousSha) {
    if (!cache) return;
    try {
      const headers = { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) };
      await cache.put(this.artifactKey(manifest.sha256), new Response(bytes, { headers }));
      const meta = { 'content-type': 'application/json', 'x-wisp-stored': new Date().toISOString() };
      if (etag) meta.etag = etag;
      if (previousSha && previousSha !== manifest.sha256) meta['x-wisp-previous-sha256'] = previousSha;
      await cache.put(this.manifestUrl.href, new Response(JSON.stringify(manifest), { headers: meta }));
      await this.collect(cache);
    } catch {
      // Quota exceeded or storage disabled: the model still runs, it just is not cached.
    }
  }

  // Deletes artifacts that no cached manifest references (as its current or previous version).
  async collect(cache) {
    const keys = await cache.keys();
    const live = new Set();
    const artifacts = [];
    for (const req of keys) {
      if (req.url.includes(SEQUENCE_PREFIX) || req.url.includes(CLIENT_ID_KEY)) continue;
      const marker = req.url.indexOf(ARTIFACT_PREFIX);
      if (marker >= 0) { artifacts.push({ req, sha: req.url.slice(marker + ARTIFACT_PREFIX.length) }); continue; }
      const r = await cache.match(req);
      if (!r) continue;
      const prev = r.headers.get('x-wisp-previous-sha256');
      if (prev) live.add(prev);
      try { live.add((await r.json()).sha256); } catch { /* not a manifest */ }
    }
    for (const a of artifacts) if (!live.has(a.sha)) await cache.delete(a.req);
  }

  // Resolves, verifies and (when needed) downloads. Returns { bytes, manifest, from, revalidation }.
  // `verified`: the record's artifact bytes when the caller has already read and checked them.
  async resolve({ cache, record, verified, onProgress, signal }) {
    const key = await this.key();
    const cachedBytes = verified ?? (record ? await this.cachedArtifact(cache, record.manifest) : null);
    // An expired manifest is not revalidated with its ETag: a 304 must not keep it unchecked.
    const answer = await this.fetchManifest(cachedBytes && !expired(record.manifest) ? record.etag : null, signal);
    if (answer.offline || answer.status === 304) {
      if (!cachedBytes) {
        this.fail(`${this.what}: cannot reach the server (${answer.offline?.message ?? 'no answer'}) and nothing is cached`,
          answer.offline);
      }
      if (key) await verifySignature(record.manifest, key, this.what, this.fail);
      return { bytes: cachedBytes, manifest: record.manifest, from: 'cache', revalidation: answer.offline ? 'offline' : 'not-modified' };
    }
    const { manifest, etag } = answer;
    const fields = key ? await verifySignature(manifest, key, this.what, this.fail) : manifest;
    const stored = await this.storedSequence(cache);
    if (this.channel) {
      const keeping = record ? `; keeping v${record.manifest.version} from the cache` : '';
      checkFreshness(fields, this.channel, stored, keeping, this.what, this.fail);
    }
    let bytes = null;
    let from = 'network';
    if (cachedBytes && record.manifest.sha256 === manifest.sha256) bytes = cachedBytes;
    else bytes = await this.cachedArtifact(cache, manifest);  // e.g. a rollback to the previous version
    let delta = null;
    if (bytes) {
      from = 'cache';
    } else if (cachedBytes) {
      // A delta update from the artifact we hold; on any failure, the whole artifact below.
      const counter = { fetched: 0 };
      try {
        const d = await this.deltaDownload(manifest, cachedBytes, onProgress, signal, counter);
        if (d) {
          bytes = d.bytes;
          delta = { baseVersion: record.manifest.version, bytesFetched: d.fetched, bytesReused: d.reused, error: null };
        }
      } catch (e) {
        if (signal?.aborted) throw e;
        delta = { baseVersion: null, bytesFetched: counter.fetched, bytesReused: 0, error: `delta update from v${record.manifest.version} failed, downloading the whole artifact: ${e.message}` };
      }
    }
    if (!bytes) {
      bytes = await this.download(manifest, onProgress, signal);
      if (delta) delta.bytesFetched += bytes.length;
    }
    if (this.channel && fields.sequence > stored) await this.storeSequence(cache, fields.sequence);
    await this.store(cache, manifest, etag, bytes, record?.manifest.sha256 ?? null);
    return { bytes, manifest, from, revalidation: 'modified', delta };
  }
}

/**
 * Resolves `name` on a Wisp server to verified artifact bytes.
 * options: channel ('stable'), version (a pinned version instead of a channel), policy
 * ('latest' | 'cached'), onProgress, publicKey, signal, headers, cache / cacheName, fetch.
 * Returns { bytes, manifest, from: 'network' | 'cache', revalidation, update: Promise | null,
 * delta: { baseVersion, bytesFetched, bytesReused, error } | null }.
 */
export async function fetchServerModel(serverUrl, name, options, { hashFallback, makeError }) {
  const src = new ServerModelSource(serverUrl, name, options, hashFallback, makeError);
  const policy = options.policy ?? 'latest';
  if (policy !== 'latest' && policy !== 'cached') throw makeError(`loadFromServer: unknown policy '${policy}' (use 'latest' or 'cached')`);
  const cache = await openCache(options);
  src.client = await src.clientId(cache);
  const record = await src.cachedRecord(cache);
  if (policy === 'cached' && record) {
    const key = await src.key();
    const bytes = await src.cachedArtifact(cache, record.manifest);
    if (bytes) {
      if (key) await verifySignature(record.manifest, key, src.what, src.fail);
      // Refresh for next time; this load keeps the cached version. Never rejects.
      const update = src.resolve({ cache, record, verified: bytes, signal: options.signal }).then(
        (r) => ({ updated: r.manifest.sha256 !== record.manifest.sha256, version: r.manifest.version, manifest: r.manifest, error: null }),
        (e) => ({ updated: false, version: record.manifest.version, manifest: record.manifest, error: e }));
      return { bytes, manifest: record.manifest, from: 'cache', revalidation: 'deferred', update, clientId: src.client };
    }
  }
  const r = await src.resolve({ cache, record, onProgress: options.onProgress, signal: options.signal });
  return { ...r, update: null, clientId: src.client };
}

/**
 * Counts a served model's loads and runs and reports them in batches (POST
 * /v1/models/{name}/versions/{v}:report) every `intervalMs` and on flush(): staged rollouts use
 * the reports to roll a bad version back. Counting is two increments; reports are sent with
 * fetch(keepalive) and never awaited by inference. A failed report is kept for the next batch.
 */
export class OutcomeReporter {
  constructor(serverUrl, name, version, clientId, { fetch: f, headers = {}, intervalMs = 60000 } = {}) {
    const base = serverBase(serverUrl);
    this.url = new URL(`v1/models/${encodeURIComponent(name)}/versions/${version}:report`, base).href;
    this.clientId = clientId;
    this.fetch = f ?? globalThis.fetch.bind(globalThis);
    this.headers = headers;
    this.counts = { loads: 0, load_errors: 0, runs: 0, run_errors: 0 };
    this.sent = 0;
    this.timer = intervalMs > 0 ? setInterval(() => { this.flush(); }, intervalMs) : null;
    this.timer?.unref?.();  // Node: a pending report never keeps the process alive
  }

  load(ok) { this.counts[ok ? 'loads' : 'load_errors']++; }
  run(ok) { this.counts[ok ? 'runs' : 'run_errors']++; }

  /** Sends what was counted since the last report; resolves true when the server took it. */
  async flush() {
    const batch = this.counts;
    if (batch.loads + batch.load_errors + batch.runs + batch.run_errors === 0) return true;
    this.counts = { loads: 0, load_errors: 0, runs: 0, run_errors: 0 };
    try {
      const r = await this.fetch(this.url, {
        method: 'POST', keepalive: true, credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-wisp-client': this.clientId, ...this.headers },
        body: JSON.stringify(batch),
      });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      this.sent++;
      return true;
    } catch {
      for (const k of Object.keys(batch)) this.counts[k] += batch[k];  // next batch
      return false;
    }
  }

  /** Stops the timer and sends the last batch. */
  close() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    return this.flush();
  }
}
