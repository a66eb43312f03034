// The demo page (web/demo/) in Debian's headless Chromium, served by the test server with the
// shared models and images: each kind of model is shown for what it is, and the overlays are
// checked by their pixels, not only by the absence of errors:
//  - the picker names each shared model's kind;
//  - an image classifier's top 5 (golden top-1 and label) as a bar chart whose bars, measured in a
//    screenshot, are as long as the scores say;
//  - DeepLab's mask: the overlay canvas holds each legend colour on as many pixels as the reported
//    class has, and nothing else;
//  - MoveNet: the keypoint colour at each reported keypoint and the skeleton colour along the
//    bones, in the overlay canvas and in a screenshot, and in neither where the input is drawn alone;
//  - keyword spotting on generated clips reports keywords from the KWS label set and a latency per run;
//  - a user's own inputs: an image dropped on the drop zone (the preview is the golden input, the
//    top-1 the golden's), a model and a JPEG chosen with the file pickers, a WAV file dropped for
//    keyword spotting (the same spectrogram and keywords as the same clip generated in the page), and
//    a clip recorded from Chromium's fake microphone.
// Saves screenshots to test-artifacts/demo*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { startServer } from '../server.mjs';
import { CHROMIUM, CHROMIUM_FLAGS, launchChromium, playwrightChromium } from '../chromium.mjs';
import { REPO_DIR, SHARED, WEB_DIR, haveShared, loadManifest, readTensor } from '../shared.mjs';
import { KWS_LABELS, SKELETON, VOC_LABELS, vocColor } from '../../demo/kinds.mjs';

const ARTIFACTS = path.join(REPO_DIR, 'test-artifacts');
const skip = !haveShared() ? `no shared data at ${SHARED}`
  : !fs.existsSync(CHROMIUM) ? `${CHROMIUM} not found (apt-get install chromium)`
  : !playwrightChromium() ? 'playwright-core is not installed (cd web && npm ci --ignore-scripts)'
  : !fs.existsSync(path.join(WEB_DIR, 'dist/wisp_simd_mt.wasm')) ? 'web/dist is not built (scripts/test_web.sh builds it)'
  : false;

const CLASSIFIER = 'tf2_mobilenet_v2_1.0_224_ptq.tflite';
const golden = skip ? null : loadManifest().cases.find((c) => c.id === 'tf2_mobilenet_v2_1.0_224_ptq/cat');

let server, browser, context;
const consoleLines = [];

before(async () => {
  if (skip) return;
  server = await startServer({ coi: true });
  browser = await launchChromium({ viewport: { width: 1280, height: 1000 } });
  context = browser.context;
  context.setDefaultTimeout(120000);
});

after(async () => {
  await browser?.close();
  await server?.close();
  if (consoleLines.length) {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS, 'demo-console.log'), consoleLines.join('\n') + '\n');
  }
});

// Opens the demo with ?query, waits until `done(demoState)` holds (or an error), and fails on any
// page error or demoState.error.
async function openDemo(query, done) {
  const page = await context.newPage();
  const errors = [];
  page.on('console', (m) => consoleLines.push(`[${m.type()}] ${m.text().slice(0, 500)}`));
  page.on('pageerror', (e) => errors.push(String(e).slice(0, 500)));
  await page.goto(`${server.url}/demo/?${query}`, { timeout: 60000 });
  await page.waitForFunction(`(() => { const s = window.demoState; return !!s && (!!s.error || (!s.busy && !!(${done})(s))); })()`,
    null, { timeout: 240000 });
  const s = await page.evaluate(() => ({ ...window.demoState, status: document.getElementById('status').textContent }));
  assert.equal(s.error, null, `${query}: ${s.error}`);
  assert.deepEqual(errors, [], query);
  return { page, state: s, errors };
}

