"""Write models/denoise/sonodiff.json from the recipe constants and the measured figures.

Run: /usr/bin/python3 -m training.denoise.pack --eval training/runs/denoise/eval.json --speed "..." --train-info "..."
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from training.denoise.model import count_parameters
from training.denoise.spec import ALPHA, BETA, HOP, N_FFT, WIN
from training.denoise.train import SIGMA_DATA, SIGMA_MAX, SIGMA_MIN, VARIANTS, load_precond

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval", default="training/runs/denoise/eval.json")
    ap.add_argument("--speed", required=True)
    ap.add_argument("--train-info", required=True)
    ap.add_argument("--ckpt", default="training/runs/denoise/best.pt")
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--sampler", default="euler")
    a = ap.parse_args()
    ev = json.loads(Path(a.eval).read_text())
    quality: dict[str, str | float] = {
        "protocol": "20 eval/librispeech-test-other utterances x eval/noise (running_tap, exercise_bike, coffee-shop, city) at 0/5/10 dB, "
        "SI-SDR in dB, improvement over the noisy input (SI-SDRi); python -m training.denoise.evaluate",
    }
    for snr, row in ev.items():
        for k, v in row.items():
            quality[f"{snr}_{k}"] = v
    quality["speed"] = a.speed
    import torch

    variant = torch.load(a.ckpt, map_location="cpu").get("variant", "small")
    MODEL_CFG = VARIANTS[variant]
    params = count_parameters(load_precond(a.ckpt))
    manifest = {
        "id": "denoise",
        "version": "0.1.0",
        "licence": "CC-BY-SA-4.0",
        "task": "denoise",
        "representation": "complex-stft",
        "sampleRate": 16000,
        "channels": 1,
        "spectrogram": {
            "nFft": N_FFT,
            "hopLength": HOP,
            "winLength": WIN,
            "window": "hann",
            "center": True,
            "compression": "sgmse",
            "alpha": ALPHA,
            "beta": BETA,
        },
        "prediction": "sample",
        "scheduler": {
            "_class_name": "EDMDPMSolverMultistepScheduler",
            "sigma_min": SIGMA_MIN,
            "sigma_max": SIGMA_MAX,
            "sigma_data": SIGMA_DATA,
            "sigma_schedule": "karras",
            "rho": 7.0,
            "prediction_type": "sample",
            "final_sigmas_type": "zero",
            "solver_order": 2,
        },
        "defaults": {"sampler": a.sampler, "steps": a.steps, "strength": 1},
        "io": {
            "model": "model.onnx",
            "inputs": {"sample": "sample", "timestep": "timestep", "condition": "condition"},
            "output": "out",
            "timestepKind": "sigma",
            "windowLength": 256,
        },
        "card": {
            "summary": "Conditional EDM diffusion denoiser for speech, fine-tuned to keep music (16 kHz), on the SGMSE-compressed complex STFT. "
            "Sampling starts from x = y + sigma_max * n (y = noisy compressed spectrogram) and runs a few Euler steps "
            "on a Karras schedule; the first step acts as a predictive denoiser, later steps refine.",
            "data": [
                "LibriSpeech train-clean-100 (251 utterances; 12 speakers held out for validation), V. Panayotov et al., CC BY 4.0",
                "Free Spoken Digit Dataset (Jakobovski), CC BY-SA 4.0, upsampled 8 -> 16 kHz; speaker yweweler held out",
                "Speech Commands _background_noise_ (P. Warden), CC BY 4.0",
                "Blanket ambience sounds (rafaelmardojai/blanket), CC0 / public domain / CC BY per SOUNDS_LICENSING.md",
                "Synthetic noise generated in training: coloured (white/pink/brown), 50/60 Hz hum with harmonics, clicks, "
                "babble from other training utterances, exponentially decaying noise reverberation",
                "Music targets of the fifth stage: the Sonic Pi sample pack (train/music/sonic-pi-samples, vinyl_* and misc_* "
                "left out; freesound.org samples placed in CC0 by their authors, arovane_* by Uwe Zahn, CC0) and loops composed "
                "from its drum one-shots and FluidR3_GM notes (Frank Wen, Toby Smithe; MIT) rendered with FluidSynth "
                "(training/loops/bank.py, training/loops/compose.py)",
            ],
            "licences": ["CC-BY-4.0", "CC-BY-SA-4.0", "CC0-1.0", "MIT"],
            "architecture": f"2-D UNet over (257 bins, T frames), 4 input channels (state re/im + condition re/im), "
            f"4x4 patchify stem and transposed-conv head, levels {list(MODEL_CFG['channels'])} channels, residual blocks "
            f"with GroupNorm/SiLU and FiLM from a Fourier embedding of c_noise = ln(sigma)/4; EDM preconditioning "
            f"(sigma_data {SIGMA_DATA}) inside the graph; any T (padding and crop in the graph)",
            "parameters": params,
            "trainingCost": a.train_info,
            "quality": quality,
        },
    }
    out = ROOT / "models" / "denoise" / "sonodiff.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(manifest, indent=2) + "\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
