#!/usr/bin/env bash
# The CUDA path of the recipes: one command on a lent GPU machine (torch + CUDA, no ../shared, no network)
# trains the GPU variants side by side and leaves the results in $OUT as split tar parts.
# Data travels prepared (see training/gpu/README.md): training/runs/carry/{denoise/,loops/bank.npz}.
#   bash training/gpu/run.sh            # MINUTES=7 of training per job by default
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD" DENOISE_CACHE="$PWD/training/runs/gpu/cache"
PY=${PY:-python3}
DEVICE=${DEVICE:-cuda}
MIN=${MINUTES:-7}
BATCH=${BATCH:-32}
R=training/runs/gpu
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$R" "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | tee "$R/hardware.txt"
$PY -c "import torch, numpy, scipy; print('torch', torch.__version__, 'numpy', numpy.__version__, 'scipy', scipy.__version__)" | tee -a "$R/hardware.txt"
nproc | tee -a "$R/hardware.txt"

$PY -m training.denoise.carry unpack --src training/runs/carry/denoise --dest "$DENOISE_CACHE" || exit 1
pids=()
dn() { # name variant aux workers
  $PY -m training.denoise.train --device "$DEVICE" --minutes "$MIN" --batch "$BATCH" --seg-frames 256 \
    --variant "$2" --aux "$3" --workers "$4" --val-every 120 --run "$R/denoise-$1" >"$R/denoise-$1.log" 2>&1 &
  pids+=($!)
}
dn small-aux small 0.02 3
dn deep-aux deep 0.02 3
dn deep deep 0 3
if [ -f training/runs/carry/loops/bank.npz ] && [ -f training/loops/train.py ]; then
  $PY -m training.loops.train --device "$DEVICE" --minutes "$MIN" --size large-keyed --bank training/runs/carry/loops/bank.npz \
    --batch 48 --workers "${LOOPS_WORKERS:-6}" --run "$R/loops" --ema-out "$R/loops-ema" >"$R/loops.log" 2>&1 &
  pids+=($!)
fi
# Progress while waiting: the last line of each log every minute.
while kill -0 "${pids[@]}" 2>/dev/null; do
  sleep 60
  for f in "$R"/*.log; do echo "$(basename "$f"): $(tail -n 1 "$f")"; done
  nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader 2>/dev/null
done
wait
for f in "$R"/*.log; do echo "== $f"; grep -E '^val|^done|^param|Error|error' "$f" | tail -n 12; done
# Ship EMA weights only: the better of the two deep denoisers (validation SI-SDR at one step), the small
# one and the loops EMA parts, as tar parts of <= 15 MB (the machine returns <= 64 MB).
$PY - "$R" <<'PY'
import sys, torch, pathlib, shutil
r = pathlib.Path(sys.argv[1])
val = {}
for ck in sorted(r.glob("denoise-*/best.pt")):
    c = torch.load(ck, map_location="cpu")
    val[ck.parent.name] = c["val"]["euler1"]
    print("best", ck.parent.name, "step", c["step"], c["val"])
deep = [k for k in val if k.startswith("denoise-deep")]
if len(deep) == 2:
    worse = min(deep, key=lambda k: val[k])
    print("dropping the weights of", worse)
    (r / worse / "best.pt").unlink()
PY
rm -rf "$R/loops"/*.pt "$R/cache"
find "$R" -name ckpt.pt -delete
tar czf - "$R" | split -b 15M - "$OUT/gpu.tgz.part-"
ls -la "$OUT"