// The RGBA pixels of a screenshot (PNG), decoded by the page itself.
async function screenshotPixels(page, locator) {
  const png = await locator.screenshot();
  const { width, height, rgba } = await page.evaluate(async (b64) => {
    const bitmap = await createImageBitmap(await (await fetch(`data:image/png;base64,${b64}`)).blob());
    const ctx = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d');
    ctx.drawImage(bitmap, 0, 0);
    const data = ctx.getImageData(0, 0, bitmap.width, bitmap.height).data;
    let s = '';
    for (let i = 0; i < data.length; i += 0x8000) s += String.fromCharCode(...data.subarray(i, i + 0x8000));
    return { width: bitmap.width, height: bitmap.height, rgba: btoa(s) };
  }, png.toString('base64'));
  const data = Buffer.from(rgba, 'base64');
  return { width, height, png, at: (x, y) => Array.from(data.subarray(4 * (y * width + x), 4 * (y * width + x) + 4)) };
}

const near = (a, b, tol) => a.every((v, k) => k > 2 || Math.abs(v - b[k]) <= tol);

// The bars of the top-5 list in a screenshot: the accent-coloured run along the middle of each bar
// is as long as its score says (the best score fills its bar), and the bars are ordered like the scores.
async function assertBars(t, page, top5) {
  const list = page.locator('#top5');
  const shot = await screenshotPixels(page, list);
  const box = await list.boundingBox();
  const bars = await page.$$eval('#top5 .bar', (els) => els.map((e) => { const r = e.getBoundingClientRect(); return { x: r.x, y: r.y, w: r.width, h: r.height }; }));
  assert.equal(bars.length, 5);
  const accent = [0x3b, 0x5b, 0xdb];
  const widths = bars.map((b) => {
    const y = Math.round(b.y - box.y + b.h / 2);
    let n = 0;
    for (let x = Math.floor(b.x - box.x); x < Math.ceil(b.x - box.x + b.w); x++) if (near(shot.at(x, y), accent, 12)) n++;
    return n;
  });
  t.diagnostic(`bar widths (px): ${widths.join(', ')} of ${bars[0].w.toFixed(0)}`);
  assert.ok(Math.abs(widths[0] - bars[0].w) <= 2, 'the best score fills its bar');
  for (let i = 0; i < 5; i++) {
    const want = bars[i].w * Math.max(0, top5[i].score) / top5[0].score;
    assert.ok(Math.abs(widths[i] - want) <= 2.5, `bar ${i}: ${widths[i]} px, score says ${want.toFixed(1)}`);
    if (i) assert.ok(widths[i] <= widths[i - 1], 'bars ordered like the scores');
  }
  assert.ok(widths[4] < widths[0], 'the bars differ');
}

test('demo: the picker names each kind; a classifier shows its top 5 as a bar chart as long as the scores', { skip, timeout: 300000 }, async (t) => {
  const { page, state } = await openDemo(`model=${CLASSIFIER}&image=cat.bmp`, (s) => s.top5);
  try {
    const options = await page.$$eval('#model-select option', (os) => Object.fromEntries(os.map((o) => [o.value, o.textContent])));
    const kinds = {
      'tf2_mobilenet_v2_1.0_224_ptq.tflite': 'image classifier', 'mlperf_tiny_resnet8_int8.tflite': 'image classifier',
      'deeplabv3_mnv2_dm05_pascal_quant.tflite': 'segmentation', 'movenet_single_pose_lightning_ptq.tflite': 'pose',
      'mlperf_tiny_kws_dscnn_int8.tflite': 'keyword spotting', 'mlperf_tiny_kws_dscnn_float.tflite': 'keyword spotting',
      'mlperf_tiny_ad01_int8.tflite': 'other tensor',
    };
    for (const [file, kind] of Object.entries(kinds)) assert.equal(options[file], `${file} · ${kind}`);
    assert.equal(state.kind, 'classifier');
    assert.equal(state.top5.length, 5);
    assert.equal(state.top5[0].index, golden.top5[0].index);
    assert.equal(state.top5[0].label, golden.top5[0].label);
    // The model's TFLite Metadata (name, labels) is shown with its kind.
    assert.match(await page.textContent('#model-info'), /^image classifier · ImageClassifier · .* · 1001 labels · /);
    t.diagnostic(`top 5: ${state.top5.map((x) => `${x.label} ${x.score.toFixed(3)}`).join(', ')}`);

    await assertBars(t, page, state.top5);
    assert.notEqual(await page.textContent('#lat-last'), '–');
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'demo.png'), fullPage: true });
  } finally {
    await page.close();
  }
});

