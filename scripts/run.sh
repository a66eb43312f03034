#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: set up, build (native + WebAssembly), classify
# the shared test images once, then start wisp-server with every model of a models directory
# published (channel stable) and the web demo, and print the URL to open. Ctrl-C stops it.
#   scripts/run.sh [--models DIR] [--port N]
set -euo pipefail
cd "$(dirname "$0")/.."
export WISP_SHARED="${WISP_SHARED:-$(cd .. && pwd)/shared}"
models="$WISP_SHARED/models"
port=8080
while (($#)); do
  case "$1" in
    --models) models="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    *) echo "usage: scripts/run.sh [--models DIR] [--port N]" >&2; exit 2 ;;
  esac
done

scripts/setup.sh
scripts/build.sh native
scripts/build.sh wasm

if [[ -d "$WISP_SHARED/images" ]]; then
  examples/classify_shared.sh
fi

bin=build/native/native
data=$(mktemp -d /tmp/wisp-data.XXXXXX)
token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$token" > "$data.token"
"$bin/server/wisp-server" --address 127.0.0.1 --port "$port" --data "$data" \
  --token-file "$data.token" --web web > "$data.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null' EXIT INT TERM
for _ in $(seq 100); do grep -q "listening on" "$data.log" && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$data.log" | head -1)
[[ -n "$url" ]] || { cat "$data.log"; exit 1; }

shopt -s nullglob
for m in "$models"/*.tflite "$models"/*.wisp; do
  name=$(basename "${m%.*}")
  if "$bin/cli/wisp" publish "$url" "$m" --name "$name" --channel stable --token "$token" >/dev/null; then
    echo "published $name (stable)"
  else
    echo "could not publish $name" >&2
  fi
done

echo
echo "wisp-server is running: open $url/demo/   (models: $url/v1/models)"
echo "operator token: $data.token    Ctrl-C to stop"
wait $server
