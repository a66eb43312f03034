// Wisp against LiteRT.js (@litertjs/core 2.5.3, a dev dependency of web/) in the same headless
// Chromium, on every shared model LiteRT.js can load, on the model's first golden input.
//
//   node bench/browser_vs_litert.mjs [--models a,b] [--rounds N] [--min-ms X] [--json out.json]
//        [--configs relaxed,simd128,threads2,cold,coldwisp] [--cold-rounds N] [--cold-model NAME] [--cold-sequential] [--profile]
//        [--warmup N] [--warmup-ms X] [--min-runs N] [--max-runs N] [--max-ms X] [--deadline-min M]
//        [--wisp-web DIR]   (another build of the web/ package, src/ + dist/; default: this repository's web/)
//
// Configurations (Wisp side / LiteRT.js side):
//   relaxed   1 thread   Wisp.create({ threads: 1, simd: 'relaxed' })  / LiteRT.js 'relaxed' (litert_wasm_internal.wasm)
//   simd128   1 thread   Wisp.create({ threads: 1, simd: 'simd128' })  / LiteRT.js 'compat' (SIMD128 only)
//   threads2  2 threads  Wisp.create({ threads: 2, simd: 'auto' })     / LiteRT.js 'threaded', numThreads 2
//   cold      1 thread, relaxed: a fresh page, clock started before the runtime's module import, stopped
//             after the first inference (init + model fetch + load included), default model tf2_mobilenet_v2_1.0_224_ptq;
//             each runtime as fast as its API allows: Wisp.load(url) (the model downloads while the runtime
//             compiles), LiteRT.js's loadLiteRt() and the model's fetch side by side, then its compile
//             (--cold-sequential: runtime first, then the model, both sides; init and load reported apart);
//             the next three inferences are timed too (not in the total: how soon the engine's optimizing
//             compiler catches up). Wisp is imported from web/dist/wisp.bundle.mjs, the package's
//             single-file bundle (LiteRT.js from its bundled dist/index.js), or from src/ if not built.
//   coldwisp  the same cold start with Wisp loading the model in its own format, as a Wisp server or
//             `wisp convert` serves it (.wisp, converted by the package's convert() before the run:
//             no TFLite import in the page); LiteRT.js loads the .tflite as in cold. Not in the
//             default set.
// Each round opens a fresh page per runtime; the order alternates (odd rounds Wisp first, even rounds
// LiteRT.js first). Per round: first run, warm-up, then timed runs until --min-ms (bounded by
// --max-runs and --max-ms) -> the round's median. Reported: the lower median over the rounds of each
// side, and Wisp/LiteRT (< 1: Wisp faster). Timed = one inference as an application does it (input
// in, run, outputs out); the run call alone is reported as well. The shared data is read through
// WISP_SHARED (default ../shared beside the repository). Not a test: nothing is asserted.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { SHARED, WEB_DIR, loadManifest } from '../web/test/shared.mjs';
import { launchChromium, CHROMIUM } from '../web/test/chromium.mjs';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const arg = (name, dflt) => { const i = argv.indexOf(name); return i >= 0 && i + 1 < argv.length ? argv[i + 1] : dflt; };
const num = (name, dflt) => { const v = Number(arg(name, dflt)); if (!Number.isFinite(v)) throw new Error(`${name}: not a number`); return v; };

if (argv.includes('--help') || argv.includes('-h')) {
  const src = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  console.log(src.slice(0, src.findIndex((l) => !l.startsWith('//'))).map((l) => l.slice(3)).join('\n'));
  process.exit(0);
}