test('demo: DeepLab draws its mask over the image in the legend colours, in proportion to the classes', { skip, timeout: 300000 }, async (t) => {
  const { page, state } = await openDemo('model=deeplabv3_mnv2_dm05_pascal_quant.tflite&image=cat.bmp', (s) => s.segmentation);
  try {
    assert.equal(state.kind, 'segmentation');
    const { legend } = state.segmentation;
    assert.ok(legend.length >= 2, `classes ${legend.map((l) => l.name)}`);
    t.diagnostic(`legend: ${legend.map((l) => `${l.name} ${(100 * l.share).toFixed(1)}%`).join(', ')}`);
    for (const l of legend) {
      assert.ok(Number.isInteger(l.id) && l.id >= 0 && l.id < 21);
      assert.equal(l.name, VOC_LABELS[l.id]);
      assert.deepEqual(l.color, l.id === 0 ? null : vocColor(l.id));
    }
    // The legend as shown: one swatch per class, in its colour.
    const shown = await page.$$eval('#legend li', (lis) => lis.map((li) => ({
      id: Number(li.dataset.class), name: li.querySelector('.label').textContent,
      swatch: getComputedStyle(li.querySelector('.swatch')).backgroundColor,
    })));
    assert.deepEqual(shown.map((l) => l.id), legend.map((l) => l.id));
    for (const l of legend.filter((x) => x.color)) {
      assert.equal(shown.find((x) => x.id === l.id).swatch, `rgb(${l.color.join(', ')})`);
    }
    // The overlay canvas: how many pixels of each colour (RGBA).
    const overlay = await page.evaluate(() => {
      const c = document.getElementById('overlay');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const hist = {};
      for (let i = 0; i < d.length; i += 4) {
        const key = d[i + 3] === 0 ? 'clear' : `${d[i]},${d[i + 1]},${d[i + 2]},${d[i + 3]}`;
        hist[key] = (hist[key] ?? 0) + 1;
      }
      return { hist, width: c.width, height: c.height, hidden: c.hidden, preview: [document.getElementById('preview').width, document.getElementById('preview').height] };
    });
    assert.equal(overlay.hidden, false);
    assert.deepEqual([overlay.width, overlay.height], overlay.preview, 'the overlay covers the image');
    const total = overlay.width * overlay.height;
    const background = legend.find((l) => l.id === 0);
    const expected = background ? { clear: background.share } : {};
    for (const l of legend.filter((x) => x.color)) expected[`${l.color.join(',')},255`] = l.share;
    assert.deepEqual(Object.keys(overlay.hist).sort(), Object.keys(expected).sort(), 'only legend colours in the mask');
    for (const [key, share] of Object.entries(expected)) {
      const got = overlay.hist[key] / total;
      assert.ok(Math.abs(got - share) <= 0.01, `${key}: ${(100 * got).toFixed(2)}% of the overlay, ${(100 * share).toFixed(2)}% of the mask`);
    }
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'demo-segmentation.png'), fullPage: true });
  } finally {
    await page.close();
  }
});

