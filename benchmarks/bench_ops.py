"""Forward+backward of the fused reparameterize+KL op against its peers, side by side.

Peers, all doing the same math and producing the same gradients:
  eager     plain PyTorch with torch.randn (what a VAE usually writes)
  compiled  the eager code under torch.compile (default mode)
  copy      a clone of as many bytes as the fused op must move at least (the bandwidth bound)

Usage: python benchmarks/bench_ops.py [--device cpu|cuda] [--quick] [--json PATH]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, print_table, timeit, write_json  # noqa: E402

import vaetools.ops as ops  # noqa: E402


def eager_reparam_kl(mu, logvar, k):
    eps = torch.randn((k,) + tuple(mu.shape), dtype=mu.dtype, device=mu.device)
    sig = torch.exp(0.5 * logvar)
    z = mu + sig * eps
    kl = 0.5 * (mu * mu + sig * sig - 1.0 - logvar).sum(-1)
    log_ratio = 0.5 * (eps * eps - z * z + logvar).sum(-1)
    return z, kl, log_ratio


def fused_reparam_kl(mu, logvar, k):
    return ops.reparameterize_kl(mu, logvar, k=k)


def fwd_bwd(fn, mu, logvar, k, grads):
    mu = mu.detach().requires_grad_()
    logvar = logvar.detach().requires_grad_()
    outs = fn(mu, logvar, k)
    torch.autograd.backward(outs, grads)
    return mu.grad, logvar.grad


def min_bytes(k, b, d, itemsize):
    """Least traffic of forward+backward: read mu, logvar, grads; write z, kl, log_ratio, grads."""
    fwd = 2 * b * d + k * b * d + b + k * b
    bwd = k * b * d + b + k * b + 2 * b * d + 2 * b * d
    return (fwd + bwd) * itemsize


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--latent", type=int, default=32, help="latent size D")
    parser.add_argument("--log2-sizes", default="14,16,18,20,22,24", help="total elements k*B*D, as powers of 2")
    parser.add_argument("--ks", default="1,8")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="small sizes only (for make demo)")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile peer")
    parser.add_argument("--json", default=None, help="where to write JSON (default benchmarks/results/)")
    args = parser.parse_args(argv)

    device = torch.device(args.device)
    dtype = getattr(torch, args.dtype)
    sizes = [14, 16, 18] if args.quick else [int(s) for s in args.log2_sizes.split(",")]
    ks = [int(k) for k in args.ks.split(",")]
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    compiled = None if args.no_compile or args.quick else torch.compile(eager_reparam_kl)

    print(f"# fused reparameterize+KL, forward+backward, {args.dtype} on {device} "
          f"(backend: {ops.backend(device)})")
    print(f"# machine: {machine()}\n")
    rows = []
    for k in ks:
        for p in sizes:
            d = args.latent
            b = max(1, (2 ** p) // (k * d))
            gen = torch.Generator().manual_seed(p * 10 + k)
            mu = torch.randn(b, d, generator=gen, dtype=dtype).to(device)
            logvar = (0.3 * torch.randn(b, d, generator=gen, dtype=dtype)).to(device)
            grads = [torch.randn(k, b, d, dtype=dtype, device=device),
                     torch.randn(b, dtype=dtype, device=device),
                     torch.randn(k, b, dtype=dtype, device=device)]
            nbytes = min_bytes(k, b, d, mu.element_size())
            src = torch.empty(nbytes // 2 // mu.element_size(), dtype=dtype, device=device).normal_()
            row = {"k": k, "elements": k * b * d, "log2": p, "B": b, "D": d, "bytes": nbytes}
            row["fused_s"] = timeit(lambda: fwd_bwd(fused_reparam_kl, mu, logvar, k, grads), args.repeat, sync)
            row["eager_s"] = timeit(lambda: fwd_bwd(eager_reparam_kl, mu, logvar, k, grads), args.repeat, sync)
            if compiled is not None:
                row["compiled_s"] = timeit(lambda: fwd_bwd(compiled, mu, logvar, k, grads), args.repeat, sync,
                                           warmup=3)
            row["copy_s"] = timeit(lambda: src.clone(), args.repeat, sync)
            row["eager_over_fused"] = row["eager_s"] / row["fused_s"]
            if "compiled_s" in row:
                row["compiled_over_fused"] = row["compiled_s"] / row["fused_s"]
            row["fused_over_copy"] = row["fused_s"] / row["copy_s"]
            row["fused_GBps"] = nbytes / row["fused_s"] / 1e9
            row["copy_GBps"] = nbytes / row["copy_s"] / 1e9
            rows.append(row)
            del src

    print_table(rows, [("k", "K", "d"), ("log2", "log2 elems", "d"), ("fused_s", "fused s", ".2e"),
                       ("eager_s", "eager s", ".2e"), ("compiled_s", "compiled s", ".2e"),
                       ("copy_s", "copy s", ".2e"), ("eager_over_fused", "eager/fused", ".2f"),
                       ("compiled_over_fused", "compiled/fused", ".2f"),
                       ("fused_over_copy", "fused/copy", ".2f"), ("fused_GBps", "fused GB/s", ".1f"),
                       ("copy_GBps", "copy GB/s", ".1f")])
    print("\n(times are seconds, medians; ratios > 1 in eager/fused and compiled/fused favour the fused op; "
          "fused/copy is how far from the bandwidth bound)")
    write_json(f"bench_ops-{device.type}", {"machine": machine(), "device": str(device), "dtype": args.dtype,
                                            "backend": ops.backend(device), "rows": rows}, args.json)


if __name__ == "__main__":
    main()
