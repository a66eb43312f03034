#!/usr/bin/env bash
# Everything CI checks, from a fresh Debian 12 machine: set-up, release build with all tests,
# sanitizer build (ASan + UBSan) with all tests, and the WebAssembly package with its Node and
# headless-Chromium tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export WISP_SHARED="${WISP_SHARED:-$(cd .. && pwd)/shared}"

scripts/setup.sh

echo "== native release build and tests"
scripts/build.sh native
ctest --test-dir build/native --output-on-failure -j2 --timeout 900

echo "== sanitizer build (ASan + UBSan) and tests"
scripts/build.sh debug
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/debug --output-on-failure -j2 --timeout 1800 -LE slow

echo "== WebAssembly package: wasm build, Node and headless-Chromium tests"
scripts/test_web.sh