test('demo: MoveNet draws the 17 keypoints and the skeleton over the image', { skip, timeout: 300000 }, async (t) => {
  const { page, state } = await openDemo('model=movenet_single_pose_lightning_ptq.tflite&image=squat.bmp', (s) => s.keypoints);
  try {
    assert.equal(state.kind, 'pose');
    assert.equal(state.keypoints.length, 17);
    const seen = state.keypoints.map((p, i) => ({ ...p, i })).filter((p) => p.score >= 0.2);
    t.diagnostic(`${seen.length} keypoints with score >= 0.2`);
    assert.ok(seen.length >= 10, `only ${seen.length} keypoints seen in squat.bmp`);
    const { keypoint, skeleton, radius } = state.colors;
    // Bone midpoints farther than a keypoint radius from every drawn keypoint.
    const { width: W, height: H } = state.overlay;
    const mids = SKELETON.filter(([a, b]) => state.keypoints[a].score >= 0.2 && state.keypoints[b].score >= 0.2)
      .map(([a, b]) => [(state.keypoints[a].x + state.keypoints[b].x) / 2 * W, (state.keypoints[a].y + state.keypoints[b].y) / 2 * H])
      .filter(([x, y]) => seen.every((p) => Math.hypot(p.x * W - x, p.y * H - y) > radius + 2));
    assert.ok(mids.length >= 3, `${mids.length} bones to check`);
    const points = [...seen.map((p) => [p.x * W, p.y * H]), ...mids].map(([x, y]) => [Math.floor(x), Math.floor(y)]);
    const px = await page.evaluate((pts) => {
      const read = (id) => {
        const c = document.getElementById(id);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        return pts.map(([x, y]) => Array.from(d.subarray(4 * (y * c.width + x), 4 * (y * c.width + x) + 4)));
      };
      return { overlay: read('overlay'), preview: read('preview') };
    }, points);
    seen.forEach((p, k) => {
      // Opaque, and the colour up to the canvas's rounding (one unit seen).
      assert.ok(near(px.overlay[k], keypoint, 3) && px.overlay[k][3] === 255, `${p.name} at ${points[k]}: ${px.overlay[k]}`);
      assert.ok(!near(px.preview[k], keypoint, 30), `the input alone has no keypoint colour at ${p.name}`);
    });
    mids.forEach((_, j) => {
      const k = seen.length + j;
      assert.ok(near(px.overlay[k], skeleton, 3) && px.overlay[k][3] === 255, `bone midpoint ${points[k]}: ${px.overlay[k]}`);
      assert.ok(!near(px.preview[k], skeleton, 30), 'the input alone has no skeleton colour there');
    });
    // What the user sees: the same colours at the same places of a screenshot of the stacked canvases.
    const stack = page.locator('.stack');
    const shot = await screenshotPixels(page, stack);
    const sx = (x) => Math.min(shot.width - 1, Math.floor((x + 0.5) * shot.width / W));
    const sy = (y) => Math.min(shot.height - 1, Math.floor((y + 0.5) * shot.height / H));
    seen.forEach((p, k) => assert.ok(near(shot.at(sx(points[k][0]), sy(points[k][1])), keypoint, 40),
      `screenshot at ${p.name}: ${shot.at(sx(points[k][0]), sy(points[k][1]))}`));
    await page.click('#show-overlay');  // the input alone: no keypoint colour on screen
    const plain = await screenshotPixels(page, stack);
    seen.forEach((p, k) => assert.ok(!near(plain.at(sx(points[k][0]), sy(points[k][1])), keypoint, 40), `plain render at ${p.name}`));
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    fs.writeFileSync(path.join(ARTIFACTS, 'demo-pose.png'), shot.png);
  } finally {
    await page.close();
  }
});

test('demo: keyword spotting runs on generated clips and shows the top keywords and the latency of each run', { skip, timeout: 300000 }, async (t) => {
  const { page, state } = await openDemo('model=mlperf_tiny_kws_dscnn_int8.tflite&image=cat.bmp', (s) => s.kws);
  try {
    assert.equal(state.kind, 'audio');
    assert.equal(state.kws.clip, '440 Hz tone + noise');
    assert.ok(state.kws.ms > 0);
    assert.equal(state.kws.top.length, 5);
    for (const k of state.kws.top) assert.equal(k.label, KWS_LABELS[k.index]);
    t.diagnostic(`tone: ${state.kws.top.map((k) => `${k.label} ${k.score.toFixed(3)}`).join(', ')} in ${state.kws.ms.toFixed(2)} ms`);
    assert.equal(await page.isVisible('#audio-controls'), true);
    assert.equal(await page.isVisible('#image-controls'), false);
    await page.selectOption('#clip-select', 'noise');
    await page.waitForFunction(() => window.demoState.kws?.clip === 'noise' && !window.demoState.busy, null, { timeout: 60000 });
    const s = await page.evaluate(() => ({ kws: window.demoState.kws, latencies: window.demoState.latencies, last: document.getElementById('lat-last').textContent, runs: document.getElementById('lat-count').textContent, bars: document.querySelectorAll('#top5 .bar i').length }));
    assert.equal(s.latencies.length, 2, 'one latency per run');
    assert.equal(s.runs, '2');
    assert.match(s.last, /\d ms|\d s/);
    assert.equal(s.bars, 5);
    t.diagnostic(`noise: ${s.kws.top.map((k) => `${k.label} ${k.score.toFixed(3)}`).join(', ')}; runs ${s.latencies.map((x) => x.toFixed(2)).join(', ')} ms`);
  } finally {
    await page.close();
  }
});

