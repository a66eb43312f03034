#!/usr/bin/env bash
# Native Wisp against XNNPACK 2022 (Debian libxnnpack-dev) on MobileNetV2-1.0-224, in the same run:
#   - XNNPACK: $WISP_SHARED/limits/mbv2_xnn.cpp (subgraph runtime, random weights; read from the
#     shared folder and compiled into build/bench/, never copied), its end-to-end medians for qs8
#     (per-tensor int8) and qc8 (per-channel int8, the scheme of tf2_mobilenet_v2_1.0_224_ptq),
#     1 and 2 threads;
#   - Wisp: `wisp bench --json` on tf2_mobilenet_v2_1.0_224_ptq at the best ISA level and forced to
#     WISP_ISA=avx2, and on mobilenet_v2_1.0_224_quant (uint8; XNNPACK's nearest figure is qs8) and
#     movenet_single_pose_lightning_ptq (no XNNPACK figure), 1 and 2 threads;
#   - XNNPACK again with AVX-512 hidden from it (bench/xnnpack_avx2_only.c, LD_PRELOAD): the AVX2
#     kernels it runs on a CPU without VNNI or AVX-512, the like-for-like peer of WISP_ISA=avx2.
# The two sides alternate --rounds times (default 5) so that a noisy neighbour hits both alike.
# Per configuration it prints the median of the rounds' medians and the lowest round median,
# Wisp/XNNPACK ratios for both, and 2-thread/1-thread speed-ups.
# Then every other shared int8/uint8 model on Wisp's kernels against the XNNPACK backend in one
# process (bench/backends.sh: XNNPACK takes what it runs exactly), and wisp-server :predict
# requests/s at 1, 4 and 16 connections (bench/server_predict.sh); --quick skips those two.
#   bench/native_vs_xnnpack.sh [--rounds 5] [--runs 50] [--no-build] [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
export WISP_SHARED="${WISP_SHARED:-$(cd .. && pwd)/shared}"
rounds=5
runs=50
build=1
quick=0
while (($#)); do
  case "$1" in
    --quick) quick=1; shift ;;
    --rounds) rounds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    *) sed -n '2,18p' "$0" >&2; exit 2 ;;
  esac
done
[[ -f /usr/include/xnnpack.h ]] || { echo "XNNPACK missing: apt-get install libxnnpack-dev" >&2; exit 1; }
src="$WISP_SHARED/limits/mbv2_xnn.cpp"
[[ -f "$src" ]] || { echo "$src not found (set WISP_SHARED)" >&2; exit 1; }

if ((build)); then
  cmake --preset native >/dev/null
  cmake --build build/native -j2 --target wisp >/dev/null
fi
wisp=build/native/native/cli/wisp
mkdir -p build/bench
xnn=build/bench/mbv2_xnn
if [[ ! -x "$xnn" || "$src" -nt "$xnn" ]]; then
  g++ -O2 -std=c++17 -I"$WISP_SHARED/limits" -o "$xnn" "$src" -lXNNPACK -lpthreadpool -lcpuinfo \
    -pthread
fi
shim=build/bench/xnnpack_avx2_only.so
if [[ ! -f "$shim" || bench/xnnpack_avx2_only.c -nt "$shim" ]]; then
  gcc -O2 -Wall -Wextra -shared -fPIC -o "$shim" bench/xnnpack_avx2_only.c -ldl
fi

models="$WISP_SHARED/models"
out=$(mktemp -d /tmp/wisp-xnn.XXXXXX)
trap 'rm -rf "$out"' EXIT
# Wisp configurations: name | model | WISP_ISA ('' = best) | threads
configs=(
  "mbv2_ptq|tf2_mobilenet_v2_1.0_224_ptq||1"
  "mbv2_ptq|tf2_mobilenet_v2_1.0_224_ptq||2"
  "mbv2_ptq avx2|tf2_mobilenet_v2_1.0_224_ptq|avx2|1"
  "mbv2_ptq avx2|tf2_mobilenet_v2_1.0_224_ptq|avx2|2"
  "mbv2_quant u8|mobilenet_v2_1.0_224_quant||1"
  "mbv2_quant u8|mobilenet_v2_1.0_224_quant||2"
  "movenet|movenet_single_pose_lightning_ptq||1"
  "movenet|movenet_single_pose_lightning_ptq||2"
)

echo "machine: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); wisp $($wisp bench \
  "$models/tf2_mobilenet_v2_1.0_224_ptq.tflite" --runs 1 --warmup 0 | grep microkernels)" >&2
