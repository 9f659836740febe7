"""Build the sample bank training/runs/loops/bank.npz (int16, 16 kHz): sonic-pi drum one-shots plus
pitched notes rendered with fluidsynth from FluidR3_GM. The training machine only needs this file.

/usr/bin/python3 -m training.loops.bank [--out training/runs/loops/bank.npz]

Pitched notes are stored every STEP semitones (hold HOLD s + release REL s); compose.py fills in the
semitones between by resampling (at most +-1 semitone). Layout of the npz:
  audio int16 [N]  all samples concatenated;  offsets int64 [n+1];  kind: 'drum' | 'note'
  names, categories (kick/snare/hat/open/tom/perc/clap or the instrument), kits (acoustic/electronic/-),
  pitches (MIDI, -1 for drums), meta_json (CREDITS, instruments, STEP, HOLD, REL).
"""

from __future__ import annotations

import argparse
import json
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..common.data import read_audio
from . import config as C

HOLD = 1.5
REL = 0.5
GAP = 2.5  # seconds between note-ons in the rendered MIDI
STEP = 3

# name -> (GM program, lowest, highest MIDI pitch needed)
INSTRUMENTS = {
    "piano": (0, 48, 84),
    "electric-piano": (4, 48, 81),
    "organ": (16, 48, 79),
    "nylon-guitar": (24, 45, 76),
    "clean-guitar": (27, 45, 76),
    "strings": (48, 48, 79),
    "synth-lead": (80, 57, 88),
    "synth-pad": (89, 48, 79),
    "fingered-bass": (33, 28, 55),
    "synth-bass": (38, 28, 55),
}

ACOUSTIC = {
    "kick": ["drum_bass_hard", "drum_bass_soft", "drum_heavy_kick"],
    "snare": ["drum_snare_hard", "drum_snare_soft", "sn_generic"],
    "hat": ["drum_cymbal_closed", "drum_cymbal_pedal"],
    "open": ["drum_cymbal_open", "drum_cymbal_soft", "drum_cymbal_hard", "drum_splash_soft", "ride_tri", "ride_via"],
    "tom": ["drum_tom_hi_hard", "drum_tom_hi_soft", "drum_tom_mid_hard", "drum_tom_mid_soft", "drum_tom_lo_hard", "drum_tom_lo_soft"],
    "perc": ["drum_cowbell", "tabla_na", "tabla_te1", "tabla_ke1", "tabla_tun1"],
    "clap": ["perc_snap", "perc_snap2"],
}
ELECTRONIC = {
    "kick": ["bd_808", "bd_ada", "bd_boom", "bd_fat", "bd_gas", "bd_haus", "bd_klub", "bd_pure", "bd_sone", "bd_tek",
             "bd_zome", "bd_zum", "bd_chip", "bd_jazz", "bd_mehackit", "elec_soft_kick", "elec_hollow_kick"],
    "snare": ["sn_dolf", "sn_dub", "sn_zome", "elec_snare", "elec_lo_snare", "elec_hi_snare", "elec_mid_snare", "elec_filt_snare"],
    "hat": ["hat_snap", "hat_zap", "hat_cats", "hat_tap", "hat_bdu", "hat_psych", "hat_zild", "hat_zan", "hat_gump",
            "hat_noiz", "hat_sci", "hat_star", "hat_gem", "hat_raw", "hat_yosh", "hat_mess", "hat_cab", "hat_gnu",
            "hat_hier", "hat_metal", "hat_len"],
    "open": ["elec_cymbal"],
    "tom": ["elec_fuzz_tom"],
    "perc": ["elec_tick", "elec_wood", "elec_triangle", "elec_pop", "elec_blip", "elec_ping", "elec_bong", "perc_bell"],
    "clap": ["perc_snap", "perc_snap2", "elec_flip"],
}

CREDITS = {
    "sonic-pi-samples": (
        "Sonic Pi sample pack (etc/samples of sonic-pi-net/sonic-pi): samples from freesound.org placed in the public "
        "domain via Creative Commons 0 (CC0 1.0), arovane_* donated by Uwe Zahn (Arovane) under CC0; many slightly "
        "modified and trimmed for Sonic Pi. Used here: drum_*, bd_*, sn_*, hat_*, ride_*, elec_*, perc_*, tabla_* one-shots "
        "(authors per sample in the pack README, e.g. menegass, looppool, EKVelika, Dolfeus, hullum, TheEndOfACycle)."
    ),
    "FluidR3_GM": (
        "FluidR3_GM.sf2 General MIDI SoundFont, Copyright (c) 2000-2002, 2008 Frank Wen, (c) 2008 Toby Smithe; MIT "
        "licence ('I hereby release Fluid under the MIT license', Debian fluid-soundfont-gm copyright file). Notes "
        "rendered with FluidSynth 2.3 (reverb and chorus off) at 16 kHz."
    ),
}


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def write_midi(path: Path, program: int, pitches: list[int], velocity: int = 100) -> None:
    """Format-0 SMF at 120 BPM, 480 ticks/quarter (960 ticks/s): one note every GAP s, held HOLD s."""
    tps = 960
    ev = bytearray()
    ev += _vlq(0) + bytes([0xFF, 0x51, 0x03]) + (500000).to_bytes(3, "big")
    ev += _vlq(0) + bytes([0xC0, program])
    t_prev = 0
    for i, p in enumerate(pitches):
        on = int(round((0.5 + i * GAP) * tps))
        off = on + int(round(HOLD * tps))
        ev += _vlq(on - t_prev) + bytes([0x90, p, velocity])
        ev += _vlq(off - on) + bytes([0x80, p, 0])
        t_prev = off
    ev += _vlq(int(GAP * tps)) + bytes([0xFF, 0x2F, 0x00])
    path.write_bytes(b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480) + b"MTrk" + struct.pack(">I", len(ev)) + bytes(ev))


