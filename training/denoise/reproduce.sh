#!/usr/bin/env bash
# One-command reproduction of models/denoise: cache -> train (resumable) -> export -> parity/speed -> eval -> manifest.
# Run from the repo root: bash training/denoise/reproduce.sh   (MINUTES=55 by default)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export PATH="$PWD/.tools/node_modules/.bin:$PATH"
PY=/usr/bin/python3
RUN=training/runs/denoise
mkdir -p "$RUN"
[ -f "$RUN/cache/meta.json" ] || $PY -m training.denoise.prepare
$PY -m training.denoise.train --minutes "${MINUTES:-55}" 2>&1 | tee -a "$RUN/log.txt"
$PY -m training.denoise.export --ckpt "$RUN/best.pt" --out models/denoise/model.onnx --parity "$RUN/parity"
node training/denoise/onnx_check.mjs models/denoise/model.onnx "$RUN/parity" 4 | tee "$RUN/onnx_check.txt"
$PY -m training.denoise.evaluate --ckpt "$RUN/best.pt" --steps 4 --json "$RUN/eval.json" | tee "$RUN/eval.txt"
speed="$(grep '^speed' "$RUN/onnx_check.txt")"
$PY -m training.denoise.pack --eval "$RUN/eval.json" --speed "${speed#speed: }" \
  --train-info "${MINUTES:-55} min on 1 CPU thread (shared 2-core machine), batch 8 x 1 s, Adam; see $RUN/log.txt"
