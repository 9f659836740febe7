"""Signal parts of the vocoder recipe: a device-aware copy of the digits log-mel front end, the
iSTFT that turns the vocoder's spectrum into audio (same conventions as the TypeScript side), the
log-spectral distance of src/metrics/lsd.ts, and the Griffin-Lim baseline of
src/pipelines/representation.ts (mel inversion: clamped pseudo-inverse + 16 FISTA steps, then
fast Griffin-Lim with momentum 0.99 from a random phase)."""

from __future__ import annotations

import math

import torch

from ..common.features import hann_window_padded, mel_filterbank
from . import config as C


class FrontEnd:
    """wave [B, L] -> log mel [B, 64, L // 64 + 1] (as training/common/features.MelFrontEnd) and
    spec [B, 2, 257, T] -> wave (torch.istft, same window, center=True)."""

    def __init__(self, device: str | torch.device = "cpu"):
        m = C.MEL
        self.device = torch.device(device)
        self.window = hann_window_padded(m.win_length, m.n_fft).float().to(self.device)
        self.fb = torch.from_numpy(mel_filterbank(m.sample_rate, m.n_fft, m.n_mels, m.fmin, m.fmax)).float().to(self.device)

    def stft(self, wav: torch.Tensor) -> torch.Tensor:
        m = C.MEL
        return torch.stft(wav, n_fft=m.n_fft, hop_length=m.hop_length, win_length=m.n_fft, window=self.window,
                          center=True, pad_mode="reflect", normalized=False, onesided=True, return_complex=True)

    def log_mel(self, wav: torch.Tensor) -> torch.Tensor:
        mag = self.stft(wav).abs()
        return torch.log(torch.clamp(torch.matmul(self.fb, mag), min=C.MEL.floor))

    def norm_mel(self, wav: torch.Tensor) -> torch.Tensor:
        return (self.log_mel(wav) - C.SHIFT) * C.SCALE

    def istft(self, spec: torch.Tensor, length: int | None = None) -> torch.Tensor:
        """spec [B, 2, 257, T] (real, imag) -> [B, length or (T - 1) * hop]."""
        m = C.MEL
        z = torch.complex(spec[:, 0], spec[:, 1])
        return torch.istft(z, n_fft=m.n_fft, hop_length=m.hop_length, win_length=m.n_fft, window=self.window,
                           center=True, normalized=False, onesided=True, length=length)


def denormalise(x: torch.Tensor) -> torch.Tensor:
    return x / C.SCALE + C.SHIFT


def lsd(reference: torch.Tensor, estimate: torch.Tensor, fft_size: int = 2048, hop: int | None = None, eps: float = 1e-10) -> float:
    """src/metrics/lsd.ts: per frame the RMS over bins of 10 log10((P_ref + eps) / (P_est + eps)),
    mean over frames; power spectra of centred reflect-padded frames with a periodic Hann window."""
    hop = hop or max(1, fft_size // 4)
    w = torch.hann_window(fft_size, periodic=True, dtype=torch.float64)

    def power(x: torch.Tensor) -> torch.Tensor:
        s = torch.stft(x.double().reshape(1, -1), n_fft=fft_size, hop_length=hop, window=w, center=True,
                       pad_mode="reflect", return_complex=True)[0]
        return s.real ** 2 + s.imag ** 2

    a, b = power(reference), power(estimate)
    d = 10.0 * torch.log10((a + eps) / (b + eps))  # [bins, frames]
    return float(torch.sqrt((d ** 2).mean(dim=0)).mean())


class GriffinLim:
    """Mel magnitude -> waveform, as the TypeScript MelRepresentation.decode does."""

    def __init__(self, fe: FrontEnd, fista_iterations: int = 16):
        self.fe = fe
        fb = fe.fb.double().cpu()
        g = fb @ fb.T
        self.lipschitz = float(torch.linalg.eigvalsh(g).max())
        ridge = max(1e-10 * float(torch.trace(g)) / g.shape[0], 1e-300)
        self.pinv = (fb.T @ torch.linalg.inv(g + ridge * torch.eye(g.shape[0]))).float().to(fe.device)  # [257, 64]
        self.fb = fe.fb
        self.iters = fista_iterations

    def mel_to_linear(self, mel: torch.Tensor) -> torch.Tensor:
        """mel amplitude [..., 64, T] -> non-negative |X| [..., 257, T] with fb @ |X| ~ mel."""
        x = torch.clamp(self.pinv @ mel, min=0.0)
        x_prev = x
        t = 1.0
        step = 1.0 / self.lipschitz
        for _ in range(self.iters):
            t_next = (1 + math.sqrt(1 + 4 * t * t)) / 2
            p = x + (t - 1) / t_next * (x - x_prev)
            grad = self.fb.T @ (self.fb @ p - mel)
            x_prev = x
            x = torch.clamp(p - step * grad, min=0.0)
            t = t_next
        return x

    def __call__(self, log_mel: torch.Tensor, length: int, iterations: int = 32, momentum: float = 0.99, seed: int = 0) -> torch.Tensor:
        """log_mel [B, 64, T] (natural log, floor-clamped) -> wave [B, length]."""
        mag = self.mel_to_linear(torch.exp(log_mel))
        frames = mag.shape[-1]
        inner = (frames - 1) * C.MEL.hop_length
        g = torch.Generator().manual_seed(seed)
        ang = torch.rand(mag.shape, generator=g) * (2 * math.pi)
        ang = ang.to(mag.device)
        phase = torch.complex(torch.cos(ang), torch.sin(ang))
        prev = torch.zeros_like(phase)
        gamma = momentum / (1 + momentum)
        m = C.MEL
        for _ in range(iterations):
            spec = mag * phase
            y = torch.istft(spec, n_fft=m.n_fft, hop_length=m.hop_length, win_length=m.n_fft, window=self.fe.window,
                            center=True, length=inner)
            c = self.fe.stft(y)
            u = c - gamma * prev
            prev = c
            n = u.abs()
            phase = torch.where(n > 1e-16, u / torch.clamp(n, min=1e-16), torch.ones_like(u))
        return torch.istft(mag * phase, n_fft=m.n_fft, hop_length=m.hop_length, win_length=m.n_fft,
                           window=self.fe.window, center=True, length=length)
