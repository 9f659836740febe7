"""FSDD log-mel cache: every clip as a floor-padded log-mel with its energy centre, plus the
crop/augmentation that turns it into a [1, 64, 128] training example."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from ..common.data import read_wav
from ..common.features import MelFrontEnd
from . import config as C

_NAME = re.compile(r"^(\d)_([a-z]+)_(\d+)\.wav$")
MARGIN = 24  # floor frames on each side of every cached clip, room for crops and shifts


def list_fsdd(root: Path = C.FSDD_DIR) -> list[tuple[Path, int, str, int]]:
    items = []
    for p in sorted(root.glob("*.wav")):
        m = _NAME.match(p.name)
        if m:
            items.append((p, int(m.group(1)), m.group(2), int(m.group(3))))
    if not items:
        raise FileNotFoundError(f"no FSDD recordings in {root}")
    return items


def energy_centre(log_mel: torch.Tensor) -> float:
    """Frame index of the energy centroid (mel magnitude squared, summed over bins)."""
    e = torch.exp(2.0 * log_mel).sum(dim=0).double()
    t = torch.arange(e.shape[0], dtype=torch.float64)
    return float((e * t).sum() / e.sum().clamp(min=1e-12))


def log_mel_of(wave: np.ndarray, fe: MelFrontEnd | None = None) -> torch.Tensor:
    fe = fe or MelFrontEnd(C.MEL)
    return fe.log_mel(torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32)))


def pad_floor(lm: torch.Tensor, left: int, right: int) -> torch.Tensor:
    return torch.nn.functional.pad(lm, (left, right), value=C.LOG_FLOOR)


def centre_crop(lm: torch.Tensor, frames: int = C.FRAMES, offset: int = 0) -> torch.Tensor:
    """[64, T] log-mel -> [64, frames] window centred on the energy centroid (+offset), floor-padded."""
    c = int(round(energy_centre(lm))) + offset
    start = c - frames // 2
    padded = pad_floor(lm, frames, frames)
    return padded[:, start + frames : start + 2 * frames]


def build_cache(path: Path) -> dict:
    """Log-mels of all 3000 clips (floor-padded by MARGIN) with labels, speakers, takes, centres."""
    fe = MelFrontEnd(C.MEL)
    mels, labels, speakers, takes, centres = [], [], [], [], []
    for p, digit, spk, take in list_fsdd():
        x, sr = read_wav(p)
        if sr != C.MEL.sample_rate:
            raise ValueError(f"{p}: sample rate {sr}, expected {C.MEL.sample_rate}")
        lm = log_mel_of(x, fe)
        centres.append(energy_centre(lm) + C.FRAMES + MARGIN)
        mels.append(pad_floor(lm, C.FRAMES + MARGIN, C.FRAMES + MARGIN).half())
        labels.append(digit)
        speakers.append(spk)
        takes.append(take)
    cache = {"mels": mels, "labels": labels, "speakers": speakers, "takes": takes, "centres": centres}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(cache, path)
    return cache


def load_cache() -> dict:
    path = C.RUN_DIR / "fsdd_logmel.pt"
    if path.exists():
        return torch.load(path)
    return build_cache(path)


def split_indices(cache: dict) -> tuple[list[int], list[int]]:
    train, valid = [], []
    for i, take in enumerate(cache["takes"]):
        (valid if take in C.VALID_TAKES else train).append(i)
    return train, valid


def normalise(log_mel: torch.Tensor) -> torch.Tensor:
    return (log_mel - C.SHIFT) * C.SCALE


def denormalise(x: torch.Tensor) -> torch.Tensor:
    return x / C.SCALE + C.SHIFT


def example(
    cache: dict, i: int, gen: torch.Generator | None = None, augment: bool = False, max_shift: int = 8, max_gain_db: float = 6.0
) -> torch.Tensor:
    """Log-mel crop [64, FRAMES] of clip i; with augment: random gain and a small time shift."""
    lm = cache["mels"][i].float()
    c = int(round(cache["centres"][i]))
    if augment:
        c += int(torch.randint(-max_shift, max_shift + 1, (1,), generator=gen))
        gain = (torch.rand(1, generator=gen).item() * 2 - 1) * max_gain_db
        # A gain scales every mel magnitude, i.e. shifts the log; the floor stays the floor.
        lm = torch.clamp(lm + gain / 20.0 * np.log(10.0), min=C.LOG_FLOOR)
    start = c - C.FRAMES // 2
    return lm[:, start : start + C.FRAMES]
