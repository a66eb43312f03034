// The Wisp demo: pick a model and an image, run it in the browser and show what the model gives
// (top 5 of a classifier, a segmentation mask, pose keypoints; a clear word for models whose input
// is not a picture), the latency and the WebAssembly variant in use. Inputs are built exactly like the goldens: BMP decoded in JS
// (other formats through createImageBitmap without colour conversion), resized with the core's
// integer bilinear resize (in WebAssembly), then converted to the input dtype.
// Two sources of models: served by wisp-server (the page lists GET /v1/models and loads a
// channel with rt.loadFromServer: Cache API, sha256 check, ETag revalidation, offline fallback),
// or the shared data folder of the test server (/api/shared.json).
// URL parameters: ?model=<server model name or shared model file>&channel=stable&policy=latest|cached
//   &server=<another wisp-server URL (needs CORS)>&image=<shared image file>&threads=auto|N&worker=1
//   &range=0,1|0,255|-1,1 (the pixel range of a float model's input; default: the model's own)
import { Wisp } from '../src/wisp.mjs';
import { decodeBmp, rgbaToRgb, imageToTensor, topK } from '../src/image.mjs';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = window.demoState = {
  ready: false, busy: false, error: null, top5: null, variant: null, latencies: [], runs: 0, served: null, serverModels: null,
  kind: null,  // what the demo makes of the loaded model: classifier | segmentation | pose | tensor
  segmentation: null, keypoints: null,
};
// The wisp-server this page talks to: ?server=..., else the server that served the page (the demo
// lives at <server>/demo/, so the API is at ../v1/).
const serverBase = new URL(params.get('server') ?? '../', location.href);

const CIFAR10 = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const KWS = ['down', 'go', 'left', 'no', 'off', 'on', 'right', 'stop', 'up', 'yes', '_silence_', '_unknown_'];
const VWW = ['no person', 'person'];
let imagenetLabels = null;

let runtime = null;
let model = null;
let modelName = '';
let image = null;        // { width, height, channels: 3, data }
let imageName = '';
let loadToken = 0;

function setStatus(text, kind = '') {
  const el = $('status');
  el.textContent = text;
  el.className = `status ${kind}`;
}