const CONFIGS = {
  relaxed: { threads: 1, simd: 'relaxed', litertVariant: 'relaxed' },
  simd128: { threads: 1, simd: 'simd128', litertVariant: 'compat' },
  threads2: { threads: 2, simd: 'auto', litertVariant: 'threaded' },
  cold: { threads: 1, simd: 'relaxed', litertVariant: 'relaxed', cold: true },
  coldwisp: { threads: 1, simd: 'relaxed', litertVariant: 'relaxed', cold: true, wispFormat: true },
};
const configs = arg('--configs', 'relaxed,simd128,threads2,cold').split(',').filter(Boolean);
for (const c of configs) if (!CONFIGS[c]) { console.error(`unknown config ${c} (have ${Object.keys(CONFIGS).join(', ')})`); process.exit(2); }
const steadyConfigs = configs.filter((c) => !CONFIGS[c].cold);
const coldConfigs = configs.filter((c) => CONFIGS[c].cold);
const rounds = Math.max(1, Math.floor(num('--rounds', 3)));
const coldRounds = Math.max(1, Math.floor(num('--cold-rounds', Math.max(rounds, 4))));
const coldModel = arg('--cold-model', 'tf2_mobilenet_v2_1.0_224_ptq');
const minMs = num('--min-ms', 2000);
const BENCH = {
  warmup: num('--warmup', 5), warmupMinMs: num('--warmup-ms', Math.min(300, minMs)),
  minRuns: num('--min-runs', 10), minMs, maxRuns: num('--max-runs', 10000), maxMs: num('--max-ms', Math.max(20000, 3 * minMs)),
};
const profile = argv.includes('--profile');
const coldSequential = argv.includes('--cold-sequential');
const jsonOut = arg('--json', null);
const deadline = Date.now() + num('--deadline-min', 120) * 60000;
const PAGE_TIMEOUT_MS = 60000;
const EVAL_TIMEOUT_MS = BENCH.maxMs + 10000 + 120000; // timed loop + warm-up + init/load/check
const COLD_TIMEOUT_MS = 120000;

// ---- preconditions --------------------------------------------------------------------------
const LITERT_DIR = path.join(WEB_DIR, 'node_modules', '@litertjs');
const WISP_WEB = path.resolve(arg('--wisp-web', WEB_DIR));
const fail = (msg) => { console.error(`browser_vs_litert: ${msg}`); process.exit(2); };
if (!fs.existsSync(path.join(WISP_WEB, 'dist', 'wisp_simd.wasm'))) fail(`${path.join(WISP_WEB, 'dist', 'wisp_simd.wasm')} is missing: build it with scripts/build.sh wasm`);
if (!fs.existsSync(path.join(WISP_WEB, 'src', 'wisp.mjs'))) fail(`${path.join(WISP_WEB, 'src', 'wisp.mjs')} is missing`);
if (!fs.existsSync(path.join(LITERT_DIR, 'core', 'package.json'))) fail('@litertjs/core is not installed: cd web && npm ci --ignore-scripts');
if (!fs.existsSync(path.join(SHARED, 'goldens', 'manifest.json'))) fail(`no goldens in ${SHARED} (set WISP_SHARED)`);
const litertVersion = JSON.parse(fs.readFileSync(path.join(LITERT_DIR, 'core', 'package.json'), 'utf8')).version;
// The page imports Wisp as a page without a bundler would, from the package's prebuilt
// single-file bundle (wasm/bundle.mjs; LiteRT.js ships its dist/index.js bundled too), or from
// the sources when the bundle was not built.
const WISP_MODULE = fs.existsSync(path.join(WISP_WEB, 'dist', 'wisp.bundle.mjs')) ? '/web/dist/wisp.bundle.mjs' : '/web/src/wisp.mjs';

// ---- models and their first golden case -----------------------------------------------------
const manifest = loadManifest();
const allModels = fs.readdirSync(path.join(SHARED, 'models')).filter((f) => f.endsWith('.tflite')).map((f) => f.slice(0, -7)).sort();
const only = arg('--models', null)?.split(',').filter(Boolean);
if (only) for (const m of only) if (!allModels.includes(m)) fail(`model ${m} is not in ${path.join(SHARED, 'models')}`);
const notes = [];
const caseOf = (model) => {
  const c = manifest.cases.find((x) => x.model === `models/${model}.tflite`);
  if (!c) return null;
  return {
    case: c.case,
    modelUrl: `/shared/models/${model}.tflite`,
    inputs: c.inputs.map((i) => ({ url: `/shared/goldens/${i.file}`, dtype: i.dtype })),
    goldens: c.outputs.map((o) => ({ url: `/shared/goldens/${o.file}`, dtype: o.dtype })),
  };
};
const models = [];
for (const m of only ?? allModels) {
  if (caseOf(m)) models.push(m);
  else notes.push(`${m}: skipped, no golden case in goldens/manifest.json`);
}

