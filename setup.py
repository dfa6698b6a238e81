"""Builds the C++ (and, where torch has CUDA and a toolkit is present, CUDA) kernels.

Build against the torch you run with: ``pip install --no-build-isolation -e .``.
Environment switches:
  VAETOOLS_NO_EXTENSION=1   build no extension (the pure-PyTorch fallback is used)
  VAETOOLS_CUDA=0|1|auto    CUDA kernel off / required / when available (default auto)
  VAETOOLS_CPU_ARCH=...     -march value for the CPU kernel (default native; empty for none)
  VAETOOLS_DEBUG=1          -O0 -g
"""

import os
import sys
from pathlib import Path

from setuptools import setup

ROOT = Path(__file__).parent
CSRC = "csrc"


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _extensions():
    if _env("VAETOOLS_NO_EXTENSION") in {"1", "true", "yes"}:
        print("vaetools: VAETOOLS_NO_EXTENSION set, building without the compiled kernels")
        return [], {}
    try:
        import torch
        from torch.utils.cpp_extension import CUDA_HOME, BuildExtension, CppExtension, CUDAExtension
    except ImportError:
        print(
            "vaetools: torch is not importable in the build environment, so the compiled kernels "
            "are skipped (the pure-PyTorch fallback will be used). Install torch first and build "
            "with `pip install --no-build-isolation .`.",
            file=sys.stderr,
        )
        return [], {}

    debug = _env("VAETOOLS_DEBUG") in {"1", "true", "yes"}
    arch = _env("VAETOOLS_CPU_ARCH", "native")
    cxx = ["-O0", "-g"] if debug else ["-O3"]
    cxx += ["-fopenmp", "-fno-math-errno", "-fno-trapping-math", "-fdiagnostics-color=always"]
    if arch:
        cxx.append(f"-march={arch}")
    sources = [f"{CSRC}/ops.cpp", f"{CSRC}/reparam_kl_cpu.cpp", f"{CSRC}/particle_weights_cpu.cpp"]

    cuda_mode = _env("VAETOOLS_CUDA", "auto").lower()
    cuda_ok = torch.version.cuda is not None and CUDA_HOME is not None
    if cuda_mode in {"1", "true", "yes"} and not cuda_ok:
        raise RuntimeError(
            "VAETOOLS_CUDA=1 but torch has no CUDA (torch.version.cuda is None) or no CUDA "
            "toolkit was found (set CUDA_HOME)."
        )
    use_cuda = cuda_ok and cuda_mode not in {"0", "false", "no"}

    if use_cuda:
        sources.append(f"{CSRC}/reparam_kl_cuda.cu")
        nvcc = ["-O3", "-lineinfo", "-diag-suppress", "3306"]
        ext = CUDAExtension("vaetools._C", sources, extra_compile_args={"cxx": cxx, "nvcc": nvcc},
                            extra_link_args=["-fopenmp"])
    else:
        ext = CppExtension("vaetools._C", sources, extra_compile_args={"cxx": cxx},
                           extra_link_args=["-fopenmp"])
    return [ext], {"build_ext": BuildExtension}


ext_modules, cmdclass = _extensions()
setup(ext_modules=ext_modules, cmdclass=cmdclass)
