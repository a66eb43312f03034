#!/usr/bin/env bash
# Everything CI checks, from a fresh Debian 12 machine: set-up, release build with all tests,
# sanitizer build (ASan + UBSan) with all tests, the thread pool, server and client tests under
# ThreadSanitizer, and the WebAssembly package with its Node and headless-Chromium tests.
# Every fuzz target runs for WISP_FUZZ_SECONDS (default 10) in the sanitizer build (fuzz/run.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
export WISP_SHARED="${WISP_SHARED:-$(cd .. && pwd)/shared}"

scripts/setup.sh

echo "== native release build and tests"
scripts/build.sh native
ctest --test-dir build/native --output-on-failure -j2 --timeout 900

echo "== sanitizer build (ASan + UBSan) and tests"
scripts/build.sh debug
# Not here (both run in the release pass above): the kill -9 fault test ('slow', 30 server
# restarts) and the goldens again under each forced ISA level ('isa'; under ASan the
# microkernel tests cover every level on random shapes).
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build/debug --output-on-failure -j2 --timeout 1800 -LE 'slow|isa'

echo "== ThreadSanitizer: thread pool, LRU cache, file helpers, server and client tests"
# Only these binaries are built (none of them needs the runtime), with clang 16's TSan runtime.
if [[ ! -f build/tsan/build.ninja ]]; then
  CC=clang-16 CXX=clang++-16 cmake -S . -B build/tsan -G Ninja -DWISP_TSAN=ON -DCMAKE_BUILD_TYPE= \
    "-DCMAKE_C_FLAGS=-O1 -gline-tables-only" "-DCMAKE_CXX_FLAGS=-O1 -gline-tables-only" >/dev/null
fi
cmake --build build/tsan -j2 --target thread_pool_tests lru_cache_tests file_io_tests wisp_server_tests wisp_client_tests
export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1"
# Reports with function names and lines (the server runs as a child process, which inherits it).
command -v llvm-symbolizer >/dev/null &&
  TSAN_OPTIONS+=" external_symbolizer_path=$(command -v llvm-symbolizer)"
build/tsan/tests/platform/thread_pool_tests --gtest_brief=1
build/tsan/tests/platform/lru_cache_tests --gtest_brief=1
build/tsan/tests/platform/file_io_tests --gtest_brief=1
# Not here: the kill -9 durability test, which expects several publishes acknowledged within
# 150-500 ms of starting a server process; TSan makes that process too slow for the window (and
# the test is about fsync ordering across a crash, not about threads).
build/tsan/tests/server/wisp_server_tests --gtest_brief=1 \
  --gtest_filter=-ServerProcessTest.KillDashNineDuringPublishesLosesNothingAcknowledged
build/tsan/tests/client/wisp_client_tests --gtest_brief=1

echo "== fuzzing: every target for ${WISP_FUZZ_SECONDS:-10}s (in the sanitizer build above)"
fuzz/run.sh "${WISP_FUZZ_SECONDS:-10}"

echo "== WebAssembly package: wasm build, Node and headless-Chromium tests"
scripts/test_web.sh