// ---- static server: web/, the LiteRT.js package, bench/, the shared models and goldens -------
const MOUNTS = [
  ['/web/', WISP_WEB, (rel) => !rel.startsWith('node_modules/')],
  ['/nm/@litertjs/', LITERT_DIR, () => true],
  ['/bench/', BENCH_DIR, () => true],
  ['/shared/models/', path.join(SHARED, 'models'), () => true],
  ['/shared/goldens/', path.join(SHARED, 'goldens'), () => true],
];
// coldwisp: the cold model converted to .wisp by this package (as `wisp convert` does), served
// from a scratch directory.
let convertedDir = null;
if (configs.includes('coldwisp') && caseOf(coldModel)) {
  const { Wisp } = await import(path.join(WISP_WEB, 'src', 'node.mjs'));
  const rt = await Wisp.create({ threads: 1, simd: 'simd128' });
  try {
    convertedDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wisp-bench-'));
    const tflite = fs.readFileSync(path.join(SHARED, 'models', `${coldModel}.tflite`));
    fs.writeFileSync(path.join(convertedDir, `${coldModel}.wisp`), rt.convertSync(tflite));
  } finally { rt.dispose(); }
  MOUNTS.push(['/converted/', convertedDir, () => true]);
}
const MIME = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm', '.json': 'application/json', '.map': 'application/json' };

function startServer() {
  const server = http.createServer((req, res) => {
    // COOP/COEP: cross-origin isolation (SharedArrayBuffer for threads, a 5 us timer)
    const headers = { 'Cache-Control': 'no-store', 'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp', 'Cross-Origin-Resource-Policy': 'same-origin' };
    let pathname;
    try { pathname = decodeURIComponent(new URL(req.url, 'http://127.0.0.1').pathname); } catch { res.writeHead(400, headers); return res.end(); }
    if (req.method !== 'GET' && req.method !== 'HEAD') { res.writeHead(405, headers); return res.end(); }
    let file = null;
    for (const [prefix, dir, allowed] of MOUNTS) {
      if (!pathname.startsWith(prefix)) continue;
      const rel = pathname.slice(prefix.length);
      const root = path.resolve(dir);
      const full = path.resolve(root, rel);
      if (full.startsWith(root + path.sep) && allowed(rel)) file = full;
      break;
    }
    let st = null;
    try { st = file && fs.statSync(file); } catch { /* 404 */ }
    if (!st || !st.isFile()) { res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }); return res.end('not found'); }
    res.writeHead(200, { ...headers, 'Content-Type': MIME[path.extname(file)] ?? 'application/octet-stream', 'Content-Length': st.size });
    if (req.method === 'HEAD') return res.end();
    fs.createReadStream(file).on('error', () => res.destroy()).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({
      url: `http://127.0.0.1:${server.address().port}`,
      close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
    }));
  });
}

// ---- CPU used by processes other than this one and Chromium (/proc), per measurement ----------
function cpuSnapshot() {
  try {
    const l = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = l[3] + (l[4] || 0);
    const total = l.slice(0, 8).reduce((a, b) => a + b, 0);
    let ours = 0;
    for (const d of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const comm = fs.readFileSync(`/proc/${d}/comm`, 'utf8').trim();
        if (Number(d) !== process.pid && !/chrom/i.test(comm)) continue;
        const s = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
        const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
        ours += Number(f[11]) + Number(f[12]);
      } catch { /* process gone */ }
    }
    return { busy: total - idle, total, ours };
  } catch { return null; }
}
function othersCores(a, b) {
  if (!a || !b || b.total <= a.total) return null;
  const wall = (b.total - a.total) / os.cpus().length;
  return +Math.max(0, ((b.busy - a.busy) - (b.ours - a.ours)) / wall).toFixed(2);
}

