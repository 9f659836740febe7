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
# Network sizes. "small" is the 2-core CPU recipe; "deep" adds a fifth level (64x down-sampling in
# time, about 2x the receptive field) for a run on a lent GPU; both stay >= 20x real time in the TS
# pipeline on 2 CPU cores.
VARIANTS = {
    "small": dict(channels=(32, 48, 96, 160), enc_convs=(0, 1, 2), dec_convs=(1, 1, 2), mid_blocks=2, patch=(4, 4), emb_dim=64),
    "deep": dict(channels=(32, 64, 96, 160, 256), enc_convs=(0, 1, 2, 2), dec_convs=(1, 1, 2, 2), mid_blocks=2, patch=(4, 4), emb_dim=64),
}
MODEL_CFG = VARIANTS["small"]


def build_precond(variant: str = "small") -> EDMPrecond:
    net = DenoiseUNet(**VARIANTS[variant], cond_scale=1.0 / SIGMA_DATA)
    return EDMPrecond(net, sigma_data=SIGMA_DATA, sigma_min=SIGMA_MIN, sigma_max=SIGMA_MAX)


def load_weights(precond: EDMPrecond, path: str | Path, ema: bool = True) -> dict:
    ck = torch.load(path, map_location="cpu")
    precond.load_state_dict(ck["ema" if ema else "model"])
    return ck


def load_precond(path: str | Path, ema: bool = True) -> EDMPrecond:
    """Builds the checkpoint's variant (older checkpoints carry none: "small") and loads its weights.
    A shipped model.onnx works too: its weights are read back into the variant whose shapes they fill."""
    if str(path).endswith(".onnx"):
        from ..common.onnx_weights import load_first_fitting

        return load_first_fitting(path, [lambda v=v: build_precond(v) for v in VARIANTS])
    ck = torch.load(path, map_location="cpu")
    precond = build_precond(ck.get("variant", "small"))
    precond.load_state_dict(ck["ema" if ema else "model"])
    return precond


def si_sdr(est: np.ndarray, ref: np.ndarray) -> float:
    ref = ref - ref.mean()
    est = est - est.mean()
    a = np.dot(est, ref) / (np.dot(ref, ref) + 1e-12)
    t = a * ref
    return float(10 * np.log10((np.sum(t**2) + 1e-12) / (np.sum((est - t) ** 2) + 1e-12)))


