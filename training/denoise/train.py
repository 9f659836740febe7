"""Train the conditional EDM speech denoiser (complex STFT, SGMSE compression).

Run from the repo root:  /usr/bin/python3 -m training.denoise.train
(prepare the cache first: /usr/bin/python3 -m training.denoise.prepare). Resumes from
training/runs/denoise/ckpt.pt; stops after --minutes of training wall time (default 55).

Noise levels. The state x lives around the clean compressed spectrogram x0; y is the noisy one.
  * 30 % "standard EDM" samples: sigma ~ logN(P_MEAN, P_STD), x = x0 + sigma n.
  * 70 % "bridge" samples (the states the inference sampler visits): x = x0 + (sigma/SIGMA_MAX)(y - x0) + sigma n,
    half of them at sigma = SIGMA_MAX exactly (x = y + SIGMA_MAX n, the first step from y), half with
    ln(sigma) uniform in [ln SIGMA_MIN, ln SIGMA_MAX]. With an exact x0-denoiser, Euler steps on the
    Karras schedule started from y + SIGMA_MAX n stay exactly on this family of states.
Loss: EDM weighting lambda(sigma) = (sigma^2 + sd^2) / (sigma sd)^2 on the MSE of D(x; sigma, y) - x0.
"""

from __future__ import annotations

import argparse
import os
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from training.common.edm import EDMPrecond, karras_sigmas, sample_euler
from training.denoise.mixing import Mixer
from training.denoise.model import DenoiseUNet, count_parameters
from training.denoise.spec import wav_to_state, state_to_wav

RUN = Path(__file__).resolve().parents[2] / "training" / "runs" / "denoise"
SIGMA_DATA = 0.04  # measured std of the clean compressed spectrogram over training mixtures (0.040)
SIGMA_MIN = 0.002
SIGMA_MAX = 0.1
P_MEAN, P_STD = math.log(0.6 * SIGMA_DATA), 1.2
P_BRIDGE = 0.7
SEG_FRAMES = 128
SEG = (SEG_FRAMES - 1) * 128
MODEL_CFG = dict(channels=(32, 48, 96, 160), enc_convs=(0, 1, 2), dec_convs=(1, 1, 2), mid_blocks=2, patch=(4, 4), emb_dim=64)


def build_precond() -> EDMPrecond:
    net = DenoiseUNet(**MODEL_CFG, cond_scale=1.0 / SIGMA_DATA)
    return EDMPrecond(net, sigma_data=SIGMA_DATA, sigma_min=SIGMA_MIN, sigma_max=SIGMA_MAX)


def load_weights(precond: EDMPrecond, path: str | Path, ema: bool = True) -> dict:
    ck = torch.load(path, map_location="cpu")
    precond.load_state_dict(ck["ema" if ema else "model"])
    return ck


def si_sdr(est: np.ndarray, ref: np.ndarray) -> float:
    ref = ref - ref.mean()
    est = est - est.mean()
    a = np.dot(est, ref) / (np.dot(ref, ref) + 1e-12)
    t = a * ref
    return float(10 * np.log10((np.sum(t**2) + 1e-12) / (np.sum((est - t) ** 2) + 1e-12)))


