"""The fused reparameterize + KL operator: values, gradients, noise, registration, errors.

These tests run against whichever backend serves the process (the C++ kernel after a normal
build); test_fallback_backend re-runs this file with VAETOOLS_FORCE_FALLBACK=1.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import vaetools.ops as ops
from vaetools.ops._philox import philox4x32_10, philox_normal
from vaetools.ops._reference import reparam_kl_backward_reference, reparam_kl_reference

OP = torch.ops.vaetools.reparam_kl
TOL = {torch.float32: dict(atol=2e-5, rtol=2e-5), torch.float64: dict(atol=1e-10, rtol=1e-10)}


def make(b, d, dtype=torch.float32, seed=0, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(b, d, generator=g, dtype=dtype)
    logvar = 0.5 * torch.randn(b, d, generator=g, dtype=dtype)
    return mu.to(device), logvar.to(device)


def eager(mu, logvar, eps):
    """Textbook math, the oracle for explicit noise."""
    std = torch.exp(0.5 * logvar)
    z = mu + std * eps
    kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(-1)
    log_pz = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
    log_qz = torch.distributions.Normal(mu, std).log_prob(z).sum(-1)
    return z, kl, log_pz - log_qz


# --------------------------------------------------------------------------- generator

def test_philox_known_answers():
    # Random123 known-answer vectors for philox4x32_10
    zero = philox4x32_10(torch.tensor([0]), 0, 0)
    assert [int(v) for v in zero] == [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]
    ones = philox4x32_10(torch.tensor([-1]), 2**64 - 1, 2**64 - 1)
    assert [int(v) for v in ones] == [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_in_kernel_noise_matches_python_mirror(dtype):
    """The kernel's noise is the documented Philox + Box-Muller stream, element by element."""
    mu, logvar = make(37, 13, dtype)  # odd sizes: blocks straddle rows
    seed = torch.tensor([123456789, 42])
    z, _, _ = OP(mu, logvar, None, 3, seed)
    eps = philox_normal((3, 37, 13), 123456789, 42).to(dtype)
    torch.testing.assert_close(z, mu + torch.exp(0.5 * logvar) * eps, atol=1e-5, rtol=1e-5)


def test_noise_is_standard_normal():
    mu = torch.zeros(4000, 50)
    z = ops.reparameterize_kl(mu, torch.zeros_like(mu), k=10, generator=torch.Generator().manual_seed(3)).z
    flat = z.flatten().double()  # 2e6 draws
    n = flat.numel()
    assert abs(flat.mean().item()) < 5 / n**0.5
    assert abs(flat.var().item() - 1) < 5 * (2 / n) ** 0.5
    skew = ((flat - flat.mean()) ** 3).mean() / flat.std() ** 3
    kurt = ((flat - flat.mean()) ** 4).mean() / flat.var() ** 2
    assert abs(skew.item()) < 0.02 and abs(kurt.item() - 3) < 0.05
    # tails: P(|x| > 3) = 0.0026998
    assert abs((flat.abs() > 3).double().mean().item() - 0.0026998) < 3e-4
    # draws, rows and latent dims are uncorrelated
    corr = torch.corrcoef(z[:, :, :8].reshape(-1, 8).T.double())
    assert (corr - torch.eye(8, dtype=torch.float64)).abs().max() < 0.01


def test_same_seed_same_noise_and_fresh_seed_fresh_noise():
    mu, logvar = make(64, 8)
    torch.manual_seed(7)
    a = ops.reparameterize_kl(mu, logvar, k=4).z
    b = ops.reparameterize_kl(mu, logvar, k=4).z
    torch.manual_seed(7)
    c = ops.reparameterize_kl(mu, logvar, k=4).z
    torch.testing.assert_close(a, c, atol=0, rtol=0)
    assert not torch.allclose(a, b)
    # draws are independent across k
    assert not torch.allclose(a[0], a[1])


