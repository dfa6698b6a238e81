"""Plain-PyTorch implementations of the compiled ops: the fallback kernels and the test oracles."""

from __future__ import annotations

import math

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


def particle_weights_reference(out, log_ratio, num, m_num, bin, m_bin, cat, m_cat, min_scale, df, cat_sizes):
    """``vaetools::particle_weights_`` in PyTorch: the importance weights (k, rows) of k particles
    per row from the decoder's outputs ``out`` (outputs, k, rows), and each output's weighted mean
    over them (outputs, rows; binary logits as probabilities), rewriting its raw scales as scales
    and each categorical column's logits as probabilities in place. The same sums as
    ``MaskedVAE.log_likelihood`` (without bins), in place on each column's slab."""
    n, nb = num.shape[-1], bin.shape[-1]
    k, rows = out.shape[1], out.shape[2]
    ll = log_ratio.clone()
    if n:
        loc, scale = out[:n], out[n:2 * n]
        torch._C._nn.softplus(scale, 1, 20, out=scale)  # F.softplus, in place
        scale.add_(min_scale[:, None, None])
        u = (num.T[:, None, :] - loc).div_(scale)
        if df is None:
            lp = u.square_().mul_(-0.5).sub_(scale.log()).sub_(0.5 * math.log(2 * math.pi))
        else:
            d = df[:, None, None]
            lp = (torch.lgamma((d + 1) / 2) - torch.lgamma(d / 2) - 0.5 * torch.log(d * math.pi)
                  - scale.log() - (d + 1) / 2 * torch.log1p(u * u / d))
        ll += (lp * m_num.T[:, None, :]).sum(0)
    if nb:
        logit = out[2 * n:2 * n + nb]
        ll += ((bin.T[:, None, :] * logit - torch.nn.functional.softplus(logit)) * m_bin.T[:, None, :]).sum(0)
    start = 2 * n + nb
    for c, size in enumerate(cat_sizes):
        block = out[start:start + size]
        start += size
        picked = block.gather(0, cat[:, c].clamp(min=0).expand(1, k, rows))[0]
        top = block.amax(0)
        total = block.sub_(top).exp_().sum(0)
        ll += (picked - top - total.log()) * m_cat[:, c]
        block.div_(total)
    w = torch.softmax(ll, dim=0)
    expect = (out * w).sum(1)
    if nb:
        expect[2 * n:2 * n + nb] = (torch.sigmoid(out[2 * n:2 * n + nb]) * w).sum(1)
    return w, expect