function fmtMs(ms) {
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function fmtBytes(n) {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${(n / 1024).toFixed(0)} KiB`;
}

function showVariant(v) {
  const badges = ['<span class="badge">WASM SIMD128</span>',
    v.threads ? `<span class="badge">threads × ${v.numThreads}</span>` : '<span class="badge">single thread</span>',
    `<span class="badge ${v.worker ? '' : 'muted'}">${v.worker ? 'Web Worker' : 'main thread'}</span>`,
    `<span class="badge ${crossOriginIsolated ? '' : 'muted'}">${crossOriginIsolated ? 'cross-origin isolated' : 'not isolated'}</span>`];
  if (v.fallback) badges.push(`<span class="badge warn" title="${v.fallback}">fallback: no threads</span>`);
  $('variant').innerHTML = badges.join(' ');
  $('variant').dataset.variant = v.name;
}

async function createRuntime() {
  const threads = params.get('threads') ?? 'auto';
  const worker = $('worker').checked;
  runtime?.dispose();
  model = null;
  runtime = await Wisp.create({ threads: threads === 'auto' ? 'auto' : Number(threads), worker });
  state.variant = runtime.variant;
  showVariant(runtime.variant);
}

// What the demo can show for a model, from its tensors (models carry no task metadata yet):
//  - tensor: the input is not one picture ([1,H,W,1|3] or [1,H,W], sides >= 16), e.g. audio
//    features, an anomaly detector's vector or a sequence: the demo says so instead of feeding it
//    a photo;
//  - pose: an output [..., K, 3] with K keypoints of (y, x, score);
//  - segmentation: an output as tall and wide as a fraction of the input ([1,H,W] class ids or
//    [1,H,W,C] scores);
//  - classifier: anything else with a vector of scores.
function modelKind(m) {
  const s = m.inputs[0]?.shape ?? [];
  const c = s.length === 4 ? s[3] : 1;
  const image = m.inputs.length === 1 && (s.length === 4 || s.length === 3) && s[0] === 1 &&
    (c === 1 || c === 3) && s[1] >= 16 && s[2] >= 16;
  if (!image) return 'tensor';
  const o = m.outputs[0]?.shape ?? [];
  if (o.length >= 2 && o.at(-1) === 3 && o.at(-2) >= 5 && o.at(-2) <= 133) return 'pose';
  if ((o.length === 3 || o.length === 4) && o[1] >= 8 && o[2] >= 8 && o[1] * 32 >= s[1]) return 'segmentation';
  return 'classifier';
}

// Numbers from any output array (int64 outputs come as BigInt64Array).
const toNumbers = (data) => (typeof data[0] === 'bigint' ? Array.from(data, Number) : data);

// A class id per output pixel: the values of a [1,H,W] id map, or the argmax over C of [1,H,W,C].
function segmentationIds(out) {
  const [, h, w, ch = 1] = out.shape;
  const v = toNumbers(out.raw ?? out.data);
  if (ch === 1) return { h, w, ids: Array.from(v) };
  const ids = new Array(h * w);
  for (let p = 0; p < h * w; p++) {
    let best = 0;
    for (let k = 1; k < ch; k++) if (v[p * ch + k] > v[p * ch + best]) best = k;
    ids[p] = best;
  }
  return { h, w, ids };
}

// Draws class ids over the preview canvas (which shows the model's input) in a fixed palette.
function drawSegmentation({ h, w, ids }) {
  const canvas = $('preview');
  const ctx = canvas.getContext('2d');
  const img = ctx.getImageData(0, 0, canvas.width, canvas.height);
  for (let y = 0; y < canvas.height; y++) {
    for (let x = 0; x < canvas.width; x++) {
      const id = ids[Math.floor(y * h / canvas.height) * w + Math.floor(x * w / canvas.width)];
      if (!id) continue;  // class 0: background
      const i = 4 * (y * canvas.width + x);
      const rgb = [(id * 97) % 256, (id * 57 + 80) % 256, (id * 151 + 160) % 256];
      for (let k = 0; k < 3; k++) img.data[i + k] = (img.data[i + k] + rgb[k]) >> 1;
    }
  }
  ctx.putImageData(img, 0, 0);
}

// Keypoints (y, x, score in [0, 1]) as dots on the preview canvas.
function drawKeypoints(points) {
  const canvas = $('preview');
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ff3b30';
  for (const p of points) {
    if (p.score < 0.2) continue;
    ctx.beginPath();
    ctx.arc(p.x * canvas.width, p.y * canvas.height, Math.max(2, canvas.width / 80), 0, 2 * Math.PI);
    ctx.fill();
  }
}

// The model's own labels (model.labels: its TFLite Metadata labels file or `wisp convert
// --labels`) first; the well-known label sets below only for models that carry none.
async function labelsFor(m) {
  const n = m.outputs[0]?.shape.at(-1);
  if (m.labels && m.labels.length >= n) return m.labels;
  if (n === 1001 || n === 1000) {
    if (!imagenetLabels) {
      try {
        const r = await fetch('/shared/labels/imagenet_labels.txt');
        if (r.ok) imagenetLabels = (await r.text()).split(/\r?\n/);
      } catch { /* no labels: indices */ }
    }
    return imagenetLabels;
  }
  if (/vww/.test(modelName) && n === 2) return VWW;
  if (/resnet8|cifar/.test(modelName) && n === 10) return CIFAR10;
  if (/kws/.test(modelName) && n === 12) return KWS;
  if (n === 10) return [...Array(10).keys()].map(String);
  return null;
}

// source: a URL or File of a model, or { server, name, channel } for a model on a wisp-server.
async function loadModel(source, name) {
  const token = ++loadToken;
  $('run').disabled = true;
  model?.dispose();
  model = null;
  modelName = name;
  state.ready = false;
  const bar = $('progress-bar');
  $('progress').hidden = false;
  bar.style.width = '0%';
  setStatus(`Loading ${name}…`);
  const t0 = performance.now();
  try {
    const onProgress = ({ loaded, total }) => {
      bar.style.width = total ? `${(100 * loaded / total).toFixed(1)}%` : '100%';
      $('progress-text').textContent = total ? `${fmtBytes(loaded)} / ${fmtBytes(total)}` : fmtBytes(loaded);
    };
    const m = source.server
      ? await runtime.loadFromServer(source.server, source.name, { channel: source.channel, policy: params.get('policy') ?? 'latest', onProgress })
      : await runtime.load(source, { name, onProgress });
    if (token !== loadToken) { m.dispose(); return; }
    showServed(m.served ?? null);
    model = m;
    const loadMs = performance.now() - t0;
    $('lat-load').textContent = fmtMs(loadMs);
    const io = (t) => `${t.name}: ${t.dtype} [${t.shape.join('×')}]`;
    // What the model says about itself (TFLite Metadata kept by the importer), when it says it.
    const md = m.metadata;
    const about = md ? [md.name, md.description, md.labelCount ? `${md.labelCount} labels` : '',
      md.inputRange ? `pixels → [${md.inputRange}]` : ''].filter(Boolean).join(' · ') + ' · ' : '';
    $('model-info').textContent = `${about}in ${m.inputs.map(io).join(', ')} · out ${m.outputs.map(io).join(', ')} · arena ${fmtBytes(m.info.arenaBytes)}`;
    state.latencies = [];
    state.kind = modelKind(m);
    state.top5 = state.segmentation = state.keypoints = null;
    updateStats();
    setStatus(`${name} ready (${state.kind === 'tensor' ? 'not an image model' : state.kind}).`, 'ok');
    state.ready = true;
    $('run').disabled = !image;
    if (image) await classify();
  } catch (e) {
    if (token !== loadToken) return;
    state.error = e.message;
    setStatus(`Could not load ${name}: ${e.message}`, 'error');
    $('model-info').textContent = '';
  } finally {
    if (token === loadToken) setTimeout(() => { $('progress').hidden = true; }, 400);
  }
}

function showServed(served) {
  state.served = served && {
    version: served.version, sha256: served.sha256, from: served.from, revalidation: served.revalidation, channel: served.channel,
  };
  const el = $('served');
  if (!served) { el.textContent = ''; return; }
  const how = {
    modified: served.from === 'cache' ? 'channel moved; bytes already cached' : 'downloaded and verified',
    'not-modified': 'from the browser cache (channel unchanged: 304)',
    offline: 'server unreachable: last good version from the browser cache',
    deferred: 'from the browser cache; checking for updates in the background',
  }[served.revalidation];
  el.innerHTML = `<span class="badge">${escapeHtml(served.channel ?? 'pinned')} → v${served.version}</span> ` +
    `<span class="badge muted" title="${served.sha256}">sha256 ${served.sha256.slice(0, 12)}…</span> ${escapeHtml(how)}`;
  served.update?.then((u) => {
    if (u.updated) el.insertAdjacentText('beforeend', ` · v${u.version} downloaded for next time`);
  });
}

async function decodeImage(blob, name) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  if (bytes[0] === 0x42 && bytes[1] === 0x4d) return decodeBmp(bytes);
  const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d', { colorSpace: 'srgb', willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  const { data } = ctx.getImageData(0, 0, bitmap.width, bitmap.height, { colorSpace: 'srgb' });
  bitmap.close();
  return { width: canvas.width, height: canvas.height, channels: 3, data: rgbaToRgb(data, canvas.width, canvas.height) };
}

async function setImage(blob, name) {
  try {
    image = await decodeImage(blob, name);
    imageName = name;
    $('image-info').textContent = `${name} · ${image.width}×${image.height}`;
    drawPreview(image.data, image.width, image.height, 3);
    $('run').disabled = !model;
    if (model) await classify();
  } catch (e) {
    setStatus(`Could not read ${name}: ${e.message}`, 'error');
  }
}

function drawPreview(pixels, w, h, c) {
  const canvas = $('preview');
  canvas.width = w;
  canvas.height = h;
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    img.data[4 * i] = pixels[c * i];
    img.data[4 * i + 1] = pixels[c * i + (c === 3 ? 1 : 0)];
    img.data[4 * i + 2] = pixels[c * i + (c === 3 ? 2 : 0)];
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function updateStats() {
  const l = state.latencies;
  $('lat-last').textContent = l.length ? fmtMs(l.at(-1)) : '–';
  $('lat-median').textContent = l.length ? fmtMs(median(l)) : '–';
  $('lat-count').textContent = String(l.length);
}

async function classify() {
  if (!model || !image || state.busy) return;
  if (state.kind === 'tensor') {
    const i = model.inputs.map((t) => `${t.dtype} [${t.shape.join('×')}]`).join(', ');
    setStatus(`${modelName} takes ${i}, not a picture: this demo runs image models. ` +
      'Run it from code with a typed array (model.run(new Int8Array(...))).', 'warn');
    return;
  }
  state.busy = true;
  $('run').disabled = true;
  try {
    const input = model.inputs[0];
    // Float models: the pixel range from ?range=, else the one the model records (input.range).
    const tensor = await imageToTensor(runtime, image, input, { range: params.get('range') ?? undefined });
    const shape = input.shape;
    const c = shape.length === 4 ? shape[3] : 1;
    const preview = input.dtype === 'int8' ? Uint8Array.from(tensor, (q) => q + 128)
      : input.dtype === 'float32' ? Uint8Array.from(tensor, (x) => Math.round(x * 255)) : tensor;
    drawPreview(preview, shape[2], shape[1], c);
    const t0 = performance.now();
    const [out] = await model.run(tensor, { dequantize: true });
    const ms = performance.now() - t0;
    state.latencies.push(ms);
    state.runs++;
    updateStats();
    if (state.kind === 'segmentation') {
      const seg = segmentationIds(out);
      drawSegmentation(seg);
      const classes = [...new Set(seg.ids)].sort((a, b) => a - b);
      state.segmentation = { height: seg.h, width: seg.w, classes };
      $('top5').innerHTML = `<li>segmentation ${seg.h}×${seg.w}: classes ${classes.map((k) => escapeHtml(String(k))).join(', ')}</li>`;
      setStatus(`${imageName} with ${modelName}: ${fmtMs(ms)}`, 'ok');
      return;
    }
    if (state.kind === 'pose') {
      const v = toNumbers(out.data);
      const points = [];
      for (let k = 0; k + 2 < v.length; k += 3) points.push({ y: v[k], x: v[k + 1], score: v[k + 2] });
      drawKeypoints(points);
      state.keypoints = points;
      const seen = points.filter((p) => p.score >= 0.2).length;
      $('top5').innerHTML = `<li>${points.length} keypoints, ${seen} with score ≥ 0.2</li>`;
      setStatus(`${imageName} with ${modelName}: ${fmtMs(ms)}`, 'ok');
      return;
    }
    const labels = await labelsFor(model);
    const scores = toNumbers(out.data);
    const idx = topK(toNumbers(out.raw ?? out.data), 5);
    state.top5 = idx.map((i) => ({ index: i, label: labels?.[i] ?? `class ${i}`, score: scores[i] }));
    const max = Math.max(...state.top5.map((t) => Math.abs(t.score)), 1e-9);
    $('top5').innerHTML = state.top5.map((t) => `<li data-index="${t.index}"><span class="label">${escapeHtml(t.label)}</span>` +
      `<span class="score">${t.score.toFixed(4)}</span><span class="bar"><i style="width:${(100 * Math.max(0, t.score) / max).toFixed(1)}%"></i></span></li>`).join('');
    setStatus(`${imageName} with ${modelName}: ${fmtMs(ms)}${model.lastInvokeMs ? ` (invoke ${fmtMs(model.lastInvokeMs)})` : ''}`, 'ok');
  } catch (e) {
    state.error = e.message;
    setStatus(`Inference failed: ${e.message}`, 'error');
  } finally {
    state.busy = false;
    $('run').disabled = !model || !image;
  }
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]);
}

