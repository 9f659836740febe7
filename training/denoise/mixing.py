"""On-the-fly noisy/clean pairs for training and validation (numpy, deterministic per seed).

Every example: a clean speech segment (LibriSpeech 80 %, FSDD 20 %, placed at a random offset
when shorter than the segment), and interference made of one or two of
  recorded noise (train/noise, 45 %), coloured noise (white/pink/brown, 1/f^g with g in [0, 2], 15 %),
  mains hum (50 or 60 Hz with 3-8 harmonics + a little hiss, 8 %), clicks (7 %),
  babble (2-5 other utterances, 15 %), two of the above (10 %);
the noise is reverberated (exponentially decaying Gaussian-noise impulse response, RT60 0.2-1.0 s)
with probability 0.3, and the speech with probability 0.15 (then the target keeps only the
first 40 ms of the response: the late tail counts as interference). SNR uniform in [-5, 20] dB
(`snr_db`; a fine-tuning stage may narrow it)
(target power over interference power), then a random gain sets the mixture RMS uniformly in
[-40, -15] dBFS (same gain on the target), peaks limited to 0.99.
With `music` = p > 0 (the music fine-tune), a share p of the examples take their clean target from the
music pool (prepare.py: sonic-pi samples and composed loops) instead of speech; the interference is made
the same way (babble included: speech over music is noise to remove).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import scipy.signal

SR = 16000
# DENOISE_CACHE points elsewhere (the GPU run unpacks its travelling subset there).
CACHE = Path(os.environ.get("DENOISE_CACHE") or Path(__file__).resolve().parents[2] / "training" / "runs" / "denoise" / "cache")


class Pool:
    def __init__(self, name: str):
        self.audio = np.load(CACHE / f"{name}.npy", mmap_mode="r")
        self.offs = np.load(CACHE / f"{name}_offsets.npy")

    def __len__(self) -> int:
        return len(self.offs) - 1

    def clip(self, i: int) -> np.ndarray:
        return self.audio[self.offs[i] : self.offs[i + 1]]

    def segment(self, rng: np.random.Generator, n: int, i: int | None = None) -> np.ndarray:
        if i is None:
            i = int(rng.integers(len(self)))
        c = self.clip(i)
        out = np.zeros(n, np.float32)
        if len(c) >= n:
            s = int(rng.integers(len(c) - n + 1))
            out[:] = c[s : s + n]
        else:
            s = int(rng.integers(n - len(c) + 1))
            out[s : s + len(c)] = c
        return out


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2) + 1e-12))


def _audible(draw, tries: int = 5) -> np.ndarray:
    """The first of up to `tries` draws that is not near-silent (else the last)."""
    for _ in range(tries):
        s = draw()
        if _rms(s) > 1e-3:
            break
    return s


def _coloured(rng: np.random.Generator, n: int) -> np.ndarray:
    g = rng.uniform(0.0, 2.0)
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.fft.rfftfreq(n, 1 / SR), 20.0)
    return np.fft.irfft(spec / f ** (g / 2), n).astype(np.float32)


def _hum(rng: np.random.Generator, n: int) -> np.ndarray:
    f0 = 50.0 if rng.random() < 0.5 else 60.0
    f0 *= rng.uniform(0.995, 1.005)
    t = np.arange(n) / SR
    x = np.zeros(n)
    for k in range(1, int(rng.integers(3, 9)) + 1):
        x += rng.uniform(0.1, 1.0) / k**0.5 * np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi))
    x = x / (_rms(x) + 1e-9)
    return (x + 0.05 * rng.standard_normal(n)).astype(np.float32)


def _clicks(rng: np.random.Generator, n: int) -> np.ndarray:
    x = np.zeros(n, np.float32)
    for _ in range(int(rng.integers(2, 30))):
        p = int(rng.integers(n))
        ln = int(rng.integers(1, 80))
        burst = rng.standard_normal(ln) * np.exp(-np.arange(ln) / max(1.0, ln / 4))
        x[p : p + ln] += (burst * rng.uniform(0.2, 1.0))[: n - p].astype(np.float32)
    return x


def _rir(rng: np.random.Generator) -> np.ndarray:
    rt60 = rng.uniform(0.2, 1.0)
    n = int(rt60 * SR)
    t = np.arange(n) / SR
    h = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    h[0] = 1.0 + abs(h[0])  # direct path
    return (h / np.sqrt(np.sum(h**2))).astype(np.float32)


class Mixer:
    def __init__(self, split: str = "train", snr_db: tuple[float, float] = (-5.0, 20.0), music: float = 0.0):
        self.snr_db = snr_db
        self.music_share = music
        self.music = Pool(f"music_{split}") if music > 0 else None
        self.speech = Pool(f"speech_{split}")
        self.noise = Pool(f"noise_{split}")
        # FSDD clips are short (< 1 s); LibriSpeech utterances are long.
        lens = np.diff(self.speech.offs)
        self.libri = np.nonzero(lens > 2 * SR)[0]
        self.fsdd = np.nonzero(lens <= 2 * SR)[0]

    def _speech(self, rng: np.random.Generator, n: int) -> np.ndarray:
        idx = self.libri if (rng.random() < 0.8 or len(self.fsdd) == 0) else self.fsdd
        # Near-silent LibriSpeech segments are redrawn.
        return _audible(lambda: self.speech.segment(rng, n, int(idx[rng.integers(len(idx))])))

    def _music(self, rng: np.random.Generator, n: int) -> np.ndarray:
        assert self.music is not None
        # The silent stretches of one-shots and sparse loops are redrawn.
        return _audible(lambda: self.music.segment(rng, n))

    def _noise_component(self, rng: np.random.Generator, n: int, kind: str) -> np.ndarray:
        if kind == "recorded":
            x = self.noise.segment(rng, n)
        elif kind == "coloured":
            x = _coloured(rng, n)
        elif kind == "hum":
            x = _hum(rng, n)
        elif kind == "clicks":
            x = _clicks(rng, n)
        else:  # babble
            x = sum(self._speech(rng, n) * rng.uniform(0.5, 1.0) for _ in range(int(rng.integers(2, 6))))
        return np.asarray(x, np.float32) / (_rms(x) + 1e-9)

    def example(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(clean target, noisy mixture), float32 [n]."""
        s = self._music(rng, n) if self.music is not None and rng.random() < self.music_share else self._speech(rng, n)
        kinds = ["recorded", "coloured", "hum", "clicks", "babble"]
        r = rng.random()
        if r < 0.10:
            chosen = list(rng.choice(kinds, 2, replace=False, p=[0.45, 0.15, 0.08, 0.07, 0.25]))
        else:
            chosen = [str(rng.choice(kinds, p=[0.45 / 0.9, 0.15 / 0.9, 0.08 / 0.9, 0.07 / 0.9, 0.15 / 0.9]))]
        noise = sum(self._noise_component(rng, n, k) * rng.uniform(0.5, 1.0) for k in chosen)
        if rng.random() < 0.3:
            noise = scipy.signal.fftconvolve(noise, _rir(rng))[:n]
        target = s
        tail = np.zeros(n, np.float32)
        if rng.random() < 0.15:
            h = _rir(rng)
            early = int(0.04 * SR)
            target = scipy.signal.fftconvolve(s, h[:early])[:n]
            tail = scipy.signal.fftconvolve(s, np.concatenate([np.zeros(early, np.float32), h[early:]]))[:n]
        interference = noise / (_rms(noise) + 1e-9) * (_rms(target) * 10 ** (-rng.uniform(*self.snr_db) / 20)) + tail
        mix = target + interference
        gain = 10 ** (rng.uniform(-40, -15) / 20) / (_rms(mix) + 1e-9)
        peak = np.max(np.abs(mix)) * gain
        if peak > 0.99:
            gain *= 0.99 / peak
        return (target * gain).astype(np.float32), (mix * gain).astype(np.float32)

    def batch(self, rng: np.random.Generator, b: int, n: int) -> tuple[np.ndarray, np.ndarray]:
        pairs = [self.example(rng, n) for _ in range(b)]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])
