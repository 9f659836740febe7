"""Every constant of the digits recipe in one place (the export writes them into the manifest)."""

from __future__ import annotations

import math
from pathlib import Path

from ..common.features import MelConfig

REPO = Path(__file__).resolve().parents[2]
FSDD_DIR = REPO.parent / "shared" / "data" / "train" / "fsdd" / "recordings"
SC09_DIR = REPO.parent / "shared" / "data" / "eval" / "sc09"
RUN_DIR = REPO / "training" / "runs" / "digits"
PACK_DIR = REPO / "models" / "digits"

CLASSES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
NULL_CLASS = 10
VALID_TAKES = range(0, 5)  # takes 0..4 of every speaker: held out, never trained on

MEL = MelConfig(sample_rate=8000, n_fft=512, win_length=256, hop_length=64, n_mels=64, fmin=0.0, fmax=4000.0, floor=1e-5)
FRAMES = 128  # 128 * 64 / 8000 = 1.024 s
LOG_FLOOR = math.log(MEL.floor)

# model value = (log_mel - SHIFT) * SCALE. LOG_FLOOR maps to -1 and the top of the FSDD range
# (max log-mel over the FSDD crops is about 0.9; 99.9th percentile -1.0) maps to about +1.
LOG_TOP = 0.5
SHIFT = (LOG_TOP + LOG_FLOOR) / 2.0
SCALE = 2.0 / (LOG_TOP - LOG_FLOOR)

# EDM
SIGMA_MIN = 0.002
SIGMA_MAX = 80.0
SIGMA_DATA = 0.5  # std of the normalised training crops is 0.43; mean -0.67 (mostly floor padding)
# Training sigma distribution ln(sigma) ~ N(P_mean, P_std), in phases (P_SCHEDULE). The first run used EDM's image default
# (-1.2, 1.2) and after 1009 steps the model still ignored the class (cond and uncond denoising
# errors equal): with log-mels that are mostly floor, the word is decided at sigma >= 1, which
# N(-1.2, 1.2) samples only 16 % of the time. From step 1009 on: N(-0.4, 1.4) (39 % at sigma >= 1).
# At step 1254 the class still barely helped (cond/uncond error equal within 1 % at sigma 1..10):
# the word is only undetermined at sigma >~ 10, which N(-0.4, 1.4) samples 3 % of the time, so the
# last phase centres on sigma ~ 1.6 with a wider spread (12 % at sigma >= 10).
# (first step, P_mean, P_std) phases; reproduces this run exactly.
P_SCHEDULE = [(0, -1.2, 1.2), (1009, -0.4, 1.4), (1324, 0.5, 1.5)]

UNET = dict(channels=(32, 64, 96, 128), num_res_blocks=1, attention=True, num_classes=10, emb_dim=128, patch=4)
LENGTH_MULTIPLE = 4 * 8  # patch 4 and three 2x down-samplings

LABEL_DROPOUT = 0.12
DEFAULT_STEPS = 25
DEFAULT_GUIDANCE = 4.0  # sweep on 50 clips: g2 86 %, g3 88 %, g4 94 %, g5 92 % classifier accuracy
