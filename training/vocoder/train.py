"""Train the digits vocoder on FSDD (takes >= 5; takes 0-4 are held out).

/usr/bin/python3 -m training.vocoder.train --minutes 60 [--device cpu|cuda] [--threads 1]

Resumes from training/runs/vocoder/checkpoint.pt (model, EMA, optimiser, RNG, accumulated time) and
stops when the accumulated wall time (training + validation) reaches --minutes. The learning rate is
a warm-up then a cosine over the --minutes budget (so resuming with a larger --minutes stretches the
tail). Every --valid-every seconds: LSD (src/metrics/lsd.ts definition) of the EMA model on 60
held-out clips. Writes training/runs/vocoder/train_summary.json at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch

from ..common.ema import load_ema_model, load_train_state, make_ema, update_ema
from . import config as C
from .data import batch, load_fsdd, split
from .dsp import FrontEnd, lsd
from .losses import VocoderLoss
from .model import Vocoder, build_model, count_parameters


RECIPE_KEYS = ["LR", "LR_MIN", "WARMUP", "EMA", "GAIN_DB", "MEL_NOISE_MAX", "GRAD_CLIP", "MRSTFT", "POWER_EPS", "W_SC",
               "W_LOGMAG", "W_MEL", "W_COMPLEX", "COMPRESS", "W_IF", "W_GD"]
LEGACY_RECIPE = {"LR": 1e-3, "W_COMPLEX": 2.0, "W_IF": 0.0, "W_GD": 0.0}


def recipe() -> dict:
    return {k: getattr(C, k) for k in RECIPE_KEYS} | {"CROP": C.CROP, "BATCH": C.BATCH}


def load_ema(path=None, device: str = "cpu") -> Vocoder:
    build = lambda ck: Vocoder(**ck["config"]) if "config" in ck else build_model()  # noqa: E731
    return load_ema_model(path or C.RUN_DIR / "checkpoint.pt", build, map_location=device)[0]


@torch.no_grad()
def vocode(model: Vocoder, fe: FrontEnd, wave: torch.Tensor) -> torch.Tensor:
    """Resynthesise one clip [L] from its own normalised log-mel (the diffusion model's domain)."""
    mel = fe.norm_mel(wave.to(fe.device)[None])
    return fe.istft(model(mel), length=wave.shape[-1])[0].cpu()


def validate(model: Vocoder, fe: FrontEnd, waves: list[torch.Tensor]) -> dict[str, float]:
    l2048, l512 = [], []
    for w in waves:
        y = vocode(model, fe, w)
        l2048.append(lsd(w, y))
        l512.append(lsd(w, y, 512, 128))
    return {"lsd": sum(l2048) / len(l2048), "lsd512": sum(l512) / len(l512)}


def lr_at(seconds: float, step: int, total_seconds: float, max_steps: int = 0) -> float:
    warm = min(1.0, (step + 1) / C.WARMUP)
    frac = min(1.0, step / max_steps) if max_steps else min(1.0, seconds / max(total_seconds, 1.0))
    return warm * (C.LR_MIN + 0.5 * (C.LR - C.LR_MIN) * (1 + math.cos(math.pi * frac)))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60.0, help="budget of accumulated wall time")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=C.BATCH)
    ap.add_argument("--crop", type=int, default=C.CROP)
    ap.add_argument("--valid-every", type=float, default=300.0, help="seconds between validations")
    ap.add_argument("--save-every", type=float, default=180.0, help="seconds between checkpoints")
    ap.add_argument("--run-dir", default=str(C.RUN_DIR))
    ap.add_argument("--max-steps", type=int, default=0, help="also stop at this step; the cosine then runs over steps")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a config.py constant (experiments)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    from pathlib import Path

    run_dir = Path(args.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    dev = torch.device(args.device)

    data = load_fsdd()
    train_idx, valid_idx = split(data)
    valid_waves = [data["waves"][i] for i in valid_idx[::5]]  # 60 held-out clips
    ck_path = run_dir / "checkpoint.pt"
    ck = torch.load(ck_path, map_location=dev) if ck_path.exists() else None
    if ck is not None:
        # A resumed run keeps the recipe it was started with (checkpoints from before the recipe was
        # stored are the first recipe: LR 1e-3, complex loss weight 2, no phase-derivative losses).
        C.MODEL = dict(ck.get("config", {**C.MODEL, "phase": "direct"}))
        for k, v in ck.get("recipe", LEGACY_RECIPE).items():
            setattr(C, k, v)
    for kv in args.set:
        k, v = kv.split("=", 1)
        if not hasattr(C, k):
            raise SystemExit(f"unknown config constant {k}")
        setattr(C, k, type(getattr(C, k))(eval(v)) if not isinstance(getattr(C, k), (list, dict)) else eval(v))
        print(f"config override {k} = {getattr(C, k)}", flush=True)
    print("recipe " + json.dumps(recipe()), flush=True)
    fe = FrontEnd(dev)
    crit = VocoderLoss(fe)
    model = build_model().to(dev)
    ema = make_ema(model)
    opt = torch.optim.AdamW(model.parameters(), lr=C.LR, betas=(0.8, 0.99), weight_decay=0.01)
    state = {"step": 0, "seconds": 0.0, "valid": [], "losses": []}
    gen = torch.Generator().manual_seed(1234)
    if ck is not None:
        load_train_state(ck, model, ema, opt)
        state = ck["state"]
        gen.set_state(ck["gen"])
        torch.set_rng_state(ck["rng"])
        print(f"resumed at step {state['step']} ({state['seconds'] / 60:.1f} min)", flush=True)
    print(f"parameters {count_parameters(model)}; train clips {len(train_idx)}, valid clips {len(valid_idx)} "
          f"(validating on {len(valid_waves)}); batch {args.batch} x {args.crop} samples; device {dev}, threads {args.threads}",
          flush=True)

    def save() -> None:
        tmp = ck_path.with_suffix(".tmp")
        torch.save({"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "state": state,
                    "gen": gen.get_state(), "rng": torch.get_rng_state(), "args": vars(args), "config": C.MODEL,
                    "recipe": recipe()}, tmp)
        tmp.replace(ck_path)

    def run_validation() -> None:
        t = time.time()
        ema.eval()
        v = validate(ema, fe, valid_waves)
        v.update(step=state["step"], minutes=round(state["seconds"] / 60, 2))
        state["valid"].append(v)
        print(f"valid step {state['step']}: LSD {v['lsd']:.3f} dB (n_fft 2048), {v['lsd512']:.3f} dB (n_fft 512) "
              f"[{time.time() - t:.1f} s]", flush=True)

    train_t = torch.tensor(train_idx)
    total = args.minutes * 60
    last_save = last_valid = time.time()
    t_prev = time.time()
    run = {"loss": 0.0, "sc": 0.0, "logmag": 0.0, "mel": 0.0, "cplx": 0.0, "if": 0.0, "gd": 0.0, "n": 0, "gn": 0.0}
    step_times = []
    while state["seconds"] < total and not (args.max_steps and state["step"] >= args.max_steps):
        t_step = time.time()
        lr = lr_at(state["seconds"], state["step"], total, args.max_steps)
        for g in opt.param_groups:
            g["lr"] = lr
        wav = batch(data, train_t, args.batch, args.crop, gen).to(dev)
        with torch.no_grad():
            logmel = fe.log_mel(wav)
            x = (logmel - C.SHIFT) * C.SCALE
            sigma = torch.rand(x.shape[0], 1, 1, device=dev) * C.MEL_NOISE_MAX
            x = x + sigma * torch.randn_like(x)
        spec = model(x)
        wav_hat = fe.istft(spec, length=wav.shape[-1])
        loss, parts = crit(wav_hat, wav, logmel, spec)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), C.GRAD_CLIP)
        if torch.isfinite(gn):
            opt.step()
        update_ema(ema, model, C.EMA, state["step"])
        state["step"] += 1
        step_times.append(time.time() - t_step)
        run["loss"] += float(loss)
        run["gn"] += float(gn)
        run["n"] += 1
        for k, v in parts.items():
            run[k] += v
        now = time.time()
        state["seconds"] += now - t_prev
        t_prev = now
        if state["step"] % 50 == 0:
            n = run["n"]
            rec = {k: round(run[k] / n, 4) for k in ("loss", "sc", "logmag", "mel", "cplx", "if", "gd", "gn")}
            rec.update(step=state["step"], minutes=round(state["seconds"] / 60, 2), lr=round(lr, 6),
                       step_s=round(sum(step_times[-50:]) / len(step_times[-50:]), 3))
            state["losses"].append(rec)
            print(json.dumps(rec), flush=True)
            run = {k: 0.0 for k in run}
            run["n"] = 0
        if now - last_valid > args.valid_every:
            run_validation()
            last_valid = time.time()
        if now - last_save > args.save_every:
            save()
            last_save = time.time()
        t_prev_check = time.time()
        state["seconds"] += t_prev_check - t_prev  # validation / checkpoint time counts too
        t_prev = t_prev_check
    run_validation()
    save()
    summary = {
        "steps": state["step"],
        "minutes": round(state["seconds"] / 60, 2),
        "parameters": count_parameters(model),
        "batch": f"{args.batch} x {args.crop} samples",
        "device": str(dev),
        "threads": args.threads,
        "recipe": recipe(),
        "meanStepSeconds (this session)": round(sum(step_times) / max(1, len(step_times)), 3),
        "secondsPerStepOverall (incl. validation)": round(state["seconds"] / max(1, state["step"]), 3),
        "valid": state["valid"][-1],
        "validHistory": state["valid"],
    }
    (run_dir / "train_summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary, indent=1), flush=True)


if __name__ == "__main__":
    main()