for ((r = 1; r <= rounds; r++)); do
  echo "round $r/$rounds: XNNPACK (about 40 s) ..." >&2
  "$xnn" "$out/per_layer.csv" > "$out/xnn.$r.txt"
  echo "round $r/$rounds: XNNPACK, AVX2 kernels (about 40 s) ..." >&2
  LD_PRELOAD="$PWD/$shim" "$xnn" "$out/per_layer.csv" > "$out/xnn_avx2.$r.txt"
  echo "round $r/$rounds: Wisp ..." >&2
  for c in "${configs[@]}"; do
    IFS='|' read -r name model isa threads <<< "$c"
    if [[ -n "$isa" ]]; then
      WISP_ISA="$isa" "$wisp" bench "$models/$model.tflite" --runs "$runs" --threads "$threads" \
        --json
    else
      "$wisp" bench "$models/$model.tflite" --runs "$runs" --threads "$threads" --json
    fi | sed "s/^/$name|$threads|/" >> "$out/wisp.txt"
  done
done

python3 - "$out" "$rounds" <<'EOF'
import json, re, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
xnn = {}  # (mode, threads) -> [medians]; mode "qc8 avx2": XNNPACK with AVX-512 hidden
for r in range(1, rounds + 1):
    for suffix, tag in (("", ""), ("_avx2", " avx2")):
        for line in open(f"{out}/xnn{suffix}.{r}.txt"):
            m = re.match(r"\| (qs8|qc8|fp32)[^|]*\| (\d) \| ([\d.]+) \|", line)
            if m:
                xnn.setdefault((m.group(1) + tag, int(m.group(2))), []).append(float(m.group(3)))
wisp = {}  # (name, threads) -> [medians], isa
isa = {}
for line in open(f"{out}/wisp.txt"):
    name, threads, js = line.split("|", 2)
    j = json.loads(js)
    wisp.setdefault((name, int(threads)), []).append(j["median_ms"])
    isa[name] = j.get("isa", "?")

def stats(v):
    return statistics.median(v), min(v)

print(f"\nmedians of {rounds} rounds (ms): median of the rounds / lowest round\n")
print("| configuration | threads | median | lowest | vs XNNPACK qs8 | vs XNNPACK qc8 | vs XNNPACK qc8 AVX2 | 2T/1T speed-up |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for mode in ("qs8", "qc8", "qc8 avx2"):
    for t in (1, 2):
        if (mode, t) not in xnn:
            continue
        med, low = stats(xnn[(mode, t)])
        up = ""
        if t == 2 and (mode, 1) in xnn:
            m1, l1 = stats(xnn[(mode, 1)])
            up = f"{m1 / med:.2f} / {l1 / low:.2f}"
        label = "qc8, AVX-512 hidden (AVX2 kernels)" if mode == "qc8 avx2" else mode
        print(f"| XNNPACK 2022 {label} | {t} | {med:.3f} | {low:.3f} | | | | {up} |")
for name in dict.fromkeys(n for n, _ in wisp):
    for t in (1, 2):
        if (name, t) not in wisp:
            continue
        med, low = stats(wisp[(name, t)])
        ratios = []
        for mode in ("qs8", "qc8", "qc8 avx2"):
            # XNNPACK's AVX2 kernels are the peer of Wisp's AVX2 level only.
            if mode == "qc8 avx2" and isa[name] != "avx2":
                ratios.append("")
                continue
            if name.startswith("movenet") or (mode, t) not in xnn:
                ratios.append("–")
                continue
            xm, xl = stats(xnn[(mode, t)])
            ratios.append(f"{med / xm:.2f} / {low / xl:.2f}")
        up = ""
        if t == 2 and (name, 1) in wisp:
            m1, l1 = stats(wisp[(name, 1)])
            up = f"{m1 / med:.2f} / {l1 / low:.2f}"
        print(f"| Wisp {name} ({isa[name]}) | {t} | {med:.3f} | {low:.3f} | {ratios[0]} | {ratios[1]} | {ratios[2]} | {up} |")
print("\nratios and speed-ups: from the medians of the rounds / from the lowest rounds.")
print("XNNPACK runs MobileNetV2 with random weights; mobilenet_v2_1.0_224_quant is uint8, compared")
print("with XNNPACK's int8 figures (mbv2_xnn has no qu8 network); movenet has no XNNPACK figure.")
print("XNNPACK qc8 AVX2: the same network with AVX-512 hidden from XNNPACK (bench/xnnpack_avx2_only.c),")
print("the kernels it runs on a CPU without VNNI; the peer of Wisp's forced AVX2 level.")
EOF

((quick)) && exit 0
echo
echo "== the other shared int8/uint8 models: Wisp's kernels against the XNNPACK backend"
others=()
for m in "$models"/*.tflite; do
  case "$(basename "$m")" in
    *float*|tf2_mobilenet_v2_1.0_224_ptq.tflite) ;;
    *) others+=("$m") ;;
  esac
done
bench/backends.sh --rounds "$rounds" --runs "$runs" --threads "1 2" "${others[@]}"
echo
echo "== wisp-server :predict on loopback"
bench/server_predict.sh --rounds 3
