#!/usr/bin/env bash
# One-command reproduction of models/denoise: cache -> five resumable training stages -> export ->
# parity/speed -> eval -> manifest. Run from the repo root: bash training/denoise/reproduce.sh
# Stage lengths (minutes of wall clock, 1 CPU thread each): STAGE1=46 STAGE2=40 STAGE3=60 STAGE4=75 STAGE5=50. Each stage resumes
# from its own run folder's ckpt.pt, so an interrupted run continues where it stopped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export PATH="$PWD/.tools/node_modules/.bin:$PATH"
PY=/usr/bin/python3
export PYTHONPATH=.
S1=training/runs/denoise S2=training/runs/denoise-ft S3=training/runs/denoise-ft2 S4=training/runs/denoise-ft3
S5=training/runs/denoise-music
mkdir -p "$S1" "$S2" "$S3" "$S4" "$S5"
# The music pools need the loops sample bank (fluidsynth + fluid-soundfont-gm).
[ -f training/runs/loops/bank.npz ] || $PY -m training.loops.bank
[ -f "$S1/cache/meta.json" ] || $PY -m training.denoise.prepare
[ -f "$S1/cache/music_train.npy" ] || $PY -m training.denoise.prepare --music-only
# 1. From scratch: the EDM loss only, 1 s segments.
$PY -m training.denoise.train --minutes "${STAGE1:-46}" --run "$S1" 2>&1 | tee -a "$S1/stdout.txt"
# 2. Fine-tune on 2 s segments with an SI-SDR auxiliary loss on the first-step (default) estimate.
$PY -m training.denoise.train --init "$S1/best.pt" --aux 0.02 --seg-frames 256 --batch 4 --lr 3e-4 \
  --minutes "${STAGE2:-40}" --run "$S2" 2>&1 | tee -a "$S2/stdout.txt"
# 3. The same again at a lower learning rate, mixtures made by a data worker (the 2nd core).
$PY -m training.denoise.train --init "$S2/best.pt" --aux 0.02 --seg-frames 256 --batch 4 --lr 2e-4 --workers 1 \
  --minutes "${STAGE3:-60}" --run "$S3" 2>&1 | tee -a "$S3/stdout.txt"
# 4. Longer segments (3 s), more weight on the first-step SI-SDR, training SNR narrowed to -5...15 dB (the
#    range users denoise; validation keeps the full -5...20).
$PY -m training.denoise.train --init "$S3/best.pt" --aux 0.03 --seg-frames 384 --batch 3 --lr 1.5e-4 --snr -5 15 \
  --minutes "${STAGE4:-75}" --run "$S4" 2>&1 | tee -a "$S4/stdout.txt"
# 5. Music: 40 % of the examples take a music target (sonic-pi samples, composed loops), so the model stops
#    treating music as noise; the checkpoint is chosen on speech and music validation together.
$PY -m training.denoise.train --init "$S4/best.pt" --aux 0.03 --seg-frames 384 --batch 3 --lr 1e-4 --music 0.4 \
  --seed 5000 --minutes "${STAGE5:-50}" --run "$S5" 2>&1 | tee -a "$S5/stdout.txt"
$PY -m training.denoise.export --ckpt "$S5/best.pt" --out models/denoise/model.onnx --parity "$S5/parity"
node training/denoise/onnx_check.mjs models/denoise/model.onnx "$S5/parity" 4 | tee "$S5/onnx_check.txt"
$PY -m training.denoise.evaluate --ckpt "$S5/best.pt" --steps 1 4 --json "$S5/eval.json" | tee "$S5/eval.txt"
speed="$(grep '^speed' "$S5/onnx_check.txt")"
$PY -m training.denoise.pack --ckpt "$S5/best.pt" --eval "$S5/eval.json" --steps 1 --speed "${speed#speed: }" \
  --train-info "${STAGE1:-46} + ${STAGE2:-40} + ${STAGE3:-60} + ${STAGE4:-75} + ${STAGE5:-50} min on 1 CPU thread in five stages; see training/denoise/README.md"
