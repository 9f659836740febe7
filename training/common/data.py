"""Audio reading helpers: WAV via scipy (no ffmpeg needed), anything else via ffmpeg."""

from __future__ import annotations

import subprocess
from math import gcd
from pathlib import Path

import numpy as np
import scipy.io.wavfile
import scipy.signal


def _to_float(x: np.ndarray) -> np.ndarray:
    if x.dtype == np.int16:
        return x.astype(np.float32) / 32768.0
    if x.dtype == np.int32:
        return x.astype(np.float32) / 2147483648.0
    if x.dtype == np.uint8:
        return (x.astype(np.float32) - 128.0) / 128.0
    return x.astype(np.float32)


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Polyphase resampling (scipy's Kaiser-windowed FIR)."""
    if sr_in == sr_out:
        return x.astype(np.float32)
    g = gcd(sr_in, sr_out)
    return scipy.signal.resample_poly(x, sr_out // g, sr_in // g).astype(np.float32)


def read_wav(path: str | Path, sample_rate: int | None = None) -> tuple[np.ndarray, int]:
    """Mono float32 [-1, 1] and its rate; channels averaged; resampled when sample_rate is given."""
    sr, x = scipy.io.wavfile.read(str(path))
    x = _to_float(x)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if sample_rate is not None and sample_rate != sr:
        x, sr = resample(x, sr, sample_rate), sample_rate
    return x, sr


def read_ffmpeg(path: str | Path, sample_rate: int) -> np.ndarray:
    """Decode any format ffmpeg reads (FLAC, OGG, ...) to mono float32 at sample_rate."""
    cmd = ["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "1", "-ar", str(sample_rate), "-"]
    res = subprocess.run(cmd, check=True, capture_output=True)
    return np.frombuffer(res.stdout, dtype=np.float32).copy()


def read_audio(path: str | Path, sample_rate: int) -> np.ndarray:
    """Mono float32 at sample_rate from WAV (scipy) or any other format (ffmpeg)."""
    if str(path).lower().endswith(".wav"):
        try:
            return read_wav(path, sample_rate)[0]
        except ValueError:
            pass  # WAV flavours scipy cannot parse (e.g. some extensible headers) fall back to ffmpeg
    return read_ffmpeg(path, sample_rate)
