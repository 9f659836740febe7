"""Loads a shipped pack's ONNX weights back into its PyTorch module, so the reference sampler (and the
benchmarks that time it) run on a clean clone without the training checkpoint, on exactly the
weights the TypeScript runtime uses. Needs Debian's python3-onnx.

torch.onnx.export keeps parameter names for most initializers; GroupNorm's affine weight and bias
become anonymous `onnx::Mul_N` / `onnx::Add_N` constants of shape [C, 1, 1], whose consumer node
is named after the module (`/precond/model/down.0.0/norm1/Mul`). Loading is strict: every tensor of
the module's state dict must be found with its shape, or this raises.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable

import torch
from torch import nn


def onnx_state_dict(path: str | Path, prefix: str = "precond.") -> dict[str, torch.Tensor]:
    """Named tensors of an exported graph, keys relative to `prefix` (the export wrapper's attribute)."""
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as e:  # pragma: no cover - depends on the machine
        raise RuntimeError("loading ONNX weights needs python3-onnx (apt-get install python3-onnx)") from e
    graph = onnx.load(str(path)).graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    named: dict[str, torch.Tensor] = {k: torch.from_numpy(v.copy()) for k, v in inits.items() if not k.startswith("onnx::")}
    for node in graph.node:
        leaf = node.name.rsplit("/", 1)
        if node.op_type not in ("Mul", "Add") or len(leaf) != 2 or leaf[1] not in ("Mul", "Add"):
            continue
        for x in node.input:
            if x.startswith("onnx::") and x in inits:
                module = leaf[0].strip("/").replace("/", ".")
                key = f"{module}.{'weight' if node.op_type == 'Mul' else 'bias'}"
                named.setdefault(key, torch.from_numpy(inits[x].reshape(-1).copy()))
    return {k[len(prefix):]: v for k, v in named.items() if k.startswith(prefix)}


def load_onnx_weights(model: nn.Module, path: str | Path, prefix: str = "precond.") -> nn.Module:
    """`model` with every tensor of its state dict taken from the ONNX file (strict; eval mode)."""
    found = onnx_state_dict(path, prefix)
    want = model.state_dict()
    missing = [k for k in want if k not in found]
    wrong = [k for k in want if k in found and tuple(found[k].shape) != tuple(want[k].shape)]
    # Tensors the graph holds and this module does not (constant buffers aside) mean a larger
    # architecture, e.g. a model with extra inputs to its blocks: it would load, and compute something else.
    buffers = {k for k, _ in model.named_buffers()}
    extra = [k for k in found if k not in want and k not in buffers]
    if missing or wrong or extra:
        raise ValueError(
            f"{path}: does not hold this architecture's weights "
            f"({len(missing)} missing, e.g. {missing[:3]}; {len(wrong)} of another shape, e.g. {wrong[:3]}; "
            f"{len(extra)} not in the architecture, e.g. {extra[:3]})"
        )
    model.load_state_dict({k: found[k].to(want[k].dtype) for k in want})
    return model.eval()


def load_first_fitting(path: str | Path, builders: Iterable[Callable[[], nn.Module]], prefix: str = "precond.") -> nn.Module:
    """The first architecture whose state dict the ONNX file fills (e.g. one per model size)."""
    errors = []
    for build in builders:
        try:
            return load_onnx_weights(build(), path, prefix)
        except ValueError as e:
            errors.append(str(e))
    raise ValueError(f"{path}: no candidate architecture fits: {errors[-1] if errors else 'none given'}")