def render_instrument(program: int, pitches: list[int], td: Path) -> list[np.ndarray]:
    mid, wav = td / f"p{program}.mid", td / f"p{program}.wav"
    write_midi(mid, program, pitches)
    cmd = ["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.5", "-r", str(C.SR), "-F", str(wav), str(C.SF2), str(mid)]
    subprocess.run(cmd, check=True, capture_output=True)
    x = read_audio(wav, C.SR)
    n = int(round((HOLD + REL) * C.SR))
    notes = []
    for i in range(len(pitches)):
        s = int(round((0.5 + i * GAP) * C.SR))
        seg = x[s : s + n].copy()
        seg = np.pad(seg, (0, n - len(seg)))
        seg[-160:] *= np.linspace(1, 0, 160, dtype=np.float32)
        notes.append(seg)
    return notes


def trim_drum(x: np.ndarray, max_s: float = 1.0) -> np.ndarray:
    peak = float(np.abs(x).max()) + 1e-12
    above = np.nonzero(np.abs(x) > peak * 10 ** (-40 / 20))[0]
    x = x[max(0, above[0] - 16) :]
    env = np.abs(x)
    above = np.nonzero(env > peak * 10 ** (-50 / 20))[0]
    x = x[: min(len(x), above[-1] + 1, int(max_s * C.SR))].copy()
    fade = min(len(x) // 4, int(0.03 * C.SR))
    if fade > 0:
        x[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)
    return x / peak * 0.9


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(C.BANK))
    args = ap.parse_args()
    items = []  # (audio, name, category, kit, pitch)
    cache: dict[str, np.ndarray] = {}
    for kit, table in (("acoustic", ACOUSTIC), ("electronic", ELECTRONIC)):
        for cat, names in table.items():
            for name in names:
                if name not in cache:
                    cache[name] = trim_drum(read_audio(C.SONIC_PI_DIR / f"{name}.flac", C.SR))
                items.append((cache[name], name, cat, kit, -1))
    n_drum_audio = sum(len(v) for v in cache.values())
    with tempfile.TemporaryDirectory() as td:
        for inst, (prog, lo, hi) in INSTRUMENTS.items():
            pitches = list(range(lo + 1, hi + 2, STEP))  # stored pitch p serves p-1..p+1
            for p, a in zip(pitches, render_instrument(prog, pitches, Path(td))):
                items.append((a, f"{inst}_{p}", inst, "-", p))
    # drums shared between kits are stored once per kit entry (small); notes normalised per instrument later
    audio = np.concatenate([a for a, *_ in items])
    offsets = np.cumsum([0] + [len(a) for a, *_ in items]).astype(np.int64)
    peak = float(np.abs(audio).max())
    audio_i16 = np.clip(np.round(audio / max(peak, 1.0) * 32767), -32768, 32767).astype(np.int16)
    meta = {"credits": CREDITS, "instruments": {k: list(v) for k, v in INSTRUMENTS.items()}, "step": STEP, "hold": HOLD,
            "release": REL, "sr": C.SR}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out, audio=audio_i16, offsets=offsets,
        names=np.array([n for _, n, *_ in items]), categories=np.array([c for _, _, c, _, _ in items]),
        kits=np.array([k for *_, k, _ in items]), pitches=np.array([p for *_, p in items], dtype=np.int32),
        meta_json=np.array(json.dumps(meta)),
    )
    rms = {inst: float(np.sqrt(np.mean(np.concatenate([a for a, _, c, _, _ in items if c == inst]) ** 2))) for inst in INSTRUMENTS}
    print(json.dumps({"file": str(out), "MB": round(out.stat().st_size / 1e6, 2), "items": len(items),
                      "seconds": round(len(audio) / C.SR, 1), "drumSeconds": round(n_drum_audio / C.SR, 1),
                      "rawPeak": round(peak, 3), "noteRms": {k: round(v, 4) for k, v in rms.items()}}, indent=1))


if __name__ == "__main__":
    main()