# --------------------------------------------------------------------------- forward

@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("k", [1, 5])
@pytest.mark.parametrize("shape", [(1, 1), (17, 3), (256, 32), (9, 130)])
def test_forward_matches_eager_math(dtype, k, shape):
    mu, logvar = make(*shape, dtype)
    eps = torch.randn(k, *shape, dtype=dtype, generator=torch.Generator().manual_seed(1))
    got = ops.reparameterize_kl(mu, logvar, eps=eps)
    for g, w in zip(got, eager(mu, logvar, eps)):
        torch.testing.assert_close(g, w, **TOL[dtype])


def test_single_draw_shapes():
    mu, logvar = make(10, 4)
    out = ops.reparameterize_kl(mu, logvar)
    assert out.z.shape == (10, 4) and out.kl.shape == (10,) and out.log_ratio.shape == (10,)
    out = ops.reparameterize_kl(mu, logvar, eps=torch.randn(10, 4))
    assert out.z.shape == (10, 4) and out.log_ratio.shape == (10,)
    out = ops.reparameterize_kl(mu, logvar, k=3)
    assert out.z.shape == (3, 10, 4) and out.log_ratio.shape == (3, 10)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_reduced_precision_accumulates_in_float32(dtype):
    mu, logvar = make(64, 128, torch.float32)
    eps = torch.randn(2, 64, 128)
    got = ops.reparameterize_kl(mu.to(dtype), logvar.to(dtype), eps=eps.to(dtype))
    want = eager(mu.to(dtype).float(), logvar.to(dtype).float(), eps.to(dtype).float())
    torch.testing.assert_close(got.z.float(), want[0], atol=0.05, rtol=0.02)
    torch.testing.assert_close(got.kl.float(), want[1], atol=0.5, rtol=0.02)


def test_non_contiguous_inputs():
    mu, logvar = make(16, 24)
    mu_t, lv_t = mu.t().contiguous().t(), logvar.t().contiguous().t()
    assert not mu_t.is_contiguous()
    eps = torch.randn(3, 24, 16).transpose(1, 2)
    a = ops.reparameterize_kl(mu_t, lv_t, eps=eps)
    b = ops.reparameterize_kl(mu, logvar, eps=eps.contiguous())
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y)


@pytest.mark.parametrize("b,d", [(0, 8), (5, 0), (0, 0)])
def test_empty_batches(b, d):
    mu = torch.zeros(b, d, requires_grad=True)
    logvar = torch.zeros(b, d, requires_grad=True)
    out = ops.reparameterize_kl(mu, logvar, k=2)
    assert out.z.shape == (2, b, d) and out.kl.shape == (b,) and out.log_ratio.shape == (2, b)
    assert torch.all(out.kl == 0)
    (out.z.sum() + out.kl.sum() + out.log_ratio.sum()).backward()
    assert mu.grad.shape == (b, d)


def test_extreme_logvar_stays_finite_and_nan_propagates():
    mu = torch.zeros(1, 4)
    logvar = torch.tensor([[-60.0, 60.0, 0.0, float("nan")]])
    out = ops.reparameterize_kl(mu, logvar, eps=torch.ones(1, 4))
    torch.testing.assert_close(out.z[0, :3], torch.tensor([torch.e**-30, torch.e**30, 1.0]), rtol=1e-5, atol=0)
    assert torch.isnan(out.z[0, 3]) and torch.isnan(out.kl[0])


# --------------------------------------------------------------------------- gradients

@pytest.mark.parametrize("with_eps", [True, False])
def test_gradcheck_fp64(with_eps):
    mu, logvar = make(6, 5, torch.float64)
    mu.requires_grad_()
    logvar.requires_grad_()
    eps = torch.randn(3, 6, 5, dtype=torch.float64) if with_eps else None
    seed = None if with_eps else torch.tensor([99, 1])

    def f(m, lv):
        return OP(m, lv, eps, 3, seed)

    assert torch.autograd.gradcheck(f, (mu, logvar))


