#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine is missing to build and test Wisp. Idempotent: packages
# already present are not touched, so a second run costs a few dpkg queries.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  clang-16 libclang-rt-16-dev
  flatbuffers-compiler libflatbuffers-dev libgtest-dev
  libjpeg62-turbo-dev libpng-dev zlib1g-dev
  libboost-dev libboost-system-dev libssl-dev nlohmann-json3-dev libcli11-dev
  libxnnpack-dev libpthreadpool-dev libcpuinfo-dev
  emscripten
  chromium
  wrk nginx-light openssl curl
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node and npm may come from outside Debian (images often ship a newer npm that conflicts with
# Debian's package): only install them when the commands are missing.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# JS tooling (playwright-core drives Debian's chromium; no browser is ever downloaded).
if [[ -f web/package-lock.json ]]; then
  if [[ ! -d web/node_modules ]] || [[ web/package-lock.json -nt web/node_modules ]]; then
    (cd web && npm ci --ignore-scripts --no-audit --no-fund)
  fi
fi