// ---- browser ----------------------------------------------------------------------------------
const withTimeout = (p, ms, what) => {
  let timer;
  return Promise.race([p, new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`timeout after ${ms} ms: ${what}`)), ms); })])
    .finally(() => clearTimeout(timer));
};

const server = await startServer();
let browser = null;
let relaunches = 0;
async function ensureBrowser() {
  if (browser) return browser;
  if (relaunches++ > 3) throw new Error('Chromium failed too often');
  const b = await withTimeout(launchChromium(), 90000, 'launching Chromium');
  b.context.on('close', () => { if (browser === b) browser = null; }); // crashed: the next page relaunches
  browser = b;
  return b;
}

const consoleLog = [];
// One runtime in one fresh page: fn = 'benchSide' | 'coldSide'.
async function inFreshPage(fn, args, timeoutMs) {
  const b = await ensureBrowser();
  let page = null;
  const pageErrors = []; // console errors of this page, attached to a failed result
  const s0 = cpuSnapshot();
  const t0 = Date.now();
  try {
    page = await withTimeout(b.context.newPage(), PAGE_TIMEOUT_MS, 'new page');
    page.on('console', (m) => {
      const t = m.text();
      if (m.type() !== 'error' && m.type() !== 'warning') return;
      if (/^INFO:|NPU accelerator|WebGPU|No available adapters/.test(t)) return;
      if (m.type() === 'error' && pageErrors.length < 5) pageErrors.push(t.slice(0, 300));
      const msg = `[${args.side}] ${t.slice(0, 300)}`;
      if (!consoleLog.includes(msg) && consoleLog.length < 100) consoleLog.push(msg);
    });
    page.on('pageerror', (e) => { if (consoleLog.length < 100) consoleLog.push(`[${args.side} ${args.model} pageerror] ${String(e).slice(0, 300)}`); });
    await page.goto(`${server.url}/bench/browser_vs_litert.html`, { timeout: PAGE_TIMEOUT_MS });
    await page.waitForFunction(() => window.pageReady === true, null, { timeout: PAGE_TIMEOUT_MS });
    const r = await withTimeout(page.evaluate(([f, a]) => window[f](a), [fn, args]), timeoutMs, `${fn} ${args.side} ${args.model}`);
    if (r.error && pageErrors.length) r.error.console = pageErrors;
    return { ...r, wallMs: Date.now() - t0, othersCores: othersCores(s0, cpuSnapshot()) };
  } catch (e) {
    return { side: args.side, error: { stage: 'page', message: String(e?.message ?? e).split('\n')[0].slice(0, 500) }, wallMs: Date.now() - t0 };
  } finally {
    if (page) await withTimeout(page.close(), 30000, 'page close').catch(async () => {
      // a page that does not close: start over with a new browser
      try { await browser?.close(); } catch { /* gone */ }
      browser = null;
    });
  }
}

let pageInfo = {};
{
  const b = await ensureBrowser();
  const page = await b.context.newPage();
  try {
    await page.goto(`${server.url}/bench/browser_vs_litert.html`, { timeout: PAGE_TIMEOUT_MS });
    await page.waitForFunction(() => window.pageReady === true, null, { timeout: PAGE_TIMEOUT_MS });
    pageInfo = await page.evaluate(() => window.pageInfo());
  } catch (e) {
    fail(`the benchmark page does not load: ${e.message}`);
  } finally { await page.close().catch(() => {}); }
  if (!pageInfo.crossOriginIsolated) notes.push('the page is NOT cross-origin isolated: no threads, 100 us timer');
}
const chromiumVersion = browser?.context.browser()?.version() ?? pageInfo.userAgent?.match(/Chrome\/([\d.]+)/)?.[1] ?? null;

// ---- the measurements -------------------------------------------------------------------------
const fmt = (x) => (x == null || !Number.isFinite(x) ? '–' : x < 0.1 ? x.toFixed(4) : x < 10 ? x.toFixed(3) : x.toFixed(2));
const short = (r) => (r.error ? `ERROR (${r.error.stage}) ${r.error.message.split('\n')[0].slice(0, 160)}`
  : r.e2e ? `${(r.variant ?? '?').padEnd(9)} median ${fmt(r.e2e.median)} ms (min ${fmt(r.e2e.min)}, p90 ${fmt(r.e2e.p90)}, n=${r.e2e.n}${r.batch > 1 ? `x${r.batch}` : ''}, invoke ${fmt(r.invoke?.median)}${r.profile?.totalUs != null ? `, profile ${fmt(r.profile.totalUs / 1000)}` : ''})`
    : `${(r.variant ?? '?').padEnd(9)} total ${fmt(r.totalMs)} ms (import ${fmt(r.importMs)}, init ${fmt(r.initMs)}, load ${fmt(r.loadMs)}, first run ${fmt(r.firstRunMs)}${r.nextRunsMs?.length ? `; next runs ${r.nextRunsMs.map(fmt).join(', ')}` : ''})`);
const goldenTag = (r) => (!r.golden ? '' : r.golden.every((g) => g.exact) ? ' golden:exact'
  : ` golden:${r.golden.map((g, i) => (g.exact ? `out${i} exact` : `out${i} DIFF ${g.why ?? `max|d|=${g.maxAbsDiff} n=${g.nDiff}/${g.n}`}`)).join(',')}`);

const results = {}; // key model|config -> { model, config, wisp: [rounds], litert: [rounds] }
const unsupported = new Map();
const entry = (model, config) => (results[`${model}|${config}`] ??= { model, config, wisp: [], litert: [] });
const order = (round) => (round % 2 === 1 ? ['wisp', 'litert'] : ['litert', 'wisp']);
const startedAt = new Date();
const loadStart = os.loadavg();
console.error(`Wisp vs LiteRT.js ${litertVersion}, headless Chromium ${chromiumVersion}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), load ${loadStart.map((x) => x.toFixed(2)).join(' ')}`);
console.error(`models: ${models.join(', ')}\nconfigs: ${configs.join(', ')}; rounds ${rounds}, min ${minMs} ms per round; Wisp from ${WISP_MODULE}`);

async function measure(model, config, side, round, fn) {
  const c = CONFIGS[config];
  const cs = caseOf(model);
  const args = { side, model, threads: c.threads, simd: c.simd, litertVariant: c.litertVariant, ...cs, bench: BENCH, profile, coldSequential, wispModule: WISP_MODULE };
  if (c.wispFormat && side === 'wisp') args.modelUrl = `/converted/${model}.wisp`;
  const r = await inFreshPage(fn, args, fn === 'coldSide' ? COLD_TIMEOUT_MS : EVAL_TIMEOUT_MS);
  r.round = round;
  entry(model, config)[side].push(r);
  console.error(`r${round} ${config.padEnd(8)} ${model.padEnd(34)} ${side.padEnd(6)} ${short(r)}${goldenTag(r)}${r.othersCores > 0.25 ? ` [others used ${r.othersCores} cores]` : ''}`);
  return r;
}

try {
  for (let round = 1; round <= rounds && steadyConfigs.length; round++) {
    for (const model of models) {
      for (const config of steadyConfigs) {
        if (unsupported.has(model)) break;
        if (Date.now() > deadline) { notes.push(`deadline reached: ${model} ${config} round ${round} and later were not measured`); break; }
        for (const side of order(round)) {
          const r = await measure(model, config, side, round, 'benchSide');
          if (side === 'litert' && r.error?.stage === 'load') {
            unsupported.set(model, [r.error.message.split('\n')[0], ...(r.error.console ?? [])].join(': '));
            break;
          }
        }
      }
    }
  }
  if (coldConfigs.length) {
    if (!caseOf(coldModel)) notes.push(`cold: ${coldModel} has no golden case`);
    else {
      for (let round = 1; round <= coldRounds; round++) {
        if (Date.now() > deadline) { notes.push(`deadline reached: cold round ${round} and later were not measured`); break; }
        for (const config of coldConfigs) {
          for (const side of order(round)) await measure(coldModel, config, side, round, 'coldSide');
        }
      }
    }
  }
} finally {
  try { await browser?.close(); } catch { /* gone */ }
  await server.close();
  if (convertedDir) fs.rmSync(convertedDir, { recursive: true, force: true });
}
for (const [m, why] of unsupported) notes.push(`${m}: skipped, LiteRT.js ${litertVersion} cannot load it (${why.slice(0, 200)})`);