def test_gradcheck_wrt_eps():
    mu, logvar = make(4, 3, torch.float64)
    eps = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda e: OP(mu, logvar, e, 2, None), (eps,))


def test_backward_regenerated_noise_equals_explicit_noise():
    mu, logvar = make(33, 7)
    seed = torch.tensor([5, 6])
    eps = philox_normal((4, 33, 7), 5, 6)
    grads = [torch.randn(4, 33, 7), torch.randn(33), torch.randn(4, 33)]

    def grads_of(eps_arg, seed_arg):
        m, lv = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
        torch.autograd.backward(OP(m, lv, eps_arg, 4, seed_arg), grads)
        return m.grad, lv.grad

    for a, b in zip(grads_of(None, seed), grads_of(eps, None)):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_backward_matches_autograd_of_eager_math():
    mu, logvar = make(20, 9, torch.float64)
    eps = torch.randn(3, 20, 9, dtype=torch.float64)
    grads = [torch.randn(3, 20, 9, dtype=torch.float64), torch.randn(20, dtype=torch.float64),
             torch.randn(3, 20, dtype=torch.float64)]
    results = []
    for fn in (lambda m, lv: ops.reparameterize_kl(m, lv, eps=eps), lambda m, lv: eager(m, lv, eps)):
        m, lv = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
        torch.autograd.backward(list(fn(m, lv)), grads)
        results.append((m.grad, lv.grad))
    for a, b in zip(*results):
        torch.testing.assert_close(a, b)


def test_backward_kernel_matches_reference():
    mu, logvar = make(50, 11)
    seed = torch.tensor([1, 2])
    args = (torch.randn(2, 50, 11), torch.randn(50), torch.randn(2, 50), mu, logvar, None, 2, seed)
    for a, b in zip(torch.ops.vaetools.reparam_kl_backward(*args), reparam_kl_backward_reference(*args)):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_forward_kernel_matches_reference():
    mu, logvar = make(50, 11)
    seed = torch.tensor([3, 4])
    for a, b in zip(OP(mu, logvar, None, 3, seed), reparam_kl_reference(mu, logvar, None, 3, seed)):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


# --------------------------------------------------------------------------- registration

@pytest.mark.parametrize("with_eps", [True, False])
def test_opcheck(with_eps):
    mu, logvar = make(8, 6)
    mu.requires_grad_()
    logvar.requires_grad_()
    eps = torch.randn(2, 8, 6) if with_eps else None
    seed = None if with_eps else torch.tensor([11, 12])
    torch.library.opcheck(OP, (mu, logvar, eps, 2, seed))
    grads = (torch.randn(2, 8, 6), torch.randn(8), torch.randn(2, 8))
    torch.library.opcheck(torch.ops.vaetools.reparam_kl_backward,
                          (*grads, mu.detach(), logvar.detach(), eps, 2, seed))


def test_torch_compile_fullgraph():
    mu, logvar = make(32, 8)
    eps = torch.randn(4, 32, 8)

    def loss(m, lv, e):
        z, kl, lr = ops.reparameterize_kl(m, lv, eps=e)
        return (z.square().sum() + kl.sum() - torch.logsumexp(lr, 0).sum())

    def loss_seeded(m, lv):
        z, kl, lr = ops.reparameterize_kl(m, lv, k=4)
        return z.square().sum() + kl.sum() + lr.sum()

    compiled = torch.compile(loss, fullgraph=True, backend="aot_eager")
    results = []
    for fn in (loss, compiled):
        m, lv = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
        value = fn(m, lv, eps)
        value.backward()
        results.append((value, m.grad, lv.grad))
    for a, b in zip(*results):
        torch.testing.assert_close(a, b)

    m, lv = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
    value = torch.compile(loss_seeded, fullgraph=True, backend="aot_eager")(m, lv)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(m.grad).all()


