"""Export the vocoder (EMA weights) to models/digits/vocoder.onnx and check it in onnxruntime-node.

/usr/bin/python3 -m training.vocoder.export [--checkpoint PATH] [--out models/digits/vocoder.onnx]

ONNX interface: input `mel` float32 [B, 64, T] (normalised log-mel, the diffusion model's values),
output `spec` float32 [B, 2, 257, T] (real, imag of the one-sided STFT, n_fft 512, win 256 periodic
Hann zero-padded to 512, hop 64, center=True); audio = iSTFT(spec) with those conventions, length
(T - 1) * 64. Opset 17, dynamic batch and frames.
Parity: onnxruntime-node vs PyTorch on held-out mels at two lengths (spectrum, relative to its peak,
and the iSTFT waveform). Prints the manifest block (io.vocoder) and card text; writes
training/runs/vocoder/export.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch

from ..common.export import NODE_PATH_PREFIX, REPO, export_onnx, run_in_node
from . import config as C
from .data import load_fsdd, split
from .dsp import FrontEnd
from .model import count_parameters
from .train import LEGACY_RECIPE, RECIPE_KEYS, load_ema

MAX_BYTES = 5 * 1024 * 1024

_TIME_SCRIPT = r"""
const ort = require('onnxruntime-node');
(async () => {
  const [model, frames, reps] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
  const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const x = new ort.Tensor('float32', new Float32Array(64 * frames).fill(-0.5), [1, 64, frames]);
  await s.run({ mel: x });
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) await s.run({ mel: x });
  console.log(JSON.stringify({ msPerRun: (performance.now() - t0) / reps }));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def node_time(model: Path, frames: int = 126, reps: int = 20) -> float:
    with tempfile.TemporaryDirectory() as td:
        script = Path(td) / "time.cjs"
        script.write_text(_TIME_SCRIPT)
        env = dict(os.environ, PATH=NODE_PATH_PREFIX + os.pathsep + os.environ.get("PATH", ""), NODE_PATH=str(REPO / "node_modules"))
        res = subprocess.run(["node", str(script), str(model), str(frames), str(reps)], cwd=str(REPO), env=env,
                             capture_output=True, text=True, check=False)
        if res.returncode != 0:
            raise RuntimeError(res.stderr[-2000:])
        return float(json.loads(res.stdout.strip().splitlines()[-1])["msPerRun"])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--out", default=str(C.PACK_DIR / C.ONNX_NAME))
    ap.add_argument("--run-dir", default=str(C.RUN_DIR))
    args = ap.parse_args()
    torch.set_num_threads(1)
    run_dir = Path(args.run_dir)
    model = load_ema(args.checkpoint).eval()
    out = Path(args.out)
    example = torch.randn(1, C.MEL.n_mels, 64) * 0.3 - 0.5
    export_onnx(model, {"mel": example}, out, dynamic_axes={"mel": {0: "batch", 2: "frames"}, "spec": {0: "batch", 3: "frames"}},
                output_name="spec", opset=17)
    size = out.stat().st_size
    if size > MAX_BYTES:
        raise AssertionError(f"{out}: {size} bytes > 5 MiB")

    # Parity on real held-out mels (two lengths, batch 2 and 1). verify_onnx in training/common/export.py
    # reads an output named "out"; the vocoder's is "spec", so the same check is done here with run_in_node.
    fe = FrontEnd("cpu")
    data = load_fsdd()
    _, valid = split(data)
    checks = []
    for idx, frames in (([valid[0], valid[1]], 90), ([valid[7]], 203)):
        waves = []
        for i in idx:
            w = data["waves"][i]
            L = (frames - 1) * C.MEL.hop_length
            waves.append(torch.nn.functional.pad(w, (0, max(0, L - w.shape[0])))[:L])
        mel = fe.norm_mel(torch.stack(waves))
        with torch.no_grad():
            ref = model(mel)
        got, _ = run_in_node(out, {"mel": mel.numpy()}, output_name="spec")
        got_t = torch.from_numpy(got)
        peak = float(ref.abs().max())
        wav_ref, wav_got = fe.istft(ref), fe.istft(got_t)
        checks.append({
            "shape": list(got.shape),
            "specMaxAbsDiff": float((got_t - ref).abs().max()),
            "specMaxAbsDiffOverPeak": float((got_t - ref).abs().max()) / peak,
            "waveMaxAbsDiff": float((wav_got - wav_ref).abs().max()),
        })
    for c in checks:
        if not (c["specMaxAbsDiffOverPeak"] < 1e-4 and c["waveMaxAbsDiff"] < 1e-4):
            raise AssertionError(f"ONNX parity failed: {c}")
    ms_1s = node_time(out, 126)

    params = count_parameters(model)
    ev = json.loads((run_dir / "eval.json").read_text()) if (run_dir / "eval.json").exists() else {}
    ck = torch.load(args.checkpoint or run_dir / "checkpoint.pt", map_location="cpu")
    st, rc = ck["state"], dict(ck.get("recipe", {**{k: getattr(C, k) for k in RECIPE_KEYS}, **LEGACY_RECIPE}))
    targs = ck.get("args", {})
    m = dict(ck.get("config", C.MODEL))
    loss = ["multi-resolution STFT (spectral convergence + L1 of ln power with eps 1e-10, n_fft "
            + "/".join(str(n) for n, _ in rc["MRSTFT"]) + ") on the iSTFT waveform", "log-mel L1"]
    if rc.get("W_COMPLEX", 0) > 0:
        loss.append(f"L1 of the |X|^0.3-compressed complex STFT at n_fft 512 (x{rc['W_COMPLEX']})")
    if rc.get("W_IF", 0) > 0 or rc.get("W_GD", 0) > 0:
        loss.append(f"phase-derivative losses on the predicted spectrum (instantaneous frequency x{rc['W_IF']}, "
                    f"group delay x{rc['W_GD']}, unit-phasor L1 weighted by |X|^0.3)")
    phase = ("an unnormalised phase vector (x, y) per bin; spec = |X| (x, y) / |(x, y)|" if m.get("phase", "direct") == "direct"
             else "a phase vector (x, y) and an instantaneous-frequency deviation per bin integrated over frames")
    manifest = {"io": {"vocoder": {"model": C.ONNX_NAME, "input": "mel", "output": "spec"}}}
    card = {
        "vocoder": {
            "summary": "Neural vocoder for this pack's mel output (Vocos-style): normalised log-mel [B, 64, T] -> one-sided "
                       "complex STFT [B, 2 (real, imag), 257, T] at n_fft 512 / win 256 (periodic Hann zero-padded) / hop 64, "
                       "center=True; audio = iSTFT(spec), length (T - 1) * 64. Replaces Griffin-Lim.",
            "architecture": f"Conv1d k{m['kernel']} embed 64->{m['dim']}, {m['blocks']} ConvNeXt blocks over frames (depthwise "
                            f"Conv1d k{m['kernel']}, LayerNorm, MLP {m['dim']}->{m['mlp']}->{m['dim']} GELU, layer scale), "
                            f"LayerNorm, linear head to ln|X| (clamped at {C.LOGMAG_MAX}) and {phase}",
            "parameters": params,
            "onnxBytes": size,
            "training": f"FSDD takes 5-49 (2700 clips), random {targs.get('crop', C.CROP) / C.MEL.sample_rate:g} s crops, batch "
                        f"{targs.get('batch', C.BATCH)}, random gain +-{rc['GAIN_DB']:g} dB, Gaussian noise sigma ~ U(0, "
                        f"{rc['MEL_NOISE_MAX']:g}) on the normalised mel input (robustness to generated mels); loss: "
                        + " + ".join(loss) + f"; AdamW, LR {rc['LR']:g} cosine; EMA {rc['EMA']} exported; no GAN",
            "trainingCost": f"{st['step']} steps (batch {targs.get('batch', C.BATCH)}) in {st['seconds'] / 60:.1f} min wall on "
                            f"{targs.get('threads', 1)} {targs.get('device', 'cpu')} thread(s) of a shared 2-core VM, PyTorch 1.13 "
                            f"({st['seconds'] / max(1, st['step']):.2f} s/step)",
            "quality": ev,
            "onnxParity": checks,
            "onnxNodeMsPer1sAudio (1 thread, 126 frames, batch 1, iSTFT excluded)": round(ms_1s, 2),
        }
    }
    rec = {"manifestMerge": manifest, "card": card, "file": str(out)}
    (run_dir / "export.json").write_text(json.dumps(rec, indent=1))
    print(json.dumps(rec, indent=1), flush=True)


if __name__ == "__main__":
    main()
