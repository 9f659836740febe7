"""Complex STFT front end with SGMSE amplitude compression (matches src/spectrogram conventions)."""

from __future__ import annotations

import torch

N_FFT = 512
WIN = 512
HOP = 128
ALPHA = 0.5
BETA = 0.15
_WINDOW = torch.hann_window(WIN, periodic=True)


def _window(t: torch.Tensor) -> torch.Tensor:
    return _WINDOW if t.device.type == "cpu" else _WINDOW.to(t.device)


def stft(wav: torch.Tensor) -> torch.Tensor:
    return torch.stft(wav, N_FFT, HOP, WIN, _window(wav), center=True, pad_mode="reflect", normalized=False, onesided=True, return_complex=True)


def istft(spec: torch.Tensor, length: int) -> torch.Tensor:
    return torch.istft(spec, N_FFT, HOP, WIN, _window(spec), center=True, normalized=False, onesided=True, length=length)


def compress(spec: torch.Tensor) -> torch.Tensor:
    """complex [..., F, T] -> real [..., 2, F, T]: beta |X|^alpha e^{i angle X}."""
    mag = spec.abs()
    c = BETA * mag.clamp(min=1e-12) ** (ALPHA - 1.0) * spec
    c = torch.where(mag > 0, c, torch.zeros_like(c))
    return torch.stack([c.real, c.imag], dim=-3)


def decompress(state: torch.Tensor) -> torch.Tensor:
    """real [..., 2, F, T] -> complex: |c/beta|^(1/alpha) e^{i angle c}."""
    c = torch.complex(state[..., 0, :, :], state[..., 1, :, :])
    mag = c.abs()
    out = (mag / BETA).clamp(min=1e-12) ** (1.0 / ALPHA - 1.0) / BETA * c
    return torch.where(mag > 0, out, torch.zeros_like(out))


def wav_to_state(wav: torch.Tensor) -> torch.Tensor:
    return compress(stft(wav))


def state_to_wav(state: torch.Tensor, length: int) -> torch.Tensor:
    return istft(decompress(state), length)