def sigma_batch(b: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(sigma [b], bridge mask [b], at-sigma_max mask [b]) on the CPU generator."""
    u = torch.rand(b, generator=g)
    bridge = u < P_BRIDGE
    at_max = u < P_BRIDGE / 2
    logu = math.log(SIGMA_MIN) + torch.rand(b, generator=g) * (math.log(SIGMA_MAX) - math.log(SIGMA_MIN))
    lognormal = P_MEAN + P_STD * torch.randn(b, generator=g)
    log_sigma = torch.where(bridge, logu, lognormal)
    log_sigma = torch.where(at_max, torch.full_like(log_sigma, math.log(SIGMA_MAX)), log_sigma)
    return log_sigma.exp(), bridge, at_max


def neg_si_sdr(est: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """-SI-SDR in dB per item of [b, n] waveforms (differentiable)."""
    ref = ref - ref.mean(dim=1, keepdim=True)
    est = est - est.mean(dim=1, keepdim=True)
    a = (est * ref).sum(dim=1, keepdim=True) / ((ref * ref).sum(dim=1, keepdim=True) + 1e-10)
    t = a * ref
    return -10 * torch.log10(((t * t).sum(dim=1) + 1e-10) / (((est - t) ** 2).sum(dim=1) + 1e-10))


def loss_fn(
    precond: EDMPrecond,
    x0: torch.Tensor,
    y: torch.Tensor,
    g: torch.Generator,
    clean: torch.Tensor | None = None,
    aux: float = 0.0,
    autocast: bool = False,
) -> torch.Tensor:
    """EDM loss; with aux > 0 also aux * (-SI-SDR) of the first-step estimate (sigma = SIGMA_MAX),
    which is the whole output at the default single step."""
    b = x0.shape[0]
    sigma, bridge, at_max = (t.to(x0.device) for t in sigma_batch(b, g))
    s = sigma.reshape(-1, 1, 1, 1)
    mean = torch.where(bridge.reshape(-1, 1, 1, 1), x0 + (s / SIGMA_MAX) * (y - x0), x0)
    x = mean + s * torch.randn(x0.shape, generator=g).to(x0.device)
    if autocast:
        with torch.autocast("cuda", dtype=torch.bfloat16):
            d = precond(x, sigma, condition=y)
        d = d.float()
    else:
        d = precond(x, sigma, condition=y)
    sd = SIGMA_DATA
    w = (sigma**2 + sd**2) / (sigma * sd) ** 2
    loss = (w * ((d - x0) ** 2).mean(dim=(1, 2, 3))).mean()
    if aux > 0 and clean is not None and bool(at_max.any()):
        est = state_to_wav(d[at_max], clean.shape[1])
        loss = loss + aux * neg_si_sdr(est, clean[at_max]).mean()
    return loss


def enhance(precond: EDMPrecond, y: torch.Tensor, steps: int = 4, seed: int = 0) -> torch.Tensor:
    """Reference sampler: x = y + SIGMA_MAX n, Euler on the Karras schedule -> x0 estimate."""
    g = torch.Generator().manual_seed(seed)
    sigmas = karras_sigmas(steps, SIGMA_MIN, SIGMA_MAX).to(y.device)
    x = y + SIGMA_MAX * torch.randn(y.shape, generator=g).to(y.device)
    return sample_euler(precond, x, sigmas, condition=y)


@torch.no_grad()
def validate(precond: EDMPrecond, val: tuple[np.ndarray, np.ndarray], steps_list=(1, 4), device: str = "cpu") -> dict:
    clean, noisy = val
    y = wav_to_state(torch.from_numpy(noisy).to(device))
    out = {"noisy": float(np.mean([si_sdr(noisy[i], clean[i]) for i in range(len(clean))]))}
    for steps in steps_list:
        x = enhance(precond, y, steps)
        wav = state_to_wav(x, noisy.shape[1]).cpu().numpy()
        out[f"euler{steps}"] = float(np.mean([si_sdr(wav[i], clean[i]) for i in range(len(clean))]))
    return out


class _Batches(torch.utils.data.IterableDataset):
    """Endless mixture batches; each DataLoader worker draws from its own seed."""

    def __init__(self, batch: int, seg: int, seed: int, snr_db: tuple[float, float], music: float = 0.0):
        self.batch, self.seg, self.seed, self.snr_db, self.music = batch, seg, seed, snr_db, music

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = np.random.default_rng([self.seed, info.id if info else 0])
        mixer = Mixer("train", self.snr_db, self.music)
        while True:
            yield mixer.batch(rng, self.batch, self.seg)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=55.0)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--device", default="cpu", help="cpu or cuda (a lent GPU: bf16 autocast, data workers)")
    ap.add_argument("--run", default=str(RUN), help="run folder (checkpoints, best.pt, log)")
    ap.add_argument("--variant", default="small", choices=sorted(VARIANTS))
    ap.add_argument("--seg-frames", type=int, default=SEG_FRAMES, help="training segment length in STFT frames")
    ap.add_argument("--workers", type=int, default=0, help="DataLoader workers making mixtures (0 = in the loop)")
    ap.add_argument("--aux", type=float, default=0.0, help="weight of -SI-SDR (dB) of the first-step estimate")
    ap.add_argument("--init", default=None, help="start from a checkpoint's EMA weights or a shipped model.onnx (same variant)")
    ap.add_argument("--snr", type=float, nargs=2, default=(-5.0, 20.0), metavar=("LO", "HI"), help="training mixture SNR range (dB)")
    ap.add_argument("--seed", type=int, default=1000, help="mixture stream seed; a continuation stage should differ from its parent's")
    ap.add_argument("--val-every", type=float, default=600.0, help="seconds between validations")
    ap.add_argument("--music", type=float, default=0.0,
                    help="share of examples with music as the clean target (prepare.py's music pools); "
                         "then the checkpoint is selected on speech and music validation together")
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("TRAIN_THREADS", "1")))
    dev = torch.device(a.device)
    run = Path(a.run)
    run.mkdir(parents=True, exist_ok=True)
    seg = (a.seg_frames - 1) * 128
    precond = build_precond(a.variant).to(dev)
    ema = build_precond(a.variant).to(dev)
    step, elapsed, best = 0, 0.0, -1e9
    ck_path = run / "ckpt.pt"
    opt = torch.optim.Adam(precond.parameters(), lr=a.lr)
    if ck_path.exists():
        ck = torch.load(ck_path, map_location=dev)
        precond.load_state_dict(ck["model"])
        ema.load_state_dict(ck["ema"])
        opt.load_state_dict(ck["opt"])
        step, elapsed, best = ck["step"], ck["elapsed"], ck.get("best", -1e9)
        print(f"resumed at step {step}, {elapsed / 60:.1f} min", flush=True)
    else:
        if a.init:
            if a.init.endswith(".onnx"):
                from training.common.onnx_weights import load_onnx_weights

                load_onnx_weights(precond, a.init).train()
            else:
                precond.load_state_dict(torch.load(a.init, map_location=dev)["ema"])
            print("initialised from", a.init, flush=True)
        ema.load_state_dict(precond.state_dict())
    print("parameters", count_parameters(precond), "variant", a.variant, "device", a.device, flush=True)
    rng = np.random.default_rng(a.seed + step)
    g = torch.Generator().manual_seed(a.seed + 1000 + step)
    if a.workers > 0:
        loader = torch.utils.data.DataLoader(
            _Batches(a.batch, seg, a.seed + step, tuple(a.snr), a.music), batch_size=None, num_workers=a.workers, prefetch_factor=4, persistent_workers=True
        )
        batches = iter(loader)
        next_batch = lambda: tuple(torch.as_tensor(t) for t in next(batches))  # noqa: E731
    else:
        mixer = Mixer("train", tuple(a.snr), a.music)
        next_batch = lambda: tuple(torch.from_numpy(t) for t in mixer.batch(rng, a.batch, seg))  # noqa: E731
    val = Mixer("val").batch(np.random.default_rng(123), 24, 2 * SEG)
    val_music = Mixer("val", music=1.0).batch(np.random.default_rng(124), 16, 2 * SEG) if a.music > 0 else None
    budget = a.minutes * 60
    autocast = dev.type == "cuda"
    t_last = time.time()
    t_ck = time.time()
    t_val = time.time()
    losses = []
    while elapsed < budget:
        frac = elapsed / budget
        lr = a.lr * min(1.0, (step + 1) / 200) * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * frac)))
        for pg in opt.param_groups:
            pg["lr"] = lr
        clean, noisy = (t.to(dev, non_blocking=True) for t in next_batch())
        x0 = wav_to_state(clean)
        y = wav_to_state(noisy)
        loss = loss_fn(precond, x0, y, g, clean=clean, aux=a.aux, autocast=autocast)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(precond.parameters(), 1.0)
        opt.step()
        decay = min(0.999, (1 + step) / (10 + step))
        with torch.no_grad():
            for pe, pm in zip(ema.parameters(), precond.parameters()):
                pe.mul_(decay).add_(pm.detach(), alpha=1 - decay)
        step += 1
        if step % 50 == 0:
            losses.append(float(loss))
            print(f"step {step} {elapsed / 60:.1f} min loss {np.mean(losses):.4f} lr {lr:.2e}", flush=True)
            losses = []
        now = time.time()
        elapsed += now - t_last
        t_last = now
        last = elapsed >= budget
        if now - t_val > a.val_every or last:
            v = validate(ema, val, device=a.device)
            score = v["euler1"]  # the default is one step, so that is what selects the checkpoint
            if val_music is not None:
                vm = validate(ema, val_music, steps_list=(1,), device=a.device)
                v.update({f"music_{k}": x for k, x in vm.items()})
                # Improvement over the noisy input on each, equally weighted: music must not be bought with speech.
                score = (v["euler1"] - v["noisy"]) + (vm["euler1"] - vm["noisy"])
            print("val", step, json.dumps({k: round(x, 2) for k, x in v.items()}), flush=True)
            if score > best:
                best = score
                torch.save({"ema": ema.state_dict(), "step": step, "val": v, "variant": a.variant}, run / "best.pt")
            t_val = time.time()
            t_last = t_val  # validation time is not training time
        if now - t_ck > 180 or last:
            torch.save(
                {"model": precond.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "step": step,
                 "elapsed": elapsed, "best": best, "variant": a.variant},
                ck_path,
            )
            t_ck = time.time()
    print("done", step, f"{elapsed / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
