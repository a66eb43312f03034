#!/usr/bin/env bash
# :predict throughput of wisp-server on loopback with wrk (Debian): raw binary requests (the
# golden input of a small model, default mlperf_tiny_vww_96_int8) at 1, 4 and 16 connections,
# several rounds each; prints the median requests/s, p99 latency and the ratio to 1 connection.
# The server keeps a pool of interpreters per model (sharing packed weights), so throughput should
# grow with connections up to the cores. Not a test.
#   bench/server_predict.sh [--model NAME] [--duration 8] [--threads 2] [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
export WISP_SHARED="${WISP_SHARED:-$(cd .. && pwd)/shared}"
name=mlperf_tiny_vww_96_int8
duration=8
threads=2
rounds=3
while (($#)); do
  case "$1" in
    --model) name="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    *) sed -n '2,7p' "$0" >&2; exit 2 ;;
  esac
done
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk" >&2; exit 1; }
[[ -x build/native/native/server/wisp-server ]] || scripts/build.sh native >/dev/null
input=$(ls "$WISP_SHARED/goldens/$name/"*.input0.bin | head -1)

source bench/lib/wisp_server.sh
bench_workdir wisp-predict
start_wisp_server "$work" "$threads" "$WISP_SHARED/models/$name.tflite" bench || exit 1
url=$wisp_url

# wrk posts the input bytes (read by the Lua script) to the version's :predict.
cat > "$work/post.lua" <<LUA
local f = assert(io.open("$input", "rb"))
wrk.body = f:read("*all")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/octet-stream"
LUA
target="$url/v1/models/bench/versions/1:predict"
curl -fsS -o /dev/null -H 'Content-Type: application/octet-stream' --data-binary "@$input" "$target"

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
declare -A rps p99
for c in 1 4 16; do
  : > "$work/rps" ; : > "$work/p99"
  for _ in $(seq "$rounds"); do
    out=$(wrk -t "$(( c < threads ? c : threads ))" -c "$c" -d "${duration}s" --latency -s "$work/post.lua" "$target")
    echo "$out" | awk '/Requests\/sec/ {print $2}' >> "$work/rps"
    echo "$out" | awk '$1 == "99%" {v=$2; if (v ~ /ms$/) {sub("ms","",v)} else if (v ~ /us$/) {sub("us","",v); v/=1000} else if (v ~ /s$/) {sub("s","",v); v*=1000}; print v}' >> "$work/p99"
  done
  rps[$c]=$(median < "$work/rps")
  p99[$c]=$(median < "$work/p99")
done
echo "wisp-server :predict, $name, $threads server threads, $(nproc) cores, median of $rounds x ${duration}s"
printf '| connections | requests/s | p99 ms | vs 1 connection |\n|---|---|---|---|\n'
for c in 1 4 16; do
  printf '| %s | %.0f | %.2f | %.2fx |\n' "$c" "${rps[$c]}" "${p99[$c]}" "$(awk -v a="${rps[$c]}" -v b="${rps[1]}" 'BEGIN {print a / b}')"
done
