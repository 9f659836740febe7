"""EDM diffusion (Karras et al. 2022) in sigma space, with x0-predicting denoisers.

The preconditioning (c_skip, c_out, c_in, c_noise) lives inside `EDMPrecond`, so exporting
`EDMPrecond` to ONNX gives the denoiser D(x; sigma, cond) -> x0 that the TypeScript sampler
expects. Samplers follow k-diffusion conventions: `sigmas` is descending and ends with 0.
"""

from __future__ import annotations


from typing import Callable

import torch
from torch import nn

Denoiser = Callable[..., torch.Tensor]


def karras_sigmas(n: int, sigma_min: float, sigma_max: float, rho: float = 7.0) -> torch.Tensor:
    """n noise levels from sigma_max down to sigma_min (Karras schedule), then a final 0."""
    if n < 1:
        raise ValueError("n must be >= 1")
    ramp = torch.linspace(0, 1, n, dtype=torch.float64)
    min_inv = sigma_min ** (1.0 / rho)
    max_inv = sigma_max ** (1.0 / rho)
    sigmas = (max_inv + ramp * (min_inv - max_inv)) ** rho
    if n == 1:
        sigmas = torch.tensor([sigma_max], dtype=torch.float64)
    return torch.cat([sigmas, sigmas.new_zeros(1)]).float()


class EDMPrecond(nn.Module):
    """Wraps a raw network F(x_in, c_noise, **cond) into D(x, sigma, **cond) -> x0.

    D(x; s) = c_skip(s) x + c_out(s) F(c_in(s) x, ln(s)/4)
    c_skip = sd^2/(s^2+sd^2), c_out = s sd / sqrt(s^2+sd^2), c_in = 1/sqrt(s^2+sd^2).
    """

    def __init__(self, model: nn.Module, sigma_data: float = 0.5, sigma_min: float = 0.002, sigma_max: float = 80.0):
        super().__init__()
        self.model = model
        self.sigma_data = float(sigma_data)
        self.sigma_min = float(sigma_min)
        self.sigma_max = float(sigma_max)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, **cond) -> torch.Tensor:
        sigma = sigma.to(x.dtype).reshape(-1)
        if sigma.shape[0] == 1 and x.shape[0] != 1:
            sigma = sigma.expand(x.shape[0])
        s = sigma.reshape(-1, *([1] * (x.dim() - 1)))
        sd = self.sigma_data
        denom = s * s + sd * sd
        c_skip = sd * sd / denom
        c_out = s * sd / torch.sqrt(denom)
        c_in = 1.0 / torch.sqrt(denom)
        # Clamp keeps ln finite if someone evaluates at sigma == 0 (the sampler never does).
        c_noise = torch.log(sigma.clamp(min=1e-20)) / 4.0
        f = self.model(c_in * x, c_noise, **cond)
        return c_skip * x + c_out * f


def edm_loss(precond: EDMPrecond, x0: torch.Tensor, P_mean: float = -1.2, P_std: float = 1.2, **cond) -> torch.Tensor:
    """EDM training loss: log-normal sigma, weight (s^2+sd^2)/(s sd)^2. Returns the scalar mean."""
    b = x0.shape[0]
    rnd = torch.randn(b, device=x0.device, dtype=x0.dtype)
    sigma = torch.exp(rnd * P_std + P_mean)
    sd = precond.sigma_data
    weight = (sigma**2 + sd**2) / (sigma * sd) ** 2
    noise = torch.randn_like(x0) * sigma.reshape(-1, *([1] * (x0.dim() - 1)))
    d = precond(x0 + noise, sigma, **cond)
    per = ((d - x0) ** 2).reshape(b, -1).mean(dim=1)
    return (weight * per).mean()


def _sig(x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    return s.to(x.dtype).expand(x.shape[0])


@torch.no_grad()
def sample_euler(denoiser: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, **cond) -> torch.Tensor:
    """Euler (DDIM-like) on the probability-flow ODE. x starts as noise * sigmas[0]."""
    for i in range(len(sigmas) - 1):
        s, s_next = sigmas[i], sigmas[i + 1]
        d = (x - denoiser(x, _sig(x, s), **cond)) / s
        x = x + d * (s_next - s)
    return x


@torch.no_grad()
def sample_heun(denoiser: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, **cond) -> torch.Tensor:
    """Heun's 2nd-order method (EDM Algorithm 1, no churn); Euler on the last step to sigma 0."""
    for i in range(len(sigmas) - 1):
        s, s_next = sigmas[i], sigmas[i + 1]
        d = (x - denoiser(x, _sig(x, s), **cond)) / s
        x_euler = x + d * (s_next - s)
        if s_next == 0:
            x = x_euler
        else:
            d2 = (x_euler - denoiser(x_euler, _sig(x, s_next), **cond)) / s_next
            x = x + (d + d2) / 2 * (s_next - s)
    return x


@torch.no_grad()
def sample_dpmpp_2m(denoiser: Denoiser, x: torch.Tensor, sigmas: torch.Tensor, **cond) -> torch.Tensor:
    """DPM-Solver++(2M) (k-diffusion `sample_dpmpp_2m`): first-order on the first and last step."""
    old_denoised = None
    for i in range(len(sigmas) - 1):
        s, s_next = sigmas[i], sigmas[i + 1]
        denoised = denoiser(x, _sig(x, s), **cond)
        t, t_next = -torch.log(s), (-torch.log(s_next) if s_next > 0 else None)
        if t_next is None:
            x = denoised
        else:
            h = t_next - t
            if old_denoised is None or sigmas[i + 1] == 0:
                x = (s_next / s) * x - torch.expm1(-h) * denoised
            else:
                h_last = t - (-torch.log(sigmas[i - 1]))
                r = h_last / h
                denoised_d = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * old_denoised
                x = (s_next / s) * x - torch.expm1(-h) * denoised_d
        old_denoised = denoised
    return x


def cfg_denoiser(denoiser: Denoiser, guidance: float, cond_key: str, null_value: int) -> Denoiser:
    """Classifier-free guidance wrapper: D = D_uncond + g (D_cond - D_uncond), one batched call."""

    def fn(x: torch.Tensor, sigma: torch.Tensor, **cond) -> torch.Tensor:
        if guidance == 1.0:
            return denoiser(x, sigma, **cond)
        c = cond[cond_key]
        rest = {k: v for k, v in cond.items() if k != cond_key}
        xx = torch.cat([x, x])
        ss = torch.cat([sigma, sigma])
        cc = torch.cat([c, torch.full_like(c, null_value)])
        out = denoiser(xx, ss, **{cond_key: cc}, **rest)
        d_c, d_u = out.chunk(2)
        return d_u + guidance * (d_c - d_u)

    return fn


__all__ = [
    "karras_sigmas",
    "EDMPrecond",
    "edm_loss",
    "sample_euler",
    "sample_heun",
    "sample_dpmpp_2m",
    "cfg_denoiser",
]

