"""ONNX export of EDM denoisers and a parity check that runs the exported file in
onnxruntime-node (the runtime the product uses; Python onnxruntime is not installed)."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
NODE_PATH_PREFIX = str(REPO / ".tools" / "node_modules" / ".bin")


def export_onnx(
    module: torch.nn.Module,
    example_inputs: dict[str, torch.Tensor],
    path: str | Path,
    dynamic_axes: dict[str, dict[int, str]] | None = None,
    output_name: str = "out",
    opset: int = 17,
) -> Path:
    """Export `module(*example_inputs.values())` with the dict keys as input names."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(example_inputs)
    module = module.eval()
    with torch.no_grad():
        torch.onnx.export(
            module,
            tuple(example_inputs.values()),
            str(path),
            opset_version=opset,
            input_names=names,
            output_names=[output_name],
            dynamic_axes=dynamic_axes or {},
            do_constant_folding=True,
        )
    return path


_NODE_SCRIPT = r"""
const ort = require('onnxruntime-node');
const fs = require('fs');
(async () => {
  const spec = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const session = await ort.InferenceSession.create(spec.model);
  const feeds = {};
  for (const inp of spec.inputs) {
    const buf = fs.readFileSync(inp.file);
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
    const data = inp.dtype === 'int64' ? new BigInt64Array(ab) : new Float32Array(ab);
    feeds[inp.name] = new ort.Tensor(inp.dtype, data, inp.dims);
  }
  const t0 = performance.now();
  const out = await session.run(feeds);
  const ms = performance.now() - t0;
  const o = out[spec.output];
  fs.writeFileSync(spec.outFile, Buffer.from(o.data.buffer, o.data.byteOffset, o.data.byteLength));
  console.log(JSON.stringify({ dims: o.dims, ms }));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def keep_vocoder(pack_dir: Path, man: dict) -> str:
    """A pack's vocoder is exported on its own (training/vocoder): copy its io.vocoder block from the pack's
    current manifest into `man` (when its file is there) and return the current README's "## Vocoder"
    section, so that re-exporting the diffusion model keeps both."""
    man_path, readme_path = pack_dir / "sonodiff.json", pack_dir / "README.md"
    old = json.loads(man_path.read_text())["io"].get("vocoder") if man_path.exists() else None
    if old is not None and (pack_dir / old["model"]).exists():
        man["io"]["vocoder"] = old
    text = readme_path.read_text() if readme_path.exists() else ""
    return text[text.index("\n## Vocoder"):] if "\n## Vocoder" in text else ""


def run_in_node(model: str | Path, inputs: dict[str, np.ndarray], output_name: str = "out") -> tuple[np.ndarray, float]:
    """Run the ONNX file once in onnxruntime-node; returns (output, milliseconds)."""
    with tempfile.TemporaryDirectory() as td:
        spec = {"model": str(model), "output": output_name, "outFile": os.path.join(td, "out.bin"), "inputs": []}
        for name, arr in inputs.items():
            f = os.path.join(td, f"{name}.bin")
            dtype = "int64" if arr.dtype == np.int64 else "float32"
            np.ascontiguousarray(arr.astype(np.int64 if dtype == "int64" else np.float32)).tofile(f)
            spec["inputs"].append({"name": name, "file": f, "dtype": dtype, "dims": list(arr.shape)})
        spec_path = os.path.join(td, "spec.json")
        Path(spec_path).write_text(json.dumps(spec))
        script = os.path.join(td, "run.cjs")
        Path(script).write_text(_NODE_SCRIPT)
        env = dict(os.environ, PATH=NODE_PATH_PREFIX + os.pathsep + os.environ.get("PATH", ""), NODE_PATH=str(REPO / "node_modules"))
        res = subprocess.run(["node", script, spec_path], cwd=str(REPO), env=env, capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise RuntimeError(f"onnxruntime-node failed on {model}: {res.stderr.strip()[-2000:]}")
        info = json.loads(res.stdout.strip().splitlines()[-1])
        out = np.fromfile(spec["outFile"], dtype=np.float32).reshape(info["dims"])
    return out, float(info["ms"])


def verify_onnx(
    module: torch.nn.Module, model_path: str | Path, inputs: dict[str, torch.Tensor], tol: float = 1e-4
) -> dict[str, float]:
    """Compare the PyTorch module with the ONNX file in onnxruntime-node on the same inputs."""
    with torch.no_grad():
        ref = module.eval()(*inputs.values()).numpy()
    got, ms = run_in_node(model_path, {k: v.numpy() for k, v in inputs.items()})
    diff = float(np.abs(ref - got).max())
    if not diff <= tol:
        raise AssertionError(f"{model_path}: ONNX vs PyTorch max abs diff {diff:.3g} > {tol}")
    return {"maxAbsDiff": diff, "nodeMs": ms}
