"""Pure-PyTorch mirror of ``csrc/philox.h``: the counter-based noise of the fused op.

Element ``i`` of the flat (k, B, D) noise is lane ``i % 4`` of the Philox4x32-10 block
``(counter=i // 4, stream)`` under ``key``, turned into normals by Box-Muller with the
same float32 polynomials as the C++/CUDA kernels. The fallback uses it, so a model
trained with or without the compiled extension sees the same noise up to rounding.
"""

from __future__ import annotations

import math

import torch

_M0, _M1 = 0xD2511F53, 0xCD9E8D57
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_MASK32 = 0xFFFFFFFF


def _mulhilo(a: torch.Tensor, m: int) -> tuple[torch.Tensor, torch.Tensor]:
    """High and low 32 bits of ``a * m`` for ``a`` in [0, 2^32), exact in int64."""
    p_lo = (a & 0xFFFF) * m
    mid = (a >> 16) * m + (p_lo >> 16)
    return mid >> 16, ((mid & 0xFFFF) << 16) | (p_lo & 0xFFFF)


def philox4x32_10(block: torch.Tensor, stream: int, key: int) -> list[torch.Tensor]:
    """Philox4x32-10 of int64 counters ``block``; returns four int64 tensors of uint32 values."""
    c0 = block & _MASK32
    c1 = (block >> 32) & _MASK32
    c2 = torch.full_like(block, stream & _MASK32)
    c3 = torch.full_like(block, (stream >> 32) & _MASK32)
    k0, k1 = key & _MASK32, (key >> 32) & _MASK32
    for _ in range(10):
        hi0, lo0 = _mulhilo(c0, _M0)
        hi1, lo1 = _mulhilo(c2, _M1)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0, k1 = (k0 + _W0) & _MASK32, (k1 + _W1) & _MASK32
    return [c0, c1, c2, c3]


def _poly_log(x: torch.Tensor) -> torch.Tensor:
    bits = x.view(torch.int32)
    e = ((bits >> 23) - 126).to(torch.float32)
    m = ((bits & 0x007FFFFF) | 0x3F000000).view(torch.float32)
    small = m < 0.70710678118654752
    e = torch.where(small, e - 1.0, e)
    m = torch.where(small, m + m - 1.0, m - 1.0)
    z = m * m
    y = torch.full_like(m, 7.0376836292e-2)
    for c in (-1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
              -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1):
        y = y * m + c
    y = y * m * z
    y = y + -2.12194440e-4 * e
    y = y + -0.5 * z
    return m + y + 0.693359375 * e


def _poly_sincos_2pi(t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    q4 = t * 4.0
    qf = (q4 + 0.5).to(torch.int32).to(torch.float32)
    q = qf.to(torch.int32) & 3
    a = (q4 - qf) * 1.57079632679489662
    a2 = a * a
    s = (((-1.9515295891e-4 * a2 + 8.3321608736e-3) * a2 - 1.6666654611e-1) * a2) * a + a
    c = ((2.443315711809948e-5 * a2 - 1.388731625493765e-3) * a2 + 4.166664568298827e-2)
    c = c * a2 * a2 - 0.5 * a2 + 1.0
    sq = torch.where(q == 0, s, torch.where(q == 1, c, torch.where(q == 2, -s, -c)))
    cq = torch.where(q == 0, c, torch.where(q == 1, -s, torch.where(q == 2, -c, s)))
    return sq, cq


def philox_normal(shape: tuple[int, ...], key: int, stream: int,
                  device: torch.device | str = "cpu") -> torch.Tensor:
    """Standard normals of the given shape, float32, identical in law and (up to rounding)
    in value to what the compiled kernels draw for the same ``(key, stream)``."""
    n = math.prod(shape)
    blocks = torch.arange((n + 3) // 4, dtype=torch.int64, device=device)
    r = philox4x32_10(blocks, stream & 0xFFFFFFFFFFFFFFFF, key & 0xFFFFFFFFFFFFFFFF)
    inv24 = 5.9604644775390625e-08
    u1 = ((r[0] >> 8) + 1).to(torch.float32) * inv24
    t1 = (r[1] >> 8).to(torch.float32) * inv24
    u2 = ((r[2] >> 8) + 1).to(torch.float32) * inv24
    t2 = (r[3] >> 8).to(torch.float32) * inv24
    rad1 = torch.sqrt(-2.0 * _poly_log(u1))
    rad2 = torch.sqrt(-2.0 * _poly_log(u2))
    s1, c1 = _poly_sincos_2pi(t1)
    s2, c2 = _poly_sincos_2pi(t2)
    out = torch.stack([rad1 * c1, rad1 * s1, rad2 * c2, rad2 * s2], dim=-1).reshape(-1)
    return out[:n].reshape(shape)
