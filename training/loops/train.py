"""Train the loops diffusion model (EDM, x0-denoiser, CFG dropout of tags+key) on loops composed on the fly.

/usr/bin/python3 -m training.loops.train --device cpu --minutes 90 --size small            # CPU recipe
python3 -m training.loops.train --device cuda --minutes 8 --size large-keyed --batch 48 --workers 12 \
    --run /tmp/loops_large --ema-out $OUT/loops_large   # GPU recipe (EMA comes back in <= 15 MiB parts)

Resumes from RUN/checkpoint.pt (default RUN = training/runs/loops/<size>); saves every --save-every
seconds and at the end; --minutes caps the accumulated training time (the LR decays linearly to 10 % over
its last 30 %). Reads only --bank (training/runs/loops/bank.npz, built by training.loops.bank).
Works on torch 1.13 (CPU) and 2.x (CUDA, bf16 autocast).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch

from ..common.edm import edm_loss
from ..common.ema import load_ema_model, load_train_state, make_ema, torch_load, update_ema
from ..common.onnx_weights import load_onnx_weights
from . import config as C
from .dataset import LoopBatches
from .model import build_model, count_parameters


PART_BYTES = 15 * 2**20  # the GPU box returns files of at most 16 MiB: EMA weights travel in parts


def save_ema_parts(ck: dict, out_dir: str | Path) -> list[Path]:
    """EMA weights (fp32) split into ema_NN.pt files of <= 15 MiB + ema_meta.json (state, hp, args)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parts, cur, size = [], {}, 0
    for k, v in ck["ema"].items():
        nbytes = v.numel() * v.element_size()
        if cur and size + nbytes > PART_BYTES - 2**20:
            parts.append(cur)
            cur, size = {}, 0
        cur[k] = v
        size += nbytes
    parts.append(cur)
    paths = []
    for i, part in enumerate(parts):
        paths.append(out / f"ema_{i:02d}.pt")
        torch.save(part, paths[-1])
    meta = {"state": ck["state"], "hp": ck["hp"], "args": ck["args"], "parts": [p.name for p in paths]}
    (out / "ema_meta.json").write_text(json.dumps(meta, indent=1))
    return paths


def load_ema(run_dir: str | Path) -> tuple[torch.nn.Module, dict]:
    """EMA denoiser from RUN/checkpoint.pt, or from the ema_meta.json + ema_NN.pt parts of a GPU run."""
    run = Path(run_dir)
    if (run / "checkpoint.pt").exists():
        ck = torch_load(run / "checkpoint.pt")
    else:
        meta = json.loads((run / "ema_meta.json").read_text())
        ema = {}
        for name in meta["parts"]:
            ema.update(torch_load(run / name))
        ck = {"ema": ema, "state": meta["state"], "hp": meta["hp"], "args": meta["args"]}
    return load_ema_model(ck, lambda ck: build_model(ck["state"]["size"]))


def _load_weights(model: torch.nn.Module, path: str) -> None:
    if path.endswith(".onnx"):
        load_onnx_weights(model, path)
    else:
        model.load_state_dict(torch_load(path)["ema"])


