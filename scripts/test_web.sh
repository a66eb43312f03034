#!/usr/bin/env bash
# The WebAssembly package: builds both wasm variants (SIMD128, SIMD128 + pthreads) into web/dist,
# then runs the Node tests (API + every golden case) and the headless-Chromium tests, checks that
# `npm pack` ships the package files, and prints the size of each .wasm / JS file.
#   scripts/test_web.sh            build + all web tests
#   WISP_WEB_SKIP_BROWSER=1 ...    Node tests only
set -euo pipefail
cd "$(dirname "$0")/.."
export NODE_PATH=/usr/share/nodejs
export WISP_SHARED="${WISP_SHARED:-$(cd .. && pwd)/shared}"

need_setup=0
for tool in emcc node npm cmake ninja flatc; do command -v "$tool" >/dev/null || need_setup=1; done
[[ -x /usr/bin/chromium ]] || need_setup=1
if ((need_setup)); then scripts/setup.sh; fi
if [[ ! -d web/node_modules/playwright-core ]] || [[ web/package-lock.json -nt web/node_modules ]]; then
  # --ignore-scripts: playwright-core must never download a browser; Debian's chromium is used.
  (cd web && npm ci --ignore-scripts --no-audit --no-fund)
fi

echo "== wasm build (both variants -> web/dist)"
cmake --preset wasm >/dev/null
cmake --build build/wasm -j"$(nproc)"

echo "== sizes (bytes: raw / gzip -9)"
for f in web/dist/wisp_simd.wasm web/dist/wisp_simd.mjs web/dist/wisp_simd_mt.wasm web/dist/wisp_simd_mt.mjs \
         web/dist/wisp_simd_mt.worker.js web/src/wisp.mjs web/src/worker.mjs web/src/image.mjs; do
  printf '  %-32s %9d %9d\n' "${f#web/}" "$(stat -c %s "$f")" "$(gzip -9 -c "$f" | wc -c)"
done

echo "== npm pack (dry run)"
packed=$(cd web && npm pack --dry-run --json 2>/dev/null)
for f in src/wisp.mjs src/wisp.d.ts src/worker.mjs dist/wisp_simd.wasm dist/wisp_simd_mt.wasm dist/wisp_simd_mt.worker.js; do
  grep -q "\"$f\"" <<<"$packed" || { echo "npm pack is missing $f"; exit 1; }
done
echo "  package files present"

status=0
echo "== node tests"
(cd web && timeout 2400 node --test --test-reporter=spec test/node/) || status=1

if [[ "${WISP_WEB_SKIP_BROWSER:-0}" != 1 ]]; then
  echo "== chromium tests"
  (cd web && timeout 1500 node --test --test-reporter=spec test/browser/) || status=1
fi
exit $status
