#!/usr/bin/env bash
# Short recipe sweep on a GPU (used once to check the CPU recipe's hyper-parameters): each variant
# trains MAX_STEPS steps (about what the 60-minute 1-thread CPU run does), then evaluate on the 300
# held-out clips. Needs training/runs/vocoder/fsdd_wav.pt (the waveform cache). Results: $OUT/<name>/.
set -u
OUT=${OUT:-training/runs/vocoder/sweep}
MAX_STEPS=${MAX_STEPS:-7000}
MINUTES=${MINUTES:-5.5}
PY=${PY:-python3}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv || true
$PY -c "import torch; print(torch.__version__, torch.cuda.is_available())" || exit 3
# Sweep 1 (7000 steps, before the phase-derivative losses existed, i.e. W_IF = W_GD = 0): A 8.98 dB,
# B (no complex loss) 8.95, C (LR 2e-3) 8.86, D (W_LOGMAG 3) 9.06, E (16 x 1 s) 9.14 on 60 clips;
# Griffin-Lim 32 iterations 8.62 on 300 clips. Sweep 2 (SET=2, 4500 steps) adds the phase-derivative
# losses: A 9.23 (without), F 9.34, G (LR 2e-3) 9.17, H (W_IF = W_GD = 3) 9.77, J (G without complex) 9.13 on 300 clips.
# Sweep 3 (SET=3, default): integrated-IF phase (model phase='cumsum').
if [ "${SET:-2}" = 1 ]; then
declare -A V=(
  [A_base]="--set W_IF=0 --set W_GD=0"
  [B_nocplx]="--set W_COMPLEX=0 --set W_IF=0 --set W_GD=0"
  [C_lr2e-3]="--set LR=2e-3 --set W_IF=0 --set W_GD=0"
  [D_logmag3]="--set W_LOGMAG=3 --set W_IF=0 --set W_GD=0"
  [E_16x1s]="--batch 16 --crop 8000 --set W_IF=0 --set W_GD=0"
)
elif [ "${SET:-3}" = 2 ]; then
declare -A V=(
  [A_noph]="--set W_IF=0 --set W_GD=0"
  [F_ph1]=""
  [G_ph1_lr2]="--set LR=2e-3"
  [H_ph3_lr2]="--set LR=2e-3 --set W_IF=3 --set W_GD=3"
  [J_ph1_lr2_nocplx]="--set LR=2e-3 --set W_COMPLEX=0"
)
else
declare -A V=(
  [K_cum_lr2_ph1]="--set LR=2e-3 --set W_COMPLEX=0"
  [L_cum_lr2_ph0]="--set LR=2e-3 --set W_COMPLEX=0 --set W_IF=0 --set W_GD=0"
  [M_cum_lr1_ph1]="--set W_COMPLEX=0"
  [N_cum_lr2_if1]="--set LR=2e-3 --set W_COMPLEX=0 --set W_GD=0"
)
fi
for n in "${!V[@]}"; do
  $PY -m training.vocoder.train --device cuda --threads 2 --max-steps "$MAX_STEPS" --minutes "$MINUTES" --valid-every 45 \
    --run-dir "$OUT/$n" ${V[$n]} > "$OUT/$n.train.log" 2>&1 &
done
wait
for n in "${!V[@]}"; do
  $PY -m training.vocoder.evaluate --checkpoint "$OUT/$n/checkpoint.pt" --clips 300 --gl100-every 10 --no-generated \
    --out "$OUT/$n/eval.json" > "$OUT/$n.eval.log" 2>&1 &
done
wait
for n in "${!V[@]}"; do
  echo "== $n"; grep "valid step" "$OUT/$n.train.log" | tail -2; grep -A4 '"lsdDb (n_fft 2048' "$OUT/$n/eval.json"
  grep -A1 secondsPer "$OUT/$n/eval.json" | tail -1
done
[ -n "${KEEP_CKPT:-}" ] || for n in "${!V[@]}"; do cp "$OUT/$n/eval.json" "$OUT/$n.eval.json"; done; find "$OUT" -mindepth 1 -type d -exec rm -rf {} +; rm -f "$OUT"/*.eval.log
