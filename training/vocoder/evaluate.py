"""Held-out quality and speed of the vocoder against Griffin-Lim.

/usr/bin/python3 -m training.vocoder.evaluate [--checkpoint PATH] [--clips 300] [--no-generated]

Held-out FSDD takes 0-4 (300 clips, never trained on), each resynthesised from its own log-mel
(normalised as the diffusion model's values):
 - LSD (src/metrics/lsd.ts: n_fft 2048, hop 512, Hann, eps 1e-10 on power) of the output vs the
   reference audio; also at n_fft 512 / hop 128, and the L1 of the output's log-mel vs the input log-mel
 - vocoder (EMA weights, PyTorch eager, mel -> spec -> iSTFT) vs Griffin-Lim as in
   src/pipelines/representation.ts (clamped pseudo-inverse + 16 FISTA steps, fast GL momentum 0.99,
   random initial phase) with 32 and 100 iterations
 - wall seconds per second of audio for each, 1 thread, one clip at a time (analysis excluded)
Generated mels (training/runs/digits/generated_mels.npy, 100 clips from the digits model), if present:
log-mel L1 of the re-encoded output vs the generated mel, and the digits classifier's accuracy on the
re-encoded audio (vs its accuracy on the generated mels themselves).
Writes training/runs/vocoder/eval.json (read by export.py) and a few WAVs in training/runs/vocoder/samples/.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import scipy.io.wavfile
import torch

from ..digits import config as D
from . import config as C
from .data import load_fsdd, split
from .dsp import FrontEnd, GriffinLim, denormalise, lsd
from .train import load_ema


def mel_l1(fe: FrontEnd, wave: torch.Tensor, log_mel: torch.Tensor) -> float:
    return float((fe.log_mel(wave[None])[0, :, : log_mel.shape[-1]] - log_mel).abs().mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--clips", type=int, default=300)
    ap.add_argument("--no-generated", action="store_true")
    ap.add_argument("--gl100-every", type=int, default=1, help="GL-100 on every k-th clip only (speed)")
    ap.add_argument("--out", default=str(C.RUN_DIR / "eval.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    fe = FrontEnd("cpu")
    gl = GriffinLim(fe)
    model = load_ema(args.checkpoint)
    data = load_fsdd()
    _, valid_idx = split(data)
    valid_idx = valid_idx[: args.clips]
    sr = C.MEL.sample_rate
    samples_dir = C.RUN_DIR / "samples"
    samples_dir.mkdir(parents=True, exist_ok=True)

    res = {k: [] for k in ("voc", "gl32", "gl100")}
    res512 = {k: [] for k in res}
    resmel = {k: [] for k in res}
    secs = {k: 0.0 for k in res}
    audio = {k: 0.0 for k in res}
    # warm-up (first calls allocate)
    with torch.no_grad():
        w0 = data["waves"][valid_idx[0]]
        model(fe.norm_mel(w0[None]))
        gl(fe.log_mel(w0[None]), w0.shape[-1], iterations=2)
    with torch.no_grad():
        for n, i in enumerate(valid_idx):
            w = data["waves"][i]
            L = w.shape[-1]
            lm = fe.log_mel(w[None])  # [1, 64, T]
            x = (lm - C.SHIFT) * C.SCALE
            outs = {}
            t = time.perf_counter()
            outs["voc"] = fe.istft(model(x), length=L)[0]
            secs["voc"] += time.perf_counter() - t
            t = time.perf_counter()
            outs["gl32"] = gl(lm, L, iterations=32, seed=n)[0]
            secs["gl32"] += time.perf_counter() - t
            if n % args.gl100_every == 0:
                t = time.perf_counter()
                outs["gl100"] = gl(lm, L, iterations=100, seed=n)[0]
                secs["gl100"] += time.perf_counter() - t
            for k, y in outs.items():
                audio[k] += L / sr
                res[k].append(lsd(w, y))
                res512[k].append(lsd(w, y, 512, 128))
                resmel[k].append(mel_l1(fe, y, lm[0]))
            if n < 6:
                name = data["names"][i].removesuffix(".wav")
                scipy.io.wavfile.write(samples_dir / f"{name}_ref.wav", sr, w.numpy())
                for k, y in outs.items():
                    scipy.io.wavfile.write(samples_dir / f"{name}_{k}.wav", sr, y.numpy().astype(np.float32))
            if (n + 1) % 50 == 0:
                print(f"{n + 1}/{len(valid_idx)}: LSD voc {np.mean(res['voc']):.3f}, gl32 {np.mean(res['gl32']):.3f}, "
                      f"gl100 {np.mean(res['gl100']):.3f} dB", flush=True)
        # Silence: an all-floor mel must give (near) silence.
        floor = torch.full((1, C.MEL.n_mels, 126), -1.0)
        silence_rms = float(fe.istft(model(floor))[0].pow(2).mean().sqrt())

        # Speed: best of 3 passes over the first 30 clips (the shared VM makes single passes noisy).
        timing = {}
        sub = [data["waves"][i] for i in valid_idx[:30]]
        secs_audio = sum(w.shape[-1] for w in sub) / sr
        mels = [fe.log_mel(w[None]) for w in sub]
        fns = {
            "voc": lambda lm, L: fe.istft(model((lm - C.SHIFT) * C.SCALE), length=L),
            "gl32": lambda lm, L: gl(lm, L, iterations=32),
            "gl100": lambda lm, L: gl(lm, L, iterations=100),
        }
        for k, fn in fns.items():
            best = float("inf")
            for _ in range(3):
                t = time.perf_counter()
                for w, lm in zip(sub, mels):
                    fn(lm, w.shape[-1])
                best = min(best, time.perf_counter() - t)
            timing[k] = best / secs_audio

    names = {"voc": "vocoder", "gl32": "griffinLim32", "gl100": "griffinLim100"}
    out = {
        "heldOutClips": len(valid_idx),
        "heldOutAudioSeconds": round(audio["voc"], 1),
        "lsdDb (n_fft 2048, hop 512; src/metrics/lsd.ts)": {names[k]: round(float(np.mean(v)), 3) for k, v in res.items()},
        "lsdDb (n_fft 512, hop 128)": {names[k]: round(float(np.mean(v)), 3) for k, v in res512.items()},
        "logMelL1 (re-encoded output vs input, nats)": {names[k]: round(float(np.mean(v)), 4) for k, v in resmel.items()},
        "secondsPerAudioSecond (1 thread, PyTorch eager, batch 1, best of 3 passes over 30 clips)": {
            names[k]: round(timing[k], 4) for k in res},
        "secondsPerAudioSecond (single pass over all clips, contention-sensitive)": {names[k]: round(secs[k] / audio[k], 4) for k in res},
        "silenceRms (all-floor mel input)": round(silence_rms, 6),
        "gl100Clips": len(res["gl100"]),
    }

    gen_path = D.RUN_DIR / "generated_mels.npy"
    if not args.no_generated and gen_path.exists():
        gen = torch.from_numpy(np.load(gen_path))[:, 0]  # [N, 64, 128] normalised
        per_digit = gen.shape[0] // 10
        labels = torch.arange(10).repeat_interleave(per_digit)
        re_voc, re_gl, l1_voc, l1_gl = [], [], [], []
        with torch.no_grad():
            for k in range(gen.shape[0]):
                xg = gen[k : k + 1]
                lm = torch.clamp(denormalise(xg), min=D.LOG_FLOOR)
                L = (xg.shape[-1] - 1) * C.MEL.hop_length
                yv = fe.istft(model(xg), length=L)[0]
                yg = gl(lm, L, iterations=32, seed=k)[0]
                for y, re_list, l1_list in ((yv, re_voc, l1_voc), (yg, re_gl, l1_gl)):
                    r = fe.norm_mel(y[None])[0]
                    re_list.append(r)
                    l1_list.append(float((r / C.SCALE - (xg[0] / C.SCALE)).abs().mean()))
                if k % per_digit == 0:
                    scipy.io.wavfile.write(samples_dir / f"gen_{D.CLASSES[k // per_digit]}_voc.wav", sr, yv.numpy())
                    scipy.io.wavfile.write(samples_dir / f"gen_{D.CLASSES[k // per_digit]}_gl32.wav", sr, yg.numpy())
        g = {
            "clips": int(gen.shape[0]),
            "logMelL1 (re-encoded vs generated mel, nats)": {"vocoder": round(float(np.mean(l1_voc)), 4),
                                                            "griffinLim32": round(float(np.mean(l1_gl)), 4)},
        }
        if (D.RUN_DIR / "classifier.pt").exists():
            from ..digits.classifier import load_classifier, predict

            clf = load_classifier()
            acc = lambda xs: float((predict(clf, xs.unsqueeze(1))[0] == labels).float().mean())  # noqa: E731
            g["classifierAccuracy"] = {"generatedMel": round(acc(gen), 4), "vocoderReEncoded": round(acc(torch.stack(re_voc)), 4),
                                       "griffinLim32ReEncoded": round(acc(torch.stack(re_gl)), 4)}
        out["generatedDigits"] = g
    print(json.dumps(out, indent=1), flush=True)
    from pathlib import Path

    Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
