#!/usr/bin/env bash
# Configures and builds one CMake preset: scripts/build.sh native|debug|wasm
set -euo pipefail
cd "$(dirname "$0")/.."
preset="${1:-native}"
export NODE_PATH=/usr/share/nodejs
cmake --preset "$preset" >/dev/null
cmake --build "build/$preset" -j"$(nproc)"
