// The Wisp demo: pick a model (the picker names each one's kind) and an image or a sound clip, run
// it in the browser and show what the model gives: the top 5 of a classifier with a bar chart, a
// segmentation mask over the image with a legend of PASCAL VOC classes, the 17 pose keypoints and
// the skeleton over the image, the top keywords of a keyword-spotting model on a generated,
// recorded or dropped clip (a clear word for other models whose input is not a picture), the
// latency of every run and the WebAssembly variant in use. Inputs are built exactly like the goldens: BMP decoded in JS
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
import { KIND_NAMES, KWS_LABELS, VOC_LABELS, KEYPOINTS, SKELETON, vocColor, modelKind } from './kinds.mjs';
// The keyword-spotting features of the AudioWorklet test (web/test/bundlers): one module for both.
import { kwsFeatures, SAMPLE_RATE, WINDOW } from '../test/bundlers/kws_features.mjs';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const state = window.demoState = {
  ready: false, busy: false, error: null, top5: null, variant: null, latencies: [], runs: 0, served: null, serverModels: null,
  kind: null,  // what the demo makes of the loaded model: classifier | segmentation | pose | audio | tensor
  segmentation: null, keypoints: null, kws: null, clip: null,
  // The overlay canvas (#overlay, over #preview): what it shows and in which colours.
  overlay: null, colors: null,
};
// Pose overlay colours (opaque, so the tests can find them in the canvas).
const KEYPOINT_COLOR = [255, 45, 149];
const SKELETON_COLOR = [0, 229, 255];
const rgbCss = ([r, g, b]) => `rgb(${r}, ${g}, ${b})`;
const MIN_KEYPOINT_SCORE = 0.2;
// The wisp-server this page talks to: ?server=..., else the server that served the page (the demo
// lives at <server>/demo/, so the API is at ../v1/).
const serverBase = new URL(params.get('server') ?? '../', location.href);

const CIFAR10 = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const VWW = ['no person', 'person'];
let imagenetLabels = null;

let runtime = null;
let model = null;
let modelName = '';
let image = null;        // { width, height, channels: 3, data }
let imageName = '';
let clip = null;         // { name, samples: Float32Array of WINDOW samples at SAMPLE_RATE }
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

// The overlay canvas, cleared and sized like the preview it lies on; mode 'mask' shows it
// translucent (a segmentation mask), 'drawing' opaque (keypoints), null hides it.
function resetOverlay(mode = null) {
  const preview = $('preview');
  const canvas = $('overlay');
  canvas.width = preview.width;
  canvas.height = preview.height;
  canvas.className = mode ?? '';
  canvas.hidden = !mode || !$('show-overlay').checked;
  state.overlay = mode && { mode, width: canvas.width, height: canvas.height };
  return canvas.getContext('2d');
}

// Draws class ids (nearest-neighbour scaled) over the image in the PASCAL VOC colours, each
// pixel opaque in the overlay canvas (the canvas itself is shown translucent); background stays clear.
function drawSegmentation({ h, w, ids }) {
  const ctx = resetOverlay('mask');
  const { width, height } = ctx.canvas;
  const img = ctx.createImageData(width, height);
  const colors = new Map();
  for (let y = 0; y < height; y++) {
    const row = Math.floor(y * h / height) * w;
    for (let x = 0; x < width; x++) {
      const id = ids[row + Math.floor(x * w / width)];
      if (!id) continue;  // class 0: background
      if (!colors.has(id)) colors.set(id, vocColor(id));
      const rgb = colors.get(id);
      const i = 4 * (y * width + x);
      img.data[i] = rgb[0];
      img.data[i + 1] = rgb[1];
      img.data[i + 2] = rgb[2];
      img.data[i + 3] = 255;
    }
  }
  ctx.putImageData(img, 0, 0);
}

// The skeleton, then the keypoints (y, x, score in [0, 1]) with a score of at least
// MIN_KEYPOINT_SCORE, over the image.
function drawPose(points) {
  const ctx = resetOverlay('drawing');
  const { width, height } = ctx.canvas;
  const seen = (p) => p && p.score >= MIN_KEYPOINT_SCORE;
  ctx.strokeStyle = rgbCss(SKELETON_COLOR);
  ctx.lineWidth = Math.max(2, width / 64);
  ctx.lineCap = 'round';
  for (const [a, b] of SKELETON) {
    if (!seen(points[a]) || !seen(points[b])) continue;
    ctx.beginPath();
    ctx.moveTo(points[a].x * width, points[a].y * height);
    ctx.lineTo(points[b].x * width, points[b].y * height);
    ctx.stroke();
  }
  ctx.fillStyle = rgbCss(KEYPOINT_COLOR);
  for (const p of points.filter(seen)) {
    ctx.beginPath();
    ctx.arc(p.x * width, p.y * height, Math.max(3, width / 48), 0, 2 * Math.PI);
    ctx.fill();
  }
  state.colors = { keypoint: KEYPOINT_COLOR, skeleton: SKELETON_COLOR, radius: Math.max(3, width / 48), lineWidth: ctx.lineWidth };
}

