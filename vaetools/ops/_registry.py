"""Registers ``vaetools::reparam_kl`` and ``vaetools::particle_weights_``: compiled kernels when
present, the fallback otherwise.

The schema and the CPU/CUDA kernels come from the C++ extension ``vaetools._C``. When it
is absent, fails to load, or ``VAETOOLS_FORCE_FALLBACK=1`` is set, the same schema is defined
here with the plain-PyTorch kernels of ``_reference``; a device the extension was not built
for (CUDA with a CPU-only build) also gets the fallback. Fake kernels and autograd are
registered here in every case, so autograd, ``torch.compile`` and ``torch.export`` see one op.
"""

from __future__ import annotations

import os
import warnings

import torch

from ._reference import particle_weights_reference, reparam_kl_backward_reference, reparam_kl_reference

FORCE_FALLBACK_ENV = "VAETOOLS_FORCE_FALLBACK"

_SCHEMAS = {
    "reparam_kl": "(Tensor mu, Tensor logvar, Tensor? eps, int k, Tensor? seed) "
                  "-> (Tensor z, Tensor kl, Tensor log_ratio)",
    "reparam_kl_backward": "(Tensor grad_z, Tensor grad_kl, Tensor grad_log_ratio, Tensor mu, "
                           "Tensor logvar, Tensor? eps, int k, Tensor? seed) "
                           "-> (Tensor grad_mu, Tensor grad_logvar)",
    "particle_weights_": "(Tensor(a!) out, Tensor log_ratio, Tensor num, Tensor m_num, Tensor bin, "
                         "Tensor m_bin, Tensor cat, Tensor m_cat, Tensor min_scale, Tensor? df, "
                         "int[] cat_sizes) -> (Tensor weights, Tensor expectations)",
}
_FALLBACKS = {"reparam_kl": reparam_kl_reference, "reparam_kl_backward": reparam_kl_backward_reference,
              "particle_weights_": particle_weights_reference}

# Keeps the Python-side library registrations alive for the life of the process.
_libraries: list[torch.library.Library] = []
_backends: dict[str, str] = {}
_load_error: str | None = None


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _load_extension() -> bool:
    global _load_error
    if _env_true(FORCE_FALLBACK_ENV):
        _load_error = f"{FORCE_FALLBACK_ENV} is set"
        return False
    try:
        from vaetools import _C  # noqa: F401  (loading it registers the schemas and kernels)
    except (ImportError, OSError) as exc:
        _load_error = f"{type(exc).__name__}: {exc}"
        warnings.warn(
            "vaetools: the compiled extension vaetools._C could not be loaded "
            f"({_load_error}); using the pure-PyTorch fallback of the fused op, which is "
            "slower. Rebuild with `pip install --no-build-isolation -e .` against the "
            "installed torch to get the C++/CUDA kernels.",
            RuntimeWarning,
            stacklevel=3,
        )
        return False
    return True


def _has_kernel(name: str, key: str) -> bool:
    return torch._C._dispatch_has_kernel_for_dispatch_key(f"vaetools::{name}", key)


def _register() -> None:
    compiled = _load_extension()
    if compiled:
        lib = torch.library.Library("vaetools", "FRAGMENT")
    else:
        lib = torch.library.Library("vaetools", "DEF")
        for name, schema in _SCHEMAS.items():
            lib.define(name + schema)
    _libraries.append(lib)

    for device_key, label in (("CPU", "cpp"), ("CUDA", "cuda")):
        _backends[device_key.lower()] = label if compiled and _has_kernel("reparam_kl", device_key) else "fallback"
        for name, fn in _FALLBACKS.items():
            if not (compiled and _has_kernel(name, device_key)):  # particle_weights_ has no CUDA kernel
                lib.impl(name, fn, device_key)

    torch.library.register_fake("vaetools::reparam_kl", _reparam_kl_fake, lib=lib)
    torch.library.register_fake("vaetools::reparam_kl_backward", _reparam_kl_backward_fake, lib=lib)
    torch.library.register_fake("vaetools::particle_weights_", _particle_weights_fake, lib=lib)
    torch.library.register_autograd("vaetools::reparam_kl", _backward, setup_context=_setup_context,
                                    lib=lib)


def _reparam_kl_fake(mu, logvar, eps, k, seed):
    torch._check(k >= 1, lambda: f"k must be >= 1, got {k}")
    b, d = mu.shape
    return mu.new_empty((k, b, d)), mu.new_empty((b,)), mu.new_empty((k, b))


def _reparam_kl_backward_fake(grad_z, grad_kl, grad_log_ratio, mu, logvar, eps, k, seed):
    return torch.empty_like(mu), torch.empty_like(logvar)


def _particle_weights_fake(out, log_ratio, num, m_num, bin, m_bin, cat, m_cat, min_scale, df, cat_sizes):
    return log_ratio.new_empty(log_ratio.shape), out.new_empty((out.shape[0], out.shape[2]))


def _setup_context(ctx, inputs, output):
    mu, logvar, eps, k, seed = inputs
    ctx.save_for_backward(mu, logvar, eps, seed)
    ctx.k = k


def _backward(ctx, grad_z, grad_kl, grad_log_ratio):
    mu, logvar, eps, seed = ctx.saved_tensors
    k, (b, d) = ctx.k, mu.shape
    if grad_z is None:
        grad_z = mu.new_zeros((k, b, d))
    if grad_kl is None:
        grad_kl = mu.new_zeros((b,))
    if grad_log_ratio is None:
        grad_log_ratio = mu.new_zeros((k, b))
    grad_mu, grad_logvar = torch.ops.vaetools.reparam_kl_backward(
        grad_z, grad_kl, grad_log_ratio, mu, logvar, eps, k, seed)
    grad_eps = None
    if eps is not None and ctx.needs_input_grad[2]:
        sig = torch.exp(0.5 * logvar)
        g_lr = grad_log_ratio.unsqueeze(-1)
        grad_eps = sig * (grad_z - g_lr * (mu + sig * eps)) + g_lr * eps
    return grad_mu, grad_logvar, grad_eps, None, None


def backend(device: str | torch.device = "cpu") -> str:
    """Which implementation of the fused op serves ``device``: ``"cpp"`` (C++ CPU kernel),
    ``"cuda"`` (CUDA kernel) or ``"fallback"`` (pure PyTorch)."""
    kind = torch.device(device).type
    if kind not in _backends:
        raise ValueError(f"backend(device=...): no kernel for device type {kind!r}; "
                         f"known: {sorted(_backends)}")
    return _backends[kind]


def load_error() -> str | None:
    """Why the compiled extension is not in use, or None when it is."""
    return _load_error


_register()
