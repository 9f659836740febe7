"""FSDD waveforms for the vocoder: train = takes >= 5, held out = takes 0-4 (never trained on)."""

from __future__ import annotations

import numpy as np
import torch

from ..common.data import read_wav
from ..digits.dataset import list_fsdd
from . import config as C


def load_fsdd() -> dict:
    """All 3000 FSDD clips as float32 tensors with digit, speaker, take (cached as int16 in
    training/runs/vocoder/fsdd_wav.pt, which also lets the recipe run where only that file is)."""
    cache = C.RUN_DIR / "fsdd_wav.pt"
    if cache.exists():
        d = torch.load(cache)
        d["waves"] = [w.float() / 32768.0 for w in d["waves"]]
        return d
    d = read_fsdd()
    C.RUN_DIR.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    torch.save(dict(d, waves=[torch.round(w * 32768.0).clamp(-32768, 32767).short() for w in d["waves"]]), tmp)
    tmp.replace(cache)
    return d


def read_fsdd() -> dict:
    waves, labels, speakers, takes, names = [], [], [], [], []
    for p, digit, spk, take in list_fsdd():
        x, sr = read_wav(p)
        if sr != C.MEL.sample_rate:
            raise ValueError(f"{p}: sample rate {sr}, expected {C.MEL.sample_rate}")
        waves.append(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)))
        labels.append(digit)
        speakers.append(spk)
        takes.append(take)
        names.append(p.name)
    return {"waves": waves, "labels": labels, "speakers": speakers, "takes": takes, "names": names}


def split(data: dict) -> tuple[list[int], list[int]]:
    train, valid = [], []
    for i, t in enumerate(data["takes"]):
        (valid if t in C.VALID_TAKES else train).append(i)
    return train, valid


def random_crop(wave: torch.Tensor, length: int, gen: torch.Generator) -> torch.Tensor:
    """A random `length`-sample window; shorter clips are placed at a random offset in silence."""
    n = wave.shape[0]
    if n >= length:
        s = int(torch.randint(0, n - length + 1, (1,), generator=gen))
        return wave[s : s + length]
    out = torch.zeros(length)
    s = int(torch.randint(0, length - n + 1, (1,), generator=gen))
    out[s : s + n] = wave
    return out


def batch(data: dict, idx: torch.Tensor, size: int, length: int, gen: torch.Generator) -> torch.Tensor:
    """[size, length] random crops of random training clips with a random gain of +-GAIN_DB."""
    pick = idx[torch.randint(0, len(idx), (size,), generator=gen)]
    gains = 10.0 ** ((torch.rand(size, generator=gen) * 2 - 1) * C.GAIN_DB / 20.0)
    return torch.stack([random_crop(data["waves"][int(i)], length, gen) * g for i, g in zip(pick, gains)])