def test_torch_compile_inductor_matches_eager():
    mu, logvar = make(16, 8)
    eps = torch.randn(2, 16, 8)
    fn = lambda m, lv: ops.reparameterize_kl(m, lv, eps=eps).log_ratio.exp().sum()  # noqa: E731
    torch.testing.assert_close(torch.compile(fn, fullgraph=True)(mu, logvar), fn(mu, logvar))


def test_torch_export():
    class Sample(torch.nn.Module):
        def forward(self, mu, logvar, eps):
            z, kl, lr = ops.reparameterize_kl(mu, logvar, eps=eps)
            return z, kl, lr

    mu, logvar = make(8, 4)
    eps = torch.randn(3, 8, 4)
    exported = torch.export.export(Sample(), (mu, logvar, eps))
    assert "vaetools.reparam_kl" in str(exported.graph)
    for a, b in zip(exported.module()(mu, logvar, eps), Sample()(mu, logvar, eps)):
        torch.testing.assert_close(a, b)


def test_backend_reports_the_active_implementation():
    expected = "fallback" if os.environ.get(ops.FORCE_FALLBACK_ENV) else "cpp"
    if expected == "cpp" and ops.load_error() is not None:
        pytest.skip(f"compiled extension not available: {ops.load_error()}")
    assert ops.backend("cpu") == expected
    assert ops.backend(torch.device("cpu")) == expected
    with pytest.raises(ValueError, match="device type"):
        ops.backend("meta")


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("call,exc,match", [
    (lambda: ops.reparameterize_kl(torch.zeros(3, 2), torch.zeros(3, 3)), ValueError, "logvar shape"),
    (lambda: ops.reparameterize_kl(torch.zeros(3), torch.zeros(3)), ValueError, "mu must be 2-D"),
    (lambda: ops.reparameterize_kl(torch.zeros(3, 2, dtype=torch.int64), torch.zeros(3, 2)), TypeError,
     "mu must be a floating"),
    (lambda: ops.reparameterize_kl(torch.zeros(3, 2), torch.zeros(3, 2, dtype=torch.int32)), TypeError,
     "logvar must be a floating"),
    (lambda: ops.reparameterize_kl(torch.zeros(3, 2), torch.zeros(3, 2, dtype=torch.float64)), TypeError,
     "logvar dtype"),
    (lambda: ops.reparameterize_kl(torch.zeros(3, 2), torch.zeros(3, 2, device="meta")), ValueError,
     "mu is on cpu but logvar is on meta"),
    (lambda: ops.reparameterize_kl(torch.zeros(3, 2), torch.zeros(3, 2), k=0), ValueError, "k"),
    (lambda: ops.reparameterize_kl(torch.zeros(3, 2), torch.zeros(3, 2), k=True), ValueError, "k"),
    (lambda: ops.reparameterize_kl(torch.zeros(3, 2), torch.zeros(3, 2), eps=torch.zeros(3, 3)), ValueError,
     "eps must have shape"),
    (lambda: ops.reparameterize_kl(torch.zeros(3, 2), torch.zeros(3, 2), eps=torch.zeros(2, 3, 2), k=3),
     ValueError, "k=3 but eps holds 2"),
    (lambda: ops.reparameterize_kl([[0.0]], torch.zeros(1, 1)), TypeError, "mu must be a torch.Tensor"),
])
def test_bad_input_names_the_argument(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_direct_op_call_is_checked_too():
    with pytest.raises(RuntimeError, match="k"):
        OP(torch.zeros(2, 2), torch.zeros(2, 2), None, 0, torch.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="seed"):
        OP(torch.zeros(2, 2), torch.zeros(2, 2), None, 1, None)


# --------------------------------------------------------------------------- fallback / loading

def _run(code, **env):
    full_env = {k: v for k, v in os.environ.items() if k != ops.FORCE_FALLBACK_ENV}
    full_env.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=full_env,
                          cwd=Path(__file__).resolve().parents[2], timeout=300)


