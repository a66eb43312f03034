#!/usr/bin/env bash
# wisp-server against nginx (Debian) on loopback, in the same run, with wrk (Debian):
#   - the channel manifest, 200 (no validator) and 304 (If-None-Match with the server's ETag);
#   - the artifact of a model (default tf2_mobilenet_v2_1.0_224_ptq, ~3.6 MB as .wisp).
# nginx serves the very same bytes as static files from disk (the manifest JSON as wisp-server
# rendered it, the artifact as downloaded from wisp-server) with the same number of workers as
# wisp-server has threads. Prints requests/s and p99 latency for each, and wisp/nginx ratios.
# Each row alternates the two servers --rounds times (default 3) and reports the medians, so a
# noisy neighbour on the machine hits both alike.
#   bench/server_vs_nginx.sh [--model FILE.tflite] [--duration 10] [--connections 32] [--threads 2]
#                            [--rounds 3]
set -euo pipefail
cd "$(dirname "$0")/.."
export WISP_SHARED="${WISP_SHARED:-$(cd .. && pwd)/shared}"
model="$WISP_SHARED/models/tf2_mobilenet_v2_1.0_224_ptq.tflite"
duration=10
connections=32
threads=2
rounds=3
while (($#)); do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    *) sed -n '2,12p' "$0" >&2; exit 2 ;;
  esac
done
for tool in wrk nginx curl; do
  command -v "$tool" >/dev/null || [[ -x "/usr/sbin/$tool" ]] || { echo "$tool missing: apt-get install wrk nginx-light curl" >&2; exit 1; }
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x build/native/native/server/wisp-server ]] || scripts/build.sh native >/dev/null

source bench/lib/wisp_server.sh
bench_workdir wisp-bench

# --- wisp-server, with the model published on stable
start_wisp_server "$work" "$threads" "$model" bench || exit 1
manifest_path=/v1/models/bench/channels/stable
artifact_path=/v1/models/bench/versions/1/model.wisp

# --- nginx with the same bytes at the same paths
root="$work/www"
chmod 755 "$work"  # nginx workers run as an unprivileged user when started by root
mkdir -p "$root/v1/models/bench/channels" "$root/v1/models/bench/versions/1"
curl -fsS -o "$root$manifest_path" "$wisp_url$manifest_path"
curl -fsS -o "$root$artifact_path" "$wisp_url$artifact_path"
nginx_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
mkdir -p "$work/nginx"
cat > "$work/nginx/nginx.conf" <<EOF
worker_processes $threads;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000;
  types { application/json json; application/octet-stream wisp; }
  default_type application/json;
  client_body_temp_path $work/nginx/body; proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi; uwsgi_temp_path $work/nginx/uwsgi; scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    root $root;
  }
}
EOF
"$nginx_bin" -c "$work/nginx/nginx.conf" -g 'daemon off;' 2> "$work/nginx/stderr" &
bench_pids+=($!)
nginx_url="http://127.0.0.1:$nginx_port"
for _ in $(seq 100); do curl -fsS -o /dev/null "$nginx_url$manifest_path" 2>/dev/null && break; sleep 0.05; done

etag() { curl -fsS -D - -o /dev/null "$1" | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p'; }
wisp_etag=$(etag "$wisp_url$manifest_path")
nginx_etag=$(etag "$nginx_url$manifest_path")
cmp -s <(curl -fsS "$wisp_url$artifact_path") <(curl -fsS "$nginx_url$artifact_path") ||
  { echo "nginx and wisp-server do not serve the same artifact bytes" >&2; exit 1; }
[[ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $wisp_etag" "$wisp_url$manifest_path")" == 304 ]] || { echo "no 304 from wisp-server" >&2; exit 1; }
[[ "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $nginx_etag" "$nginx_url$manifest_path")" == 304 ]] || { echo "no 304 from nginx" >&2; exit 1; }

# wrk_run CONNECTIONS URL [HEADER]: prints "requests/s p99_ms"
wrk_run() {
  local conns="$1" url="$2" header="${3:-}" out
  if [[ -n "$header" ]]; then
    out=$(wrk -t"$threads" -c"$conns" -d"${duration}s" --latency -H "$header" "$url")
  else
    out=$(wrk -t"$threads" -c"$conns" -d"${duration}s" --latency "$url")
  fi
  if grep -q "Non-2xx or 3xx" <<<"$out"; then echo "wrk saw errors for $url:" >&2; echo "$out" >&2; exit 1; fi
  local rps p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' <<<"$out")
  echo "$rps $p99"
}

printf 'model: %s (artifact %d bytes)\n' "$(basename "$model")" "$(stat -c %s "$root$artifact_path")"
printf 'wrk: %s threads, %ss per run, median of %s alternating rounds; servers: %s threads (wisp-server) / %s workers (nginx %s)\n' \
  "$threads" "$duration" "$rounds" "$threads" "$threads" "$("$nginx_bin" -v 2>&1 | sed 's/.*nginx\///')"
printf '\n| %-26s | %5s | %14s | %10s | %14s | %10s | %8s |\n' "request" "conns" "wisp req/s" "wisp p99" "nginx req/s" "nginx p99" "ratio"
printf '|%s|\n' "----------------------------|-------|----------------|------------|----------------|------------|----------"
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
row() {
  local label="$1" conns="$2" wisp_args=("${@:3:2}") nginx_args=("${@:5:2}") w n i
  local -a w_rps=() w_p99=() n_rps=() n_p99=()
  for ((i = 0; i < rounds; i++)); do
    read -r -a w < <(wrk_run "$conns" "${wisp_args[@]}")
    read -r -a n < <(wrk_run "$conns" "${nginx_args[@]}")
    w_rps+=("${w[0]}"); w_p99+=("${w[1]}"); n_rps+=("${n[0]}"); n_p99+=("${n[1]}")
  done
  local wr wp nr np
  wr=$(printf '%s\n' "${w_rps[@]}" | median); wp=$(printf '%s\n' "${w_p99[@]}" | median)
  nr=$(printf '%s\n' "${n_rps[@]}" | median); np=$(printf '%s\n' "${n_p99[@]}" | median)
  printf '| %-26s | %5s | %14.0f | %8.2fms | %14.0f | %8.2fms | %7.0f%% |\n' "$label" "$conns" "$wr" "$wp" "$nr" "$np" \
    "$(awk -v a="$wr" -v b="$nr" 'BEGIN {print 100 * a / b}')"
}
# Interleaved per row so both servers see the same machine conditions.
row "channel manifest 200" "$connections" "$wisp_url$manifest_path" "" "$nginx_url$manifest_path" ""
row "channel manifest 304" "$connections" "$wisp_url$manifest_path" "If-None-Match: $wisp_etag" \
  "$nginx_url$manifest_path" "If-None-Match: $nginx_etag"
row "artifact 200 (identity)" 8 "$wisp_url$artifact_path" "" "$nginx_url$artifact_path" ""
