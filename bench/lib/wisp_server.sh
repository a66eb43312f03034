# Sourced by the wisp-server benchmarks (run from the repository root, after build/native):
#   bench_workdir PREFIX
# makes $work, a fresh directory /tmp/PREFIX.XXXXXX, and at exit kills every process whose pid is
# in bench_pids (the servers, proxies and samplers a benchmark starts) and removes $work.
#   start_wisp_server WORK THREADS MODEL NAME [SERVER OPTION...]
# starts the release wisp-server on a free loopback port with a fresh data directory and write
# token under WORK, waits until it listens, and publishes the .tflite/.wisp file MODEL as model NAME
# on channel stable. Sets wisp_pid, wisp_url and wisp_token. When the server does not come up or
# the publish fails it stops the server, prints its log and returns 1 (callers use
# `|| exit 1`, where errexit does not apply inside the function).
bench_pids=()
bench_workdir() {
  work=$(mktemp -d "/tmp/$1.XXXXXX")
  trap bench_cleanup EXIT
}
bench_cleanup() {
  local p
  for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}

start_wisp_server() {
  local work=$1 threads=$2 model=$3 name=$4
  shift 4
  wisp_token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  echo "$wisp_token" > "$work/token"
  build/native/native/server/wisp-server --address 127.0.0.1 --port 0 --data "$work/data" \
    --token-file "$work/token" --threads "$threads" --quiet "$@" > "$work/wisp.log" 2>&1 &
  wisp_pid=$!
  bench_pids+=("$wisp_pid")
  for _ in $(seq 200); do grep -q "listening on" "$work/wisp.log" && break; sleep 0.05; done
  wisp_url=$(grep -o 'http://[^ ]*' "$work/wisp.log" | head -1)
  if [[ -z "$wisp_url" ]] ||
    ! curl -fsS -o /dev/null -H "Authorization: Bearer $wisp_token" --data-binary "@$model" \
      "$wisp_url/v1/models/$name/versions?channel=stable"; then
    kill "$wisp_pid" 2>/dev/null
    cat "$work/wisp.log" >&2
    return 1
  fi
}
