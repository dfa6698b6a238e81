"""Plain-PyTorch implementation of the fused op: the fallback kernel and the test oracle."""

from __future__ import annotations

import torch

from ._philox import philox_normal


def _acc_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype


def _check_op_args(mu, logvar, eps, k, seed) -> None:
    """The C++ kernels' TORCH_CHECKs, for direct torch.ops calls on the fallback."""
    if mu.dim() != 2 or logvar.shape != mu.shape:
        raise RuntimeError(f"vaetools.reparam_kl: mu must be 2-D and logvar of its shape, got "
                           f"{tuple(mu.shape)} and {tuple(logvar.shape)}")
    if k < 1:
        raise RuntimeError(f"vaetools.reparam_kl: k (draws per row) must be >= 1, got {k}")
    if eps is None and seed is None:
        raise RuntimeError("vaetools.reparam_kl: pass either eps or seed (a CPU int64 tensor [key, stream])")
    if eps is not None and tuple(eps.shape) != (k, *mu.shape):
        raise RuntimeError(f"vaetools.reparam_kl: eps must have shape (k, batch, latent) = "
                           f"{(k, *mu.shape)}, got {tuple(eps.shape)}")
    if seed is not None and (seed.dtype != torch.int64 or seed.numel() != 2 or seed.device.type != "cpu"):
        raise RuntimeError("vaetools.reparam_kl: seed must be a CPU int64 tensor of 2 values [key, stream]")


def _noise(mu: torch.Tensor, eps: torch.Tensor | None, k: int, seed: torch.Tensor | None) -> torch.Tensor:
    acc = _acc_dtype(mu.dtype)
    if eps is not None:
        return eps.to(acc)
    key, stream = (int(v) for v in seed.tolist())
    return philox_normal((k, mu.shape[0], mu.shape[1]), key, stream, mu.device).to(acc)


def reparam_kl_reference(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor | None, k: int,
                         seed: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Forward of ``vaetools::reparam_kl``; see ``vaetools.ops.reparameterize_kl``."""
    _check_op_args(mu, logvar, eps, k, seed)
    acc = _acc_dtype(mu.dtype)
    m, lv = mu.to(acc), logvar.to(acc)
    e = _noise(mu, eps, k, seed)
    sig = torch.exp(0.5 * lv)
    z = m + sig * e
    kl = 0.5 * (m * m + sig * sig - 1.0 - lv).sum(-1)
    log_ratio = 0.5 * (e * e - z * z + lv).sum(-1)
    return z.to(mu.dtype), kl.to(mu.dtype), log_ratio.to(mu.dtype)


def reparam_kl_backward_reference(grad_z, grad_kl, grad_log_ratio, mu, logvar, eps, k, seed):
    """Gradients of ``reparam_kl`` w.r.t. mu and logvar, regenerating the noise from seed."""
    _check_op_args(mu, logvar, eps, k, seed)
    acc = _acc_dtype(mu.dtype)
    m, lv = mu.to(acc), logvar.to(acc)
    e = _noise(mu, eps, k, seed)
    sig = torch.exp(0.5 * lv)
    z = m + sig * e
    g_lr = grad_log_ratio.to(acc).unsqueeze(-1)
    g_kl = grad_kl.to(acc).unsqueeze(-1)
    g_zz = grad_z.to(acc) - g_lr * z  # everything that reaches z, log p(z) included
    grad_mu = g_kl * m + g_zz.sum(0)
    grad_logvar = g_kl * 0.5 * (sig * sig - 1.0) + 0.5 * (g_zz * sig * e + g_lr).sum(0)
    return grad_mu.to(mu.dtype), grad_logvar.to(mu.dtype)
