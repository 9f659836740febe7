"""Every constant of the loops recipe in one place (export writes them into the manifest)."""

from __future__ import annotations

import math
from pathlib import Path

from ..common.features import MelConfig

REPO = Path(__file__).resolve().parents[2]
SONIC_PI_DIR = REPO.parent / "shared" / "data" / "train" / "music" / "sonic-pi-samples"
SF2 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
RUN_DIR = REPO / "training" / "runs" / "loops"
BANK = RUN_DIR / "bank.npz"
PACK_DIR = REPO / "models" / "loops"

SR = 16000
MEL = MelConfig(sample_rate=SR, n_fft=1024, win_length=1024, hop_length=256, n_mels=80, fmin=0.0, fmax=8000.0, floor=1e-5)
HOP = MEL.hop_length
FRAMES_PER_SECOND = SR / HOP  # 62.5
LOG_FLOOR = math.log(MEL.floor)
# model value = (log_mel - SHIFT) * SCALE: LOG_FLOOR -> -1, LOG_TOP -> +1. LOG_TOP from composed-loop stats
# (training/runs/loops/stats.json, 400 loops): log-mel quantiles 1/50/90/99/99.9 % = -10.4/-3.7/-1.7/0.05/1.03,
# max 1.8; LOG_TOP 1.5 puts the 99.9th percentile at +0.83 and the median at +0.2
LOG_TOP = 1.5
SHIFT = (LOG_TOP + LOG_FLOOR) / 2.0
SCALE = 2.0 / (LOG_TOP - LOG_FLOOR)

# conditioning ------------------------------------------------------------------------------------
BPM_MIN, BPM_MAX = 70.0, 180.0
BARS_MIN, BARS_MAX = 1, 4
BARS_CHOICES = (1, 2, 3, 4)
BARS_WEIGHTS = (0.3, 0.35, 0.05, 0.3)  # the brief's {1, 2, 4}; 3 rarely, so the control's full 1..4 range is seen
NOTE_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
KEYS = ["any"] + [f"{n} major" for n in NOTE_NAMES] + [f"{n} minor" for n in NOTE_NAMES]  # 25; index/24
TAGS = [
    "drums", "bass", "chords", "arpeggio", "pad",  # parts
    "rock", "house", "hip-hop", "breakbeat", "half-time", "swing",  # groove
    "acoustic-kit", "electronic-kit",  # drum kit
    "piano", "electric-piano", "organ", "guitar", "strings", "synth", "synth-bass",  # instruments
]
N_TAGS = len(TAGS)
COND_DROPOUT = 0.15  # tags and key dropped together (-> zeros / "any"); bpm and bars never dropped
PARTIAL_TAGS = 0.2  # fraction of examples where each true tag is kept with p 0.5 (a subset of tags is a valid prompt)


def key_index(root: int, minor: bool) -> int:
    """1..12 = C..B major, 13..24 = C..B minor (0 = any)."""
    return 1 + root + (12 if minor else 0)


def controls_vector(bpm: float, key: int, bars: int) -> list[float]:
    return [(bpm - BPM_MIN) / (BPM_MAX - BPM_MIN), key / 24.0, (bars - 1) / 3.0]


def frames_for(bpm: float, bars: int) -> float:
    return bars * 4 * 60.0 / bpm * FRAMES_PER_SECOND


def snap_frames(bpm: float, bars: int, multiple: int = 4) -> tuple[int, float]:
    """Loop length T (multiple of 4 frames, T * HOP samples) closest to bpm, and the exact tempo it implies."""
    # Halves round up, as Math.round in the TypeScript pipeline (src/pipelines/loop-plan.ts), not to even.
    t = max(multiple, int(math.floor(frames_for(bpm, bars) / multiple + 0.5)) * multiple)
    lo = math.ceil(frames_for(BPM_MAX, bars) / multiple) * multiple
    hi = math.floor(frames_for(BPM_MIN, bars) / multiple) * multiple
    t = min(max(t, lo), hi)
    return t, bars * 4 * 60.0 * SR / (t * HOP)


# EDM -----------------------------------------------------------------------------------------------
SIGMA_MIN = 0.002
SIGMA_MAX = 80.0
SIGMA_DATA = 0.3  # std of normalised training mels is 0.29 (mean +0.17), stats.json
# ln(sigma) ~ N(P_MEAN, P_STD) in training: median sigma 0.55, 16 % above 2.2 (rhythm/tempo and tags are
# decided at high sigma; digits needed the same shift upwards from EDM's image default N(-1.2, 1.2))
P_MEAN, P_STD = -0.6, 1.4

LENGTH_MULTIPLE = 4
WINDOW_LENGTH = 1024  # upper bound; 4 bars at 70 BPM = 860 frames
SIZES = {
    # patch 4x4 stem (80 mels -> 20), then mel-only down-sampling; time stays at T/4; attention at the bottom
    "small": dict(channels=(32, 64, 96), num_res_blocks=1, emb_dim=128, attn_heads=4),  # 1.9 M parameters
    "large": dict(channels=(64, 112, 144), num_res_blocks=1, emb_dim=160, attn_heads=4),  # <= 4.8 M (ONNX <= 20 MB)
    # small + the key map (model.py): warm-started from a small model, whose weights it holds unchanged
    "small-keyed": dict(channels=(32, 64, 96), num_res_blocks=1, emb_dim=128, attn_heads=4, key_map=True),
    "large-keyed": dict(channels=(64, 112, 144), num_res_blocks=1, emb_dim=160, attn_heads=4, key_map=True),
}
TRAIN = {
    "small": dict(batch=12, lr=1e-3, ema=0.998),
    "large": dict(batch=48, lr=6e-4, ema=0.999),
    "small-keyed": dict(batch=12, lr=5e-4, ema=0.998),
    "large-keyed": dict(batch=48, lr=6e-4, ema=0.999),
}
DEFAULT_STEPS = 25
DEFAULT_GUIDANCE = 3.0
# The guided x0 is clamped to the data's range ([-1, 1] by the normalisation): guidance overshoots the lowest
# mel rows (max 1.70 against 1.08 on real loops), which decodes to sub-bass blobs. Measured with
# training.loops.evaluate --n 32: sub-40 Hz share median 0.22 -> 0.14, crest 19.5 -> 17.0 dB; tempo unchanged.
CLIP_X0 = 1.0