// ---- summary ----------------------------------------------------------------------------------
const value = (r) => (r.error ? null : r.e2e ? r.e2e.median : r.totalMs ?? null);
function side(rs) {
  const ok = rs.filter((r) => value(r) != null);
  if (!ok.length) return { best: null, errors: rs.map((r) => r.error?.message ?? 'no result') };
  const best = ok.reduce((a, b) => (value(b) < value(a) ? b : a));
  const invokeBest = ok.filter((r) => r.invoke?.median != null).reduce((a, r) => Math.min(a, r.invoke.median), Infinity);
  return {
    best: value(best), bestRound: best.round, variant: best.variant ?? null, variants: [...new Set(ok.map((r) => r.variant))],
    invokeBest: Number.isFinite(invokeBest) ? invokeBest : null,
    roundValues: rs.map((r) => value(r)),
    golden: ok.every((r) => !r.golden || r.golden.every((g) => g.exact)) ? 'exact' : 'MISMATCH',
  };
}
const summary = [];
for (const model of [...models, ...(coldConfigs.length && !models.includes(coldModel) ? [coldModel] : [])]) {
  for (const config of configs) {
    const e = results[`${model}|${config}`];
    if (!e || unsupported.has(model)) continue;
    const w = side(e.wisp), l = side(e.litert);
    summary.push({ model, config, litertMs: l.best, wispMs: w.best, ratio: w.best != null && l.best ? w.best / l.best : null,
      wispVariant: w.variant, wispVariants: w.variants, litertVariant: CONFIGS[config].litertVariant,
      litertInvokeMs: l.invokeBest ?? null, wispInvokeMs: w.invokeBest ?? null,
      wispGolden: w.golden ?? null, litertGolden: l.golden ?? null, wispErrors: w.errors, litertErrors: l.errors });
  }
}

const lines = [];
lines.push(`Wisp vs LiteRT.js ${litertVersion} in headless Chromium ${chromiumVersion}: lower median of ${rounds} round${rounds > 1 ? 's' : ''}${coldConfigs.length ? `, cold: lowest of ${coldRounds} cold starts` : ''} (ms)`);
lines.push('');
lines.push('| model | config | LiteRT.js ms | Wisp ms | Wisp/LiteRT | Wisp variant |');
lines.push('|---|---|---|---|---|---|');
for (const s of summary) {
  lines.push(`| ${s.model} | ${s.config} | ${s.litertMs == null ? 'error' : fmt(s.litertMs)} | ${s.wispMs == null ? 'error' : fmt(s.wispMs)} | ${s.ratio == null ? '–' : s.ratio.toFixed(2)} | ${s.wispVariants?.join('/') || '–'} |`);
}
const inv = summary.filter((s) => !CONFIGS[s.config].cold && (s.litertInvokeMs != null || s.wispInvokeMs != null));
if (inv.length) {
  lines.push('');
  lines.push('The run call alone (no input/output copies; Wisp: model.lastInvokeMs, LiteRT.js: compiledModel.run):');
  lines.push('');
  lines.push('| model | config | LiteRT.js invoke ms | Wisp invoke ms | Wisp/LiteRT |');
  lines.push('|---|---|---|---|---|');
  for (const s of inv) {
    const r = s.wispInvokeMs != null && s.litertInvokeMs ? (s.wispInvokeMs / s.litertInvokeMs).toFixed(2) : '–';
    lines.push(`| ${s.model} | ${s.config} | ${fmt(s.litertInvokeMs)} | ${fmt(s.wispInvokeMs)} | ${r} |`);
  }
}
console.log(lines.join('\n'));

