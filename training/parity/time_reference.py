"""Times the PyTorch reference sampler (eager mode, the same weights as the ONNX export) for the
generation benchmark (bench/generate.ts). Prints one JSON object.

/usr/bin/python3 -m training.parity.time_reference digits --steps 25 --sampler dpmpp_2m --repeats 3
"""
from __future__ import annotations

import argparse
import json
import os
import time

import torch

from ..common.edm import cfg_denoiser, karras_sigmas
from .pipeline_parity import SAMPLERS


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=["digits"])
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--sampler", default="dpmpp_2m", choices=list(SAMPLERS))
    ap.add_argument("--guidance", type=float, default=3.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from ..digits import config as C
    from ..digits.train import load_ema

    precond = load_ema().eval()
    man = json.loads((C.PACK_DIR / "sonodiff.json").read_text())["scheduler"]
    sigmas = karras_sigmas(a.steps, man["sigma_min"], man["sigma_max"], man.get("rho", 7.0))
    fn = cfg_denoiser(lambda x, s, class_labels: precond(x, s, class_labels=class_labels), a.guidance, "class_labels", C.NULL_CLASS)
    shape = (1, 1, C.MEL.n_mels, C.FRAMES)
    times = []
    with torch.no_grad():
        for r in range(a.repeats + 1):
            x = torch.randn(shape, generator=torch.Generator().manual_seed(r)) * sigmas[0]
            t0 = time.perf_counter()
            SAMPLERS[a.sampler](fn, x, sigmas, class_labels=torch.tensor([7]))
            if r > 0:  # the first run warms up
                times.append(time.perf_counter() - t0)
    times.sort()
    print(json.dumps({
        "model": a.model, "sampler": a.sampler, "steps": a.steps, "threads": a.threads,
        "medianSeconds": times[len(times) // 2], "audioSeconds": C.FRAMES * C.MEL.hop_length / C.MEL.sample_rate,
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