def warm_start(model: torch.nn.Module, path: str, size: str) -> None:
    """Load `path` into `model`; a keyed size may start from its map-less base size's weights, whose
    function it then computes exactly (its key-map convs are zero-initialised)."""
    try:
        _load_weights(model, path)
        return
    except (ValueError, RuntimeError):
        if not C.SIZES[size].get("key_map"):
            raise
    plain = {k: v for k, v in C.SIZES[size].items() if k != "key_map"}
    base = next(s for s, kw in C.SIZES.items() if kw == plain)
    source = build_model(base)
    _load_weights(source, path)
    missing, unexpected = model.load_state_dict(source.state_dict(), strict=False)
    if unexpected or not all(".key_" in k for k in missing):
        raise ValueError(f"{path}: not a --size {base} model ({unexpected[:3]} unexpected, {missing[:3]} missing)")
    print(f"warm start from the --size {base} weights; new: {len(missing)} key-map tensors (zero)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--minutes", type=float, default=90.0, help="cap on accumulated training wall time (all resumes)")
    ap.add_argument("--size", default="small", choices=list(C.SIZES))
    ap.add_argument("--bank", default=str(C.BANK))
    ap.add_argument("--run", default=None, help="run dir (default training/runs/loops/<size>)")
    ap.add_argument("--batch", type=int, default=None, help="items per batch at T = 256 frames (scaled 0.5-2x by loop length)")
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--ema", type=float, default=None)
    ap.add_argument("--workers", type=int, default=None, help="DataLoader workers composing loops (cpu 1, cuda 12)")
    ap.add_argument("--threads", type=int, default=1, help="torch threads of the training process on cpu")
    ap.add_argument("--max-steps", type=int, default=10**9)
    ap.add_argument("--save-every", type=float, default=180.0, help="seconds between checkpoints")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init", default=None,
                    help="warm start a new run from these weights: a pack's model.onnx or a checkpoint.pt (its EMA)")
    ap.add_argument("--ema-out", default=None, help="also write the EMA weights as <=15 MiB parts here at the end (GPU box)")
    args = ap.parse_args()
    hp = dict(C.TRAIN[args.size])
    for k in ("batch", "lr", "ema"):
        if getattr(args, k) is not None:
            hp[k] = getattr(args, k)
    workers = args.workers if args.workers is not None else (1 if args.device == "cpu" else 12)
    run = Path(args.run) if args.run else C.RUN_DIR / args.size
    run.mkdir(parents=True, exist_ok=True)
    ck_path = run / "checkpoint.pt"
    dev = torch.device(args.device)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    if dev.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True

    model = build_model(args.size).to(dev)
    ema = make_ema(model)
    opt = torch.optim.Adam(model.parameters(), lr=hp["lr"], betas=(0.9, 0.99))
    state = {"step": 0, "seconds": 0.0, "losses": [], "size": args.size, "items": 0, "sessions": []}
    if ck_path.exists():
        ck = torch_load(ck_path)
        if ck["state"]["size"] != args.size:
            raise SystemExit(f"{ck_path} is a --size {ck['state']['size']} run")
        load_train_state(ck, model, ema, opt)
        state = ck["state"]
        print(f"resumed at step {state['step']} ({state['seconds'] / 60:.1f} min)", flush=True)
    elif args.init:
        # Model and EMA both start from the given weights; optimiser, step count and lr warm-up start afresh.
        warm_start(model, args.init, args.size)
        ema.load_state_dict(model.state_dict())
        state["init"] = args.init
        print(f"initialised from {args.init}", flush=True)
    session = {"device": torch.cuda.get_device_name(0) if dev.type == "cuda" else f"cpu ({platform.processor() or platform.machine()}, {args.threads} thread(s) + {workers} data worker(s))",
               "torch": torch.__version__, "startStep": state["step"], "batch": hp["batch"]}
    state["sessions"].append(session)
    print(f"size {args.size}: parameters {count_parameters(model.model)}; batch {hp['batch']} lr {hp['lr']} ema {hp['ema']}; "
          f"device {session['device']}; run {run}", flush=True)

    def save() -> None:
        session["endStep"], session["minutes"] = state["step"], state["seconds"] / 60
        tmp = ck_path.with_suffix(".tmp")
        cpu = lambda sd: {k: v.detach().cpu() for k, v in sd.items()}  # noqa: E731
        torch.save({"model": cpu(model.state_dict()), "ema": cpu(ema.state_dict()), "opt": opt.state_dict(),
                    "state": state, "args": vars(args), "hp": hp}, tmp)
        tmp.replace(ck_path)

    data = LoopBatches(args.bank, hp["batch"], args.seed, state["step"])
    loader_kw = dict(batch_size=None, num_workers=workers)
    if workers > 0:
        loader_kw.update(prefetch_factor=4, persistent_workers=False)
    if dev.type == "cuda":
        loader_kw["pin_memory"] = True
    it = iter(torch.utils.data.DataLoader(data, **loader_kw))
    budget = args.minutes * 60
    last_save = last_log = time.time()
    t_prev = time.time()
    run_loss, run_n, wait = 0.0, 0, 0.0
    while state["seconds"] < budget and state["step"] < args.max_steps:
        t_data = time.time()
        x0, tags, controls = next(it)
        wait += time.time() - t_data
        x0, tags, controls = (t.to(dev, non_blocking=True) for t in (x0, tags, controls))
        frac = state["seconds"] / budget
        lr = hp["lr"] * min(1.0, (state["step"] + 1) / 200) * (1.0 if frac < 0.7 else max(0.1, 1.0 - 0.9 * (frac - 0.7) / 0.3))
        for g in opt.param_groups:
            g["lr"] = lr
        if dev.type == "cuda":
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
                loss = edm_loss(model, x0, P_mean=C.P_MEAN, P_std=C.P_STD, tags=tags, controls=controls)
        else:
            loss = edm_loss(model, x0, P_mean=C.P_MEAN, P_std=C.P_STD, tags=tags, controls=controls)
        opt.zero_grad(set_to_none=True)
        loss.float().backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        update_ema(ema, model, hp["ema"], state["step"])
        state["step"] += 1
        state["items"] += x0.shape[0]
        run_loss += float(loss.detach())
        run_n += 1
        now = time.time()
        state["seconds"] += now - t_prev
        t_prev = now
        if now - last_log > (30 if dev.type == "cpu" else 20) or state["step"] == 1:
            state["losses"].append((state["step"], run_loss / run_n))
            print(f"step {state['step']} loss {run_loss / run_n:.4f} lr {lr:.2e} min {state['seconds'] / 60:.2f} "
                  f"s/step {(now - last_log) / max(run_n, 1):.3f} data-wait {wait / max(run_n, 1):.3f} "
                  f"items {state['items']} T {x0.shape[-1]} B {x0.shape[0]}", flush=True)
            run_loss, run_n, wait, last_log = 0.0, 0, 0.0, now
        if now - last_save > args.save_every:
            save()
            last_save = now
    save()
    if args.ema_out:
        ck = {"ema": {k: v.detach().cpu() for k, v in ema.state_dict().items()}, "state": state, "hp": hp, "args": vars(args)}
        print("EMA parts:", [str(p) for p in save_ema_parts(ck, args.ema_out)], flush=True)
    summary = {"size": args.size, "steps": state["step"], "minutes": round(state["seconds"] / 60, 2), "items": state["items"],
               "batch": hp["batch"], "parameters": count_parameters(model.model), "sessions": state["sessions"],
               "lastLoss": state["losses"][-1][1] if state["losses"] else None}
    (run / "train_summary.json").write_text(json.dumps(summary, indent=1))
    if args.ema_out:
        (Path(args.ema_out) / "train_summary.json").write_text(json.dumps(summary, indent=1))
    print(f"done: {state['step']} steps in {state['seconds'] / 60:.1f} min -> {ck_path}", flush=True)


if __name__ == "__main__":
    main()