test('demo: a model whose input is neither a picture nor a clip is named as such, not fed a photo', { skip, timeout: 120000 }, async () => {
  const { page, state } = await openDemo('model=mlperf_tiny_ad01_int8.tflite&image=cat.bmp', (s) => s.ready);
  try {
    assert.equal(state.kind, 'tensor');
    await page.waitForFunction(() => /not a picture/.test(document.getElementById('status').textContent), null, { timeout: 30000 });
    assert.equal(state.top5, null);
    assert.equal(state.runs, 0);
  } finally {
    await page.close();
  }
});

// Drops a file onto `selector` as a user's drag and drop does: a File in a DataTransfer, dispatched
// as dragover, then drop. The bytes come from the test server (`url`) or from Node (`b64`).
// Returns what the drop zone did: whether it took the dragover and the drop, and its highlight.
function dropFile(page, selector, { url, b64, name, type }) {
  return page.evaluate(async ({ selector, url, b64, name, type }) => {
    const bytes = url ? await (await fetch(url)).arrayBuffer() : Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const dataTransfer = new DataTransfer();
    dataTransfer.items.add(new File([bytes], name, { type }));
    const target = document.querySelector(selector);
    const over = new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer });
    target.dispatchEvent(over);
    const highlighted = target.classList.contains('over');
    const drop = new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer });
    target.dispatchEvent(drop);
    return { over: over.defaultPrevented, highlighted, drop: drop.defaultPrevented, after: target.classList.contains('over') };
  }, { selector, url, b64, name, type });
}

// Waits (60 s at most) until the demo has made `runs` runs and is idle, or shows an error (e.g.
// "Could not record"), and returns its state; fails on an error.
async function afterRuns(page, runs) {
  await page.waitForFunction((n) => {
    const s = window.demoState;
    return !!s.error || document.getElementById('status').classList.contains('error') || (s.runs >= n && !s.busy);
  }, runs, { timeout: 60000 });
  const s = await page.evaluate(() => ({ ...window.demoState, status: document.getElementById('status').textContent,
    failed: !!window.demoState.error || document.getElementById('status').classList.contains('error') }));
  assert.equal(s.failed, false, s.status);
  return s;
}

// The preview canvas (what the demo drew as the model's input) as RGB bytes, with its size.
function previewRgb(page) {
  return page.evaluate(() => {
    const c = document.getElementById('preview');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    return { width: c.width, height: c.height, rgb: Array.from(d).filter((_, i) => i % 4 !== 3) };
  });
}

const goldenCase = (id) => loadManifest().cases.find((c) => c.id === id);

