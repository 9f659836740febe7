"""Digit classifier used only to measure the generator: a small CNN on the same normalised
log-mel crops [1, 64, 128], trained on real FSDD training takes (5..49) only.

/usr/bin/python3 -m training.digits.classifier  -> training/runs/digits/classifier.pt and its
held-out accuracy (takes 0..4 of every speaker).
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F
from torch import nn

from . import config as C
from .dataset import example, load_cache, normalise, split_indices


class DigitClassifier(nn.Module):
    def __init__(self, width: int = 32, emb: int = 64):
        super().__init__()

        def block(cin: int, cout: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(8, cout), nn.ReLU(), nn.MaxPool2d(2))

        self.features = nn.Sequential(
            nn.MaxPool2d(2),  # 32 x 64: digits need no finer detail, and it keeps training to minutes
            block(1, width),
            block(width, width * 2),
            block(width * 2, width * 2),
            nn.Conv2d(width * 2, emb, 3, padding=1),
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(emb, len(C.CLASSES)))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Mean + max pooled features [B, emb]: the space the diversity figures are measured in."""
        h = self.features(x)
        return h.mean(dim=(2, 3)) + h.amax(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


def load_classifier() -> DigitClassifier:
    m = DigitClassifier()
    m.load_state_dict(torch.load(C.RUN_DIR / "classifier.pt"))
    return m.eval()


@torch.no_grad()
def predict(model: DigitClassifier, x: torch.Tensor, batch: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """x: normalised crops [N, 1, 64, 128] -> (predicted class [N], embedding [N, emb])."""
    preds, embs = [], []
    for i in range(0, x.shape[0], batch):
        e = model.embed(x[i : i + batch])
        preds.append(model.head(e).argmax(dim=1))
        embs.append(e)
    return torch.cat(preds), torch.cat(embs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=12)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cache = load_cache()
    train_idx, valid_idx = split_indices(cache)
    gen = torch.Generator().manual_seed(7)
    model = DigitClassifier()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-3)
    steps_per_epoch = len(train_idx) // 64
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=args.epochs * steps_per_epoch)
    xv = normalise(torch.stack([example(cache, i) for i in valid_idx])).unsqueeze(1)
    yv = torch.tensor([cache["labels"][i] for i in valid_idx])
    t0 = time.time()
    for ep in range(args.epochs):
        model.train()
        perm = torch.randperm(len(train_idx), generator=gen)
        for s in range(steps_per_epoch):
            idx = [train_idx[int(j)] for j in perm[s * 64 : (s + 1) * 64]]
            # Wider gain and shift than the generator's augmentation: the classifier must not
            # depend on level or position, only on the word.
            x = normalise(torch.stack([example(cache, i, gen, augment=True, max_shift=16, max_gain_db=12) for i in idx]))
            y = torch.tensor([cache["labels"][i] for i in idx])
            loss = F.cross_entropy(model(x.unsqueeze(1)), y, label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        pv, _ = predict(model, xv)
        acc = (pv == yv).float().mean().item()
        print(f"epoch {ep + 1} loss {loss.item():.3f} held-out acc {acc:.4f} ({time.time() - t0:.0f} s)", flush=True)
    torch.save(model.state_dict(), C.RUN_DIR / "classifier.pt")
    (C.RUN_DIR / "classifier.json").write_text(json.dumps({"heldOutAccuracy": acc, "heldOut": len(valid_idx), "epochs": args.epochs, "seconds": time.time() - t0}))


if __name__ == "__main__":
    main()
