// Launching Debian's Chromium headless through playwright-core (which never downloads a browser
// here: npm ci --ignore-scripts). Used by the browser tests and the benchmark.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { SHARED, WEB_DIR, haveShared } from './shared.mjs';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const CHROMIUM_FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

// playwright-core's chromium, or null when the dev dependency is not installed.
export function playwrightChromium() {
  try {
    return createRequire(path.join(WEB_DIR, 'package.json'))('playwright-core').chromium;
  } catch {
    return null;
  }
}

// A browser context with a fresh profile; close() also removes the profile.
export async function launchChromium(options = {}) {
  const chromium = playwrightChromium();
  if (!chromium) throw new Error('playwright-core is not installed (cd web && npm ci --ignore-scripts)');
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wisp-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, timeout: 60000, ...options,
  });
  return {
    context,
    async close() {
      try { await context.close(); } catch { /* already gone */ }
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

// Why a headless-Chromium test of the package cannot run here, or false: the shared data, Chromium,
// playwright-core, the dev dependencies `needs` (e.g. ['esbuild', 'vite']) and the built web/dist.
export function chromiumSkip(needs = []) {
  const require = createRequire(path.join(WEB_DIR, 'package.json'));
  const missing = needs.filter((name) => { try { require.resolve(name); return false; } catch { return true; } });
  return !haveShared() ? `no shared data at ${SHARED}`
    : !fs.existsSync(CHROMIUM) ? `${CHROMIUM} not found (apt-get install chromium)`
    : !playwrightChromium() ? 'playwright-core is not installed (cd web && npm ci --ignore-scripts)'
    : missing.length ? `${missing.join('/')} not installed (cd web && npm ci --ignore-scripts)`
    : !fs.existsSync(path.join(WEB_DIR, 'dist/wisp_simd_mt.wasm')) ? 'web/dist is not built (scripts/test_web.sh builds it)'
    : false;
}
