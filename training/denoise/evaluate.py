"""Speech-denoising quality on EVAL data (reporting only; nothing here feeds training or selection).

20 utterances of eval/librispeech-test-other (the first two of each of the 10 speakers, sorted),
each mixed with one eval noise (running_tap, exercise_bike, coffee-shop, city in turn, random
offset, seed 0) at 0, 5 and 10 dB SNR, with a 0.5 s noise-only lead-in prepended. Every method
processes the whole signal (lead-in included); scoring drops the lead-in, aligns each output to
the clean reference by cross-correlation (+-50 ms) and computes SI-SDR.
Methods: the noisy input; this model (Python reference sampler = what the TypeScript pipeline
runs: x = y + sigma_max n, Karras schedule, Euler/Heun); `sox noisered` with the noise profile
taken from the lead-in (amount 0.3); `ffmpeg -af afftdn=nr=20:nf=-40:tn=1`; `ffmpeg -af anlmdn=s=1000`.

Run: /usr/bin/python3 -m training.denoise.evaluate [--ckpt training/runs/denoise/best.pt] [--steps 4] [--sampler euler]
     /usr/bin/python3 -m training.denoise.evaluate --split val   (held-out TRAIN speakers, for choosing steps)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import scipy.io.wavfile
import torch

from training.common.data import read_audio
from training.common.edm import karras_sigmas, sample_dpmpp_2m, sample_euler, sample_heun
from training.denoise.train import SIGMA_MAX, SIGMA_MIN, load_precond, si_sdr
from training.denoise.spec import state_to_wav, wav_to_state

SR = 16000
ROOT = Path(__file__).resolve().parents[2]
EVAL = (ROOT / ".." / "shared" / "data" / "eval").resolve()
SNRS = (0, 5, 10)
LEAD = SR // 2
SAMPLERS = {"euler": sample_euler, "heun": sample_heun, "dpmpp_2m": sample_dpmpp_2m}


def eval_set() -> list[tuple[np.ndarray, np.ndarray]]:
    """[(clean, noise of the same length + LEAD)] for the 20 eval utterances."""
    root = EVAL / "librispeech-test-other"
    utts = []
    for spk in sorted(p for p in root.iterdir() if p.is_dir()):
        utts += sorted(spk.rglob("*.flac"))[:2]
    noises = [
        read_audio(EVAL / "noise" / "speech-commands" / "running_tap.wav", SR),
        read_audio(EVAL / "noise" / "speech-commands" / "exercise_bike.wav", SR),
        read_audio(EVAL / "noise" / "blanket" / "coffee-shop.ogg", SR),
        read_audio(EVAL / "noise" / "blanket" / "city.ogg", SR),
    ]
    rng = np.random.default_rng(0)
    out = []
    for i, u in enumerate(utts[:20]):
        s = read_audio(u, SR)
        nz = noises[i % 4]
        need = len(s) + LEAD
        reps = int(np.ceil(need / len(nz))) + 1
        nz = np.tile(nz, reps)
        off = int(rng.integers(len(nz) - need))
        out.append((s, nz[off : off + need] - nz[off : off + need].mean()))
    return out


def val_set() -> list[tuple[np.ndarray, np.ndarray]]:
    """Same protocol on held-out TRAIN speakers/noise segments (for choosing sampler settings)."""
    from training.denoise.mixing import Mixer, Pool

    sp, nz = Pool("speech_val"), Pool("noise_val")
    rng = np.random.default_rng(0)
    libri = [i for i in range(len(sp)) if len(sp.clip(i)) > 2 * SR][:20]
    out = []
    for k, i in enumerate(libri):
        s = np.array(sp.clip(i))
        need = len(s) + LEAD
        n = np.array(nz.clip(k % len(nz)))
        n = np.tile(n, int(np.ceil(need / len(n))) + 1)
        off = int(rng.integers(len(n) - need))
        out.append((s, n[off : off + need]))
    del Mixer
    return out


def mix(s: np.ndarray, n: np.ndarray, snr: float) -> np.ndarray:
    g = np.sqrt(np.mean(s**2) / (np.mean(n[LEAD:] ** 2) + 1e-12)) * 10 ** (-snr / 20)
    y = n * g
    y[LEAD:] += s
    return y.astype(np.float32)


def align(est: np.ndarray, ref: np.ndarray, max_lag: int = 800) -> np.ndarray:
    """Shift est by the lag (|lag| <= max_lag) that maximises its cross-correlation with ref."""
    n = len(ref)
    e = np.zeros(n, np.float64)
    e[: min(n, len(est))] = est[:n]
    f = np.fft.rfft(e, 2 * n)
    r = np.fft.rfft(ref.astype(np.float64), 2 * n)
    cc = np.fft.irfft(f * np.conj(r), 2 * n)
    lags = np.concatenate([np.arange(0, max_lag + 1), np.arange(-max_lag, 0)])
    vals = np.concatenate([cc[: max_lag + 1], cc[-max_lag:]])
    lag = int(lags[np.argmax(vals)])
    return np.roll(e, -lag)


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True)


def peers(y: np.ndarray, tmp: Path) -> dict[str, np.ndarray]:
    inp = tmp / "in.wav"
    scipy.io.wavfile.write(inp, SR, y)
    out = {}
    scipy.io.wavfile.write(tmp / "lead.wav", SR, y[:LEAD])
    _run(["sox", str(tmp / "lead.wav"), "-n", "noiseprof", str(tmp / "prof")])
    _run(["sox", str(inp), str(tmp / "sox.wav"), "noisered", str(tmp / "prof"), "0.3"])
    out["sox_noisered"] = read_audio(tmp / "sox.wav", SR)
    for name, af in [("ffmpeg_afftdn", "afftdn=nr=20:nf=-40:tn=1"), ("ffmpeg_anlmdn", "anlmdn=s=1000")]:
        _run(["ffmpeg", "-v", "error", "-y", "-i", str(inp), "-af", af, "-c:a", "pcm_f32le", str(tmp / f"{name}.wav")])
        out[name] = read_audio(tmp / f"{name}.wav", SR)
    return out


@torch.no_grad()
def model_enhance(precond, y: np.ndarray, steps: int, sampler: str, seed: int = 0) -> np.ndarray:
    yy = wav_to_state(torch.from_numpy(y)[None])
    g = torch.Generator().manual_seed(seed)
    x = yy + SIGMA_MAX * torch.randn(yy.shape, generator=g)
    x = SAMPLERS[sampler](precond, x, karras_sigmas(steps, SIGMA_MIN, SIGMA_MAX), condition=yy)
    return state_to_wav(x, len(y))[0].numpy()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default="training/runs/denoise/best.pt")
    ap.add_argument("--steps", type=int, nargs="+", default=[4])
    ap.add_argument("--sampler", default="euler", choices=sorted(SAMPLERS))
    ap.add_argument("--split", default="eval", choices=["eval", "val"])
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--json", default=None)
    ap.add_argument("--n", type=int, default=20, help="number of utterances (20 for the reported figures)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    precond = load_precond(a.ckpt).eval()
    data = (eval_set() if a.split == "eval" else val_set())[: a.n]
    res: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory() as td:
        for snr in SNRS:
            r: dict[str, list[float]] = {}
            for s, n in data:
                y = mix(s, n, snr)
                outs = {"noisy": y}
                for st in a.steps:
                    outs[f"model_{a.sampler}{st}"] = model_enhance(precond, y, st, a.sampler)
                if not a.no_peers:
                    outs.update(peers(y, Path(td)))
                for k, o in outs.items():
                    est = align(o, np.concatenate([np.zeros(LEAD, np.float32), s]))
                    r.setdefault(k, []).append(si_sdr(est[LEAD:], s))
            res[f"{snr}dB"] = r
    summary = {}
    for snr, r in res.items():
        base = float(np.mean(r["noisy"]))
        row = {"noisy_si_sdr": round(base, 2)}
        for k, v in r.items():
            if k != "noisy":
                row[f"{k}_si_sdri"] = round(float(np.mean(v)) - base, 2)
        summary[snr] = row
    print(json.dumps(summary, indent=1))
    if not a.no_peers:
        for snr, row in summary.items():
            peer = max(v for k, v in row.items() if k.startswith(("sox", "ffmpeg")))
            for k, v in row.items():
                if k.startswith("model"):
                    print(f"{snr}: {k} {v:+.2f} dB vs best peer {peer:+.2f} dB -> ratio {v / peer if peer > 0 else float('inf'):.2f}")
    if a.json:
        Path(a.json).write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
