#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: set up, build (native + WebAssembly), classify
# the shared test images once, then start wisp-server with every model of a models directory
# published (channel stable) and the web demo, and print the URL to open. Ctrl-C stops it.
# A classifier whose class count equals the line count of a labels file (--labels DIR, default
# ../shared/labels) is published with those labels embedded, so the demo shows class names.
#   scripts/run.sh [--models DIR] [--labels DIR] [--port N]
set -euo pipefail
cd "$(dirname "$0")/.."
export WISP_SHARED="${WISP_SHARED:-$(cd .. && pwd)/shared}"
models="$WISP_SHARED/models"
labels_dir="$WISP_SHARED/labels"
port=8080
while (($#)); do
  case "$1" in
    --models) models="$2"; shift 2 ;;
    --labels) labels_dir="$2"; shift 2 ;;
    --port) port="$2"; shift 2 ;;
    *) echo "usage: scripts/run.sh [--models DIR] [--labels DIR] [--port N]" >&2; exit 2 ;;
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

# The labels file whose line count equals the model's class count (output shape [1, N]), if any.
labels_for() {
  local classes
  classes=$("$bin/cli/wisp" inspect --json "$1" 2>/dev/null | node -e '
    let s = ""; process.stdin.on("data", (d) => { s += d; }).on("end", () => {
      try { const o = JSON.parse(s).outputs[0]; if (o.shape.length === 2 && o.shape[0] === 1) console.log(o.shape[1]); } catch {}
    });') || return 0
  [[ -n "$classes" && -d "$labels_dir" ]] || return 0
  for f in "$labels_dir"/*.txt; do
    if [[ "$(grep -c . "$f")" == "$classes" ]]; then echo "$f"; return 0; fi
  done
  return 0
}

shopt -s nullglob
mkdir -p "$data.converted"
for m in "$models"/*.tflite "$models"/*.wisp; do
  name=$(basename "${m%.*}")
  file="$m"
  labels=""
  if [[ "$m" == *.tflite ]]; then labels=$(labels_for "$m"); fi
  if [[ -n "$labels" ]]; then
    file="$data.converted/$name.wisp"
    "$bin/cli/wisp" convert "$m" "$file" --name "$name" --labels "$labels" >/dev/null
  fi
  if "$bin/cli/wisp" publish "$url" "$file" --name "$name" --channel stable --token "$token" >/dev/null; then
    echo "published $name (stable)${labels:+ with labels $(basename "$labels")}"
  else
    echo "could not publish $name" >&2
  fi
done

echo
echo "wisp-server is running: open $url/demo/   (models: $url/v1/models)"
echo "operator token: $data.token    Ctrl-C to stop"
wait $server
