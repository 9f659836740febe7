"""Times the PyTorch reference sampler (eager mode, the same weights as the ONNX export) for the
generation benchmark (bench/generate.ts). Prints one JSON object.

/usr/bin/python3 -m training.parity.time_reference digits --steps 25 --sampler dpmpp_2m --repeats 3
/usr/bin/python3 -m training.parity.time_reference loops --steps 25 [--frames 252] [--run training/runs/loops/small]
/usr/bin/python3 -m training.parity.time_reference digits --serve   # one timed run per stdin line (below)

--serve keeps the model loaded and answers each stdin line {"sampler", "steps", "seed"} with one line
{"seconds"}: the bench alternates these runs with its own, so both sides see the same machine load (a
shared 2-core VM drifts by tens of percent within a minute, which separate batches of runs turned into
ratio errors). A line {"error"} answers a request that failed; the process keeps serving.

loops times one fixed request: tags drums + bass, 120 BPM, A minor, 2 bars.

Weights come from the shipped pack's model.onnx (training/common/onnx_weights.py: the exact weights
the TypeScript runtime runs, and no training checkpoint needed); --checkpoint uses the training run's
EMA checkpoint instead. A failure exits with status 1 and one line on stderr (the bench shows it in
its PyTorch column).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Callable, NamedTuple

import torch

from ..common.edm import cfg_denoiser, karras_sigmas
from ..common.onnx_weights import load_first_fitting, load_onnx_weights
from .pipeline_parity import SAMPLERS


class Case(NamedTuple):
    """What the timing loop needs: the guided denoiser, the state's shape, the condition and the pack."""

    fn: Callable
    shape: tuple[int, ...]
    cond: dict
    pack_dir: Path
    audio_seconds: float


def digits_case(a: argparse.Namespace) -> Case:
    from ..digits import config as C
    from ..digits.train import build_model, load_ema

    precond = load_ema().eval() if a.checkpoint else load_onnx_weights(build_model(), C.PACK_DIR / "model.onnx")
    fn = cfg_denoiser(lambda x, s, class_labels: precond(x, s, class_labels=class_labels), a.guidance, "class_labels", C.NULL_CLASS)
    return Case(fn, (1, 1, C.MEL.n_mels, C.FRAMES), {"class_labels": torch.tensor([7])}, C.PACK_DIR,
                C.FRAMES * C.MEL.hop_length / C.MEL.sample_rate)


def loops_case(a: argparse.Namespace) -> Case:
    from ..loops import config as C
    from ..loops.evaluate import cfg_denoiser as loops_cfg  # uncond = no tags, key "any"; bpm and bars kept
    from ..loops.train import build_model, load_ema

    if a.checkpoint or a.run:
        # the run training.loops.evaluate picks: a trained large model, else small
        large = C.RUN_DIR / "large"
        run = Path(a.run) if a.run else (large if (large / "checkpoint.pt").exists() or (large / "ema_meta.json").exists() else C.RUN_DIR / "small")
        if not ((run / "checkpoint.pt").exists() or (run / "ema_meta.json").exists()):
            sys.exit(f"no loops checkpoint in {run} (train with training.loops.train)")
        model, _ = load_ema(run)
    else:  # the pack does not say its size: take the one whose weights the graph holds
        model = load_first_fitting(C.PACK_DIR / "model.onnx", [lambda s=s: build_model(s) for s in C.SIZES])
    bpm, bars = 120.0, 2
    T, bpm = C.snap_frames(bpm, bars)
    if a.frames:  # the TypeScript loop plan's T (it may round differently), at the tempo those frames hold
        T, bpm = a.frames, bars * 4 * 60.0 * C.SR / (a.frames * C.HOP)
    tags = torch.zeros(1, C.N_TAGS)
    tags[0, [C.TAGS.index("drums"), C.TAGS.index("bass")]] = 1.0
    controls = torch.tensor([C.controls_vector(bpm, C.KEYS.index("A minor"), bars)], dtype=torch.float32)
    # The pack's defaults.clipX0 clamps the guided x0 in the TypeScript sampler: the same here.
    clip = json.loads((C.PACK_DIR / "sonodiff.json").read_text())["defaults"].get("clipX0")
    return Case(loops_cfg(model.eval(), a.guidance, clip), (1, 1, C.MEL.n_mels, T), {"tags": tags, "controls": controls},
                C.PACK_DIR, T * C.HOP / C.SR)


CASES = {"digits": digits_case, "loops": loops_case}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=list(CASES))
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--sampler", default="dpmpp_2m", choices=list(SAMPLERS))
    ap.add_argument("--guidance", type=float, default=3.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--frames", type=int, default=None, help="loops: loop length T (default config.snap_frames(120, 2))")
    ap.add_argument("--run", default=None, help="loops: run dir (implies --checkpoint; default as training.loops.evaluate)")
    ap.add_argument("--checkpoint", action="store_true", help="weights from the training checkpoint, not the pack's ONNX")
    ap.add_argument("--serve", action="store_true", help="time one run per stdin line (see the module doc)")
    a = ap.parse_args()
    try:
        serve(a) if a.serve else run(a)
    except Exception as e:  # one line for the bench's PyTorch column
        sys.exit(f"{type(e).__name__}: {e}")


def scheduler(case: Case) -> dict:
    """The pack's scheduler block (its sigma range), read once per process."""
    return json.loads((case.pack_dir / "sonodiff.json").read_text())["scheduler"]


def time_once(case: Case, sched: dict, sampler: str, steps: int, seed: int) -> float:
    """Seconds of one sampling run (the sampler loop only: noise drawn before the clock starts)."""
    sigmas = karras_sigmas(steps, sched["sigma_min"], sched["sigma_max"], sched.get("rho", 7.0))
    with torch.no_grad():
        x = torch.randn(case.shape, generator=torch.Generator().manual_seed(seed)) * sigmas[0]
        t0 = time.perf_counter()
        SAMPLERS[sampler](case.fn, x, sigmas, **case.cond)
        return time.perf_counter() - t0


def serve(a: argparse.Namespace) -> None:
    torch.set_num_threads(a.threads)
    case = CASES[a.model](a)
    sched = scheduler(case)
    print(json.dumps({"ready": True, "torch": torch.__version__, "audioSeconds": case.audio_seconds}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            if req["sampler"] not in SAMPLERS:
                raise ValueError(f"unknown sampler {req['sampler']!r}")
            reply = {"seconds": time_once(case, sched, req["sampler"], int(req["steps"]), int(req.get("seed", 0)))}
        except Exception as e:  # noqa: BLE001 - reported to the bench, which shows it in the table
            reply = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(reply), flush=True)


def run(a: argparse.Namespace) -> None:
    torch.set_num_threads(a.threads)
    case = CASES[a.model](a)
    sched = scheduler(case)
    times = []
    for r in range(a.repeats + 1):
        t = time_once(case, sched, a.sampler, a.steps, r)
        if r > 0:  # the first run warms up
            times.append(t)
    times.sort()
    print(json.dumps({
        "model": a.model, "sampler": a.sampler, "steps": a.steps, "threads": a.threads,
        "medianSeconds": times[len(times) // 2], "audioSeconds": case.audio_seconds,
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
