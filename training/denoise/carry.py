"""Pack a subset of the denoise cache small enough to travel to a lent GPU machine, and unpack it there.

The GPU machine cannot read ../shared and takes at most 64 MiB of files, so the cache is shipped as
bz2-compressed int16 deltas (lossless for 16-bit sources): whole LibriSpeech utterances taken round-robin
over speakers up to --speech-minutes, each noise file's training part capped at --noise-seconds, and a
small validation pool. FSDD (8 kHz upsampled) is left out of the GPU set.

  /usr/bin/python3 -m training.denoise.carry pack --out training/runs/carry/denoise
  python3 -m training.denoise.carry unpack --src training/runs/carry/denoise   # on the GPU machine
"""

from __future__ import annotations

import argparse
import bz2
import json
from pathlib import Path

import numpy as np

from training.denoise.mixing import CACHE, SR


def _clips(name: str) -> list[np.ndarray]:
    a = np.load(CACHE / f"{name}.npy", mmap_mode="r")
    o = np.load(CACHE / f"{name}_offsets.npy")
    return [np.asarray(a[o[i] : o[i + 1]]) for i in range(len(o) - 1)]


def _encode(clips: list[np.ndarray]) -> tuple[bytes, list[int]]:
    q = np.concatenate([np.clip(np.round(c * 32768.0), -32768, 32767).astype(np.int16) for c in clips])
    d = np.diff(q.astype(np.int32), prepend=0).astype(np.int16)  # wraps, and cumsum in int16 undoes it
    return bz2.compress(d.tobytes(), 9), [len(c) for c in clips]


def pack(out: Path, speech_minutes: float, noise_seconds: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    speech = [c for c in _clips("speech_train") if len(c) > 2 * SR]  # LibriSpeech only
    # Round-robin over utterances in file order spreads the budget over speakers (files are sorted by speaker).
    order = np.random.default_rng(0).permutation(len(speech))
    budget = int(speech_minutes * 60 * SR)
    chosen, total = [], 0
    for i in order:
        if total + len(speech[i]) > budget:
            continue
        chosen.append(speech[i])
        total += len(speech[i])
    sets = {
        "speech_train": chosen,
        "noise_train": [c[: int(noise_seconds * SR)] for c in _clips("noise_train")],
        "speech_val": [c for c in _clips("speech_val") if len(c) > 2 * SR][:20],
        "noise_val": [c[: 10 * SR] for c in _clips("noise_val")],
    }
    meta = {}
    for k, clips in sets.items():
        blob, lens = _encode(clips)
        (out / f"{k}.bz2").write_bytes(blob)
        meta[k] = {"lengths": lens, "seconds": round(sum(lens) / SR, 1), "bytes": len(blob)}
        print(k, meta[k]["seconds"], "s", len(blob) // 1024, "KiB")
    (out / "meta.json").write_text(json.dumps(meta))


def unpack(src: Path, dest: Path = CACHE) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    meta = json.loads((src / "meta.json").read_text())
    for k, m in meta.items():
        d = np.frombuffer(bz2.decompress((src / f"{k}.bz2").read_bytes()), dtype=np.int16)
        x = (np.cumsum(d, dtype=np.int16).astype(np.float32) / 32768.0)
        offs = np.zeros(len(m["lengths"]) + 1, dtype=np.int64)
        offs[1:] = np.cumsum(m["lengths"])
        np.save(dest / f"{k}.npy", x)
        np.save(dest / f"{k}_offsets.npy", offs)
    (dest / "meta.json").write_text(json.dumps({k: m["seconds"] for k, m in meta.items()}))
    print("unpacked", {k: m["seconds"] for k, m in meta.items()})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["pack", "unpack"])
    ap.add_argument("--out", default="training/runs/carry/denoise")
    ap.add_argument("--src", default="training/runs/carry/denoise")
    ap.add_argument("--dest", default=str(CACHE))
    ap.add_argument("--speech-minutes", type=float, default=22.0)
    ap.add_argument("--noise-seconds", type=float, default=60.0)
    a = ap.parse_args()
    if a.mode == "pack":
        pack(Path(a.out), a.speech_minutes, a.noise_seconds)
    else:
        unpack(Path(a.src), Path(a.dest))


if __name__ == "__main__":
    main()
