"""Small 2-D UNet for complex-STFT speech denoising (raw network F of EDM).

Input: the preconditioned state c_in*x [B, 2, 257, T] and the noisy condition [B, 2, 257, T].
Output F = g * x_in + M (complex) * condition + r, where g, M, r come from the trunk at full resolution.
It is built for CPU speed: a 2x2 patchify stem (no convolution at full resolution), one
residual block per level with FiLM sigma conditioning, nearest upsampling cropped to the skip's
size. Padding of bins (257 -> 258) and frames (T -> T+1) and the final crop happen inside the
graph, so any T >= 1 works and ONNX needs no length multiple.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def _groups(ch: int) -> int:
    for g in (8, 4, 2, 1):
        if ch % g == 0:
            return g
    return 1


class FourierEmbedding(nn.Module):
    """Sinusoidal embedding of c_noise = ln(sigma)/4."""

    def __init__(self, dim: int):
        super().__init__()
        half = dim // 2
        freqs = torch.exp(-math.log(1000.0) * torch.arange(half, dtype=torch.float32) / half)
        self.register_buffer("freqs", freqs * 40.0, persistent=False)

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        args = c.reshape(-1, 1).float() * self.freqs.reshape(1, -1)
        return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


class Block(nn.Module):
    """Residual block: norm -> SiLU -> conv -> FiLM(sigma) -> SiLU -> conv, plus a 1x1 skip."""

    def __init__(self, cin: int, cout: int, emb_dim: int, convs: int = 2):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(cin), cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb_dim, cout * 2)
        self.convs = convs
        if convs == 2:
            self.norm2 = nn.GroupNorm(_groups(cout), cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
            nn.init.zeros_(self.conv2.weight)
            nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(emb).unsqueeze(-1).unsqueeze(-1).chunk(2, dim=1)
        if self.convs == 2:
            h = self.norm2(h) * (1 + scale) + shift
            h = self.conv2(F.silu(h))
        else:
            h = h * (1 + scale) + shift
        return (self.skip(x) + h) / math.sqrt(2.0)


class DenoiseUNet(nn.Module):
    """UNet over (bins, frames). `patch` is the stem's kernel = stride; level i has channels[i] and
    enc_convs[i] / dec_convs[i] 3x3 convolutions (0 = no block); mid_blocks at the lowest level."""

    def __init__(
        self,
        channels: tuple[int, ...] = (32, 48, 96, 160),
        enc_convs: tuple[int, ...] = (0, 1, 2),
        dec_convs: tuple[int, ...] = (1, 1, 2),
        mid_blocks: int = 2,
        patch: tuple[int, int] = (4, 4),
        emb_dim: int = 64,
        cond_scale: float = 1.0,
    ):
        super().__init__()
        self.cond_scale = float(cond_scale)
        self.patch = tuple(patch)
        self.fourier = FourierEmbedding(emb_dim)
        self.emb_mlp = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.stem = nn.Conv2d(4, channels[0], kernel_size=self.patch, stride=self.patch)
        n = len(channels)
        self.down = nn.ModuleList([nn.Conv2d(channels[i], channels[i + 1], 3, stride=2, padding=1) for i in range(n - 1)])
        self.enc = nn.ModuleList(
            [Block(channels[i], channels[i], emb_dim, enc_convs[i]) if enc_convs[i] else nn.Identity() for i in range(n - 1)]
        )
        self.mid = nn.ModuleList([Block(channels[-1], channels[-1], emb_dim, 2) for _ in range(mid_blocks)])
        self.merge = nn.ModuleList([nn.Conv2d(channels[i + 1] + channels[i], channels[i], 1) for i in range(n - 1)])
        self.dec = nn.ModuleList([Block(channels[i], channels[i], emb_dim, dec_convs[i]) for i in range(n - 1)])
        self.out_norm = nn.GroupNorm(_groups(channels[0]), channels[0])
        # 5 full-resolution maps: a real gain on the state, a complex mask on the condition, and a
        # complex residual. Masks carry per-bin detail that the 4x4-patch trunk cannot.
        self.head = nn.ConvTranspose2d(channels[0], 5, kernel_size=self.patch, stride=self.patch)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        n_bins, n_frames = x.shape[-2], x.shape[-1]
        emb = self.emb_mlp(self.fourier(c_noise))
        c = condition * self.cond_scale
        h = torch.cat([x, c], dim=1)
        # Static padding so the stride-p stem covers every bin and frame (ceil); cropped at the end.
        pf, pt = self.patch
        h = F.pad(h, (0, pt - 1, 0, pf - 1))
        h = self.stem(h)
        skips = []
        for i in range(len(self.down)):
            enc = self.enc[i]
            h = enc(h, emb) if isinstance(enc, Block) else h
            skips.append(h)
            h = self.down[i](h)
        for blk in self.mid:
            h = blk(h, emb)
        for i in reversed(range(len(self.down))):
            s = skips[i]
            h = F.interpolate(h, scale_factor=2.0, mode="nearest")[:, :, : s.shape[-2], : s.shape[-1]]
            h = self.merge[i](torch.cat([h, s], dim=1))
            h = self.dec[i](h, emb)
        h = self.head(F.silu(self.out_norm(h)))[:, :, :n_bins, :n_frames]
        yr, yi = c[:, 0:1], c[:, 1:2]
        mr, mi = h[:, 1:2], h[:, 2:3]
        masked = torch.cat([mr * yr - mi * yi, mr * yi + mi * yr], dim=1)
        return h[:, 0:1] * x + masked + h[:, 3:5]


def count_parameters(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
