"""Batches of composed loops as normalised circular log-mels, generated on the fly.

Each batch shares one (tempo, bars): T = loop frames rounded to a multiple of 4 and the tempo is
adjusted so the loop is exactly T * 256 samples (tempo_eff = bars*4*60*16000/(T*256)); the model is
conditioned on tempo_eff. The mel of a loop is circular: STFT of [loop[-512:], loop, loop[:512]] with
center=False, i.e. exactly the middle copy of the centred STFT of the loop tiled 3x.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..common.features import MelFrontEnd
from . import config as C
from .compose import Bank, compose

_FE = None


def front_end() -> MelFrontEnd:
    global _FE
    if _FE is None:
        _FE = MelFrontEnd(C.MEL)
    return _FE


def circular_log_mel(audio: torch.Tensor) -> torch.Tensor:
    """audio [B, T*hop] (one loop period) -> log mel [B, n_mels, T] of the loop played forever."""
    fe = front_end()
    pad = C.MEL.n_fft // 2
    x = torch.cat([audio[:, -pad:], audio, audio[:, :pad]], dim=-1).float()
    spec = torch.stft(x, n_fft=C.MEL.n_fft, hop_length=C.HOP, win_length=C.MEL.n_fft, window=fe.window,
                      center=False, normalized=False, onesided=True, return_complex=True)
    T = audio.shape[-1] // C.HOP
    mel = torch.matmul(fe.fb, spec.abs()[..., :T])
    return torch.log(torch.clamp(mel, min=C.MEL.floor))


def normalise(log_mel: torch.Tensor) -> torch.Tensor:
    return (log_mel - C.SHIFT) * C.SCALE


def denormalise(v: torch.Tensor) -> torch.Tensor:
    return v / C.SCALE + C.SHIFT


def batch_size_for(T: int, batch: int) -> int:
    """Roughly constant frames per batch: `batch` items at T = 256 frames (half to twice as many)."""
    return int(min(2 * batch, max(max(1, batch // 2), round(batch * 256 / T))))


def make_batch(bank: Bank, rng: np.random.Generator, batch: int, bpm: float | None = None, bars: int | None = None,
               dropout: bool = True, fixed_batch: bool = False):
    if bpm is None:
        bpm = float(rng.uniform(C.BPM_MIN, C.BPM_MAX))
    if bars is None:
        bars = int(rng.choice(C.BARS_CHOICES, p=C.BARS_WEIGHTS))
    T, bpm_eff = C.snap_frames(bpm, bars)
    B = batch if fixed_batch else batch_size_for(T, batch)
    loops = [compose(bank, rng, bpm=bpm_eff, bars=bars, n_samples=T * C.HOP) for _ in range(B)]
    audio = torch.from_numpy(np.stack([lp.audio for lp in loops]))
    x0 = normalise(circular_log_mel(audio)).unsqueeze(1)
    tags = np.stack([lp.tags for lp in loops])
    keys = np.array([lp.key for lp in loops])
    if dropout:
        u = rng.random(B)
        drop_both = u < C.COND_DROPOUT
        drop_key = (u >= C.COND_DROPOUT) & (u < C.COND_DROPOUT + 0.10)
        drop_tags = (u >= C.COND_DROPOUT + 0.10) & (u < C.COND_DROPOUT + 0.15)
        partial = (u >= C.COND_DROPOUT + 0.15) & (u < C.COND_DROPOUT + 0.15 + C.PARTIAL_TAGS)
        tags = tags * (rng.random(tags.shape) < 0.5) * partial[:, None] + tags * ~partial[:, None]
        tags[drop_both | drop_tags] = 0.0
        keys = np.where(drop_both | drop_key, 0, keys)
    controls = np.array([C.controls_vector(bpm_eff, int(k), bars) for k in keys], dtype=np.float32)
    return x0, torch.from_numpy(tags.astype(np.float32)), torch.from_numpy(controls), {"T": T, "bpm": bpm_eff, "bars": bars}


class LoopBatches(torch.utils.data.IterableDataset):
    """Endless batches; each DataLoader worker has its own RNG stream (seed, start step, worker id)."""

    def __init__(self, bank_path, batch: int, seed: int, start_step: int):
        super().__init__()
        self.bank_path, self.batch, self.seed, self.start_step = str(bank_path), batch, seed, start_step

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        wid = info.id if info is not None else 0
        torch.set_num_threads(1)
        bank = Bank(self.bank_path)
        rng = np.random.default_rng([self.seed, self.start_step, wid])
        while True:
            x0, tags, controls, meta = make_batch(bank, rng, self.batch)
            yield x0, tags, controls


def stats(n: int = 400, seed: int = 7) -> dict:
    bank = Bank()
    rng = np.random.default_rng(seed)
    vals, means, stds = [], [], []
    for _ in range(n // 8):
        x0, *_ = make_batch(bank, rng, 8, fixed_batch=True, dropout=False)
        lm = denormalise(x0)
        vals.append(lm.flatten()[torch.randperm(lm.numel())[:20000]])
        means.append(float(x0.mean()))
        stds.append(float(x0.std()))
    v = torch.cat(vals).double()
    q = torch.quantile(v, torch.tensor([0.01, 0.5, 0.9, 0.99, 0.999], dtype=torch.float64)).tolist()
    return {"loops": n, "logMelQuantiles_1_50_90_99_99.9": [round(x, 3) for x in q], "logMelMax": round(float(v.max()), 3),
            "normMean": round(float(np.mean(means)), 4), "normStd": round(float(np.mean(stds)), 4),
            "SHIFT": C.SHIFT, "SCALE": C.SCALE}


if __name__ == "__main__":
    import json
    import time

    torch.set_num_threads(1)
    # circular mel == middle copy of the tiled centred STFT
    rng = np.random.default_rng(0)
    bank = Bank()
    T, bpm = C.snap_frames(123.0, 2)
    lp = compose(bank, rng, bpm=bpm, bars=2, n_samples=T * C.HOP)
    a = torch.from_numpy(lp.audio)[None]
    ref = front_end().log_mel(torch.cat([a, a, a], -1))[..., T : 2 * T]
    print("circular mel vs tiled middle max abs diff", float((circular_log_mel(a) - ref).abs().max()))
    s = stats()
    print(json.dumps(s))
    (C.RUN_DIR / "stats.json").write_text(json.dumps(s, indent=1))
    t0 = time.time()
    n = 0
    while time.time() - t0 < 8:
        x0, *_ = make_batch(bank, rng, 12, fixed_batch=True)
        n += x0.shape[0]
    print("loops+mel per second (1 thread):", round(n / (time.time() - t0), 1))
