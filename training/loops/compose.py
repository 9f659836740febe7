"""Procedural loop composer (numpy) over the sample bank: tempo-locked, seamlessly loopable 4/4 loops.

compose(bank, rng, bpm=None, bars=None, n_samples=None, ...) -> Loop(audio, tags, key, bpm, bars, info).
Every note is rendered circularly: a tail that runs past the loop end wraps to the start, so the audio
is exactly one period of the loop played forever. `python3 -m training.loops.compose` times it and
writes a few example WAVs to training/runs/loops/examples/.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from . import config as C

MAJOR = [0, 2, 4, 5, 7, 9, 11]
MINOR = [0, 2, 3, 5, 7, 8, 10]


def scale_tonic(key: int) -> int:
    """Tonic pitch class of the major scale whose notes key 1..24 uses (a minor key: its relative major's)."""
    root = (key - 1) % 12
    return root if key <= 12 else (root + 3) % 12
PROG_MAJOR = [[0, 4, 5, 3], [0, 3, 4, 3], [5, 3, 0, 4], [0, 5, 3, 4], [1, 4, 0, 0], [0, 3, 0, 4], [0, 0, 3, 4], [0, 3, 5, 4]]
PROG_MINOR = [[0, 5, 2, 6], [0, 3, 4, 0], [0, 6, 5, 6], [0, 3, 6, 2], [0, 5, 3, 4], [0, 0, 5, 6], [0, 3, 0, 4]]
STYLES = ["rock", "house", "hip-hop", "breakbeat", "half-time"]
INST_TAG = {"piano": "piano", "electric-piano": "electric-piano", "organ": "organ", "nylon-guitar": "guitar",
            "clean-guitar": "guitar", "strings": "strings", "synth-lead": "synth", "synth-pad": "synth",
            "synth-bass": "synth-bass", "fingered-bass": None}
RELEASE_S = {"piano": 0.25, "electric-piano": 0.2, "organ": 0.04, "nylon-guitar": 0.2, "clean-guitar": 0.2,
             "strings": 0.35, "synth-lead": 0.08, "synth-pad": 0.4, "fingered-bass": 0.06, "synth-bass": 0.05}
CHORD_INST = ["piano", "electric-piano", "organ", "nylon-guitar", "clean-guitar"]
ARP_INST = ["synth-lead", "piano", "electric-piano", "nylon-guitar", "clean-guitar"]
PAD_INST = ["strings", "synth-pad", "organ"]
BASS_INST = ["fingered-bass", "synth-bass"]


class Bank:
    """Float32 views of bank.npz: drums[kit][category] -> list of arrays; notes[inst][pitch] -> array."""

    def __init__(self, path=C.BANK):
        z = np.load(str(path))
        audio = z["audio"].astype(np.float32) / 32768.0
        off = z["offsets"]
        meta = json.loads(str(z["meta_json"]))
        self.meta = meta
        self.hold = int(round(meta["hold"] * C.SR))
        self.drums: dict[str, dict[str, list[np.ndarray]]] = {}
        stored: dict[str, dict[int, np.ndarray]] = {}
        for i, (cat, kit, p) in enumerate(zip(z["categories"], z["kits"], z["pitches"])):
            a = audio[off[i] : off[i + 1]]
            if int(p) < 0:
                self.drums.setdefault(str(kit), {}).setdefault(str(cat), []).append(a)
            else:
                stored.setdefault(str(cat), {})[int(p)] = a
        self.notes: dict[str, dict[int, np.ndarray]] = {}
        for inst, table in stored.items():
            ps = np.array(sorted(table))
            peak = np.median([np.abs(a).max() for a in table.values()])
            full = {}
            for q in range(int(ps.min()) - 1, int(ps.max()) + 2):
                p = int(ps[np.argmin(np.abs(ps - q))])
                x = table[p] * (0.5 / peak)
                if q != p:  # resample by 2^((q-p)/12): at most one semitone
                    r = 2.0 ** ((q - p) / 12.0)
                    n = int(len(x) / r)
                    x = np.interp(np.arange(n) * r, np.arange(len(x)), x).astype(np.float32)
                full[q] = x.astype(np.float32)
            self.notes[inst] = full

    def note(self, inst: str, pitch: int, dur: int) -> np.ndarray:
        """One note held `dur` samples then released (its own tail faded over the release time)."""
        table = self.notes[inst]
        lo, hi = min(table), max(table)
        pitch = int(pitch)
        while pitch > hi:  # fold by octaves into the instrument's range (keeps the pitch class)
            pitch -= 12
        while pitch < lo:
            pitch += 12
        x = table[pitch]
        rel = int(RELEASE_S[inst] * C.SR)
        hold = min(self.hold, len(x) - rel)
        dur = max(dur, 32)
        if dur <= hold:
            y = x[: dur + rel].copy()
        else:  # sustain: cross-faded repeats of the held middle of the note
            seg_a, seg_b, xf = int(0.4 * C.SR), hold, int(0.05 * C.SR)
            seg = x[seg_a:seg_b]
            y = x[:seg_b].copy()
            ramp = np.linspace(0, 1, xf, dtype=np.float32)
            while len(y) < dur + rel:
                y[-xf:] = y[-xf:] * (1 - ramp) + seg[:xf] * ramp
                y = np.concatenate([y, seg[xf:]])
            y = y[: dur + rel]
        tail = len(y) - dur
        if tail > 0:
            y[dur:] *= np.exp(-np.arange(tail, dtype=np.float32) / max(1.0, tail / 5.0))
        return y


def add_circular(out: np.ndarray, x: np.ndarray, pos: int) -> None:
    L = len(out)
    i, n = 0, len(x)
    pos %= L
    while i < n:
        start = (pos + i) % L
        m = min(n - i, L - start)
        out[start : start + m] += x[i : i + m]
        i += m


@dataclass
class Loop:
    audio: np.ndarray
    tags: np.ndarray
    key: int
    bpm: float
    bars: int
    info: dict = field(default_factory=dict)


def _drum_pattern(style: str, rng: np.random.Generator) -> list[tuple[int, str, float]]:
    """One bar of 16 steps: (step, category, velocity)."""
    ev: list[tuple[int, str, float]] = []
    hats16 = rng.random() < 0.35
    if style == "rock":
        kicks = [[0, 8], [0, 8, 10], [0, 6, 8], [0, 3, 8, 10]][rng.integers(4)]
        ev += [(k, "kick", 1.0) for k in kicks] + [(4, "snare", 1.0), (12, "snare", 1.0)]
        hat = "open" if rng.random() < 0.2 else "hat"
        ev += [(s, hat, 0.9 if s % 4 == 0 else 0.6) for s in range(0, 16, 1 if hats16 else 2)]
    elif style == "house":
        ev += [(k, "kick", 1.0) for k in (0, 4, 8, 12)]
        ev += [(s, "clap" if rng.random() < 0.5 else "snare", 0.9) for s in (4, 12)]
        ev += [(s, "open" if rng.random() < 0.5 else "hat", 0.8) for s in (2, 6, 10, 14)]
        if hats16:
            ev += [(s, "hat", 0.35) for s in range(1, 16, 2)]
        if rng.random() < 0.4:
            ev += [(s, "perc", 0.5) for s in [[3, 11], [7, 15], [3, 6, 11, 14]][rng.integers(3)]]
    elif style == "hip-hop":
        kicks = [[0, 7, 10], [0, 3, 10, 11], [0, 10], [0, 2, 7, 10]][rng.integers(4)]
        ev += [(k, "kick", 1.0) for k in kicks] + [(4, "snare", 1.0), (12, "snare", 1.0)]
        ev += [(s, "hat", 0.8 if s % 4 == 0 else 0.55) for s in range(0, 16, 1 if hats16 else 2)]
    elif style == "breakbeat":
        kicks = [[0, 2, 10, 11], [0, 10], [0, 6, 10]][rng.integers(3)]
        ev += [(k, "kick", 1.0) for k in kicks] + [(4, "snare", 1.0), (12, "snare", 1.0)]
        ev += [(s, "snare", 0.35) for s in (7, 9, 15) if rng.random() < 0.7]
        ev += [(s, "hat", 0.8 if s % 4 == 0 else 0.55) for s in range(0, 16, 2)]
        if rng.random() < 0.3:
            ev.append((int(rng.choice([0, 8])), "open", 0.7))
    else:  # half-time
        kicks = [[0], [0, 3], [0, 11], [0, 3, 11]][rng.integers(4)]
        ev += [(k, "kick", 1.0) for k in kicks] + [(8, "snare", 1.0)]
        ev += [(s, "hat", 0.8 if s % 4 == 0 else 0.5) for s in range(0, 16, 1 if hats16 else 2)]
    return ev


def _chord(root_pc: int, minor: bool, degree: int, seventh: bool) -> list[int]:
    scale = MINOR if minor else MAJOR
    idx = [degree, degree + 2, degree + 4] + ([degree + 6] if seventh else [])
    pcs = [(scale[i % 7] + 12 * (i // 7)) for i in idx]
    if minor and degree == 4 and not seventh:  # harmonic-minor V (major third)
        pcs[1] += 1
    return [root_pc + p for p in pcs]


def _voice(chord: list[int], centre: float) -> list[int]:
    """Inversion of the chord (pitch classes relative) whose mean is closest to centre."""
    best, best_d = None, 1e9
    base = [p for p in chord]
    for inv in range(len(chord)):
        v = sorted(base[inv:] + [p + 12 for p in base[:inv]])
        shift = 12 * round((centre - np.mean(v)) / 12)
        v = [p + shift for p in v]
        d = abs(np.mean(v) - centre)
        if d < best_d:
            best, best_d = v, d
    return best


def compose(bank: Bank, rng: np.random.Generator, bpm: float | None = None, bars: int | None = None,
            n_samples: int | None = None, root: int | None = None, minor: bool | None = None,
            parts: list[str] | None = None, style: str | None = None) -> Loop:
    if bpm is None:
        bpm = float(rng.uniform(C.BPM_MIN, C.BPM_MAX))
    if bars is None:
        bars = int(rng.choice(C.BARS_CHOICES, p=C.BARS_WEIGHTS))
    L = int(n_samples) if n_samples is not None else int(round(bars * 4 * 60.0 / bpm * C.SR))
    six = L / (bars * 16.0)  # samples per sixteenth (exact, so the grid wraps exactly)
    root = int(rng.integers(12)) if root is None else root
    minor = bool(rng.random() < 0.5) if minor is None else minor
    if parts is None:
        parts = [p for p, pr in (("drums", 0.8), ("bass", 0.65), ("chords", 0.55), ("arpeggio", 0.3), ("pad", 0.3)) if rng.random() < pr]
        if not parts:
            parts = [str(rng.choice(["drums", "chords", "pad", "arpeggio"]))]
    style = style or str(rng.choice(STYLES))
    tags = set(parts)
    mix = np.zeros(L, np.float32)
    info: dict = {"parts": parts, "L": L}

    def place(x: np.ndarray, step: float, gain: float, jitter_ms: float = 0.0) -> None:
        pos = int(round(step * six + (rng.normal(0, jitter_ms) * C.SR / 1000 if jitter_ms else 0.0)))
        add_circular(part, x * gain, pos)

    # drums ---------------------------------------------------------------------------------------
    swing = 0.0
    if "drums" in parts:
        tags.add(style)
        kit = "acoustic" if rng.random() < (0.7 if style in ("rock", "breakbeat", "half-time") else 0.25) else "electronic"
        tags.add(f"{kit}-kit")
        pick = {cat: lst[rng.integers(len(lst))] for cat, lst in bank.drums[kit].items()}
        if rng.random() < (0.6 if style == "hip-hop" else 0.15):
            swing = float(rng.uniform(0.1, 0.35))
            if swing >= 0.15:
                tags.add("swing")
        part = np.zeros(L, np.float32)
        jitter = 2.0 if kit == "acoustic" else 0.0
        base = _drum_pattern(style, rng)
        for b in range(bars):
            ev = list(base)
            if b == bars - 1 and rng.random() < 0.3:  # fill in the last bar
                fill_cat = "tom" if rng.random() < 0.5 else "snare"
                ev = [e for e in ev if e[0] < 12 or e[1] == "kick"] + [(s, fill_cat, 0.5 + 0.1 * i) for i, s in enumerate((12, 13, 14, 15)) if rng.random() < 0.8]
            for step, cat, vel in ev:
                s = step + (swing if step % 2 == 1 else 0.0)
                v = max(0.05, vel * (1.0 + rng.normal(0, 0.08)))
                place(pick[cat], b * 16 + s, v ** 1.5 * (0.7 if cat in ("hat", "open", "perc") else 1.0), jitter)
        mix += part * 10 ** ((0 + rng.uniform(-2, 2)) / 20)
    info["swing"] = swing

    # harmony -------------------------------------------------------------------------------------
    per_bar = 2 if (bars <= 2 and rng.random() < 0.35) else 1
    n_slots = bars * per_bar
    prog = (PROG_MINOR if minor else PROG_MAJOR)[rng.integers(len(PROG_MINOR if minor else PROG_MAJOR))]
    degrees = [0] if n_slots == 1 else [prog[i % len(prog)] for i in range(n_slots)]
    slot16 = 16 // per_bar
    seventh = rng.random() < 0.3
    chords = [_chord(root, minor, d, seventh) for d in degrees]
    info["degrees"] = degrees

    if "bass" in parts:
        inst = BASS_INST[rng.integers(2)]
        if INST_TAG[inst]:
            tags.add(INST_TAG[inst])
        pat = str(rng.choice(["whole", "eighths", "root-fifth", "octave", "syncopated", "offbeat"],
                             p=[0.15, 0.2, 0.2, 0.15, 0.15, 0.15] if style != "house" else [0.1, 0.15, 0.1, 0.2, 0.1, 0.35]))
        part = np.zeros(L, np.float32)
        for i, ch in enumerate(chords):
            r = (ch[0] % 12) + 28 + (12 if (ch[0] % 12) < 5 else 0)  # E1..D#2 .. up to E2
            t0 = i * slot16
            if pat == "whole":
                hits = [(0, r, slot16)]
            elif pat == "eighths":
                hits = [(k, r, 1.6) for k in range(0, slot16, 2)]
            elif pat == "root-fifth":
                hits = [(k, r if (k // 4) % 2 == 0 else r + 7, 3.2) for k in range(0, slot16, 4)]
            elif pat == "octave":
                hits = [(k, r if (k // 2) % 2 == 0 else r + 12, 1.6) for k in range(0, slot16, 2)]
            elif pat == "syncopated":
                hits = [(k, r + (7 if k == 10 else 0), 2.5) for k in (0, 3, 6, 10, 12) if k < slot16]
            else:
                hits = [(k, r, 1.5) for k in range(2, slot16, 4)]
            for k, p, d in hits:
                s = k + (swing if k % 2 == 1 else 0.0)
                place(bank.note(inst, p, int(d * six)), t0 + s, 0.9 + 0.2 * rng.random())
        mix += part * 10 ** ((-3 + rng.uniform(-3, 3)) / 20)

    voicings = []
    prev = 64.0
    for ch in chords:
        v = _voice([p % 12 + 60 for p in ch], prev)
        voicings.append(v)
        prev = 0.7 * prev + 0.3 * float(np.mean(v))

    if "chords" in parts:
        inst = CHORD_INST[rng.integers(len(CHORD_INST))]
        tags.add(INST_TAG[inst])
        pat = str(rng.choice(["block", "quarters", "offbeat", "syncopated", "halves"],
                             p=[0.25, 0.2, 0.2, 0.2, 0.15] if style != "house" else [0.1, 0.15, 0.5, 0.15, 0.1]))
        rhythm = {"block": [(0, 16)], "quarters": [(k, 3) for k in (0, 4, 8, 12)], "offbeat": [(k, 1.5) for k in (2, 6, 10, 14)],
                  "syncopated": [(0, 3), (3, 2), (6, 4), (10, 2), (12, 4)], "halves": [(0, 7), (8, 7)]}[pat]
        part = np.zeros(L, np.float32)
        for i, v in enumerate(voicings):
            for k, d in rhythm:
                if k >= slot16:
                    continue
                d = min(d, slot16 - k) if pat == "block" else d
                s = k + (swing if k % 2 == 1 else 0.0)
                g = 0.9 + 0.2 * rng.random()
                for p in v:
                    place(bank.note(inst, p, int(d * six)), i * slot16 + s, g / math.sqrt(len(v)))
        mix += part * 10 ** ((-5 + rng.uniform(-3, 3)) / 20)

    if "arpeggio" in parts:
        inst = ARP_INST[rng.integers(len(ARP_INST))]
        tags.add(INST_TAG[inst])
        rate = 2 if rng.random() < 0.6 else 1
        mode = str(rng.choice(["up", "down", "updown", "random"]))
        part = np.zeros(L, np.float32)
        for i, v in enumerate(voicings):
            tones = sorted(set(v + [p + 12 for p in v]))
            seq = {"up": tones, "down": tones[::-1], "updown": tones + tones[-2:0:-1],
                   "random": list(rng.permutation(tones))}[mode]
            for j, k in enumerate(range(0, slot16, rate)):
                s = k + (swing if k % 2 == 1 else 0.0)
                place(bank.note(inst, seq[j % len(seq)], int(rate * 0.85 * six)), i * slot16 + s, 0.8 + 0.3 * rng.random())
        mix += part * 10 ** ((-8 + rng.uniform(-3, 3)) / 20)

    if "pad" in parts:
        inst = PAD_INST[rng.integers(len(PAD_INST))]
        tags.add(INST_TAG[inst])
        part = np.zeros(L, np.float32)
        att = int(rng.uniform(0.05, 0.3) * C.SR)
        for i, v in enumerate(voicings):
            for p in v:
                x = bank.note(inst, p - 12 if rng.random() < 0.3 else p, int(slot16 * six))
                a = min(att, len(x))
                x[:a] *= np.linspace(0, 1, a, dtype=np.float32)
                place(x, i * slot16, 1.0 / math.sqrt(len(v)))
        mix += part * 10 ** ((-8 + rng.uniform(-3, 3)) / 20)

    # loudness: RMS -16 dBFS +- 6 dB, peak <= 0.9
    rms = float(np.sqrt(np.mean(mix**2))) + 1e-9
    mix *= 10 ** ((-16 + rng.uniform(-6, 6)) / 20) / rms
    peak = float(np.abs(mix).max())
    if peak > 0.9:
        mix *= 0.9 / peak
    pitched = any(p in parts for p in ("bass", "chords", "arpeggio", "pad"))
    key = C.key_index(root, minor) if pitched else 0
    tag_vec = np.zeros(C.N_TAGS, np.float32)
    for t in tags:
        tag_vec[C.TAGS.index(t)] = 1.0
    info.update(style=style if "drums" in parts else None, root=root, minor=minor)
    return Loop(mix.astype(np.float32), tag_vec, key, float(bpm), int(bars), info)


def tags_of(vec: np.ndarray) -> list[str]:
    return [t for t, v in zip(C.TAGS, vec) if v > 0.5]


if __name__ == "__main__":
    import time

    import scipy.io.wavfile

    bank = Bank()
    rng = np.random.default_rng(0)
    out = C.RUN_DIR / "examples"
    out.mkdir(parents=True, exist_ok=True)
    for i in range(6):
        lp = compose(bank, rng)
        name = f"ex{i}_{lp.bpm:.0f}bpm_{lp.bars}bars_{C.KEYS[lp.key].replace(' ', '')}_{'-'.join(tags_of(lp.tags))}"
        scipy.io.wavfile.write(out / f"{name}.wav", C.SR, (np.tile(lp.audio, 2) * 32767).astype(np.int16))
        print(name)
    t0 = time.time()
    n, secs = 0, 0.0
    while time.time() - t0 < 10:
        lp = compose(bank, rng)
        n += 1
        secs += len(lp.audio) / C.SR
    dt = time.time() - t0
    print(json.dumps({"loopsPerSecond": round(n / dt, 1), "audioSecondsPerSecond": round(secs / dt, 1)}))
