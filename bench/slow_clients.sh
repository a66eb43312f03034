#!/usr/bin/env bash
# 1,000 slow clients against wisp-server on loopback (issue 11): ordinary requests' latency alone
# and while the slow connections dribble a header or a :predict body one byte a second, and
# whether the server's read timeouts close every slow connection (bench/slow_clients.py).
# A second run starts the server with a descriptor limit below the slow clients' count
# (`ulimit -n 256`) to show that hitting it is survived: a log line says so, and ordinary requests
# succeed again once the timeouts have closed the slow connections.
# Not a test: figures for the closing note, bounded in time (about 2 minutes).
#   bench/slow_clients.sh [--slow 1000] [--header-timeout-ms 10000] [--body-timeout-ms 20000]
set -euo pipefail
cd "$(dirname "$0")/.."
export WISP_SHARED="${WISP_SHARED:-$(cd .. && pwd)/shared}"
slow=1000
header_ms=10000
body_ms=20000
while (($#)); do
  case "$1" in
    --slow) slow="$2"; shift 2 ;;
    --header-timeout-ms) header_ms="$2"; shift 2 ;;
    --body-timeout-ms) body_ms="$2"; shift 2 ;;
    *) sed -n '2,9p' "$0" >&2; exit 2 ;;
  esac
done
[[ -x build/native/native/server/wisp-server ]] || scripts/build.sh native >/dev/null
name=mlperf_tiny_vww_96_int8
hold=$(((header_ms > body_ms ? header_ms : body_ms) / 1000 + 15))
source bench/lib/wisp_server.sh
bench_workdir wisp-slow
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
timeouts=(--header-timeout-ms "$header_ms" --body-timeout-ms "$body_ms")
status=0

echo "== default descriptor limit (the server raises its soft limit at start-up)"
mkdir "$work/a"
start_wisp_server "$work/a" 2 "$WISP_SHARED/models/$name.tflite" "$name" "${timeouts[@]}" || exit 1
server=$wisp_pid
python3 bench/slow_clients.py --url "$wisp_url" --model "$name" --slow "$slow" --hold "$hold" ||
  status=1
kill "$server"; wait "$server" 2>/dev/null || true; server=

echo "== server limited to 256 descriptors (soft and hard), $slow slow clients"
mkdir "$work/b"
# The limit applies to the server only: the subshell lowers it before starting the server.
( ulimit -n 256 && start_wisp_server "$work/b" 2 "$WISP_SHARED/models/$name.tflite" "$name" \
    "${timeouts[@]}" && echo "$wisp_pid $wisp_url" > "$work/b/started" && wait "$wisp_pid" ) &
for _ in $(seq 200); do [[ -s "$work/b/started" ]] && break; sleep 0.05; done
[[ -s "$work/b/started" ]] || { echo "server did not start" >&2; cat "$work/b/wisp.log" >&2; exit 1; }
read -r server url < "$work/b/started"
bench_pids+=("$server")  # started in a subshell: its own list does not reach this one
# Ordinary requests fail while the descriptors are exhausted (that is the limit); what matters is
# that the server says so, stays up, and serves again after its timeouts free the descriptors.
python3 bench/slow_clients.py --url "$url" --model "$name" --slow "$slow" --hold "$hold" \
  --baseline 3 | grep -Ev "failed ordinary request|PASS|FAIL:" || true
if curl -fsS -o /dev/null "$url/v1/models/$name/channels/stable"; then
  echo "  after the slow clients: ordinary requests are served again"
else
  echo "  FAIL: the server does not answer after the slow clients were closed"; status=1
fi
if grep -Eiq "descriptor|connection limit|EMFILE|too many open" "$work/b/wisp.log"; then
  echo "  server log: $(grep -Ei "descriptor|connection limit|EMFILE|too many open" "$work/b/wisp.log" | head -2 | tr '\n' ' ')"
else
  echo "  FAIL: no log line about the descriptor or connection limit"; status=1
fi
exit "$status"
