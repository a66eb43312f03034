#!/usr/bin/env bash
# The WebAssembly package: builds both wasm variants (SIMD128, SIMD128 + pthreads) into web/dist,
# then runs the Node tests (API + every golden case + loadFromServer against the real wisp-server)
# and the headless-Chromium tests (including the demo served by wisp-server, the demo's overlays
# checked by pixels: web/test/browser/demo.test.mjs, and the package
# bundled by esbuild and Vite, in a plain module page, module/shared Workers and an AudioWorklet:
# web/test/browser/bundlers.test.mjs; web/README.md's esbuild lines and Vite dev-server config run as
# written from an `npm pack` install: web/test/browser/bundler_recipes.test.mjs; its esbuild recipe for
# Node: web/test/node/bundle_node.test.mjs; the READMEs' JS snippets: web/test/node/readme.test.mjs;
# the demo driven with a user's own dropped/picked files and a fake-microphone recording), checks
# that `npm pack` ships the package files, and prints the size of each .wasm / JS file.
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

echo "== native wisp-server, CLI and the delta-update models (the server tests publish models and serve web/ with them)"
cmake --preset native >/dev/null
cmake --build build/native -j"$(nproc)" --target wisp-server wisp wisp_delta_models
# The loadFromServer / demo-from-wisp-server tests must run here, never skip silently.
export WISP_REQUIRE_SERVER_TESTS=1

echo "== wasm build (both variants -> web/dist)"
cmake --preset wasm >/dev/null
cmake --build build/wasm -j"$(nproc)"

echo "== sizes (bytes: raw / gzip -9)"
for f in web/dist/wisp_simd.wasm web/dist/wisp_relaxed.wasm web/dist/wisp_simd_mt.wasm web/dist/wisp_relaxed_mt.wasm \
         web/dist/wisp_simd.mjs web/dist/wisp_simd_mt.mjs web/dist/wisp_simd_mt.worker.js \
         web/dist/wisp.bundle.mjs web/src/wisp.mjs web/src/worker.mjs web/src/image.mjs; do
  printf '  %-32s %9d %9d\n' "${f#web/}" "$(stat -c %s "$f")" "$(gzip -9 -c "$f" | wc -c)"
done
# The size budget (issue 9): every .wasm variant at most 250 KB (250,000 bytes) after gzip -9.
for f in web/dist/wisp_*.wasm; do
  gz=$(gzip -9 -c "$f" | wc -c)
  if ((gz > 250000)); then
    echo "${f#web/} is $gz bytes after gzip -9: over the 250,000-byte budget" >&2
    exit 1
  fi
done

echo "== npm pack: install the tarball into a scratch project and run a model from it"
pack_dir=$(mktemp -d)
trap 'rm -rf "$pack_dir"' EXIT
tarball=$(cd web && npm pack --silent --pack-destination "$pack_dir" | tail -1)
packed_files=$(tar -tzf "$pack_dir/$tarball")
sed 's/^/  /' <<<"$packed_files"
if ! grep -qx 'package/dist/wisp.bundle.mjs' <<<"$packed_files"; then
  echo "the package lacks dist/wisp.bundle.mjs (wasm/bundle.mjs, run by the wasm build)" >&2
  exit 1
fi
mkdir -p "$pack_dir/app"
(cd "$pack_dir/app" && echo '{"name":"app","private":true,"type":"module"}' > package.json &&
  npm install --offline --no-audit --no-fund --silent "../$tarball" &&
  timeout 300 node --input-type=module -e "
    import { Wisp } from 'wisp-runtime';
    import { topK } from 'wisp-runtime/image';
    const model = process.env.WISP_SHARED + '/models/mlperf_tiny_vww_96_int8.tflite';
    for (const threads of [1, 2]) {
      const rt = await Wisp.create({ threads });
      const m = await rt.load(model);
      const [out] = await m.run(new Int8Array(96 * 96 * 3));
      if (!(out.data instanceof Int8Array) || out.data.length !== 2) throw new Error('bad output');
      console.log('  installed package OK:', rt.variant.name, 'threads', rt.variant.numThreads, 'top', topK(out.data, 1)[0]);
      rt.dispose();
    }")
# The same installed package, bundled for the web: the browser entry must bring no node: import.
esbuild_bin="$PWD/web/node_modules/.bin/esbuild"
(cd "$pack_dir/app" && printf "import { Wisp } from 'wisp-runtime';\nglobalThis.wisp = Wisp;\n" > browser.mjs &&
  "$esbuild_bin" browser.mjs --bundle --format=esm --platform=browser --log-level=warning --outfile=browser.out.mjs)
if grep -Eq "from ?[\"']node:|import\([\"']node:|require\([\"']node:" "$pack_dir/app/browser.out.mjs"; then
  echo "the browser bundle of the installed package imports node: modules" >&2
  exit 1
fi
echo "  installed package bundled for the browser by esbuild: no node: imports"

status=0
echo "== WebAssembly microkernel tests (every microkernel against the reference)"
tests_dir=build/wasm/wasm/tests
timeout 600 node wasm/run_wasm_main.mjs "$tests_dir/microkernel_tests_simd.mjs" || status=1
# Node 20: relaxed SIMD behind a flag, and Liftoff miscompiles the relaxed dot product; its engine
# reads the operands differently from Chromium's, so the relaxed kernels run on 7-bit operands.
timeout 600 node --experimental-wasm-relaxed-simd --no-liftoff wasm/run_wasm_main.mjs \
  "$tests_dir/microkernel_tests_relaxed.mjs" || status=1
if [[ "${WISP_WEB_SKIP_BROWSER:-0}" != 1 ]]; then
  # Chromium: full-range operands where its relaxed dot product is VNNI-style (x86 with AVX-VNNI),
  # 7-bit ones where it lowers to a saturating vpmaddubsw (Zen 4 and older); relaxed_madd fused.
  timeout 600 node wasm/run_wasm_main.mjs --browser "$tests_dir/microkernel_tests_relaxed.mjs" || status=1
fi

echo "== node tests"
(cd web && timeout 2400 node --test --test-reporter=spec test/node/) || status=1
echo "== node golden tests on the threaded variant (2 threads)"
(cd web && WISP_GOLDEN_THREADS=2 timeout 2400 node --test --test-reporter=spec test/node/golden.test.mjs) || status=1

if [[ "${WISP_WEB_SKIP_BROWSER:-0}" != 1 ]]; then
  echo "== chromium tests"
  (cd web && timeout 1500 node --test --test-reporter=spec test/browser/) || status=1
fi
exit $status
