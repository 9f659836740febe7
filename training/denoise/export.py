"""ONNX export of the EDM-preconditioned denoiser D(sample; sigma, condition) -> x0.

Run: /usr/bin/python3 -m training.denoise.export [--ckpt training/runs/denoise/ema.pt] [--out models/denoise/model.onnx]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn

from training.common.edm import EDMPrecond


class OnnxDenoiser(nn.Module):
    """Positional wrapper (torch.onnx passes positional inputs)."""

    def __init__(self, precond: EDMPrecond):
        super().__init__()
        self.precond = precond

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        return self.precond(sample, timestep, condition=condition)


def export(precond: EDMPrecond, out: Path, frames: int = 64) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    m = OnnxDenoiser(precond).eval()
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 2, 257, frames, generator=g) * 0.2
    y = torch.randn(1, 2, 257, frames, generator=g) * 0.2
    s = torch.tensor([0.5])
    torch.onnx.export(
        m,
        (x, s, y),
        str(out),
        opset_version=17,
        input_names=["sample", "timestep", "condition"],
        output_names=["out"],
        dynamic_axes={
            "sample": {0: "batch", 3: "frames"},
            "timestep": {0: "batch"},
            "condition": {0: "batch", 3: "frames"},
            "out": {0: "batch", 3: "frames"},
        },
        do_constant_folding=True,
    )


def main() -> None:
    from training.denoise.train import load_precond

    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default="training/runs/denoise/ckpt.pt")
    ap.add_argument("--out", default="models/denoise/model.onnx")
    ap.add_argument("--parity", default="training/runs/denoise/parity")
    a = ap.parse_args()
    precond = load_precond(a.ckpt).eval()
    export(precond, Path(a.out))
    print("wrote", a.out, Path(a.out).stat().st_size, "bytes")
    dump_parity(precond, Path(a.parity))


@torch.no_grad()
def dump_parity(precond: EDMPrecond, d: Path) -> None:
    """Fixed inputs and the PyTorch outputs, as raw float32, for onnx_check.mjs."""
    import json

    d.mkdir(parents=True, exist_ok=True)
    g = torch.Generator().manual_seed(1)
    cases = []
    for name, b, frames, sig in [("b1_t64", 1, 64, [0.1]), ("b2_t257", 2, 257, [0.02, 0.002]), ("b1_t1", 1, 1, [0.05])]:
        y = torch.randn(b, 2, 257, frames, generator=g) * 0.05
        x = y + torch.tensor(sig).reshape(-1, 1, 1, 1) * torch.randn(b, 2, 257, frames, generator=g)
        out = precond(x, torch.tensor(sig), condition=y)
        for k, v in [("sample", x), ("condition", y), ("out", out)]:
            v.contiguous().numpy().astype("float32").tofile(d / f"{name}_{k}.f32")
        cases.append({"name": name, "batch": b, "frames": frames, "sigmas": sig})
    (d / "meta.json").write_text(json.dumps({"cases": cases}))


if __name__ == "__main__":
    main()
