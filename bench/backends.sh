#!/usr/bin/env bash
# Wisp's kernels against the optional XNNPACK backend (WISP_XNNPACK) on every model in
# $WISP_SHARED/models (or the .tflite/.wisp files given), in one process per model and round:
# `wisp bench --backend both` alternates the two interpreters run by run and fails if their
# outputs differ. Prints, per model and thread count, the lower median of the rounds' medians for
# each backend, their ratio (xnnpack / wisp; above 1: Wisp is faster) and how many operators
# XNNPACK took.
#   bench/backends.sh [--rounds 3] [--runs 30] [--threads "1 2"] [model ...]
set -euo pipefail
cd "$(dirname "$0")/.."
export WISP_SHARED="${WISP_SHARED:-$(cd .. && pwd)/shared}"
rounds=3
runs=30
threads="1 2"
models=()
while (($#)); do
  case "$1" in
    --rounds) rounds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    -*) sed -n '2,9p' "$0" >&2; exit 2 ;;
    *) models+=("$1"); shift ;;
  esac
done
((${#models[@]})) || models=("$WISP_SHARED"/models/*.tflite)
wisp=build/native/native/cli/wisp
[[ -x "$wisp" ]] || { echo "build first: cmake --preset native && cmake --build build/native" >&2; exit 1; }

out=$(mktemp /tmp/wisp-backends.XXXXXX)
trap 'rm -f "$out"' EXIT
echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for ((r = 1; r <= rounds; r++)); do
  for m in "${models[@]}"; do
    for t in $threads; do
      echo "round $r/$rounds: $(basename "$m") threads $t" >&2
      "$wisp" bench "$m" --backend both --runs "$runs" --threads "$t" --json >> "$out"
    done
  done
done

python3 - "$out" <<'PY'
import json, statistics, sys, os
rows = {}
for line in open(sys.argv[1]):
    j = json.loads(line)
    key = (os.path.basename(j["model"]).rsplit(".", 1)[0], j["threads"])
    rows.setdefault(key, {}).setdefault(j["backend"], []).append(j)
print(f"{'model':<40} {'thr':>3} {'wisp ms':>9} {'xnnpack ms':>10} {'xnn/wisp':>8}  ops on xnnpack")
for (model, t), b in sorted(rows.items()):
    w = statistics.median_low([j["median_ms"] for j in b["wisp"]])
    x = statistics.median_low([j["median_ms"] for j in b["xnnpack"]])
    last = b["xnnpack"][-1]
    same = all(j.get("outputs_identical") for j in b["xnnpack"])
    print(f"{model:<40} {t:>3} {w:9.3f} {x:10.3f} {x / w:8.2f}  {last['ops_on_backend']}/{last['ops']}"
          + ("" if same else "  OUTPUTS DIFFER"))
PY
