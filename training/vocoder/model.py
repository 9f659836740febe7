"""Vocos-style vocoder: normalised log-mel [B, 64, T] -> complex STFT [B, 2, 257, T] (real, imag)
at n_fft 512 / win 256 / hop 64, center=True framing, so audio = iSTFT(spec) (done outside the graph).

embed Conv1d k7 -> LayerNorm -> N x ConvNeXt block (depthwise Conv1d k7, LayerNorm, Linear dim->mlp,
GELU, Linear mlp->dim, layer scale, residual) -> LayerNorm -> Linear dim -> 3 x 257:
  ln|X| (clamped at LOGMAG_MAX), and an unnormalised direction (x, y) whose unit vector is the phase,
  so real = |X| x / r, imag = |X| y / r with r = sqrt(x^2 + y^2 + 1e-6) (no atan2 / cos / sin).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from . import config as C


class ConvNeXtBlock(nn.Module):
    def __init__(self, dim: int, mlp: int, kernel: int, layer_scale: float):
        super().__init__()
        self.dw = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pw1 = nn.Linear(dim, mlp)
        self.act = nn.GELU()
        self.pw2 = nn.Linear(mlp, dim)
        self.gamma = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, C, T]
        h = self.dw(x).transpose(1, 2)
        h = self.pw2(self.act(self.pw1(self.norm(h))))
        return x + (self.gamma * h).transpose(1, 2)


class Vocoder(nn.Module):
    def __init__(self, n_mels: int = 64, dim: int = 144, mlp: int = 432, blocks: int = 8, kernel: int = 7, n_bins: int = 257,
                 logmag_max: float = C.LOGMAG_MAX, phase: str = "direct", hop_ratio: int = 8):
        super().__init__()
        self.n_bins = n_bins
        self.phase = phase
        self.hop_ratio = hop_ratio  # n_fft / hop: bin k advances by 2 pi k / hop_ratio per frame
        self.logmag_max = logmag_max
        self.embed = nn.Conv1d(n_mels, dim, kernel, padding=kernel // 2)
        self.norm_in = nn.LayerNorm(dim, eps=1e-6)
        self.blocks = nn.ModuleList([ConvNeXtBlock(dim, mlp, kernel, 1.0 / blocks) for _ in range(blocks)])
        self.norm_out = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, (4 if phase == "cumsum" else 3) * n_bins)
        self.apply(self._init)
        with torch.no_grad():
            self.head.bias[:n_bins].fill_(-4.0)  # start quiet (|X| ~ 0.02) rather than at |X| = 1
            self.head.bias[n_bins : 2 * n_bins].fill_(1.0)  # phase offset (x, y) starts at (1, 0)
        self.register_buffer("bins", torch.arange(n_bins, dtype=torch.float32)[:, None], persistent=False)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Conv1d, nn.Linear)):
            nn.init.trunc_normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        # +1 maps the log floor (normalised -1) to 0, so the convolutions' zero padding reads as silence.
        h = self.embed(mel + 1.0)
        h = self.norm_in(h.transpose(1, 2)).transpose(1, 2)
        for b in self.blocks:
            h = b(h)
        h = self.head(self.norm_out(h.transpose(1, 2)))  # [B, T, 3 or 4 * bins]
        h = h.transpose(1, 2)  # [B, 3 or 4 * bins, T]
        n = self.n_bins
        logmag = torch.clamp(h[:, :n], max=self.logmag_max)
        x, y = h[:, n : 2 * n], h[:, 2 * n : 3 * n]
        scale = torch.exp(logmag) * torch.rsqrt(x * x + y * y + 1e-6)
        re, im = scale * x, scale * y
        if self.phase == "cumsum":
            # Integrated instantaneous frequency: bin k's centre advance 2 pi k / hop_ratio per frame
            # (exact, from integer k t mod hop_ratio) plus the running sum of the predicted deviation.
            # A stationary input then gives a coherent sinusoid, which a time-shift-equivariant
            # per-frame phase cannot (it would repeat the same phase every frame).
            delta = h[:, 3 * n :]
            t = torch.cumsum(torch.ones_like(delta[:1, :1]), dim=-1) - 1.0  # [1, 1, T] frame index
            kt = self.bins * t  # [1, bins, T], exact integers
            base = (kt - torch.floor(kt / self.hop_ratio) * self.hop_ratio) * (2.0 * math.pi / self.hop_ratio)
            phi = base + torch.cumsum(delta, dim=-1)
            c, s = torch.cos(phi), torch.sin(phi)
            re, im = re * c - im * s, re * s + im * c
        return torch.stack([re, im], dim=1)  # [B, 2, bins, T]


def build_model() -> Vocoder:
    return Vocoder(**C.MODEL)


def count_parameters(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
