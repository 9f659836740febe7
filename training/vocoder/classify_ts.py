"""The digits classifier on generated digits decoded by the TypeScript decoders.

/usr/bin/python3 -m training.vocoder.classify_ts [--dir training/runs/vocoder/ts_reencoded]

Reads the re-encoded mels that `node training/vocoder/measure_ts.ts --generated
training/runs/digits/generated_mels.npy` writes (one <decoder>.npy of [N, 1, 64, 128] per decoder;
clip k is digit k // (N / 10), as training/runs/digits/generated_mels.npy) and prints the
classifier's accuracy per decoder, next to its accuracy on the generated mels themselves.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from ..digits import config as D
from ..digits.classifier import load_classifier, predict
from . import config as C


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=str(C.RUN_DIR / "ts_reencoded"))
    ap.add_argument("--generated", default=str(D.RUN_DIR / "generated_mels.npy"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    clf = load_classifier()
    gen = torch.from_numpy(np.load(args.generated))
    labels = torch.arange(10).repeat_interleave(gen.shape[0] // 10)

    def acc(x: torch.Tensor) -> float:
        return round(float((predict(clf, x)[0] == labels).float().mean()), 4)

    out = {"clips": int(gen.shape[0]), "generatedMel": acc(gen)}
    for f in sorted(Path(args.dir).glob("*.npy")):
        out[f.stem] = acc(torch.from_numpy(np.load(f)))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
