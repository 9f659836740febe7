"""Quality of the digits model, measured with the FSDD-trained classifier (classifier.py).

/usr/bin/python3 -m training.digits.evaluate [--per-digit 10] [--guidance 3] [--steps 25]
 - held-out real FSDD takes (0..4): classifier accuracy
 - generated: per-digit clips from the PyTorch reference DPM++ 2M sampler with CFG, one seed per
   clip (seed = 1000 * digit + k) -> classifier accuracy, and diversity = mean pairwise distance
   between clips of one digit (classifier embedding and log-mel) relative to real held-out takes
 - SC09 (eval-only Speech Commands digits, 16 kHz -> 8 kHz): classifier accuracy, out of domain
Writes training/runs/digits/quality.json (read by export.py) and a few generated mels as .npy.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from ..common.data import read_wav
from ..common.edm import cfg_denoiser, karras_sigmas, sample_dpmpp_2m
from . import config as C
from .classifier import load_classifier, predict
from .dataset import centre_crop, example, load_cache, log_mel_of, normalise, split_indices
from ..common.onnx_weights import load_onnx_weights
from .train import build_model, load_ema


def mean_pairwise(x: torch.Tensor) -> float:
    x = x.reshape(x.shape[0], -1).double()
    d = torch.cdist(x, x)
    n = x.shape[0]
    return float(d.sum() / (n * (n - 1)))


@torch.no_grad()
def generate(model, digit: int, seeds: list[int], steps: int, guidance: float, frames: int = C.FRAMES) -> torch.Tensor:
    noise = torch.stack([torch.randn(1, C.MEL.n_mels, frames, generator=torch.Generator().manual_seed(s)) for s in seeds])
    sigmas = karras_sigmas(steps, C.SIGMA_MIN, C.SIGMA_MAX, 7.0)
    den = cfg_denoiser(model, guidance, "class_labels", C.NULL_CLASS)
    labels = torch.full((len(seeds),), digit, dtype=torch.long)
    return sample_dpmpp_2m(den, noise * sigmas[0], sigmas, class_labels=labels)


def sc09_accuracy(clf) -> tuple[float, int]:
    xs, ys = [], []
    for d, name in enumerate(C.CLASSES):
        for p in sorted((C.SC09_DIR / name).glob("*.wav")):
            wav, _ = read_wav(p, C.MEL.sample_rate)
            xs.append(normalise(centre_crop(log_mel_of(wav))))
            ys.append(d)
    pred, _ = predict(clf, torch.stack(xs).unsqueeze(1))
    return float((pred == torch.tensor(ys)).float().mean()), len(ys)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-digit", type=int, default=10)
    ap.add_argument("--guidance", type=float, default=C.DEFAULT_GUIDANCE)
    ap.add_argument("--steps", type=int, default=C.DEFAULT_STEPS)
    ap.add_argument("--no-write", action="store_true", help="print only (for guidance sweeps)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    clf = load_classifier()
    # Without the training checkpoint, the shipped pack's weights (read back from model.onnx) are the model.
    ck = C.RUN_DIR / "checkpoint.pt"
    model = load_ema() if ck.exists() else load_onnx_weights(build_model(), C.PACK_DIR / "model.onnx")
    cache = load_cache()
    _, valid_idx = split_indices(cache)
    xv = normalise(torch.stack([example(cache, i) for i in valid_idx])).unsqueeze(1)
    yv = torch.tensor([cache["labels"][i] for i in valid_idx])
    pv, ev = predict(clf, xv)
    real_acc = float((pv == yv).float().mean())

    t0 = time.time()
    correct, total = 0, 0
    per_digit = {}
    div_gen_emb, div_real_emb, div_gen_mel, div_real_mel = [], [], [], []
    gen_all = []
    for d in range(10):
        seeds = [1000 * d + k for k in range(args.per_digit)]
        x = generate(model, d, seeds, args.steps, args.guidance)
        gen_all.append(x)
        pred, emb = predict(clf, x)
        acc_d = int((pred == d).sum())
        per_digit[C.CLASSES[d]] = acc_d / len(seeds)
        correct += acc_d
        total += len(seeds)
        real_mask = yv == d
        div_gen_emb.append(mean_pairwise(emb))
        div_real_emb.append(mean_pairwise(ev[real_mask]))
        div_gen_mel.append(mean_pairwise(x))
        div_real_mel.append(mean_pairwise(xv[real_mask]))
        print(f"{C.CLASSES[d]}: {acc_d}/{len(seeds)} ({time.time() - t0:.0f} s)", flush=True)
    gen_seconds = time.time() - t0
    gen_all_t = torch.cat(gen_all)
    sc09_acc, sc09_n = sc09_accuracy(clf)
    q = {
        "classifierHeldOutRealAccuracy": round(real_acc, 4),
        "classifierHeldOutRealClips": len(valid_idx),
        "generatedAccuracy": round(correct / total, 4),
        "generatedClips": total,
        "generatedSampler": f"dpmpp_2m, {args.steps} steps, guidance {args.guidance}, PyTorch reference",
        "generatedPerDigitAccuracy": json.dumps(per_digit),
        "diversityEmbeddingGeneratedOverReal": round(float(np.mean(div_gen_emb) / np.mean(div_real_emb)), 4),
        "diversityLogMelGeneratedOverReal": round(float(np.mean(div_gen_mel) / np.mean(div_real_mel)), 4),
        "generatedMeanValue": round(float(gen_all_t.mean()), 4),
        "realHeldOutMeanValue": round(float(xv.mean()), 4),
        "sc09ClassifierAccuracy (out of domain, eval only)": round(sc09_acc, 4),
        "sc09Clips": sc09_n,
        "referenceSamplerSecondsPer10Clips (1 thread, contended)": round(gen_seconds / 10, 1),
    }
    print(json.dumps(q, indent=1), flush=True)
    if not args.no_write:
        (C.RUN_DIR / "quality.json").write_text(json.dumps(q, indent=1))
        np.save(C.RUN_DIR / "generated_mels.npy", gen_all_t.numpy())


if __name__ == "__main__":
    main()
