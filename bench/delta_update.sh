#!/usr/bin/env bash
# Delta updates (issue 12): how many artifact bytes `wisp pull` moves to update a model whose
# classifier weights changed. Builds the two versions of tests/support/delta_models.h (four
# 1024x1024 int8 FULLY_CONNECTED layers and a 100-way classifier; version 2 differs only in the
# classifier's weights), publishes version 1 to the release wisp-server on loopback, pulls it,
# publishes version 2 on the same channel and pulls again. Prints the artifact's size, the bytes
# the update fetched (the client's count and the server's wisp_artifact_bytes_sent_total delta,
# which must agree), the ratio, and the version manifest's size (the chunk list it carries).
# A byte count, not a timing; the target is a ratio <= 15%.
#   bench/delta_update.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cli=build/native/native/cli/wisp
tool=build/native/tests/support/wisp_delta_models
if [[ ! -x build/native/native/server/wisp-server || ! -x $cli || ! -x $tool ]]; then
  cmake --preset native >/dev/null
  cmake --build build/native -j2 --target wisp-server wisp wisp_delta_models >/dev/null
fi
source bench/lib/wisp_server.sh
bench_workdir wisp-delta
"$tool" models "$work"
start_wisp_server "$work" 2 "$work/v1.wisp" cls || exit 1
url=$wisp_url
sent() { curl -fsS "$url/metrics" | awk '$1 == "wisp_artifact_bytes_sent_total" { print $2 }'; }
field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

"$cli" pull "$url" cls --dir "$work/cache" --json > "$work/pull1.json"
WISP_TOKEN=$wisp_token "$cli" publish "$url" "$work/v2.wisp" --name cls --channel stable >/dev/null
sleep 0.2  # the server counts a response once its write completes
before=$(sent)
"$cli" pull "$url" cls --dir "$work/cache" --json > "$work/pull2.json"
sleep 0.2
after=$(sent)
cmp -s "$work/cache/cls/v2/model.wisp" "$work/v2.wisp" || { echo "the pulled v2 differs from the published one" >&2; exit 1; }
full=$(stat -c %s "$work/v2.wisp")
fetched=$(field bytes_downloaded < "$work/pull2.json")
base=$(field delta_base_version < "$work/pull2.json")
manifest=$(curl -fsS "$url/v1/models/cls/versions/2" | wc -c)
chunks=$(curl -fsS "$url/v1/models/cls/versions/2" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["chunking"]["chunks"]))')
printf 'full artifact        %10d bytes (%d gear64k-v1 chunks)\n' "$full" "$chunks"
printf 'update from v%s       %10d bytes fetched (client), %d sent (server metric)\n' "$base" "$fetched" "$((after - before))"
printf 'version manifest     %10d bytes (with the chunk list)\n' "$manifest"
python3 -c "import sys; f,d=int(sys.argv[1]),int(sys.argv[2]); print(f'ratio                {100*d/f:9.1f} % (target <= 15 %)')" "$full" "$fetched"
