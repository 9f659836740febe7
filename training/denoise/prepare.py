"""Decode the training audio once into a cache (training/runs/denoise/cache/, not in git).

Speech: LibriSpeech train-clean-100 (FLAC 16 kHz) + FSDD (WAV 8 kHz, upsampled to 16 kHz).
Noise: train/noise speech-commands WAVs (16 kHz) and blanket OGGs (44.1 kHz -> 16 kHz).
Music (clean targets of the music fine-tune, `train --music`): train/music/sonic-pi-samples (FLAC, the
vinyl_* and misc_* files left out: they are noise or effects) and loops composed from the loops model's
sample bank (training/runs/loops/bank.npz: sonic-pi drum one-shots + fluidsynth FluidR3 GM instruments,
built by `python -m training.loops.bank`), tiled to at least 6 s.
Validation: the LibriSpeech speakers listed in VAL_SPEAKERS, the FSDD speaker "yweweler", the last
15 % of every noise file, every 6th sonic-pi file and the loops of their own seed are held out (never
trained on). eval/ is never read here.

Run: /usr/bin/python3 -m training.denoise.prepare [--music-only]
"""

from __future__ import annotations

import argparse
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
MUSIC_SKIP = ("vinyl_", "misc_")
MUSIC_VAL_EVERY = 6
COMPOSED = {"music_train": (600, 1), "music_val": (40, 2)}  # (loops, seed)
COMPOSED_MIN_SECONDS = 6.0


def _concat(clips: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate clips; return (audio, offsets[n+1])."""
    offs = np.zeros(len(clips) + 1, dtype=np.int64)
    offs[1:] = np.cumsum([len(c) for c in clips])
    return (np.concatenate(clips).astype(np.float32) if clips else np.zeros(0, np.float32)), offs


def _save(key: str, clips: list[np.ndarray], meta: dict) -> None:
    audio, offs = _concat(clips)
    np.save(CACHE / f"{key}.npy", audio)
    np.save(CACHE / f"{key}_offsets.npy", offs)
    meta[key] = {"clips": len(clips), "seconds": round(len(audio) / SR, 1)}


def prepare_music(meta: dict) -> None:
    """music_train / music_val pools (see the module docstring)."""
    from training.loops import config as LC
    from training.loops.compose import Bank, compose

    if LC.SR != SR:
        raise ValueError(f"loops bank rate {LC.SR} Hz, the denoiser needs {SR} Hz")
    files = [p for p in sorted((DATA / "music" / "sonic-pi-samples").glob("*.flac")) if not p.name.startswith(MUSIC_SKIP)]
    sets: dict[str, list[np.ndarray]] = {"music_train": [], "music_val": []}
    for i, p in enumerate(files):
        x = read_ffmpeg(p, SR)
        sets["music_val" if i % MUSIC_VAL_EVERY == MUSIC_VAL_EVERY - 1 else "music_train"].append(x - x.mean())
    if not Path(LC.BANK).exists():
        raise FileNotFoundError(f"{LC.BANK}: build the loops sample bank first (python -m training.loops.bank)")
    bank = Bank()
    for key, (n, seed) in COMPOSED.items():
        rng = np.random.default_rng(seed)
        for _ in range(n):
            a = compose(bank, rng).audio  # seamless loop: tiling keeps the groove
            reps = int(np.ceil(COMPOSED_MIN_SECONDS * SR / len(a)))
            sets[key].append(np.tile(a, reps).astype(np.float32))
    for key, clips in sets.items():
        _save(key, clips, meta)
    meta["music"] = {"sonicPiFiles": len(files), "composedLoops": {k: v[0] for k, v in COMPOSED.items()}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--music-only", action="store_true", help="only (re)build the music pools")
    a = ap.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    if a.music_only:
        meta = json.loads((CACHE / "meta.json").read_text()) if (CACHE / "meta.json").exists() else {}
        prepare_music(meta)
        (CACHE / "meta.json").write_text(json.dumps(meta, indent=1))
        print(json.dumps(meta, indent=1))
        return
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
        _save(key, clips, meta)
    prepare_music(meta)
    (CACHE / "meta.json").write_text(json.dumps(meta, indent=1))
    print(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()
