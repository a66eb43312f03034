#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: set up, build, then classify the shared test
# images with every shared classifier model and print the top results.
set -euo pipefail
cd "$(dirname "$0")/.."
export WISP_SHARED="${WISP_SHARED:-$(cd .. && pwd)/shared}"

scripts/setup.sh
scripts/build.sh native
exec examples/classify_shared.sh "$@"