def sigma_batch(b: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(sigma [b], bridge mask [b])."""
    u = torch.rand(b, generator=g)
    bridge = u < P_BRIDGE
    at_max = u < P_BRIDGE / 2
    logu = math.log(SIGMA_MIN) + torch.rand(b, generator=g) * (math.log(SIGMA_MAX) - math.log(SIGMA_MIN))
    lognormal = P_MEAN + P_STD * torch.randn(b, generator=g)
    log_sigma = torch.where(bridge, logu, lognormal)
    log_sigma = torch.where(at_max, torch.full_like(log_sigma, math.log(SIGMA_MAX)), log_sigma)
    return log_sigma.exp(), bridge


def loss_fn(precond: EDMPrecond, x0: torch.Tensor, y: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    b = x0.shape[0]
    sigma, bridge = sigma_batch(b, g)
    s = sigma.reshape(-1, 1, 1, 1)
    mean = torch.where(bridge.reshape(-1, 1, 1, 1), x0 + (s / SIGMA_MAX) * (y - x0), x0)
    x = mean + s * torch.randn(x0.shape, generator=g)
    d = precond(x, sigma, condition=y)
    sd = SIGMA_DATA
    w = (sigma**2 + sd**2) / (sigma * sd) ** 2
    return (w * ((d - x0) ** 2).mean(dim=(1, 2, 3))).mean()


def enhance(precond: EDMPrecond, y: torch.Tensor, steps: int = 4, seed: int = 0) -> torch.Tensor:
    """Reference sampler: x = y + SIGMA_MAX n, Euler on the Karras schedule -> x0 estimate."""
    g = torch.Generator().manual_seed(seed)
    sigmas = karras_sigmas(steps, SIGMA_MIN, SIGMA_MAX)
    x = y + SIGMA_MAX * torch.randn(y.shape, generator=g)
    return sample_euler(precond, x, sigmas, condition=y)


@torch.no_grad()
def validate(precond: EDMPrecond, val: tuple[np.ndarray, np.ndarray], steps_list=(1, 4)) -> dict:
    clean, noisy = val
    y = wav_to_state(torch.from_numpy(noisy))
    out = {"noisy": float(np.mean([si_sdr(noisy[i], clean[i]) for i in range(len(clean))]))}
    for steps in steps_list:
        x = enhance(precond, y, steps)
        wav = state_to_wav(x, noisy.shape[1]).numpy()
        out[f"euler{steps}"] = float(np.mean([si_sdr(wav[i], clean[i]) for i in range(len(clean))]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=55.0)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("TRAIN_THREADS", "1")))
    RUN.mkdir(parents=True, exist_ok=True)
    precond = build_precond()
    ema = build_precond()
    ema.load_state_dict(precond.state_dict())
    opt = torch.optim.Adam(precond.parameters(), lr=a.lr)
    step, elapsed, best = 0, 0.0, -1e9
    ck_path = RUN / "ckpt.pt"
    if ck_path.exists():
        ck = torch.load(ck_path, map_location="cpu")
        precond.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        step, elapsed, best = ck["step"], ck["elapsed"], ck.get("best", -1e9)
        print(f"resumed at step {step}, {elapsed / 60:.1f} min", flush=True)
    print("parameters", count_parameters(precond), flush=True)
    rng = np.random.default_rng(1000 + step)
    g = torch.Generator().manual_seed(2000 + step)
    mixer = Mixer("train")
    val = Mixer("val").batch(np.random.default_rng(123), 24, 2 * SEG)
    budget = a.minutes * 60
    t_last = time.time()
    t_ck = time.time()
    t_val = time.time()
    losses = []
    while elapsed < budget:
        frac = elapsed / budget
        lr = a.lr * min(1.0, (step + 1) / 200) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        for pg in opt.param_groups:
            pg["lr"] = lr
        clean, noisy = mixer.batch(rng, a.batch, SEG)
        x0 = wav_to_state(torch.from_numpy(clean))
        y = wav_to_state(torch.from_numpy(noisy))
        loss = loss_fn(precond, x0, y, g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(precond.parameters(), 1.0)
        opt.step()
        decay = min(0.999, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), precond.parameters()):
                pe.mul_(decay).add_(pm.detach(), alpha=1 - decay)
        losses.append(float(loss))
        step += 1
        now = time.time()
        elapsed += now - t_last
        t_last = now
        if step % 50 == 0:
            print(f"step {step} {elapsed / 60:.1f} min loss {np.mean(losses):.4f} lr {lr:.2e}", flush=True)
            losses = []
        last = elapsed >= budget
        if now - t_val > 600 or last:
            v = validate(ema, val)
            print("val", json.dumps({k: round(x, 2) for k, x in v.items()}), flush=True)
            if v["euler4"] > best:
                best = v["euler4"]
                torch.save({"ema": ema.state_dict(), "step": step, "val": v}, RUN / "best.pt")
            t_val = time.time()
            t_last = t_val  # validation time is not training time
        if now - t_ck > 180 or last:
            torch.save({"model": precond.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step, "elapsed": elapsed, "best": best}, ck_path)
            t_ck = time.time()
    print("done", step, f"{elapsed / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