// Golden check of Wisp's outputs (exact bytes): loud on any integer difference and on float
// differences beyond FLOAT_TOL; float outputs within it are listed quietly (the goldens' float
// bytes differ between builds of the reference runtime too, by up to 1.9e-5).
const FLOAT_TOL = 1e-4;
const diffs = new Map();
for (const e of Object.values(results)) {
  if (unsupported.has(e.model)) continue;
  for (const r of e.wisp) {
    (r.golden ?? []).forEach((g, i) => {
      if (g.exact) return;
      const key = `${e.model} ${e.config} output ${i} (${g.dtype})`;
      const d = diffs.get(key) ?? { rounds: [], maxAbsDiff: 0, nDiff: 0, n: g.n, why: g.why, dtype: g.dtype };
      d.rounds.push(r.round);
      d.maxAbsDiff = Math.max(d.maxAbsDiff, g.maxAbsDiff ?? Infinity);
      d.nDiff = Math.max(d.nDiff, g.nDiff ?? 0);
      diffs.set(key, d);
    });
  }
}
const describeDiff = ([key, d]) => `${key}, round ${d.rounds.join(',')}: ${d.why ?? `${d.nDiff}/${d.n} elements differ, max |diff| ${d.maxAbsDiff}`}`;
const isFloatNear = ([, d]) => d.dtype === 'float32' && !d.why && d.maxAbsDiff <= FLOAT_TOL;
const floatNear = [...diffs].filter(isFloatNear);
const mismatches = [...diffs].filter((x) => !isFloatNear(x)).map(describeDiff);
if (mismatches.length) {
  console.log('\n!!! WISP OUTPUT DIFFERS FROM THE GOLDEN BYTES !!!');
  for (const m of mismatches) console.log(`!!! ${m}`);
}
if (floatNear.length) {
  console.log(`\nFloat outputs not bit-exact, within ${FLOAT_TOL}:`);
  for (const x of floatNear) console.log(`- ${describeDiff(x)}`);
}
const errors = Object.values(results).flatMap((e) => [...e.wisp, ...e.litert]
  .filter((r) => r.error && !(unsupported.has(e.model) && r.side === 'litert' && r.error.stage === 'load'))
  .map((r) => `${e.model} ${e.config} round ${r.round} ${r.side}: ${r.error.stage}: ${r.error.message.split('\n')[0].slice(0, 200)}`));
if (errors.length) { console.log('\nErrors:'); for (const m of errors) console.log(`- ${m}`); }
if (notes.length) { console.log('\nNotes:'); for (const n of notes) console.log(`- ${n}`); }

if (jsonOut) {
  let wispCommit = null;
  try {
    wispCommit = execFileSync('git', ['--no-optional-locks', '-C', WISP_WEB, 'describe', '--always', '--dirty'], { encoding: 'utf8', timeout: 10000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch { /* not a git checkout */ }
  const out = {
    date: startedAt.toISOString(), finished: new Date().toISOString(),
    chromium: { version: chromiumVersion, executable: CHROMIUM, userAgent: pageInfo.userAgent, crossOriginIsolated: pageInfo.crossOriginIsolated, hardwareConcurrency: pageInfo.hardwareConcurrency },
    node: process.version, cpu: os.cpus()[0]?.model, ncpu: os.cpus().length,
    machineLoad: { loadavgStart: loadStart, loadavgEnd: os.loadavg(), note: 'per round: othersCores = CPU cores used by processes other than this one and Chromium' },
    litert: `@litertjs/core ${litertVersion}`, wispCommit, wispWeb: WISP_WEB, wispModule: WISP_MODULE, shared: SHARED,
    settings: { configs: Object.fromEntries(configs.map((c) => [c, CONFIGS[c]])), rounds, coldRounds, coldModel, coldSequential, bench: BENCH, profile },
    method: 'fresh page per runtime and round, order alternating; per round median of timed runs after warm-up; reported = min over rounds of the per-round medians (cold: min over rounds of the cold-start time)',
    summary, rounds: Object.values(results), mismatches, floatNotBitExact: floatNear.map(describeDiff), errors, notes, console: consoleLog,
  };
  fs.writeFileSync(jsonOut, JSON.stringify(out, null, 1));
  console.error(`wrote ${jsonOut}`);
}
process.exit(summary.some((x) => x.ratio != null) ? 0 : 1);
