"""Spectrogram front end shared by the training recipes.

Conventions equal the TypeScript front end (src/spectrogram): torch.stft with center=True and
reflect padding, a periodic Hann window of win_length zero-padded (centred) to n_fft,
normalized=False, onesided=True; Slaney mel scale with Slaney area normalisation (librosa
defaults htk=False, norm='slaney'); magnitude (not power) mel; natural log of the mel magnitude
clamped at `floor`. Run `python3 -m training.common.features` for parity numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

_F_SP = 200.0 / 3.0
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP  # 15
_LOGSTEP = math.log(6.4) / 27.0


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    """Slaney mel scale: linear below 1 kHz, logarithmic above."""
    f = np.asarray(f, dtype=np.float64)
    mel = f / _F_SP
    log_part = _MIN_LOG_MEL + np.log(np.maximum(f, 1e-10) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(f >= _MIN_LOG_HZ, log_part, mel)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    lin = m * _F_SP
    log_part = _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL))
    return np.where(m >= _MIN_LOG_MEL, log_part, lin)


def mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """[n_mels, n_fft//2+1] triangular filters, Slaney scale and area normalisation (librosa defaults)."""
    if fmax is None:
        fmax = sr / 2.0
    fft_freqs = np.linspace(0.0, sr / 2.0, 1 + n_fft // 2)
    mel_pts = np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2)
    mel_f = mel_to_hz(mel_pts)
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    weights = np.zeros((n_mels, len(fft_freqs)), dtype=np.float64)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0.0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, None]
    return weights


def hann_window_padded(win_length: int, n_fft: int) -> torch.Tensor:
    """Periodic Hann of win_length, zero-padded centred to n_fft (what torch.stft does)."""
    w = torch.hann_window(win_length, periodic=True, dtype=torch.float64)
    left = (n_fft - win_length) // 2
    return torch.nn.functional.pad(w, (left, n_fft - win_length - left))


@dataclass(frozen=True)
class MelConfig:
    sample_rate: int = 8000
    n_fft: int = 512
    win_length: int = 256
    hop_length: int = 64
    n_mels: int = 64
    fmin: float = 0.0
    fmax: float = 4000.0
    floor: float = 1e-5


class MelFrontEnd:
    """waveform [..., T] -> log mel magnitude [..., n_mels, frames] (natural log, floor-clamped)."""

    def __init__(self, cfg: MelConfig = MelConfig()):
        self.cfg = cfg
        self.window = hann_window_padded(cfg.win_length, cfg.n_fft).float()
        self.fb = torch.from_numpy(mel_filterbank(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax)).float()

    def stft_magnitude(self, wav: torch.Tensor) -> torch.Tensor:
        c = self.cfg
        shape = wav.shape
        x = wav.reshape(-1, shape[-1]).float()
        spec = torch.stft(
            x,
            n_fft=c.n_fft,
            hop_length=c.hop_length,
            win_length=c.n_fft,  # window is already padded to n_fft
            window=self.window,
            center=True,
            pad_mode="reflect",
            normalized=False,
            onesided=True,
            return_complex=True,
        )
        mag = spec.abs()
        return mag.reshape(*shape[:-1], mag.shape[-2], mag.shape[-1])

    def mel(self, wav: torch.Tensor) -> torch.Tensor:
        mag = self.stft_magnitude(wav)
        return torch.matmul(self.fb, mag)

    def log_mel(self, wav: torch.Tensor) -> torch.Tensor:
        return torch.log(torch.clamp(self.mel(wav), min=self.cfg.floor))

    def __call__(self, wav: torch.Tensor) -> torch.Tensor:
        return self.log_mel(wav)


def parity_signal(sr: int = 8000, seconds: float = 0.25) -> np.ndarray:
    """Deterministic test signal: two tones and a chirp, float32 in [-1, 1]."""
    t = np.arange(int(sr * seconds)) / sr
    x = 0.5 * np.sin(2 * np.pi * 440.0 * t) + 0.25 * np.sin(2 * np.pi * 1234.5 * t)
    x += 0.1 * np.sin(2 * np.pi * (200.0 + 3000.0 * t) * t)
    return x.astype(np.float32)


if __name__ == "__main__":
    import json

    cfg = MelConfig()
    fe = MelFrontEnd(cfg)
    x = torch.from_numpy(parity_signal(cfg.sample_rate))
    mag = fe.stft_magnitude(x)
    lm = fe.log_mel(x)
    fb = fe.fb.numpy()
    out = {
        "config": cfg.__dict__,
        "signal": "parity_signal(): 0.5 sin(440 Hz) + 0.25 sin(1234.5 Hz) + 0.1 sin(2pi (200 + 3000 t) t), 0.25 s at 8 kHz",
        "stftShape": list(mag.shape),
        "stftMagnitudeFrame3Bins0to7": [round(float(v), 6) for v in mag[:8, 3]],
        "stftMagnitudeSum": round(float(mag.double().sum()), 4),
        "melFilterbankRowSums0to3": [round(float(v), 8) for v in fb.sum(axis=1)[:4]],
        "melFilterbank[10, 0:16]": [round(float(v), 8) for v in fb[10, :16]],
        "logMelShape": list(lm.shape),
        "logMelFrame3Mels0to7": [round(float(v), 5) for v in lm[:8, 3]],
        "logMelMean": round(float(lm.double().mean()), 5),
        "logMelMin": round(float(lm.min()), 5),
        "logMelMax": round(float(lm.max()), 5),
    }
    print(json.dumps(out, indent=1))
