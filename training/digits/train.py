"""Train the digits diffusion model (EDM, class-conditional, CFG label dropout) on FSDD.

Run from the repo root: /usr/bin/python3 -m training.digits.train [--max-steps 2800] [--minutes 88]
Resumes from training/runs/digits/checkpoint.pt; stops once the accumulated training time
reaches --minutes (or --max-steps). Uses one thread.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from ..common.edm import EDMPrecond, edm_loss
from ..common.ema import load_ema_model, load_train_state, make_ema, update_ema
from ..common.unet import UNet2D, count_parameters
from . import config as C
from .dataset import example, load_cache, normalise, split_indices


def build_model() -> EDMPrecond:
    return EDMPrecond(UNet2D(**C.UNET), sigma_data=C.SIGMA_DATA, sigma_min=C.SIGMA_MIN, sigma_max=C.SIGMA_MAX)


def load_ema(path=None) -> EDMPrecond:
    return load_ema_model(path or C.RUN_DIR / "checkpoint.pt", lambda ck: build_model())[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=88.0, help="safety cap on accumulated wall time")
    ap.add_argument("--max-steps", type=int, default=2800)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--ema", type=float, default=0.998)
    ap.add_argument("--save-every", type=float, default=180.0, help="seconds between checkpoints")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)

    cache = load_cache()
    train_idx, _ = split_indices(cache)
    model = build_model()
    ema = make_ema(model)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.99))
    state = {"step": 0, "seconds": 0.0, "losses": []}
    ck_path = C.RUN_DIR / "checkpoint.pt"
    gen = torch.Generator().manual_seed(1234)
    if ck_path.exists():
        ck = torch.load(ck_path)
        load_train_state(ck, model, ema, opt)
        state = ck["state"]
        gen.set_state(ck["gen"])
        torch.set_rng_state(ck["rng"])
        print(f"resumed at step {state['step']} ({state['seconds'] / 60:.1f} min)", flush=True)
    print(f"parameters {count_parameters(model.model)}; train clips {len(train_idx)}", flush=True)

    def save() -> None:
        tmp = ck_path.with_suffix(".tmp")
        torch.save(
            {"model": model.state_dict(), "ema": ema.state_dict(), "opt": opt.state_dict(), "state": state,
             "gen": gen.get_state(), "rng": torch.get_rng_state(), "args": vars(args)},
            tmp,
        )
        tmp.replace(ck_path)

    train_t = torch.tensor(train_idx)
    last_save = time.time()
    t_prev = time.time()
    run_loss, run_n = 0.0, 0
    while state["seconds"] < args.minutes * 60 and state["step"] < args.max_steps:
        pick = train_t[torch.randint(0, len(train_idx), (args.batch,), generator=gen)]
        x0 = normalise(torch.stack([example(cache, int(i), gen, augment=True) for i in pick])).unsqueeze(1)
        labels = torch.tensor([cache["labels"][int(i)] for i in pick])
        drop = torch.rand(args.batch, generator=gen) < C.LABEL_DROPOUT
        labels = torch.where(drop, torch.full_like(labels, C.NULL_CLASS), labels)
        # Linear warm-up over the first 300 steps; constant after (the EMA does the averaging).
        for g in opt.param_groups:
            g["lr"] = args.lr * min(1.0, (state["step"] + 1) / 300)
        p_mean, p_std = [(m, s) for first, m, s in C.P_SCHEDULE if state["step"] >= first][-1]
        loss = edm_loss(model, x0, P_mean=p_mean, P_std=p_std, class_labels=labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        update_ema(ema, model, args.ema, state["step"])
        state["step"] += 1
        now = time.time()
        state["seconds"] += now - t_prev
        t_prev = now
        run_loss += loss.item()
        run_n += 1
        if state["step"] % 50 == 0:
            state["losses"].append((state["step"], run_loss / run_n))
            print(f"step {state['step']} loss {run_loss / run_n:.4f} min {state['seconds'] / 60:.1f} "
                  f"steps/s {state['step'] / max(state['seconds'], 1e-9):.3f}", flush=True)
            run_loss, run_n = 0.0, 0
        if now - last_save > args.save_every:
            save()
            last_save = now
    save()
    (C.RUN_DIR / "train_summary.json").write_text(
        json.dumps({"steps": state["step"], "minutes": state["seconds"] / 60, "batch": args.batch,
                    "parameters": count_parameters(model.model)}, indent=1))
    print(f"done: {state['step']} steps in {state['seconds'] / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()