// Labels of the model's first output: the model's own (model.labels: embedded in a .wisp, or
// from the TFLite metadata where the runtime reads it), else the well-known sets of the shared models.
async function labelsFor(m, kind) {
  const n = m.outputs[0]?.shape.at(-1);
  const own = m.labels ?? null;
  if (own && own.length >= n) return own;
  if (kind === 'audio' && n === KWS_LABELS.length) return KWS_LABELS;
  if (kind === 'segmentation') return own ?? VOC_LABELS;
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
    state.latencies = [];
    state.kind = modelKind({ inputs: m.inputs, outputs: m.outputs, labels: m.labels ?? null });
    $('model-info').textContent = `${KIND_NAMES[state.kind]} · ${about}in ${m.inputs.map(io).join(', ')} · out ${m.outputs.map(io).join(', ')} · arena ${fmtBytes(m.info.arenaBytes)}`;
    state.top5 = state.segmentation = state.keypoints = state.kws = state.overlay = state.colors = null;
    clearResults();
    showInputControls();
    updateStats();
    setStatus(`${name} ready (${KIND_NAMES[state.kind]}).`, 'ok');
    state.ready = true;
    $('run').disabled = !haveInput();
    if (state.kind === 'audio' && !clip) await setClip(generatedClip($('clip-select').value), $('clip-select').selectedOptions[0]?.textContent);
    else if (haveInput()) await runModel();
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

// A picked or dropped file: a sound clip for a keyword-spotting model, else an image.
async function setFile(file) {
  if (state.kind === 'audio' || /^audio\//.test(file.type) || /\.(wav|mp3|ogg|oga|webm|flac|m4a)$/i.test(file.name)) {
    try {
      await setClip(await decodeClip(file), file.name);
    } catch (e) {
      setStatus(`Could not read ${file.name} as sound: ${e.message}`, 'error');
    }
    return;
  }
  $('image-select').value = '';
  await setImage(file, file.name);
}

async function setImage(blob, name) {
  try {
    image = await decodeImage(blob, name);
    imageName = name;
    $('image-info').textContent = `${name} · ${image.width}×${image.height}`;
    drawPreview(image.data, image.width, image.height, 3);
    resetOverlay(null);
    $('run').disabled = !model;
    if (model && state.kind !== 'audio') await runModel();
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
  // Every run's latency, the latest first (the last 12).
  $('lat-history').textContent = l.length ? `Runs: ${l.slice(-12).reverse().map(fmtMs).join(' · ')}` : '';
}

// What each kind of model is run on, and the words of the run button.
const RUN_LABEL = { classifier: 'Classify', segmentation: 'Segment', pose: 'Find the pose', audio: 'Spot keywords', tensor: 'Run' };
const RESULTS_TITLE = { classifier: 'Top 5', segmentation: 'Segmentation', pose: 'Pose', audio: 'Top keywords', tensor: 'Output' };
const haveInput = () => (state.kind === 'audio' ? !!clip : !!image);

// Image controls for image models, clip controls for keyword spotting.
function showInputControls() {
  const audio = state.kind === 'audio';
  $('image-controls').hidden = audio;
  $('audio-controls').hidden = !audio;
  $('input-title').textContent = audio ? '2 · Sound' : '2 · Image';
  $('run').textContent = RUN_LABEL[state.kind] ?? 'Run';
  $('results-title').textContent = RESULTS_TITLE[state.kind] ?? 'Output';
  $('show-overlay').closest('label').hidden = state.kind !== 'segmentation' && state.kind !== 'pose';
  if (!audio && image) drawPreview(image.data, image.width, image.height, 3);
  if (!audio) $('image-info').textContent = image ? `${imageName} · ${image.width}×${image.height}` : '';
}

function clearResults() {
  $('top5').innerHTML = '<li class="muted">Pick a model and an input.</li>';
  $('legend').innerHTML = '';
  $('legend').hidden = true;
  resetOverlay(null);
}

// Runs the model on `tensor`, recording the latency of the run.
async function timedRun(tensor) {
  const t0 = performance.now();
  const [out] = await model.run(tensor, { dequantize: true });
  const ms = performance.now() - t0;
  state.latencies.push(ms);
  state.runs++;
  updateStats();
  return [out, ms];
}

// The top `k` of a vector of scores as a labelled bar chart (bars scaled to the best score).
function showTopK(out, labels, k = 5) {
  const scores = toNumbers(out.data);
  const idx = topK(toNumbers(out.raw ?? out.data), k);
  const top = idx.map((i) => ({ index: i, label: labels?.[i] ?? `class ${i}`, score: scores[i] }));
  const max = Math.max(...top.map((t) => Math.abs(t.score)), 1e-9);
  $('top5').innerHTML = top.map((t) => `<li data-index="${t.index}"><span class="label">${escapeHtml(t.label)}</span>` +
    `<span class="score">${t.score.toFixed(4)}</span><span class="bar"><i style="width:${(100 * Math.max(0, t.score) / max).toFixed(1)}%"></i></span></li>`).join('');
  return top;
}

async function runModel() {
  if (!model || state.busy) return;
  if (state.kind === 'tensor') {
    const i = model.inputs.map((t) => `${t.dtype} [${t.shape.join('×')}]`).join(', ');
    setStatus(`${modelName} takes ${i}, not a picture or a sound clip: this demo runs image and keyword-spotting models. ` +
      'Run it from code with a typed array (model.run(new Int8Array(...))).', 'warn');
    return;
  }
  if (!haveInput()) return;
  state.busy = true;
  $('run').disabled = true;
  try {
    const [name, ms] = state.kind === 'audio' ? await runKeywordSpotting() : await runImageModel();
    setStatus(`${name} with ${modelName}: ${fmtMs(ms)}${model.lastInvokeMs ? ` (invoke ${fmtMs(model.lastInvokeMs)})` : ''}`, 'ok');
  } catch (e) {
    state.error = e.message;
    setStatus(`Inference failed: ${e.message}`, 'error');
  } finally {
    state.busy = false;
    $('run').disabled = !model || !haveInput();
  }
}

async function runImageModel() {
  const input = model.inputs[0];
  // Float models: the pixel range from ?range= (the model does not record it).
  const tensor = await imageToTensor(runtime, image, input, { range: params.get('range') ?? undefined });
  const shape = input.shape;
  const c = shape.length === 4 ? shape[3] : 1;
  const preview = input.dtype === 'int8' ? Uint8Array.from(tensor, (q) => q + 128)
    : input.dtype === 'float32' ? Uint8Array.from(tensor, (x) => Math.round(x * 255)) : tensor;
  drawPreview(preview, shape[2], shape[1], c);
  resetOverlay(null);
  const [out, ms] = await timedRun(tensor);
  if (state.kind === 'segmentation') {
    const seg = segmentationIds(out);
    drawSegmentation(seg);
    showLegend(seg, await labelsFor(model, 'segmentation'));
  } else if (state.kind === 'pose') {
    const v = toNumbers(out.data);
    const points = [];
    for (let k = 0; k + 2 < v.length; k += 3) points.push({ name: KEYPOINTS[points.length] ?? `keypoint ${points.length}`, y: v[k], x: v[k + 1], score: v[k + 2] });
    drawPose(points);
    state.keypoints = points;
    const seen = points.filter((p) => p.score >= MIN_KEYPOINT_SCORE).length;
    $('top5').innerHTML = `<li class="summary">${points.length} keypoints, ${seen} with score ≥ ${MIN_KEYPOINT_SCORE}</li>` +
      points.map((p) => `<li class="kp ${p.score >= MIN_KEYPOINT_SCORE ? '' : 'muted'}"><span class="label">${escapeHtml(p.name)}</span>` +
        `<span class="score">${p.score.toFixed(2)}</span></li>`).join('');
  } else {
    state.top5 = showTopK(out, await labelsFor(model, 'classifier'));
  }
  return [imageName, ms];
}

// The classes found, each with its colour in the mask, its name and its share of the pixels.
function showLegend(seg, labels) {
  const counts = new Map();
  for (const id of seg.ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  const classes = [...counts.keys()].sort((a, b) => a - b);
  const total = seg.ids.length;
  const legend = classes.map((id) => ({
    id, name: labels?.[id] ?? `class ${id}`, color: id === 0 ? null : vocColor(id), pixels: counts.get(id), share: counts.get(id) / total,
  }));
  state.segmentation = { height: seg.h, width: seg.w, classes, legend };
  $('top5').innerHTML = `<li class="summary">${seg.h}×${seg.w} mask, ${classes.length} classes</li>`;
  $('legend').hidden = false;
  $('legend').innerHTML = legend.map((l) => `<li data-class="${l.id}"${l.color ? ` data-color="${l.color.join(',')}"` : ''}>` +
    `<span class="swatch${l.color ? '' : ' none'}"${l.color ? ` style="background:${rgbCss(l.color)}"` : ''}></span>` +
    `<span class="label">${escapeHtml(l.name)}</span><span class="score">${(100 * l.share).toFixed(1)}%</span></li>`).join('');
}

// One second of sound at SAMPLE_RATE, made here: a tone with a little noise, a rising chirp, noise
// or silence (the noise from a fixed 32-bit LCG, so every run sees the same clip).
function generatedClip(kind) {
  const samples = new Float32Array(WINDOW);
  let x = 1;
  const noise = () => { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; return x / 2 ** 32 - 0.5; };
  for (let i = 0; i < WINDOW; i++) {
    const t = i / SAMPLE_RATE;
    samples[i] = kind === 'tone' ? 0.5 * Math.sin(2 * Math.PI * 440 * t) + 0.2 * noise()
      : kind === 'chirp' ? 0.5 * Math.sin(2 * Math.PI * (200 * t + 1400 * t * t))
      : kind === 'noise' ? 0.6 * noise() : 0;
  }
  return samples;
}

// A clip from a recording or a dropped audio file: decoded and resampled to SAMPLE_RATE, the
// first second (zero-padded).
async function decodeClip(blob) {
  const ctx = new OfflineAudioContext({ numberOfChannels: 1, length: WINDOW, sampleRate: SAMPLE_RATE });
  const buffer = await ctx.decodeAudioData(await blob.arrayBuffer());
  const samples = new Float32Array(WINDOW);
  samples.set(buffer.getChannelData(0).subarray(0, WINDOW));
  return samples;
}

async function setClip(samples, name) {
  clip = { name, samples };
  state.clip = name;
  $('image-info').textContent = `${name} · ${WINDOW / SAMPLE_RATE} s at ${SAMPLE_RATE / 1000} kHz`;
  drawWave(samples);
  $('run').disabled = !model;
  if (model && state.kind === 'audio') await runModel();
}

function drawWave(samples) {
  const canvas = $('preview');
  canvas.width = 490;
  canvas.height = 100;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#fafbfc';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  ctx.strokeStyle = '#3b5bdb';
  ctx.beginPath();
  for (let x = 0; x < canvas.width; x++) {
    const i = Math.floor(x * samples.length / canvas.width);
    ctx.lineTo(x, canvas.height / 2 - samples[i] * canvas.height / 2);
  }
  ctx.stroke();
  resetOverlay(null);
}

// Records one second from the microphone (where the browser offers one and the user allows it).
async function recordClip() {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  try {
    const recorder = new MediaRecorder(stream);
    const chunks = [];
    recorder.ondataavailable = (e) => chunks.push(e.data);
    const stopped = new Promise((resolve) => { recorder.onstop = resolve; });
    recorder.start();
    setStatus('Recording one second…');
    await new Promise((resolve) => setTimeout(resolve, 1100));
    recorder.stop();
    await stopped;
    return decodeClip(new Blob(chunks, { type: recorder.mimeType }));
  } finally {
    for (const track of stream.getTracks()) track.stop();
  }
}

// Keyword spotting: the clip's features (49 frames × 10 bands, as the AudioWorklet test
// computes them: not the MFCCs the model was trained on, so real words are not recognised
// reliably), the model's scores over the keywords, and the features drawn as a spectrogram.
async function runKeywordSpotting() {
  const input = model.inputs[0];
  const elements = input.shape.reduce((a, b) => a * b, 1);
  if (elements !== 490) throw new Error(`this demo computes 49×10 features; ${modelName} takes [${input.shape.join('×')}]`);
  const q = input.quantization ?? { scale: [1], zeroPoint: [0] };
  const features = kwsFeatures(clip.samples, q);
  const tensor = input.dtype === 'float32' ? Float32Array.from(features) : features;
  drawSpectrogram(features);
  const [out, ms] = await timedRun(tensor);
  state.top5 = showTopK(out, await labelsFor(model, 'audio'));
  state.kws = { clip: clip.name, top: state.top5, ms };
  return [clip.name, ms];
}

// 49 frames (left to right) × 10 bands (low at the bottom), brighter where louder.
function drawSpectrogram(features) {
  const frames = 49;
  const bands = 10;
  const pixels = new Uint8Array(frames * bands * 3);
  for (let f = 0; f < frames; f++) {
    for (let b = 0; b < bands; b++) {
      const v = features[f * bands + b] + 128;
      const o = 3 * ((bands - 1 - b) * frames + f);
      pixels[o] = v >> 2;
      pixels[o + 1] = Math.min(255, v * 0.8);
      pixels[o + 2] = Math.min(255, 64 + v);
    }
  }
  drawPreview(pixels, frames, bands, 3);
  resetOverlay(null);
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]);
}

// items: strings, or { value, label, kind } (the label gets the kind's name).
function fillSelect(select, items, placeholder) {
  select.innerHTML = `<option value="">${placeholder}</option>` + items.map((item) => {
    const { value, label, kind } = typeof item === 'string' ? { value: item, label: item } : item;
    const text = kind ? `${label} · ${KIND_NAMES[kind]}` : label;
    return `<option value="${escapeHtml(value)}"${kind ? ` data-kind="${kind}"` : ''}>${escapeHtml(text)}</option>`;
  }).join('');
}

// The kind of a listed model from its signature ({ inputs, outputs } with shapes), and labels
// where the listing has them (metadata); null when unknown (e.g. a .wisp on the test server).
const kindOf = (sig) => (sig?.inputs && sig?.outputs
  ? modelKind({ inputs: sig.inputs, outputs: sig.outputs, labels: sig.labels ?? sig.metadata?.labels ?? null }) : null);

// The models of a wisp-server, one entry per (model, channel): { value, label, name, channel,
// kind }; the kind from the channel's version manifest (its inputs and outputs), one
// GET /v1/models/{name} per model.
async function serverModels() {
  try {
    const r = await fetch(new URL('v1/models', serverBase), { headers: { accept: 'application/json' } });
    if (!r.ok || !(r.headers.get('content-type') ?? '').includes('json')) return null;
    const { models } = await r.json();
    const details = await Promise.all((models ?? []).map(async (m) => {
      try {
        const d = await fetch(new URL(`v1/models/${encodeURIComponent(m.name)}`, serverBase), { headers: { accept: 'application/json' } });
        return d.ok ? await d.json() : null;
      } catch {
        return null;
      }
    }));
    const entries = [];
    for (const [i, m] of (models ?? []).entries()) {
      for (const [channel, version] of Object.entries(m.channels ?? {})) {
        const manifest = details[i]?.versions?.find((v) => v.version === version);
        entries.push({ value: `${m.name}@${channel}`, label: `${m.name} · ${channel} (v${version})`, name: m.name, channel, kind: kindOf(manifest) });
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
    fillSelect($('model-select'), state.serverModels, state.serverModels.length ? 'Choose a model…' : 'no models published');
    $('foot').textContent = `Models come from the wisp-server at ${serverBase.origin}: verified by sha256 and kept in this browser's Cache API; inference runs here.`;
  } else {
    const models = listing.models.map((f) => ({ value: f, label: f, kind: kindOf(listing.signatures?.[f]) }));
    fillSelect($('model-select'), models, listing.models.length ? 'Choose a model…' : 'no shared models');
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
    if (f) setFile(f);
  });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer.files[0];
    if (f) setFile(f);
  });
  $('run').addEventListener('click', () => runModel());
  $('clip-select').addEventListener('change', (e) => setClip(generatedClip(e.target.value), e.target.selectedOptions[0].textContent));
  $('record').hidden = !navigator.mediaDevices?.getUserMedia || typeof MediaRecorder === 'undefined';
  $('record').addEventListener('click', async () => {
    try {
      await setClip(await recordClip(), 'recording');
    } catch (e) {
      setStatus(`Could not record: ${e.message}`, 'error');
    }
  });
  $('show-overlay').addEventListener('change', () => { $('overlay').hidden = !state.overlay || !$('show-overlay').checked; });
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
    // Without ?model, an image classifier if the server has one (the first model alphabetically
    // may be a segmentation or audio model): by its kind, else by its name; else the first on stable.
    const stable = state.serverModels.filter((e) => e.channel === 'stable');
    const entry = wantModel ? state.serverModels.find((e) => e.name === wantModel && e.channel === channel)
      : stable.find((e) => e.kind === 'classifier') ??
        stable.find((e) => /mobilenet|efficientnet|resnet|inception|classif/i.test(e.name) && !/deeplab|seg|pose|movenet/i.test(e.name)) ?? stable[0];
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