def test_missing_extension_warns_once_and_falls_back():
    code = (
        "import sys, warnings\n"
        "sys.modules['vaetools._C'] = None\n"  # makes `from vaetools import _C` raise ImportError
        "with warnings.catch_warnings(record=True) as w:\n"
        "    warnings.simplefilter('always')\n"
        "    import vaetools.ops as ops, torch\n"
        "    out = ops.reparameterize_kl(torch.zeros(2, 3), torch.zeros(2, 3), k=2)\n"
        "msgs = [str(x.message) for x in w if 'vaetools' in str(x.message)]\n"
        "print(ops.backend(), len(msgs), out.z.shape)\n"
    )
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[:2] == ["fallback", "1"]


@pytest.mark.skipif(bool(os.environ.get(ops.FORCE_FALLBACK_ENV)), reason="already the fallback run")
def test_fallback_backend():
    """The whole file again with the compiled extension switched off."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", __file__,
         "-k", "not torch_compile_inductor"],
        capture_output=True, text=True, env={**os.environ, ops.FORCE_FALLBACK_ENV: "1"},
        cwd=Path(__file__).resolve().parents[2], timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout


# --------------------------------------------------------------------------- CUDA

@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(1, 1), (37, 13), (1000, 64), (3, 200)])
def test_cuda_matches_cpu(dtype, shape):
    mu, logvar = make(*shape, dtype)
    seed = torch.tensor([77, 3])
    grads = [torch.randn(4, *shape, dtype=dtype), torch.randn(shape[0], dtype=dtype),
             torch.randn(4, shape[0], dtype=dtype)]
    cpu = OP(mu, logvar, None, 4, seed)
    gpu = OP(mu.cuda(), logvar.cuda(), None, 4, seed)
    for a, b in zip(cpu, gpu):
        torch.testing.assert_close(b.cpu(), a, atol=1e-4, rtol=1e-4)
    args_cpu = (*grads, mu, logvar, None, 4, seed)
    args_gpu = (*(g.cuda() for g in grads), mu.cuda(), logvar.cuda(), None, 4, seed)
    for a, b in zip(torch.ops.vaetools.reparam_kl_backward(*args_cpu),
                    torch.ops.vaetools.reparam_kl_backward(*args_gpu)):
        torch.testing.assert_close(b.cpu(), a, atol=1e-4, rtol=1e-4)


@pytest.mark.cuda
def test_cuda_gradcheck_and_opcheck():
    mu, logvar = make(6, 5, torch.float64, device="cuda")
    mu.requires_grad_()
    logvar.requires_grad_()
    seed = torch.tensor([9, 9])
    assert torch.autograd.gradcheck(lambda m, lv: OP(m, lv, None, 2, seed), (mu, logvar))
    torch.library.opcheck(OP, (mu, logvar, None, 2, seed))
    assert ops.backend("cuda") in {"cuda", "fallback"}


@pytest.mark.cuda
def test_cuda_backend_is_the_compiled_kernel_when_built_with_cuda():
    """A CUDA build must serve CUDA tensors with its own kernel, not the fallback."""
    if ops.load_error() is not None or os.environ.get(ops.FORCE_FALLBACK_ENV):
        pytest.skip("compiled extension not in use")
    from vaetools import _C

    built_with_cuda = "reparam_kl_cuda" in open(_C.__file__, "rb").read().decode("latin-1")
    assert ops.backend("cuda") == ("cuda" if built_with_cuda else "fallback")


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_cuda_in_kernel_noise_matches_python_mirror(dtype):
    mu, logvar = make(37, 13, dtype, device="cuda")
    seed = torch.tensor([123456789, 42])
    z, _, _ = OP(mu, logvar, None, 3, seed)
    eps = philox_normal((3, 37, 13), 123456789, 42).to(dtype).cuda()
    torch.testing.assert_close(z, mu + torch.exp(0.5 * logvar) * eps, atol=1e-5, rtol=1e-5)


@pytest.mark.cuda
@pytest.mark.parametrize("d", [1, 3, 4, 7, 8, 16, 33, 64, 127, 128, 300])
def test_cuda_every_row_width_matches_cpu(d):
    """Each lanes-per-row variant of the forward kernel (1 to 32) and rows straddling blocks."""
    b, k = 2053, 3
    mu, logvar = make(b, d, torch.float64)
    seed = torch.tensor([31, 41])
    grads = [torch.randn(k, b, d, dtype=torch.float64), torch.randn(b, dtype=torch.float64),
             torch.randn(k, b, dtype=torch.float64)]
    cpu = OP(mu, logvar, None, k, seed)
    gpu = OP(mu.cuda(), logvar.cuda(), None, k, seed)
    for a, g in zip(cpu, gpu):
        torch.testing.assert_close(g.cpu(), a, atol=1e-9, rtol=1e-9)
    back_cpu = torch.ops.vaetools.reparam_kl_backward(*grads, mu, logvar, None, k, seed)
    back_gpu = torch.ops.vaetools.reparam_kl_backward(*(t.cuda() for t in grads), mu.cuda(), logvar.cuda(),
                                                      None, k, seed)
    for a, g in zip(back_cpu, back_gpu):
        torch.testing.assert_close(g.cpu(), a, atol=1e-9, rtol=1e-9)


@pytest.mark.cuda
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_cuda_reduced_precision(dtype):
    mu, logvar = make(64, 128, torch.float32, device="cuda")
    eps = torch.randn(2, 64, 128, device="cuda")
    got = ops.reparameterize_kl(mu.to(dtype), logvar.to(dtype), eps=eps.to(dtype))
    want = eager(mu.to(dtype).float(), logvar.to(dtype).float(), eps.to(dtype).float())
    torch.testing.assert_close(got.z.float(), want[0], atol=0.05, rtol=0.02)
    torch.testing.assert_close(got.kl.float(), want[1], atol=0.5, rtol=0.02)


@pytest.mark.cuda
@pytest.mark.parametrize("b,d", [(0, 8), (5, 0)])
def test_cuda_empty_batches(b, d):
    mu = torch.zeros(b, d, device="cuda", requires_grad=True)
    out = ops.reparameterize_kl(mu, torch.zeros(b, d, device="cuda"), k=2)
    assert out.z.shape == (2, b, d) and out.kl.shape == (b,)
    (out.z.sum() + out.kl.sum() + out.log_ratio.sum()).backward()
    assert mu.grad.shape == (b, d)


@pytest.mark.cuda
def test_cuda_torch_compile_and_export():
    mu, logvar = make(32, 8, device="cuda")
    eps = torch.randn(4, 32, 8, device="cuda")

    def loss(m, lv):
        z, kl, lr = ops.reparameterize_kl(m, lv, eps=eps)
        return z.square().sum() + kl.sum() - torch.logsumexp(lr, 0).sum()

    results = []
    for fn in (loss, torch.compile(loss, fullgraph=True)):  # inductor, generating CUDA code
        m, lv = mu.clone().requires_grad_(), logvar.clone().requires_grad_()
        value = fn(m, lv)
        value.backward()
        results.append((value, m.grad, lv.grad))
    for a, b in zip(*results):
        torch.testing.assert_close(a, b)

    class Sample(torch.nn.Module):
        def forward(self, mu, logvar, eps):
            return tuple(ops.reparameterize_kl(mu, logvar, eps=eps))

    exported = torch.export.export(Sample(), (mu, logvar, eps))
    for a, b in zip(exported.module()(mu, logvar, eps), Sample()(mu, logvar, eps)):
        torch.testing.assert_close(a, b)