test('demo: an image dropped on the drop zone is what the classifier runs on, with the golden top-1 and a bar chart', { skip, timeout: 300000 }, async (t) => {
  const { page, state: before } = await openDemo(`model=${CLASSIFIER}&image=none`, (s) => s.ready);
  try {
    assert.equal(before.runs, 0, 'no image yet: nothing run');
    assert.equal(before.top5, null);
    const dropped = await dropFile(page, '#drop', { url: '/shared/images/bird.bmp', name: 'bird.bmp', type: 'image/bmp' });
    assert.deepEqual(dropped, { over: true, highlighted: true, drop: true, after: false }, 'the drop zone takes the drag');
    const s = await afterRuns(page, 1);
    const bird = goldenCase('tf2_mobilenet_v2_1.0_224_ptq/bird');
    t.diagnostic(`dropped bird.bmp: ${s.top5.map((x) => `${x.label} ${x.score.toFixed(3)}`).join(', ')}`);
    assert.equal(s.top5[0].index, bird.top5[0].index);
    assert.equal(s.top5[0].label, bird.top5[0].label);
    assert.equal(await page.textContent('#top5 li:first-child .label'), bird.top5[0].label);
    assert.match(await page.textContent('#image-info'), /^bird\.bmp · \d+×\d+$/);
    // The preview shows the model's input: the golden input tensor of bird.bmp (uint8: q = pixel), byte for byte.
    const preview = await previewRgb(page);
    assert.deepEqual([preview.width, preview.height], [224, 224]);
    assert.equal(bird.inputs[0].dtype, 'uint8');
    const want = readTensor(bird.inputs[0].file, 'uint8');
    assert.ok(preview.rgb.length === want.length && preview.rgb.every((v, i) => v === want[i]), 'the preview is the golden input of bird.bmp');
    await assertBars(t, page, s.top5);
    assert.match(await page.textContent('#lat-last'), /\d ms|\d s/);
    assert.equal(await page.textContent('#lat-count'), '1');
  } finally {
    await page.close();
  }
});

test('demo: a model and an image chosen with the file pickers run, with the golden top-1', { skip, timeout: 300000 }, async (t) => {
  const { page, state: before } = await openDemo('model=none&image=none', (s) => s.started);
  try {
    assert.equal(before.ready, false, 'no model yet');
    await page.setInputFiles('#model-file', path.join(SHARED, 'models/mobilenet_v2_1.0_224_quant.tflite'));
    await page.waitForFunction(() => window.demoState.ready || window.demoState.error, null, { timeout: 60000 });
    assert.match(await page.textContent('#model-info'), /^image classifier · .*in .*uint8 \[1×224×224×3\]/);
    await page.setInputFiles('#image-file', path.join(SHARED, 'images/parrot.jpg'));
    const s = await afterRuns(page, 1);
    const parrot = goldenCase('mobilenet_v2_1.0_224_quant/parrot');
    t.diagnostic(`picked parrot.jpg: ${s.top5.map((x) => `${x.label} ${x.score.toFixed(3)}`).join(', ')}`);
    assert.equal(s.kind, 'classifier');
    assert.equal(s.top5[0].index, parrot.top5[0].index);
    assert.equal(s.top5[0].label, parrot.top5[0].label);
    assert.equal(await page.textContent('#top5 li:first-child .label'), parrot.top5[0].label);
    // The JPEG is decoded by the browser, not by the goldens' decoder: the input may differ a little
    // from the golden's (today it does not).
    const preview = await previewRgb(page);
    const want = readTensor(parrot.inputs[0].file, parrot.inputs[0].dtype);
    let diff = 0;
    for (let i = 0; i < want.length; i++) diff += Math.abs(preview.rgb[i] - want[i]);
    t.diagnostic(`mean |preview - golden input| ${(diff / want.length).toFixed(3)}`);
    assert.equal(preview.rgb.length, want.length);
    assert.ok(diff / want.length < 2, `the preview is parrot.jpg as the model sees it (mean diff ${diff / want.length})`);
    await assertBars(t, page, s.top5);
  } finally {
    await page.close();
  }
});

// A mono float32 WAV file (WAVE_FORMAT_IEEE_FLOAT) of `samples` at `rate` Hz.
function wavFloat32(samples, rate) {
  const data = Buffer.alloc(4 * samples.length);
  samples.forEach((v, i) => data.writeFloatLE(v, 4 * i));
  const h = Buffer.alloc(44);
  h.write('RIFF', 0); h.writeUInt32LE(36 + data.length, 4); h.write('WAVE', 8);
  h.write('fmt ', 12); h.writeUInt32LE(16, 16); h.writeUInt16LE(3, 20); h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24); h.writeUInt32LE(4 * rate, 28); h.writeUInt16LE(4, 32); h.writeUInt16LE(32, 34);
  h.write('data', 36); h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

