"""EMA weights and checkpoint loading shared by the training recipes (digits, loops, vocoder).

Checkpoints are dicts with at least "ema" (the EMA state dict); resumable ones also carry "model" and "opt".
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Callable

import torch
from torch import nn


def torch_load(path: str | Path, map_location="cpu"):
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except TypeError:  # very old torch without weights_only
        return torch.load(path, map_location=map_location)


def make_ema(model: nn.Module) -> nn.Module:
    """A frozen eval-mode copy of `model` that `update_ema` keeps as the running average."""
    ema = copy.deepcopy(model).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    return ema


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, beta: float, step: int) -> float:
    """One EMA step; the decay ramps up to `beta` so the first steps' (random) weights fade out quickly."""
    decay = min(beta, (1 + step) / (10 + step))
    for pe, pm in zip(ema.parameters(), model.parameters()):
        pe.mul_(decay).add_(pm.detach(), alpha=1 - decay)
    return decay


def load_train_state(ck: dict, model: nn.Module, ema: nn.Module, opt: torch.optim.Optimizer) -> None:
    """Resume: model, EMA and optimiser state from a checkpoint dict (the recipe restores its own RNG/state)."""
    model.load_state_dict(ck["model"])
    ema.load_state_dict(ck["ema"])
    opt.load_state_dict(ck["opt"])


def load_ema_model(ck: dict | str | Path, build: Callable[[dict], nn.Module],
                   map_location="cpu") -> tuple[nn.Module, dict]:
    """`build(ck)` (the checkpoint may say which architecture) loaded strictly with the EMA weights, in eval mode.
    `ck` is a checkpoint dict or a path to one."""
    if not isinstance(ck, dict):
        ck = torch_load(ck, map_location)
    model = build(ck)
    model.load_state_dict(ck["ema"])
    return model.eval(), ck
