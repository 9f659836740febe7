"""Training losses on the iSTFT waveform (see config.py for the weights)."""

from __future__ import annotations

import torch

from . import config as C
from .dsp import FrontEnd


class VocoderLoss:
    def __init__(self, fe: FrontEnd):
        self.fe = fe
        self.windows = {n: torch.hann_window(n, periodic=True, device=fe.device) for n, _ in C.MRSTFT}

    def _stft(self, x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
        return torch.stft(x, n_fft=n_fft, hop_length=hop, window=self.windows[n_fft], center=True, pad_mode="reflect",
                          return_complex=True)

    def __call__(self, wav_hat: torch.Tensor, wav: torch.Tensor, logmel: torch.Tensor, spec: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        """wav_hat, wav [B, L]; logmel: the clean target log-mel [B, 64, T]; spec: the model's output
        [B, 2, 257, T] (for the phase-derivative losses)."""
        sc, lm = 0.0, 0.0
        for n_fft, hop in C.MRSTFT:
            s_hat, s = self._stft(wav_hat, n_fft, hop), self._stft(wav, n_fft, hop)
            p_hat = s_hat.real ** 2 + s_hat.imag ** 2
            p = s.real ** 2 + s.imag ** 2
            mag_hat, mag = torch.sqrt(p_hat + 1e-12), torch.sqrt(p)
            sc = sc + torch.linalg.norm(mag - mag_hat) / torch.linalg.norm(mag).clamp(min=1e-6)
            lm = lm + 0.5 * (torch.log(p + C.POWER_EPS) - torch.log(p_hat + C.POWER_EPS)).abs().mean()
        sc = sc / len(C.MRSTFT)
        lm = lm / len(C.MRSTFT)
        # Native resolution: log-mel L1 and compressed complex L1 (phase-aware).
        z_hat, z = self.fe.stft(wav_hat), self.fe.stft(wav)
        mel_hat = torch.log(torch.clamp(torch.matmul(self.fe.fb, torch.sqrt(z_hat.real ** 2 + z_hat.imag ** 2 + 1e-12)), min=C.MEL.floor))
        mel_l1 = (mel_hat - logmel).abs().mean()

        def compress(u: torch.Tensor) -> torch.Tensor:
            f = (u.real ** 2 + u.imag ** 2 + 1e-8) ** ((C.COMPRESS - 1.0) / 2.0)
            return torch.stack([u.real * f, u.imag * f])

        cplx = (compress(z_hat) - compress(z)).abs().mean()
        total = C.W_SC * sc + C.W_LOGMAG * lm + C.W_MEL * mel_l1 + C.W_COMPLEX * cplx
        parts = {"sc": float(sc), "logmag": float(lm), "mel": float(mel_l1), "cplx": float(cplx)}
        if spec is not None and (C.W_IF > 0 or C.W_GD > 0):
            l_if, l_gd = phase_derivative_losses(spec, z)
            total = total + C.W_IF * l_if + C.W_GD * l_gd
            parts.update({"if": float(l_if), "gd": float(l_gd)})
        return total, parts


def _unit(re: torch.Tensor, im: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r = torch.rsqrt(re * re + im * im + 1e-10)
    return re * r, im * r


def phase_derivative_losses(spec: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Weighted L1 between unit phasors of the phase differences along time (instantaneous
    frequency) and along frequency (group delay) of the prediction and the target STFT z [B, 257, T]."""
    pr, pi = _unit(spec[:, 0], spec[:, 1])
    tr, ti = _unit(z.real, z.imag)
    w = (z.real ** 2 + z.imag ** 2) ** (C.COMPRESS / 2)  # |X|^0.3

    def diff_loss(dim: int) -> torch.Tensor:
        n = pr.shape[dim]
        a, b = (lambda t: t.narrow(dim, 1, n - 1)), (lambda t: t.narrow(dim, 0, n - 1))
        # u = p_a * conj(p_b)
        ur, ui = a(pr) * b(pr) + a(pi) * b(pi), a(pi) * b(pr) - a(pr) * b(pi)
        vr, vi = a(tr) * b(tr) + a(ti) * b(ti), a(ti) * b(tr) - a(tr) * b(ti)
        ww = torch.sqrt(a(w) * b(w))
        return (ww * ((ur - vr).abs() + (ui - vi).abs())).sum() / ww.sum().clamp(min=1e-8)

    return diff_loss(2), diff_loss(1)
