"""Tempo, key and seam of loops made by the TypeScript product path (`sonodiff generate --model loops`).

/usr/bin/python3 -m training.loops.measure_ts [--n 24] [--models-dir DIR] [--out training/runs/loops/ts-measure]

Draws the same requests as `training.loops.evaluate` (bpm, bars, and the tags and key of a composed loop),
generates each with the built CLI (`npm run build` first; Node 24 on PATH), reads the WAV back and applies
evaluate's estimators. `--models-dir` points the CLI at another pack folder (e.g. a freshly exported one)
before the shipped models/. Writes rows.json and summary.json to --out.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path

import numpy as np

from . import config as C
from .compose import Bank, tags_of
from .evaluate import (click_vs_beats, crest_db, draw_request, estimate_bpm, in_scale_ratio, scale_rank,
                       seam_vs_beats, sub_bass_share, tempo_share, tritone_away, write_results)
from ..common.data import read_audio

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1000, help="request stream (evaluate's default) and noise seeds")
    ap.add_argument("--models-dir", default=None, help="pack folder searched before models/")
    ap.add_argument("--out", default=str(C.RUN_DIR / "ts-measure"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    bank = Bank()
    rng = np.random.default_rng(args.seed)
    rows = []
    for i in range(args.n):
        real, bpm, bars, _ = draw_request(bank, rng)
        wav = out / f"ts{i:02d}.wav"
        cmd = ["node", str(ROOT / "dist/cli/main.js"), "generate", "--model", "loops", "--bpm", f"{bpm:.6f}",
               "--bars", str(bars), "--seed", str(args.seed + i), "--output", str(wav), "--force"]
        if real.key:
            cmd += ["--key", C.KEYS[real.key]]
        tags = tags_of(real.tags)
        if tags:
            cmd += ["--tags", ",".join(tags)]
        if args.models_dir:
            cmd += ["--models-dir", args.models_dir]
        subprocess.run(cmd, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        audio = read_audio(wav, C.SR)
        row = {"bpm": round(bpm, 2), "bars": bars, "key": C.KEYS[real.key], "tags": tags, "samples": len(audio),
               "bpmTs": estimate_bpm(audio), "bpmTsPeak": estimate_bpm(audio, comb=(1,)), "seamVsBeats": seam_vs_beats(audio, bars * 4),
               "clickVsBeats": click_vs_beats(audio, bars * 4), "sub40": sub_bass_share(audio), "crestDb": crest_db(audio)}
        if real.key:
            row.update(inScale=in_scale_ratio(audio, real.key),
                       inScaleTritoneAway=in_scale_ratio(audio, tritone_away(real.key)),
                       scaleRank=scale_rank(audio, real.key))
        rows.append(row)
        print(json.dumps(row), flush=True)
    keyed = [r for r in rows if "scaleRank" in r]
    summary = {
        "clips": len(rows),
        "tempoWithin2pct": tempo_share(rows, "bpmTs"),
        "tempoWithin2pctPeakEstimate": tempo_share(rows, "bpmTsPeak"),
        "seamVsBeatsMedian": float(np.median([r["seamVsBeats"] for r in rows])),
        "clickVsBeatsMedian": float(np.median([r["clickVsBeats"] for r in rows])),
        "sub40HzShareMedian": float(np.median([r["sub40"] for r in rows])),
        "crestDbMedian": float(np.median([r["crestDb"] for r in rows])),
        "keyedClips": len(keyed),
    }
    if keyed:
        summary.update(inScaleRatio=float(np.mean([r["inScale"] for r in keyed])),
                       inScaleRatioTritoneAwayKey=float(np.mean([r["inScaleTritoneAway"] for r in keyed])),
                       scaleTop1=float(np.mean([r["scaleRank"] == 0 for r in keyed])),
                       scaleTop3=float(np.mean([r["scaleRank"] < 3 for r in keyed])))
    write_results(out, summary, rows, ("summary.json", "rows.json"))


if __name__ == "__main__":
    main()
