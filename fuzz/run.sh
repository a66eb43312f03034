#!/usr/bin/env bash
# Builds (if needed) and runs every libFuzzer target for SECONDS each. The targets live in the
# sanitizer build (`cmake --preset debug`: clang 16, ASan + UBSan + coverage), which the test
# command builds anyway, so the short runs in scripts/test.sh cost no build of their own:
#   fuzz/run.sh [SECONDS]            default 60
#   FUZZ_TARGETS="handler_fuzzer" fuzz/run.sh 600   only some targets
# Seed corpora are made at run time from $WISP_SHARED (models converted to .wisp, images) plus the
# requests and documents kept in fuzz/corpus/<target>/; what a run discovers stays in
# build/debug/corpus/<target>/ for the next run. Crash, leak, timeout and out-of-memory inputs are
# written to build/debug/findings/<target>/. Prints executions, edges covered (libFuzzer's cov:) and
# findings per target; exits non-zero when any target found anything.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
export WISP_SHARED="${WISP_SHARED:-$(cd .. && pwd)/shared}"
build=build/debug
targets=(${FUZZ_TARGETS:-wisp_load_fuzzer tflite_import_fuzzer invoke_fuzzer image_decode_fuzzer
  predict_json_fuzzer token_file_fuzzer manifest_fuzzer handler_fuzzer})

[[ -f $build/build.ninja ]] || cmake --preset debug >/dev/null
cmake --build "$build" --target wisp_fuzzers -j2 >/dev/null

# Seeds. Only the smaller models: libFuzzer reads every seed at start-up and large ones would use
# the whole run (inputs are capped at max_len bytes anyway).
seeds="$build/seeds"
rm -rf "$seeds"
mkdir -p "$seeds"/{tflite,wisp,image}
for m in "$WISP_SHARED"/models/*.tflite; do
  [[ $(stat -c %s "$m") -le 400000 ]] || continue
  cp "$m" "$seeds/tflite/"
  "$build/native/cli/wisp" convert "$m" "$seeds/wisp/$(basename "${m%.tflite}").wisp" >/dev/null
done
# The shared JPEG and the small BMP; fuzz/corpus/image_decode/ holds tiny PNG, BMP and PNM files
# of the variants the shared images do not cover.
for i in "$WISP_SHARED"/images/*; do
  size=$(stat -c %s "$i")
  if [[ $size -le 100000 || ($i == *.jpg && $size -le 700000) ]]; then cp "$i" "$seeds/image/"; fi
done

seed_dirs() {  # the seed directories of one target
  case "$1" in
    wisp_load_fuzzer) echo "$seeds/wisp" ;;
    tflite_import_fuzzer) echo "$seeds/tflite" ;;
    invoke_fuzzer) echo "$seeds/tflite $seeds/wisp" ;;
    image_decode_fuzzer) echo "$seeds/image fuzz/corpus/image_decode" ;;
    *) echo "fuzz/corpus/${1%_fuzzer}" ;;
  esac
}
options() {  # per-target bounds and dictionary
  case "$1" in
    wisp_load_fuzzer | tflite_import_fuzzer | invoke_fuzzer)
      echo "-max_len=400000 -dict=fuzz/flatbuffers.dict" ;;
    image_decode_fuzzer) echo "-max_len=700000 -dict=fuzz/image.dict" ;;
    handler_fuzzer) echo "-max_len=16384 -dict=fuzz/http.dict" ;;
    predict_json_fuzzer | manifest_fuzzer) echo "-max_len=16384 -dict=fuzz/json.dict" ;;
    *) echo "-max_len=4096" ;;
  esac
}

status=0
summary=()
for t in "${targets[@]}"; do
  corpus="$build/corpus/$t"
  findings="$build/findings/$t"
  log="$build/logs/$t.log"
  mkdir -p "$corpus" "$findings" "$(dirname "$log")"
  rc=0
  # shellcheck disable=SC2046  # seed_dirs and options are word lists
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$build/fuzz/$t" "$corpus" $(seed_dirs "$t") $(options "$t") -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$findings/" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  found=$(grep -cE '^==[0-9]+==ERROR|runtime error:|^SUMMARY: libFuzzer' "$log" || true)
  if ((rc != 0 || found != 0)); then
    status=1
    found=$((found > 0 ? found : 1))
    echo "fuzz: $t FAILED (exit $rc), see $log; inputs in $findings/" >&2
    grep -m5 -E 'ERROR|runtime error|SUMMARY|Test unit written' "$log" >&2 || true
  fi
  summary+=("$(printf '%-22s execs %10s  cov %6s  findings %s' "$t" "${execs:-0}" "${cov:-0}" "$found")")
done
printf '%s\n' "fuzz: ${seconds}s per target" "${summary[@]}"
exit $status
