"""Reference outputs of the PyTorch sampler for the pipeline parity tests.

For a shipped model, runs the PyTorch denoiser (the EMA checkpoint the ONNX was exported from)
through the reference sampler in training/common/edm.py, with the initial noise drawn from
sonodiff's portable Philox noise (training/parity/noise.py), and writes the final state to
tests/fixtures/parity/<id>.json. tests/pipelines/parity.test.ts runs the same seed, steps and
sampler through the TypeScript sampler + ONNX model and requires agreement within 1e-3.

/usr/bin/python3 -m training.parity.pipeline_parity digits
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from ..common.edm import cfg_denoiser, karras_sigmas, sample_dpmpp_2m, sample_euler, sample_heun
from .noise import gaussian

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "fixtures" / "parity"
SAMPLERS = {"euler": sample_euler, "heun": sample_heun, "dpmpp_2m": sample_dpmpp_2m}


def digits_case(seed: int = 7, steps: int = 12, sampler: str = "dpmpp_2m", class_name: str = "four", guidance: float = 2.5):
    from ..digits import config as C
    from ..digits.train import load_ema

    man = json.loads((C.PACK_DIR / "sonodiff.json").read_text())
    precond = load_ema().eval()
    shape = (1, 1, C.MEL.n_mels, C.FRAMES)
    sched = man["scheduler"]
    sigmas = karras_sigmas(steps, sched["sigma_min"], sched["sigma_max"], sched.get("rho", 7.0)).double()
    noise = torch.from_numpy(gaussian(int(np.prod(shape)), seed, item=0, draw=0).reshape(shape)).double()
    x = noise * sigmas[0]
    cls = C.CLASSES.index(class_name)

    def den(xx, s, class_labels):
        return precond(xx.float(), s.float(), class_labels=class_labels).double()

    fn = cfg_denoiser(den, guidance, "class_labels", C.NULL_CLASS)
    with torch.no_grad():
        out = SAMPLERS[sampler](fn, x, sigmas, class_labels=torch.tensor([cls]))
    return {
        "model": "digits",
        "seed": seed,
        "steps": steps,
        "sampler": sampler,
        "className": class_name,
        "guidance": guidance,
        "shape": list(shape),
        "output": [round(float(v), 6) for v in out.reshape(-1)],
    }


def _stft_mag64(fe, x):
    c = fe.cfg
    spec = torch.stft(x, n_fft=c.n_fft, hop_length=c.hop_length, win_length=c.n_fft, window=fe.window,
                      center=True, pad_mode="reflect", normalized=False, onesided=True, return_complex=True)
    return spec.abs()


def digits_features_case():
    """The digits front end (log-mel) on a fixed signal, for the Python = TypeScript feature test."""
    from ..common.features import MelFrontEnd, parity_signal
    from ..digits import config as C

    x = parity_signal(C.MEL.sample_rate, 0.25)
    # The training front end, run in float64 so the reference itself carries no float32 rounding
    # (at the log floor, float32 STFT error alone reaches 1e-3 in log-mel).
    fe = MelFrontEnd(C.MEL)
    fe.window = fe.window.double()
    fe.fb = fe.fb.double()
    lm = torch.log(torch.clamp(torch.matmul(fe.fb, _stft_mag64(fe, torch.from_numpy(x).double())), min=C.MEL.floor))
    return {
        "model": "digits",
        "kind": "features",
        "signal": [round(float(v), 8) for v in x],
        "shape": list(lm.shape),
        "logMel": [round(float(v), 6) for v in lm.reshape(-1)],
    }


CASES = {"digits": digits_case, "features-digits": digits_features_case}

if __name__ == "__main__":
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    for mid in sys.argv[1:] or list(CASES):
        case = CASES[mid]()
        (OUT / f"{mid}.json").write_text(json.dumps(case) + "\n")
        print(f"wrote {OUT / f'{mid}.json'}")
