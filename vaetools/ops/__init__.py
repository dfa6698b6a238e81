"""The fused reparameterize + KL operator (``torch.ops.vaetools.reparam_kl``).

``reparameterize_kl`` is the public entry point; ``backend()`` says which kernel runs.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from ._registry import FORCE_FALLBACK_ENV, backend, load_error

__all__ = ["ReparamKL", "reparameterize_kl", "backend", "load_error", "draw_seed",
           "FORCE_FALLBACK_ENV"]


class ReparamKL(NamedTuple):
    z: torch.Tensor
    """Latent draws ``mu + exp(logvar / 2) * eps``: (k, B, D), or (B, D) for a single draw."""
    kl: torch.Tensor
    """KL(q(z|x) || N(0, I)) per row, analytic: (B,)."""
    log_ratio: torch.Tensor
    """log p(z) - log q(z|x) per draw, the importance log-weights' latent part: (k, B) or (B,)."""


def draw_seed(generator: torch.Generator | None = None) -> torch.Tensor:
    """A fresh ``[key, stream]`` for the in-kernel generator, drawn from torch's CPU generator
    (so ``torch.manual_seed`` makes the op's noise reproducible)."""
    return torch.randint(0, 2**62, (2,), dtype=torch.int64, generator=generator)


def _check_inputs(mu, logvar, eps, k, generator) -> None:
    for name, t in (("mu", mu), ("logvar", logvar)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"reparameterize_kl: {name} must be a torch.Tensor, got {type(t).__name__}")
        if not t.is_floating_point():
            raise TypeError(f"reparameterize_kl: {name} must be a floating tensor, got {t.dtype}; "
                            f"convert it with {name}.float()")
    if mu.dim() != 2:
        raise ValueError(f"reparameterize_kl: mu must be 2-D (batch, latent), got shape {tuple(mu.shape)}")
    if logvar.shape != mu.shape:
        raise ValueError(f"reparameterize_kl: logvar shape {tuple(logvar.shape)} must equal "
                         f"mu shape {tuple(mu.shape)}")
    if logvar.dtype != mu.dtype:
        raise TypeError(f"reparameterize_kl: logvar dtype {logvar.dtype} must equal mu dtype {mu.dtype}")
    if logvar.device != mu.device:
        raise ValueError(f"reparameterize_kl: mu is on {mu.device} but logvar is on {logvar.device}; "
                         "move both to one device")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int) or k < 1):
        raise ValueError(f"reparameterize_kl: k (draws per row) must be an int >= 1, got {k!r}")
    if eps is not None:
        if not isinstance(eps, torch.Tensor) or eps.dtype != mu.dtype or eps.device != mu.device:
            raise TypeError("reparameterize_kl: eps must be a tensor with mu's dtype and device "
                            f"({mu.dtype}, {mu.device})")
        if eps.shape[-2:] != mu.shape or eps.dim() not in (2, 3):
            raise ValueError(f"reparameterize_kl: eps must have shape (B, D) or (k, B, D) with "
                             f"(B, D) = {tuple(mu.shape)}, got {tuple(eps.shape)}")
        if k is not None and eps.dim() == 3 and eps.shape[0] != k:
            raise ValueError(f"reparameterize_kl: k={k} but eps holds {eps.shape[0]} draws")
        if generator is not None:
            raise ValueError("reparameterize_kl: pass eps or generator, not both")


def reparameterize_kl(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor | None = None,
                      k: int | None = None, generator: torch.Generator | None = None) -> ReparamKL:
    """Draw ``z = mu + exp(logvar / 2) * eps`` and the two KL terms a VAE needs, in one pass.

    Returns ``(z, kl, log_ratio)``: ``kl`` is the analytic KL(q(z|x) || N(0, I)) per row for the
    ordinary ELBO; ``log_ratio = log p(z) - log q(z|x)`` per draw is what the importance-weighted
    bound (MIWAE) adds to the decoder's log-likelihood. Gradients flow to ``mu`` and ``logvar``
    (and to ``eps`` when it is passed and requires grad).

    With ``eps=None`` the noise is drawn inside the kernel from a counter-based generator whose
    seed comes from torch's CPU generator (or ``generator``): no noise tensor is stored, backward
    regenerates it, and ``torch.manual_seed`` makes results reproducible. ``k=None`` gives a single
    draw with ``z`` of shape (B, D); ``k=K`` gives (K, B, D).
    """
    _check_inputs(mu, logvar, eps, k, generator)
    single = False
    seed = None
    if eps is not None:
        if eps.dim() == 2:
            eps, single = eps.unsqueeze(0), True
        draws = eps.shape[0]
    else:
        single, draws = k is None, 1 if k is None else k
        seed = draw_seed(generator)
    z, kl, log_ratio = torch.ops.vaetools.reparam_kl(mu, logvar, eps, draws, seed)
    if single:
        z, log_ratio = z.squeeze(0), log_ratio.squeeze(0)
    return ReparamKL(z, kl, log_ratio)
