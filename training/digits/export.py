"""Export the EMA denoiser to models/digits/model.onnx (EDM preconditioning inside the graph),
check it in onnxruntime-node against PyTorch, and write the pack manifest sonodiff.json.

/usr/bin/python3 -m training.digits.export   (after training; evaluate afterwards fills in quality)
"""

from __future__ import annotations

import json

import torch
from torch import nn

from ..common.export import export_onnx, keep_vocoder, verify_onnx
from ..common.unet import count_parameters
from . import config as C
from .train import load_ema


class OnnxDenoiser(nn.Module):
    """ONNX signature: (sample [B,1,64,T], timestep = sigma [B], class int64 [B]) -> x0 [B,1,64,T]."""

    def __init__(self, precond: nn.Module):
        super().__init__()
        self.precond = precond

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, class_: torch.Tensor) -> torch.Tensor:
        return self.precond(sample, timestep, class_labels=class_)


def fixed_inputs(batch: int = 2, frames: int = C.FRAMES) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(42)
    return {
        "sample": torch.randn(batch, 1, C.MEL.n_mels, frames, generator=g),
        "timestep": torch.tensor([5.0, 0.05, 1.0, 20.0][:batch]),
        "class": torch.tensor([3, C.NULL_CLASS, 7, 0][:batch], dtype=torch.int64),
    }


def manifest(params: int, quality: dict, training_cost: str) -> dict:
    m = C.MEL
    return {
        "id": "digits",
        "version": "0.1.0",
        "licence": "CC-BY-SA-4.0",
        "task": "generate",
        "representation": "mel",
        "sampleRate": m.sample_rate,
        "channels": 1,
        "spectrogram": {
            "nFft": m.n_fft,
            "hopLength": m.hop_length,
            "winLength": m.win_length,
            "window": "hann",
            "center": True,
            "nMels": m.n_mels,
            "fMin": m.fmin,
            "fMax": m.fmax,
            "melScale": "slaney",
            "melNorm": "slaney",
            "compression": "log",
            "shift": round(C.SHIFT, 6),
            "scale": round(C.SCALE, 6),
        },
        "conditioning": {"classes": C.CLASSES, "nullClass": C.NULL_CLASS},
        "prediction": "sample",
        "scheduler": {
            "_class_name": "EDMDPMSolverMultistepScheduler",
            "sigma_min": C.SIGMA_MIN,
            "sigma_max": C.SIGMA_MAX,
            "sigma_data": C.SIGMA_DATA,
            "sigma_schedule": "karras",
            "rho": 7.0,
            "prediction_type": "sample",
            "final_sigmas_type": "zero",
            "solver_order": 2,
        },
        "defaults": {"sampler": "dpmpp_2m", "steps": C.DEFAULT_STEPS, "guidance": C.DEFAULT_GUIDANCE, "seconds": 1.0},
        "io": {
            "model": "model.onnx",
            "inputs": {"sample": "sample", "timestep": "timestep", "class": "class"},
            "output": "out",
            "timestepKind": "sigma",
            "windowLength": C.FRAMES,
            "lengthMultiple": C.LENGTH_MULTIPLE,
        },
        "card": {
            "summary": (
                "Class-conditional EDM diffusion of 1.02 s log-mel spectrograms (64 Slaney mels, 8 kHz) of the spoken "
                "digits zero..nine, with classifier-free guidance (null class 10). The ONNX graph is the "
                "preconditioned denoiser D(x; sigma, class) -> x0. Audio via the pack's neural vocoder (vocoder.onnx, "
                "io.vocoder, training/vocoder) when present, else Griffin-Lim."
            ),
            "data": [
                "Free Spoken Digit Dataset (Jakobovski/free-spoken-digit-dataset): 6 speakers x 10 digits x takes 5-49 "
                "(2700 clips) for training; takes 0-4 (300 clips) held out for evaluation"
            ],
            "licences": ["FSDD: CC BY-SA 4.0 (Zohar Jackson et al., Jakobovski/free-spoken-digit-dataset)"],
            "architecture": (
                f"2-D UNet, 4x4 patch stem + pixel-shuffle head with a full-resolution refinement, channels "
                f"{list(C.UNET['channels'])}, {C.UNET['num_res_blocks']} residual block per level (GroupNorm, SiLU, FiLM), "
                "self-attention at the lowest resolution, Fourier embedding of ln(sigma)/4, class embedding added "
                f"to it; EDM preconditioning (sigma_data {C.SIGMA_DATA}) baked in"
            ),
            "parameters": params,
            "trainingCost": training_cost,
            "quality": quality,
        },
    }


