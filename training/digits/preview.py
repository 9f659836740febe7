"""PNG grid of generated (top, from evaluate's generated_mels.npy) and real held-out mels (bottom),
one column per digit, for a visual check: /usr/bin/python3 -m training.digits.preview"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from . import config as C
from .dataset import example, load_cache, normalise, split_indices


def to_img(x: np.ndarray) -> np.ndarray:
    return (np.clip((x + 1) / 2, 0, 1)[::-1] * 255).astype(np.uint8)  # low frequencies at the bottom


def main() -> None:
    gen = np.load(C.RUN_DIR / "generated_mels.npy")[:, 0]  # [10 * per_digit, 64, 128]
    per = gen.shape[0] // 10
    cache = load_cache()
    _, valid = split_indices(cache)
    rows = []
    for k in range(min(per, 3)):
        rows.append(np.concatenate([to_img(gen[d * per + k]) for d in range(10)], axis=1))
    for k in range(2):
        reals = []
        for d in range(10):
            idx = [i for i in valid if cache["labels"][i] == d][k * 7]
            reals.append(to_img(normalise(example(cache, idx)).numpy()))
        rows.append(np.concatenate(reals, axis=1))
    img = np.concatenate(rows, axis=0)
    Image.fromarray(img).resize((img.shape[1], img.shape[0] * 2)).save(C.RUN_DIR / "preview.png")
    print(C.RUN_DIR / "preview.png")


if __name__ == "__main__":
    torch.set_num_threads(1)
    main()