test('demo: a WAV clip dropped for keyword spotting gives the keywords of the same clip generated in the page', { skip, timeout: 300000 }, async (t) => {
  const { page } = await openDemo('model=mlperf_tiny_kws_dscnn_int8.tflite', (s) => s.kws);
  try {
    const tonePreview = await previewRgb(page);
    await page.selectOption('#clip-select', 'chirp');
    const chirp = await afterRuns(page, 2);
    assert.equal(chirp.kws.clip, 'rising chirp');
    const chirpPreview = await previewRgb(page);
    assert.notDeepEqual(chirpPreview, tonePreview, 'each clip has its own spectrogram');
    // The demo's chirp (web/demo/demo.mjs generatedClip), one second at 16 kHz, as a float WAV file.
    const samples = Float32Array.from({ length: 16000 }, (_, i) => { const s = i / 16000; return 0.5 * Math.sin(2 * Math.PI * (200 * s + 1400 * s * s)); });
    const b64 = wavFloat32(samples, 16000).toString('base64');
    const dropped = await dropFile(page, '#drop', { b64, name: 'chirp.wav', type: 'audio/wav' });
    assert.equal(dropped.drop, true);
    const s = await afterRuns(page, 3);
    assert.equal(s.kws.clip, 'chirp.wav');
    assert.ok(s.kws.ms > 0);
    assert.equal(s.kws.top.length, 5);
    for (const k of s.kws.top) assert.equal(k.label, KWS_LABELS[k.index]);
    t.diagnostic(`chirp.wav: ${s.kws.top.map((k) => `${k.label} ${k.score.toFixed(3)}`).join(', ')}`);
    assert.deepEqual(s.kws.top, chirp.kws.top, 'the file decodes to the samples the page generates');
    assert.deepEqual(await previewRgb(page), chirpPreview, 'the same spectrogram');
    assert.equal(await page.textContent('#top5 li:first-child .label'), s.kws.top[0].label);
    assert.match(await page.textContent('#image-info'), /^chirp\.wav · 1 s at 16 kHz$/);
  } finally {
    await page.close();
  }
});

test('demo: a clip recorded from the microphone (Chromium\'s fake device) runs keyword spotting', { skip, timeout: 300000 }, async (t) => {
  // Another browser: a fake microphone (a beeping tone) allowed without asking.
  const mic = await launchChromium({
    args: [...CHROMIUM_FLAGS, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'],
    permissions: ['microphone'],
  });
  const page = await mic.context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e).slice(0, 500)));
  try {
    await page.goto(`${server.url}/demo/?model=mlperf_tiny_kws_dscnn_int8.tflite`, { timeout: 60000 });
    await page.waitForFunction(() => window.demoState?.kws || window.demoState?.error, null, { timeout: 120000 });
    const first = await afterRuns(page, 1);
    assert.equal(first.kws.clip, '440 Hz tone + noise');
    assert.equal(await page.isVisible('#record'), true, 'the record button is offered');
    await page.click('#record');
    const s = await afterRuns(page, 2);
    assert.equal(s.kws.clip, 'recording', s.status);
    assert.ok(s.kws.ms > 0);
    assert.equal(s.kws.top.length, 5);
    for (const k of s.kws.top) {
      assert.equal(k.label, KWS_LABELS[k.index]);
      assert.ok(Number.isFinite(k.score));
    }
    t.diagnostic(`recording: ${s.kws.top.map((k) => `${k.label} ${k.score.toFixed(3)}`).join(', ')} in ${s.kws.ms.toFixed(2)} ms`);
    assert.match(await page.textContent('#image-info'), /^recording · 1 s at 16 kHz$/);
    assert.match(await page.textContent('#status'), /^recording with mlperf_tiny_kws_dscnn_int8: \d/);
    assert.equal(await page.textContent('#lat-count'), '2');
    assert.match(await page.textContent('#lat-last'), /\d ms|\d s/);
    // The fake device's beeps reached the features: the spectrogram is not the flat one of silence.
    const spectrogram = await previewRgb(page);
    assert.deepEqual([spectrogram.width, spectrogram.height], [49, 10]);
    assert.ok(new Set(spectrogram.rgb).size > 10, 'the recorded clip is not silence');
    assert.deepEqual(errors, []);
  } finally {
    await mic.close();
  }
});
