"""A small 2-D UNet for spectrogram diffusion (GroupNorm, SiLU, residual blocks, optional
self-attention at the lowest resolution, Fourier noise embedding, class embedding).

`forward(x, c_noise, class_labels=None)` is the raw network F of EDM; wrap it with
`training.common.edm.EDMPrecond`. Spatial sizes must be multiples of 2**(len(channels)-1).
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


def _groups(ch: int) -> int:
    for g in (8, 4, 2, 1):
        if ch % g == 0:
            return g
    return 1


class FourierEmbedding(nn.Module):
    """Sinusoidal embedding of the scalar c_noise = ln(sigma)/4 (fixed frequencies, ONNX-friendly)."""

    def __init__(self, dim: int, max_period: float = 10000.0):
        super().__init__()
        half = dim // 2
        freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
        # c_noise spans about [-1.6, 1.1]; scale so the slowest components still vary.
        self.register_buffer("freqs", freqs * 250.0, persistent=False)

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        args = c.reshape(-1, 1).float() * self.freqs.reshape(1, -1)
        return torch.cat([torch.cos(args), torch.sin(args)], dim=1)


def conv3x3(cin: int, cout: int) -> nn.Module:
    return nn.Conv2d(cin, cout, 3, padding=1)


class ResBlock(nn.Module):
    """`conv(cin, cout)` builds the two 3x3 convolutions (the loops UNet passes its circular-in-time CConv)."""

    def __init__(self, cin: int, cout: int, emb_dim: int, dropout: float = 0.0,
                 conv: Callable[[int, int], nn.Module] = conv3x3):
        super().__init__()
        self.norm1 = nn.GroupNorm(_groups(cin), cin)
        self.conv1 = conv(cin, cout)
        self.emb = nn.Linear(emb_dim, cout * 2)  # scale and shift (FiLM)
        self.norm2 = nn.GroupNorm(_groups(cout), cout)
        self.drop = nn.Dropout(dropout)
        self.conv2 = conv(cout, cout)
        for p in self.conv2.parameters():  # zero-initialised residual branch, whatever the conv wraps
            nn.init.zeros_(p)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(emb).unsqueeze(-1).unsqueeze(-1).chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.drop(F.silu(h)))
        return (self.skip(x) + h) / math.sqrt(2.0)


class Attention(nn.Module):
    def __init__(self, ch: int, heads: int = 4):
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(_groups(ch), ch)
        self.qkv = nn.Conv2d(ch, ch * 3, 1)
        self.proj = nn.Conv2d(ch, ch, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w).unbind(1)
        att = torch.softmax(torch.einsum("bhcn,bhcm->bhnm", q, k) / math.sqrt(c // self.heads), dim=-1)
        out = torch.einsum("bhnm,bhcm->bhcn", att, v).reshape(b, c, h, w)
        return (x + self.proj(out)) / math.sqrt(2.0)


class UNet2D(nn.Module):
    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 1,
        channels: tuple[int, ...] = (32, 64, 128),
        num_res_blocks: int = 1,
        attention: bool = True,
        num_classes: int = 0,
        emb_dim: int = 128,
        dropout: float = 0.0,
        patch: int = 1,
    ):
        super().__init__()
        self.num_classes = num_classes
        self.patch = patch
        self.fourier = FourierEmbedding(emb_dim)
        self.emb_mlp = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        # num_classes + 1 rows: the last index is the "no class" token for classifier-free guidance.
        self.class_emb = nn.Embedding(num_classes + 1, emb_dim) if num_classes > 0 else None
        # patch > 1: a strided patch-embedding stem and a pixel-shuffle head, so the whole UNet
        # runs at 1/patch resolution (the cost on CPU is what limits this model's size).
        if patch > 1:
            self.stem = nn.Conv2d(in_channels, channels[0], patch, stride=patch)
        else:
            self.stem = nn.Conv2d(in_channels, channels[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        skips = [channels[0]]
        ch = channels[0]
        for lvl, c in enumerate(channels):
            blocks = nn.ModuleList()
            for _ in range(num_res_blocks):
                blocks.append(ResBlock(ch, c, emb_dim, dropout))
                ch = c
                skips.append(ch)
            self.down.append(blocks)
            if lvl < len(channels) - 1:
                self.downsample.append(nn.Conv2d(ch, ch, 3, stride=2, padding=1))
                skips.append(ch)
        self.mid1 = ResBlock(ch, ch, emb_dim, dropout)
        self.mid_attn = Attention(ch) if attention else nn.Identity()
        self.mid2 = ResBlock(ch, ch, emb_dim, dropout)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for lvl, c in reversed(list(enumerate(channels))):
            blocks = nn.ModuleList()
            for _ in range(num_res_blocks + 1):
                blocks.append(ResBlock(ch + skips.pop(), c, emb_dim, dropout))
                ch = c
            self.up.append(blocks)
            if lvl > 0:
                self.upsample.append(nn.Conv2d(ch, ch, 3, padding=1))
        self.out_norm = nn.GroupNorm(_groups(ch), ch)
        self.out_conv = nn.Conv2d(ch, out_channels * patch * patch, 3, padding=1)
        nn.init.zeros_(self.out_conv.weight)
        nn.init.zeros_(self.out_conv.bias)
        # A cheap full-resolution head smooths the seams between patches after pixel shuffle.
        self.refine = None
        if patch > 1:
            self.refine = nn.Sequential(
                nn.Conv2d(in_channels + out_channels, 16, 3, padding=1),
                nn.SiLU(),
                nn.Conv2d(16, out_channels, 3, padding=1),
            )
            nn.init.zeros_(self.refine[2].weight)
            nn.init.zeros_(self.refine[2].bias)

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor, class_labels: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.fourier(c_noise)
        if self.class_emb is not None:
            if class_labels is None:
                class_labels = torch.full((x.shape[0],), self.num_classes, dtype=torch.long, device=x.device)
            emb = emb + self.class_emb(class_labels.long())
        emb = self.emb_mlp(emb)
        h = self.stem(x)
        hs = [h]
        for lvl, blocks in enumerate(self.down):
            for blk in blocks:
                h = blk(h, emb)
                hs.append(h)
            if lvl < len(self.downsample):
                h = self.downsample[lvl](h)
                hs.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        for i, blocks in enumerate(self.up):
            for blk in blocks:
                h = blk(torch.cat([h, hs.pop()], dim=1), emb)
            if i < len(self.upsample):
                h = self.upsample[i](F.interpolate(h, scale_factor=2.0, mode="nearest"))
        out = self.out_conv(F.silu(self.out_norm(h)))
        if self.refine is None:
            return out
        out = F.pixel_shuffle(out, self.patch)
        return out + self.refine(torch.cat([x, out], dim=1))


def count_parameters(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