function fillSelect(select, items, placeholder) {
  select.innerHTML = `<option value="">${placeholder}</option>` + items.map((f) => `<option value="${escapeHtml(f)}">${escapeHtml(f)}</option>`).join('');
}

// The models of a wisp-server, one entry per (model, channel): { value, label, name, channel }.
async function serverModels() {
  try {
    const r = await fetch(new URL('v1/models', serverBase), { headers: { accept: 'application/json' } });
    if (!r.ok || !(r.headers.get('content-type') ?? '').includes('json')) return null;
    const { models } = await r.json();
    const entries = [];
    for (const m of models ?? []) {
      for (const [channel, version] of Object.entries(m.channels ?? {})) {
        entries.push({ value: `${m.name}@${channel}`, label: `${m.name} · ${channel} (v${version})`, name: m.name, channel });
      }
    }
    return entries;
  } catch {
    return null;  // not a wisp-server
  }
}

function selectedSource(value) {
  const entry = state.serverModels?.find((e) => e.value === value);
  if (entry) return [{ server: serverBase.href, name: entry.name, channel: entry.channel }, entry.name];
  return [`/shared/models/${encodeURIComponent(value)}`, value.replace(/\.(tflite|wisp)$/, '')];
}

async function main() {
  $('worker').checked = params.get('worker') === '1';
  let listing = { models: [], images: [] };
  state.serverModels = await serverModels();
  try {
    const r = await fetch('/api/shared.json');
    if (r.ok) listing = await r.json();
  } catch { /* static hosting: file pickers only */ }
  if (state.serverModels) {
    $('model-source').textContent = `Models on ${serverBase.host}`;
    $('model-select').innerHTML = `<option value="">${state.serverModels.length ? 'Choose a model…' : 'no models published'}</option>` +
      state.serverModels.map((e) => `<option value="${escapeHtml(e.value)}">${escapeHtml(e.label)}</option>`).join('');
    $('foot').textContent = `Models come from the wisp-server at ${serverBase.origin}: verified by sha256 and kept in this browser's Cache API; inference runs here.`;
  } else {
    fillSelect($('model-select'), listing.models, listing.models.length ? 'Choose a model…' : 'no shared models');
  }
  fillSelect($('image-select'), listing.images, listing.images.length ? 'Choose an image…' : 'no shared images');
  $('image-select').closest('label').hidden = listing.images.length === 0;  // e.g. served by wisp-server: drop or pick a file

  try {
    await createRuntime();
  } catch (e) {
    setStatus(`Could not start the runtime: ${e.message}`, 'error');
    state.error = e.message;
    return;
  }

  $('model-select').addEventListener('change', (e) => {
    if (e.target.value) loadModel(...selectedSource(e.target.value));
  });
  $('model-file').addEventListener('change', (e) => {
    const f = e.target.files[0];
    if (f) { $('model-select').value = ''; loadModel(f, f.name.replace(/\.(tflite|wisp)$/, '')); }
  });
  $('image-select').addEventListener('change', async (e) => {
    const f = e.target.value;
    if (!f) return;
    const r = await fetch(`/shared/images/${encodeURIComponent(f)}`);
    if (r.ok) setImage(await r.blob(), f);
  });
  $('image-file').addEventListener('change', (e) => {
    const f = e.target.files[0];
    if (f) { $('image-select').value = ''; setImage(f, f.name); }
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer.files[0];
    if (f) { $('image-select').value = ''; setImage(f, f.name); }
  });
  $('run').addEventListener('click', () => classify());
  $('worker').addEventListener('change', async () => {
    await createRuntime();
    const f = $('model-select').value;
    if (f) await loadModel(...selectedSource(f));
  });

  const wantModel = params.get('model') ?? (listing.models.includes('tf2_mobilenet_v2_1.0_224_ptq.tflite') ? 'tf2_mobilenet_v2_1.0_224_ptq.tflite' : null);
  const wantImage = params.get('image') ?? (listing.images.includes('cat.bmp') ? 'cat.bmp' : null);
  if (wantImage && listing.images.includes(wantImage)) {
    $('image-select').value = wantImage;
    const r = await fetch(`/shared/images/${encodeURIComponent(wantImage)}`);
    if (r.ok) await setImage(await r.blob(), wantImage);
  }
  if (state.serverModels) {
    // ?model=NAME (channel from ?channel=, default stable), else the first model on stable.
    const channel = params.get('channel') ?? 'stable';
    // Without ?model, an image classifier by its name if the server has one (the first model
    // alphabetically may be a segmentation or audio model), else the first on stable.
    const stable = state.serverModels.filter((e) => e.channel === 'stable');
    const entry = wantModel ? state.serverModels.find((e) => e.name === wantModel && e.channel === channel)
      : stable.find((e) => /mobilenet|efficientnet|resnet|inception|classif/i.test(e.name) && !/deeplab|seg|pose|movenet/i.test(e.name)) ?? stable[0];
    if (entry) {
      $('model-select').value = entry.value;
      await loadModel(...selectedSource(entry.value));
    } else if (wantModel) {
      setStatus(`The server has no model '${wantModel}' on channel '${channel}'.`, 'error');
    }
  } else if (wantModel && listing.models.includes(wantModel)) {
    $('model-select').value = wantModel;
    await loadModel(...selectedSource(wantModel));
  }
  state.started = true;
}

main();
