#!/usr/bin/env bash
# wisp-server under load on loopback (issue 11): wrk with 256 connections (default) for 60 s on a
# mix of channel manifests (200 and, with If-None-Match, 304), artifact downloads (whole and a
# Range) and :predict on mlperf_tiny_vww_96_int8 (raw golden input). Prints requests, requests/s,
# unexpected statuses and socket errors (both must be 0), p50/p99 latency, and the server's RSS:
# the mean of the first and of the last 20 s and the growth between them (must stay < 5%), and
# its mean over each 10 s. A warm-up of the same mix runs first (--warmup, not measured): the
# model load, the interpreter pool and the caches fill in it, so the windows compare steady states.
# Not a test: a figure for the closing note, bounded in time.
#   bench/server_load.sh [--connections 256] [--duration 60] [--warmup 10] [--threads 2] [--model NAME]
set -euo pipefail
cd "$(dirname "$0")/.."
export WISP_SHARED="${WISP_SHARED:-$(cd .. && pwd)/shared}"
connections=256
duration=60
threads=2
warmup=10
name=mlperf_tiny_vww_96_int8
while (($#)); do
  case "$1" in
    --connections) connections="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --model) name="$2"; shift 2 ;;
    *) sed -n '2,8p' "$0" >&2; exit 2 ;;
  esac
done
((duration >= 45)) || { echo "--duration must be at least 45 s (RSS is compared over 20 s windows)" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk missing: apt-get install wrk" >&2; exit 1; }
[[ -x build/native/native/server/wisp-server ]] || scripts/build.sh native >/dev/null
input=$(ls "$WISP_SHARED/goldens/$name/"*.input0.bin | head -1)

source bench/lib/wisp_server.sh
bench_workdir wisp-load
sampler=
# Enough descriptors for the connections (the server raises its own soft limit too).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
start_wisp_server "$work" "$threads" "$WISP_SHARED/models/$name.tflite" load || exit 1
server=$wisp_pid
url=$wisp_url
channel="/v1/models/load/channels/stable"
etag=$(curl -fsSI "$url$channel" | awk 'tolower($1) == "etag:" {print $2}' | tr -d '\r')
[[ -n "$etag" ]] || { echo "no ETag on $channel" >&2; exit 1; }

# Request mix in wrk's Lua. wrk interleaves a thread's connections, so a reply cannot be paired
# with its request: a reply counts as unexpected unless it is 200, 206 or 304 (the statuses the
# mix asks for); any 4xx or 5xx is one.
cat > "$work/mix.lua" <<LUA
local f = assert(io.open("$input", "rb"))
local body = f:read("*all")
f:close()
local reqs = {
  wrk.format("GET", "$channel"),
  wrk.format("GET", "$channel", {["If-None-Match"] = '$etag'}),
  wrk.format("GET", "/v1/models/load/versions/1/model.wisp"),
  wrk.format("GET", "/v1/models/load/versions/1/model.wisp", {["Range"] = "bytes=1000-50999"}),
  wrk.format("POST", "/v1/models/load/versions/1:predict",
             {["Content-Type"] = "application/octet-stream"}, body),
}
-- weights: manifest 4, 304 2, artifact 1, range 1, predict 2 (of 10)
local order = {1, 5, 2, 1, 3, 5, 1, 2, 4, 1}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) n = 0; bad = 0 end
function request()
  n = n + 1
  return reqs[order[(n % #order) + 1]]
end
function response(status, headers, body)
  if status ~= 200 and status ~= 206 and status ~= 304 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + (t:get("bad") or 0) end
  io.write(string.format("unexpected_statuses %d\\n", total))
  io.write(string.format("p50_ms %.3f\\np99_ms %.3f\\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
  io.write(string.format("requests %d\\nsocket_errors %d\\n", summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
  io.write(string.format("non2xx3xx %d\\n", summary.errors.status))
end
LUA

if ((warmup > 0)); then
  wrk -t 2 -c "$connections" -d "${warmup}s" --timeout 10s -s "$work/mix.lua" "$url" > /dev/null
fi
# RSS once a second while wrk runs.
( while kill -0 "$server" 2>/dev/null; do
    awk '/VmRSS/ {print $2}' "/proc/$server/status" 2>/dev/null || true
    sleep 1
  done ) > "$work/rss" &
sampler=$!
bench_pids+=("$sampler")
wrk -t 2 -c "$connections" -d "${duration}s" --timeout 10s -s "$work/mix.lua" "$url" > "$work/wrk.txt"
kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true; sampler=

get() { awk -v k="$1" '$1 == k {print $2}' "$work/wrk.txt"; }
rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
read -r first last < <(awk -v d="$duration" '{r[NR] = $1} END {
  n = NR < d ? NR : d; f = 0; l = 0
  for (i = 1; i <= 20; i++) f += r[i]
  for (i = n - 19; i <= n; i++) l += r[i]
  print f / 20, l / 20 }' "$work/rss")
rss_steps=$(awk '{s += $1; if (NR % 10 == 0) {printf "%s%.1f", sep, s / 10240; sep = " "; s = 0}}' "$work/rss")
growth=$(awk -v a="$first" -v b="$last" 'BEGIN {printf "%.2f", 100 * (b - a) / a}')
echo "wisp-server load: $connections connections, ${duration}s, $threads server threads, $(nproc) cores"
echo "mix: channel manifest 40% (200), with If-None-Match 20% (304), artifact 10%, Range 10%, :predict $name 20%"
printf '| requests | requests/s | unexpected statuses | socket errors | p50 ms | p99 ms | RSS first 20 s | RSS last 20 s | growth |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
printf '| %s | %s | %s | %s | %s | %s | %.1f MiB | %.1f MiB | %s%% |\n' "$(get requests)" "$rps" \
  "$(get unexpected_statuses)" "$(get socket_errors)" "$(get p50_ms)" "$(get p99_ms)" \
  "$(awk -v k="$first" 'BEGIN {print k / 1024}')" "$(awk -v k="$last" 'BEGIN {print k / 1024}')" "$growth"
echo "RSS MiB, mean of each 10 s of the measured run: $rss_steps"
