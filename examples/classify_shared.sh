#!/usr/bin/env bash
# Classifies the shared test images with every shared image classifier and prints the top
# classes: a quick look that the runtime, the importer and the preprocessing work end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
S="${WISP_SHARED:-$(cd .. && pwd)/shared}"
WISP="${WISP_BIN:-build/native/native/cli/wisp}"
[[ -x "$WISP" ]] || { echo "build first: scripts/build.sh native" >&2; exit 1; }

imagenet=(mobilenet_v1_0.25_128_quant mobilenet_v2_1.0_224_quant tf2_mobilenet_v2_1.0_224_ptq)
for m in "${imagenet[@]}"; do
  for img in cat.bmp grace_hopper.bmp bird.bmp parrot.jpg dragonfly.bmp; do
    echo "== $m  $img"
    "$WISP" run "$S/models/$m.tflite" --image "$S/images/$img" \
      --labels "$S/labels/imagenet_labels.txt" --top 3 2>/dev/null | tail -n +2
  done
done

printf 'non_person\nperson\n' > /tmp/wisp_vww_labels.txt
for img in squat.bmp cat.bmp grace_hopper.bmp; do
  echo "== mlperf_tiny_vww_96_int8  $img"
  "$WISP" run "$S/models/mlperf_tiny_vww_96_int8.tflite" --image "$S/images/$img" \
    --labels /tmp/wisp_vww_labels.txt --top 2 2>/dev/null | tail -n +2
done
