"""torch.ops.vaetools.particle_weights_: the compiled CPU kernel against the PyTorch reference.

With VAETOOLS_FORCE_FALLBACK=1 (or no extension) the op is the reference itself, so the
comparisons hold trivially; test_particles_under_the_fallback runs the imputer's inference
tests that way too.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from vaetools import ops
from vaetools.ops._reference import particle_weights_reference

OP = torch.ops.vaetools.particle_weights_


def inputs(rows, k, n, nb, sizes, dtype=torch.float32, student_t=False, seed=0, spread=3.0):
    g = torch.Generator().manual_seed(seed)
    n_out = 2 * n + nb + sum(sizes)
    out = torch.randn(n_out, k, rows, generator=g, dtype=dtype) * spread
    m_num = (torch.rand(rows, n, generator=g) < 0.7).to(dtype)
    m_bin = (torch.rand(rows, nb, generator=g) < 0.7).to(dtype)
    m_cat = (torch.rand(rows, len(sizes), generator=g) < 0.7).to(dtype)
    cat = torch.stack([torch.randint(0, s, (rows,), generator=g) for s in sizes], 1) if sizes else \
        torch.zeros(rows, 0, dtype=torch.int64)
    cat = torch.where(m_cat > 0, cat, -1)
    num = torch.randn(rows, n, generator=g, dtype=dtype) * m_num
    bins = (torch.rand(rows, nb, generator=g) < 0.5).to(dtype) * m_bin
    log_ratio = torch.randn(k, rows, generator=g, dtype=dtype)
    min_scale = torch.full((n,), 1e-3, dtype=dtype)
    df = (torch.rand(n, generator=g, dtype=dtype) * 5 + 3) if student_t else None
    return [out, log_ratio, num, m_num, bins, m_bin, cat, m_cat, min_scale, df, list(sizes)]


def run_both(args):
    mine, ref = [a.clone() if isinstance(a, torch.Tensor) else a for a in args], \
        [a.clone() if isinstance(a, torch.Tensor) else a for a in args]
    (w, means), (w_ref, means_ref) = OP(*mine), particle_weights_reference(*ref)
    # weighted means of every output: sums of outputs ~3 in size, whose weights match to ~1e-6
    tol = dict(rtol=2e-5, atol=5e-5) if means.dtype == torch.float32 else {}
    torch.testing.assert_close(means, means_ref, **tol)
    return w, mine[0], w_ref, ref[0]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("rows,k,n,nb,sizes,student_t", [
    (67, 32, 3, 2, [4, 1, 9], False),  # rows not a multiple of the kernel's tile
    (130, 5, 3, 2, [4, 1, 9], True),
    (7, 1, 2, 0, [], False),
    (9, 4, 0, 3, [2, 2], False),
    (1, 3, 0, 0, [5], False),
])
def test_kernel_matches_the_reference(dtype, rows, k, n, nb, sizes, student_t):
    args = inputs(rows, k, n, nb, sizes, dtype, student_t)
    w, out, w_ref, out_ref = run_both(args)
    tol = dict(rtol=2e-5, atol=2e-6) if dtype == torch.float32 else {}
    torch.testing.assert_close(w, w_ref, **tol)
    torch.testing.assert_close(out, out_ref, **tol)  # scales and probabilities, rewritten in place
    torch.testing.assert_close(w.sum(0), torch.ones(rows, dtype=dtype))


def test_extreme_logits_and_scales_stay_finite():
    """Logits ~700 apart, raw scales far past softplus's threshold and far below zero."""
    args = inputs(20, 8, 2, 1, [3, 2], spread=1.0)
    out = args[0]
    out[4:7] += 700.0  # the first categorical column: exp would overflow without a shift
    out[7:9] -= 700.0
    out[2] = 60.0  # raw scale of numeric column 0: softplus(x) = x
    out[3] = -60.0  # numeric column 1: the scale is its floor
    w, out, w_ref, out_ref = run_both(args)
    assert torch.isfinite(w).all() and torch.isfinite(out).all()
    torch.testing.assert_close(w, w_ref, rtol=2e-5, atol=2e-6)
    torch.testing.assert_close(out, out_ref, rtol=2e-5, atol=2e-6)
    torch.testing.assert_close(out[3], torch.full_like(out[3], 1e-3))


def test_opcheck():
    args = inputs(10, 4, 2, 1, [3, 2])
    torch.library.opcheck(OP, tuple(args))
    torch.library.opcheck(OP, tuple(inputs(10, 4, 2, 1, [3, 2], torch.float64, student_t=True)))


@pytest.mark.skipif(ops.backend("cpu") == "fallback", reason="the checks are the C++ kernel's; "
                    "the op is internal to Particles, which passes what it checked")
@pytest.mark.parametrize("index,bad,match", [
    (1, torch.zeros(3, 10), "log_ratio must have shape"),
    (2, torch.zeros(5, 2), "num must have shape"),
    (6, torch.zeros(10, 2), "cat must be int64"),
    (10, [3, 3], "out has 10 outputs; the columns need 11"),
])
def test_bad_input_names_the_argument(index, bad, match):
    args = inputs(10, 4, 2, 1, [3, 2])
    args[index] = bad
    with pytest.raises(RuntimeError, match=match):
        OP(*args)


@pytest.mark.skipif(bool(os.environ.get(ops.FORCE_FALLBACK_ENV)), reason="already the fallback run")
def test_particles_under_the_fallback():
    """The imputer's inference tests again with the compiled extension switched off."""
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
         str(root / "tests" / "test_particles.py")],
        capture_output=True, text=True, env={**os.environ, ops.FORCE_FALLBACK_ENV: "1"}, cwd=root, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout
