"""Circular-in-time 2-D UNet over log-mels [B, 1, 80, T] for seamless loops.

- Every 3x3 conv pads circularly along frames (the loop wraps) and with zeros along mels.
- Stem: 4x4 patch (80 mels -> 20, T -> T/4); afterwards only the mel axis is down-sampled (20 -> 10 -> 5),
  so T must be a multiple of 4. Pixel-shuffle head + a full-resolution circular refinement.
- Beat grid computed inside the graph from the bpm control: frames_per_beat = (16000/256)*60/bpm, channels
  sin/cos(2 pi t / fpb), sin/cos(2 pi t / (4 fpb)) and a mel-position ramp, concatenated to the input and
  projected into every level (t = frame index 0..T-1, T from the input shape, so any T works in ONNX).
- FiLM conditioning: Fourier embedding of c_noise = ln(sigma)/4 plus an MLP of [tags, one-hot key (25),
  Fourier features of the bpm value, one-hot bars (4)]. All-zero tags / key "any" = unconditional.
- Self-attention over all (mel, frame) positions at the lowest resolution (5 x T/4 tokens).
- Key map (sizes with `key_map=True`): for the requested key, how much each mel row's band falls on the key's
  scale notes and on its tonic triad, relative to the average over all 24 keys (zeros for "any"). It is a
  constant [25, 2, 80] table looked up inside the graph from the key control and added through zero-initialised
  1x1 convs at every down level and in the refinement, so the convs see *where* in-key energy belongs, as the
  beat grid shows them where beats fall. The FiLM embedding alone (a per-channel scale and shift) did not teach
  key in 6000 CPU steps: generated loops had the same in-scale share for the requested key as for a tritone away.
`LoopDenoiser` = EDMPrecond around it with the ONNX signature (sample, timestep, tags, controls) -> x0.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..common.edm import EDMPrecond
from ..common.features import mel_filterbank
from ..common.unet import Attention, FourierEmbedding, ResBlock, _groups
from . import config as C
from .compose import MAJOR, scale_tonic

GRID_CH = 5
KEY_CH = 2  # scale notes, tonic triad


def key_profile_map(n_fft: int = 16384, width_semitones: float = 0.3) -> np.ndarray:
    """[25, KEY_CH, n_mels] float32: per key, the share of each mel band (its Slaney triangle, evaluated on a
    1 Hz grid) lying near the key's scale notes / tonic-triad notes (Gaussian in semitones around each
    pitch), minus the mean over the 24 keys (bands too wide to resolve a semitone come out near 0), scaled
    to unit RMS per channel. Row 0 ("any") is zeros, so dropping the key also drops the map."""
    mel = C.MEL
    fb = mel_filterbank(mel.sample_rate, n_fft, mel.n_mels, mel.fmin, mel.fmax)
    freqs = np.linspace(0.0, mel.sample_rate / 2.0, fb.shape[1])
    pitch = 69.0 + 12.0 * np.log2(np.maximum(freqs, 20.0) / 440.0)
    audible = (freqs >= 30.0).astype(np.float64)
    maps = np.zeros((25, KEY_CH, mel.n_mels))
    for minor in (False, True):
        for root in range(12):
            tonic_major = scale_tonic(C.key_index(root, minor))
            scale = [(tonic_major + d) % 12 for d in MAJOR]
            triad = [root, (root + (3 if minor else 4)) % 12, (root + 7) % 12]
            for ch, pcs in enumerate((scale, triad)):
                near = np.zeros_like(freqs)
                for pc in pcs:
                    d = (pitch - pc + 6.0) % 12.0 - 6.0
                    near += np.exp(-0.5 * (d / width_semitones) ** 2)
                maps[C.key_index(root, minor), ch] = fb @ (near * audible) / np.maximum(fb @ np.ones_like(freqs), 1e-12)
    maps[1:] -= maps[1:].mean(axis=0, keepdims=True)
    maps[1:] /= np.sqrt((maps[1:] ** 2).mean(axis=(0, 2), keepdims=True)) + 1e-12
    return maps.astype(np.float32)


class CConv(nn.Module):
    """Conv2d, circular padding along time (last axis), zero padding along mels."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride=(1, 1)):
        super().__init__()
        self.p = k // 2
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=(k // 2, 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p:
            x = torch.cat([x[..., -self.p :], x, x[..., : self.p]], dim=-1)
        return self.conv(x)


def bpm_of(controls: torch.Tensor) -> torch.Tensor:
    return C.BPM_MIN + (C.BPM_MAX - C.BPM_MIN) * controls[:, 0]


def beat_grid(like: torch.Tensor, bpm: torch.Tensor, t_scale: float, t_offset: float) -> torch.Tensor:
    """[B, 5, H, W] for a feature map `like` [*, *, H, W] whose column w sits at frame w*t_scale + t_offset."""
    ones_t = torch.ones_like(like[:1, :1, :1, :])  # [1,1,1,W]
    ones_h = torch.ones_like(like[:1, :1, :, :1])  # [1,1,H,1]
    t = (torch.cumsum(ones_t, dim=-1) - 1.0) * t_scale + t_offset
    hpos = (torch.cumsum(ones_h, dim=2) - 0.5) / ones_h.sum(dim=2, keepdim=True) * 2.0 - 1.0
    fpb = (C.FRAMES_PER_SECOND * 60.0 / bpm).reshape(-1, 1, 1, 1)
    ph_beat = 2.0 * math.pi * t / fpb  # [B,1,1,W]
    ph_bar = ph_beat / 4.0
    chans = [torch.sin(ph_beat), torch.cos(ph_beat), torch.sin(ph_bar), torch.cos(ph_bar)]
    zeros_h = ones_h * 0.0
    return torch.cat([c + zeros_h for c in chans] + [hpos + ph_beat * 0.0], dim=1)


class LoopUNet(nn.Module):
    def __init__(self, channels=(48, 96, 128), num_res_blocks: int = 1, emb_dim: int = 128, attn_heads: int = 4,
                 n_tags: int = C.N_TAGS, patch: int = 4, key_map: bool = False):
        super().__init__()
        self.patch = patch
        self.key_map = key_map
        self.n_tags = n_tags
        self.fourier = FourierEmbedding(emb_dim)
        self.sigma_mlp = nn.Sequential(nn.Linear(emb_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.register_buffer("bpm_freqs", torch.arange(1, 9, dtype=torch.float32) * math.pi, persistent=False)
        cond_dim = n_tags + 25 + 17 + 4
        self.cond_mlp = nn.Sequential(nn.Linear(cond_dim, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.stem = nn.Conv2d(1 + GRID_CH, channels[0], patch, stride=patch)
        self.grid_in = nn.ModuleList([nn.Conv2d(GRID_CH, c, 1) for c in [channels[0], *channels[:-1]]])
        self.down = nn.ModuleList()
        self.downsample = nn.ModuleList()
        skips = [channels[0]]
        ch = channels[0]
        for lvl, c in enumerate(channels):
            blocks = nn.ModuleList()
            for _ in range(num_res_blocks):
                blocks.append(ResBlock(ch, c, emb_dim, conv=CConv))
                ch = c
                skips.append(ch)
            self.down.append(blocks)
            if lvl < len(channels) - 1:
                self.downsample.append(CConv(ch, ch, 3, stride=(2, 1)))
                skips.append(ch)
        self.mid1 = ResBlock(ch, ch, emb_dim, conv=CConv)
        self.mid_attn = Attention(ch, attn_heads)
        self.mid2 = ResBlock(ch, ch, emb_dim, conv=CConv)
        self.mid_attn2 = Attention(ch, attn_heads)
        self.up = nn.ModuleList()
        self.upsample = nn.ModuleList()
        for lvl, c in reversed(list(enumerate(channels))):
            blocks = nn.ModuleList()
            for _ in range(num_res_blocks + 1):
                blocks.append(ResBlock(ch + skips.pop(), c, emb_dim, conv=CConv))
                ch = c
            self.up.append(blocks)
            if lvl > 0:
                self.upsample.append(CConv(ch, ch, 3))
        self.out_norm = nn.GroupNorm(_groups(ch), ch)
        self.out_conv = CConv(ch, patch * patch, 3)
        nn.init.zeros_(self.out_conv.conv.weight)
        nn.init.zeros_(self.out_conv.conv.bias)
        self.refine = nn.Sequential(CConv(2 + GRID_CH, 24, 3), nn.SiLU(), CConv(24, 1, 3))
        nn.init.zeros_(self.refine[2].conv.weight)
        nn.init.zeros_(self.refine[2].conv.bias)
        if key_map:
            n_mels = C.MEL.n_mels
            self.register_buffer("key_table", torch.from_numpy(key_profile_map()).reshape(25, -1), persistent=False)
            rows = [n_mels // patch // 2**lvl for lvl in range(len(channels))]
            # zero-initialised: a warm start from a map-less model computes exactly what that model did
            level_in = [channels[0], *channels[:-1]]  # channels where grid_in adds, before each level's blocks
            self.key_in = nn.ModuleList([nn.Conv2d(KEY_CH * (n_mels // r), c, 1) for r, c in zip(rows, level_in)])
            self.key_refine = nn.Conv2d(KEY_CH, 24, 1)
            for conv in [*self.key_in, self.key_refine]:
                nn.init.zeros_(conv.weight)
                nn.init.zeros_(conv.bias)

    @staticmethod
    def key_one_hot(controls: torch.Tensor) -> torch.Tensor:
        """[B, 25] one-hot of the key control (index/24)."""
        key = torch.round(controls[:, 1:2] * 24.0)
        return (key == torch.arange(25, device=controls.device, dtype=controls.dtype).reshape(1, -1)).to(controls.dtype)

    def cond_features(self, tags: torch.Tensor, controls: torch.Tensor) -> torch.Tensor:
        v_bpm = controls[:, 0:1]
        bars = torch.round(controls[:, 2:3] * 3.0)
        key_oh = self.key_one_hot(controls)
        bars_oh = (bars == torch.arange(4, device=controls.device, dtype=controls.dtype).reshape(1, -1)).to(controls.dtype)
        ang = v_bpm * self.bpm_freqs.reshape(1, -1)
        return torch.cat([tags, key_oh, v_bpm, torch.sin(ang), torch.cos(ang), bars_oh], dim=1)

    def key_features(self, controls: torch.Tensor) -> torch.Tensor:
        """[B, KEY_CH, n_mels, 1]: the key map row of the requested key."""
        return (self.key_one_hot(controls) @ self.key_table).reshape(-1, KEY_CH, C.MEL.n_mels, 1)

    @staticmethod
    def fold_rows(k: torch.Tensor, rows: int) -> torch.Tensor:
        """[B, c, n_mels, 1] -> [B, c*f, rows, 1] with f = n_mels/rows adjacent mel rows stacked as channels
        (the way the patch stem and the mel-only down-sampling group rows)."""
        b, c, n, _ = k.shape
        f = n // rows
        return k.reshape(b, c, rows, f, 1).permute(0, 1, 3, 2, 4).reshape(b, c * f, rows, 1)

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor, tags: torch.Tensor, controls: torch.Tensor) -> torch.Tensor:
        keyf = self.key_features(controls.to(x.dtype)) if self.key_map else None
        emb = self.sigma_mlp(self.fourier(c_noise)) + self.cond_mlp(self.cond_features(tags.to(x.dtype), controls.to(x.dtype)))
        emb = F.silu(emb)
        bpm = bpm_of(controls.to(x.dtype))
        p = self.patch
        g_full = beat_grid(x, bpm, 1.0, 0.0)
        h = self.stem(torch.cat([x, g_full], dim=1))
        hs = [h]
        for lvl, blocks in enumerate(self.down):
            h = h + self.grid_in[lvl](beat_grid(h, bpm, float(p), (p - 1) / 2.0))
            if keyf is not None:
                h = h + self.key_in[lvl](self.fold_rows(keyf, h.shape[2]))
            for blk in blocks:
                h = blk(h, emb)
                hs.append(h)
            if lvl < len(self.downsample):
                h = self.downsample[lvl](h)
                hs.append(h)
        h = self.mid2(self.mid_attn(self.mid1(h, emb)), emb)
        h = self.mid_attn2(h)
        for i, blocks in enumerate(self.up):
            for blk in blocks:
                h = blk(torch.cat([h, hs.pop()], dim=1), emb)
            if i < len(self.upsample):
                h = self.upsample[i](F.interpolate(h, scale_factor=(2.0, 1.0), mode="nearest"))
        out = F.pixel_shuffle(self.out_conv(F.silu(self.out_norm(h))), p)
        r = self.refine[0](torch.cat([x, out, g_full], dim=1))
        if keyf is not None:
            r = r + self.key_refine(keyf)
        return out + self.refine[2](self.refine[1](r))


def build_model(size: str = "small") -> EDMPrecond:
    return EDMPrecond(LoopUNet(**C.SIZES[size]), sigma_data=C.SIGMA_DATA, sigma_min=C.SIGMA_MIN, sigma_max=C.SIGMA_MAX)


class OnnxDenoiser(nn.Module):
    """ONNX signature: (sample [B,1,80,T], timestep = sigma [B], tags [B,K], controls [B,3]) -> x0 [B,1,80,T]."""

    def __init__(self, precond: nn.Module):
        super().__init__()
        self.precond = precond

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, tags: torch.Tensor, controls: torch.Tensor) -> torch.Tensor:
        return self.precond(sample, timestep, tags=tags, controls=controls)


def count_parameters(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


if __name__ == "__main__":
    import time

    torch.set_num_threads(1)
    for size in C.SIZES:
        m = build_model(size).eval()
        T = C.snap_frames(120, 2)[0]
        x = torch.randn(2, 1, 80, T)
        tags = torch.zeros(2, C.N_TAGS)
        ctl = torch.tensor([C.controls_vector(120, 3, 2)] * 2)
        with torch.no_grad():
            m(x, torch.tensor([1.0, 1.0]), tags=tags, controls=ctl)
            t0 = time.time()
            for _ in range(3):
                m(x, torch.tensor([1.0, 1.0]), tags=tags, controls=ctl)
            dt = (time.time() - t0) / 3
        # circularity: rolling the input by 4 frames with the grid rolled equally must roll the output
        print(size, "params", count_parameters(m), f"fwd B2 T{T} {dt * 1000:.0f} ms (1 thread)")
