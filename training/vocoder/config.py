"""Every constant of the vocoder recipe in one place."""

from __future__ import annotations

from ..digits import config as D

REPO = D.REPO
RUN_DIR = REPO / "training" / "runs" / "vocoder"
PACK_DIR = D.PACK_DIR
ONNX_NAME = "vocoder.onnx"

MEL = D.MEL  # 8 kHz, n_fft 512, win 256, hop 64, 64 Slaney mels, floor 1e-5
SHIFT = D.SHIFT
SCALE = D.SCALE
N_BINS = MEL.n_fft // 2 + 1  # 257

# Backbone: ConvNeXt blocks over frames (depthwise k7 + pointwise MLP, LayerNorm, layer scale).
# Width 144 x 8 blocks, MLP 3x: 1.18 M parameters = 4.7 MB float32 ONNX (the 5 MB cap rules out the
# 256-384 widths of Vocos: one width-256 block alone is ~0.4 M parameters).
MODEL = dict(n_mels=MEL.n_mels, dim=144, mlp=432, blocks=8, kernel=7, n_bins=N_BINS, phase="direct")
LOGMAG_MAX = 8.0  # clamp of the predicted ln|X| (|X| <= 2981; a full-scale sine peaks at ~64)

# Training
CROP = 4000  # samples (0.5 s): FSDD clips are 0.42 s median, so 1 s crops would be >55 % zero padding
BATCH = 32  # 32 x 0.5 s = the same 16 audio-seconds per step as 16 x 1 s
LR = 2e-3  # sweep: 2e-3 beat 1e-3 by ~0.1 dB LSD at 4500 and 7000 steps
LR_MIN = 2e-5
WARMUP = 200
EMA = 0.998
GAIN_DB = 6.0  # random waveform gain U(-6, +6) dB (the digits model was trained with the same range)
MEL_NOISE_MAX = 0.05  # Gaussian noise on the normalised mel input, sigma ~ U(0, 0.05) per example
GRAD_CLIP = 5.0

# Loss: multi-resolution STFT (spectral convergence + L1 of ln power with the LSD epsilon) on the
# iSTFT waveform, L1 of the native log-mel, L1 of the power-law compressed (|X|^0.3) complex STFT
# at the native resolution (phase-aware).
MRSTFT = [(128, 32), (256, 64), (512, 128), (1024, 256), (2048, 512)]  # (n_fft = win, hop)
POWER_EPS = 1e-10
W_SC = 1.0
W_LOGMAG = 1.0
W_MEL = 1.0
W_COMPLEX = 0.0  # the absolute-phase complex loss never decreased (the mel does not fix absolute phase); off
COMPRESS = 0.3
# Phase-derivative losses on the predicted spectrum (anti-wrapping, as unit phasors, so the absolute
# phase, which the mel does not determine, is free): instantaneous frequency (phase advance from frame
# to frame) and group delay (phase step from bin to bin), weighted by the target's |X|^0.3.
W_IF = 1.0
W_GD = 1.0

VALID_TAKES = D.VALID_TAKES
