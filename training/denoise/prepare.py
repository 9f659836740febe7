"""Decode the training audio once into a cache (training/runs/denoise/cache/, not in git).

Speech: LibriSpeech train-clean-100 (FLAC 16 kHz) + FSDD (WAV 8 kHz, upsampled to 16 kHz).
Noise: train/noise speech-commands WAVs (16 kHz) and blanket OGGs (44.1 kHz -> 16 kHz).
Validation: the LibriSpeech speakers listed in VAL_SPEAKERS, the FSDD speaker "yweweler", and
the last 15 % of every noise file are held out (never trained on). eval/ is never read here.

Run: /usr/bin/python3 -m training.denoise.prepare
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from training.common.data import read_audio, read_ffmpeg

SR = 16000
ROOT = Path(__file__).resolve().parents[2]
DATA = (ROOT / ".." / "shared" / "data" / "train").resolve()
CACHE = ROOT / "training" / "runs" / "denoise" / "cache"
# 12 LibriSpeech speakers (6 F, 6 M chosen by id order, fixed) held out for validation.
N_VAL_LIBRI = 12
VAL_FSDD = "yweweler"
NOISE_VAL_FRACTION = 0.15


def _concat(clips: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate clips; return (audio, offsets[n+1])."""
    offs = np.zeros(len(clips) + 1, dtype=np.int64)
    offs[1:] = np.cumsum([len(c) for c in clips])
    return (np.concatenate(clips).astype(np.float32) if clips else np.zeros(0, np.float32)), offs


def main() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    libri = sorted((DATA / "librispeech-train-clean-100").glob("*.flac"))
    speakers = sorted({p.name.split("-")[0] for p in libri}, key=int)
    val_spk = set(speakers[:: max(1, len(speakers) // N_VAL_LIBRI)][:N_VAL_LIBRI])
    sets: dict[str, list[np.ndarray]] = {"speech_train": [], "speech_val": []}
    for p in libri:
        x = read_ffmpeg(p, SR)
        sets["speech_val" if p.name.split("-")[0] in val_spk else "speech_train"].append(x)
    for p in sorted((DATA / "fsdd" / "recordings").glob("*.wav")):
        x = read_audio(p, SR)  # 8 kHz -> 16 kHz polyphase
        spk = p.stem.split("_")[1]
        sets["speech_val" if spk == VAL_FSDD else "speech_train"].append(x)
    noise_train, noise_val, names = [], [], []
    noise_files = sorted((DATA / "noise").glob("*/*.wav")) + sorted((DATA / "noise").glob("*/*.ogg"))
    for p in noise_files:
        x = read_audio(p, SR)
        x = x - x.mean()
        cut = int(len(x) * (1 - NOISE_VAL_FRACTION))
        noise_train.append(x[:cut])
        noise_val.append(x[cut:])
        names.append(p.name)
    meta = {"val_librispeech_speakers": sorted(val_spk, key=int), "val_fsdd_speaker": VAL_FSDD, "noises": names}
    for key, clips in [*sets.items(), ("noise_train", noise_train), ("noise_val", noise_val)]:
        audio, offs = _concat(clips)
        np.save(CACHE / f"{key}.npy", audio)
        np.save(CACHE / f"{key}_offsets.npy", offs)
        meta[key] = {"clips": len(clips), "seconds": round(len(audio) / SR, 1)}
    (CACHE / "meta.json").write_text(json.dumps(meta, indent=1))
    print(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