def readme(man: dict, size: int, checks: dict) -> str:
    card, sp, sch = man["card"], man["spectrogram"], man["scheduler"]
    q = "\n".join(f"| {k} | {v} |" for k, v in card["quality"].items())
    return f"""# digits — spoken digits zero…nine (model card)

{card["summary"]}

## Contract (what the TypeScript pipeline must do)
- ONNX `model.onnx` ({size / 1e6:.1f} MB, opset 17): inputs `sample` float32 [B, 1, {sp["nMels"]}, T] (normalised
  log-mel, T a multiple of {man["io"]["lengthMultiple"]}, native T = {man["io"]["windowLength"]} frames = 1.024 s),
  `timestep` float32 [B] = σ (not ln σ; the c_noise = ln(σ)/4 is inside the graph), `class` int64 [B]
  (0…9 = {", ".join(man["conditioning"]["classes"])}; {man["conditioning"]["nullClass"]} = unconditional for CFG).
  Output `out` float32, same shape: the denoised x0 estimate D(x; σ, class). Dynamic batch and frames.
- Sampling: Karras σ schedule, σ_min {sch["sigma_min"]}, σ_max {sch["sigma_max"]}, ρ {sch["rho"]}, final σ 0;
  x_T = N(0, I)·σ_max; σ_data {sch["sigma_data"]} (already used inside the graph). Default DPM++ 2M,
  {man["defaults"]["steps"]} steps, CFG guidance {man["defaults"]["guidance"]}: D = D(x, σ, 10) + g·(D(x, σ, c) − D(x, σ, 10)).
- Features: {man["sampleRate"]} Hz; STFT n_fft {sp["nFft"]}, win {sp["winLength"]} (periodic Hann zero-padded centred to
  n_fft), hop {sp["hopLength"]}, center=True reflect; {sp["nMels"]} Slaney mels (Slaney norm) {sp["fMin"]}–{sp["fMax"]} Hz of the STFT
  magnitude; log_mel = ln(max(mel, 1e-5)); model value = (log_mel − ({sp["shift"]})) × {sp["scale"]}
  (so ln 1e-5 → −1, ln 1.65 → +1). To invert: mel = exp(value / {sp["scale"]} + ({sp["shift"]})), then Griffin-Lim.

## Data and licences
{chr(10).join("- " + d for d in card["data"])}
{chr(10).join("- " + d for d in card["licences"])}
- Augmentation: random gain ±6 dB, time shift ±8 frames around the energy centre; label dropout {C.LABEL_DROPOUT:.0%}.

## Architecture and cost
{card["architecture"]}. Parameters: {card["parameters"]:,}.
Training: {card["trainingCost"]}.
ONNX vs PyTorch in onnxruntime-node: max abs diff {max(c["maxAbsDiff"] for c in checks.values()):.2g}.

## Measured quality
Classifier = small CNN on the same features trained on real FSDD takes 5–49 only (`training/digits/classifier.py`).
Generated clips: PyTorch reference sampler, seeds 1000·digit + k. Diversity = mean pairwise L2 distance between
clips of one digit, generated ÷ real held-out (1.0 = as varied as real takes). SC09 = Speech Commands digits
(other speakers, 16 kHz → 8 kHz), out-of-domain note for the classifier only.

| measure | value |
|---|---|
{q}

Reproduce: `/usr/bin/python3 -m training.digits.evaluate` (see training/README.md).
"""


def main() -> None:
    torch.set_num_threads(1)
    C.PACK_DIR.mkdir(parents=True, exist_ok=True)
    model = OnnxDenoiser(load_ema()).eval()
    onnx_path = C.PACK_DIR / "model.onnx"
    export_onnx(
        model,
        fixed_inputs(),
        onnx_path,
        dynamic_axes={"sample": {0: "batch", 3: "frames"}, "timestep": {0: "batch"}, "class": {0: "batch"}, "out": {0: "batch", 3: "frames"}},
    )
    checks = {
        "b2_t128": verify_onnx(model, onnx_path, fixed_inputs(2, 128)),
        "b4_t256": verify_onnx(model, onnx_path, fixed_inputs(4, 256)),
    }
    print(json.dumps(checks), flush=True)
    ck = torch.load(C.RUN_DIR / "checkpoint.pt")
    steps, minutes, batch = ck["state"]["step"], ck["state"]["seconds"] / 60, ck["args"]["batch"]
    cost = (
        f"{steps} steps of batch {batch} in {minutes:.0f} min wall on 1 CPU thread of a 2-core VM shared "
        "with other jobs (PyTorch 1.13); EMA 0.998 exported"
    )
    quality_path = C.RUN_DIR / "quality.json"
    quality = json.loads(quality_path.read_text()) if quality_path.exists() else {}
    quality["onnxParityMaxAbsDiff"] = max(c["maxAbsDiff"] for c in checks.values())
    quality["limitations"] = (
        "word envelopes are right but samples are blurrier and noisier than real mels (harmonics mostly "
        "unresolved, see training/digits/preview.py); 'seven' is the weakest digit; 8 kHz only"
    )
    man = manifest(count_parameters(model.precond.model), quality, cost)
    man_path, readme_path = C.PACK_DIR / "sonodiff.json", C.PACK_DIR / "README.md"
    vocoder_section = keep_vocoder(C.PACK_DIR, man)
    man_path.write_text(json.dumps(man, indent=2) + "\n")
    size = onnx_path.stat().st_size
    readme_path.write_text(readme(man, size, checks) + vocoder_section)
    print(f"wrote {onnx_path} ({size / 1e6:.2f} MB) and sonodiff.json", flush=True)


if __name__ == "__main__":
    main()

