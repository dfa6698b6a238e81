// CUDA kernels of the fused reparameterize + KL operator.
//
// Forward: a group of TPR lanes (a power of two <= 32) owns one (k, b) row; each lane
// handles chunks of 4 consecutive latent dims (one Philox block when aligned), and the
// group reduces kl / log_ratio with warp shuffles. Backward: one thread per (b, chunk)
// loops over the k draws, so the sums over k need no atomics. The noise is regenerated
// from (seed, flat index) exactly as on the CPU (csrc/philox.h).
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/cuda/CUDAException.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <torch/library.h>

#include "philox.h"
#include "reparam_kl.h"

namespace vaetools {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float exp_acc(float x) { return poly_exp(x); }
__device__ __forceinline__ double exp_acc(double x) { return ::exp(x); }

// Noise for flat indices [flat, flat + 4) (entries past `valid` are unused).
__device__ __forceinline__ void noise4(int64_t flat, int valid, uint64_t key, uint64_t stream,
                                       float out[4]) {
  uint64_t cached = ~0ull;
  F32x4 v{0.f, 0.f, 0.f, 0.f};
#pragma unroll
  for (int t = 0; t < 4; ++t) {
    if (t < valid) {
      const uint64_t idx = static_cast<uint64_t>(flat + t);
      const uint64_t blk = idx >> 2;
      if (blk != cached) {
        v = philox_normal4(blk, stream, key);
        cached = blk;
      }
      const int lane = static_cast<int>(idx & 3);
      out[t] = lane == 0 ? v.a : lane == 1 ? v.b : lane == 2 ? v.c : v.d;
    }
  }
}

template <typename scalar_t, int TPR>
__global__ void forward_kernel(const scalar_t* __restrict__ mu, const scalar_t* __restrict__ lv,
                               const scalar_t* __restrict__ eps, int64_t K, int64_t B, int64_t D,
                               uint64_t key, uint64_t stream, scalar_t* __restrict__ z,
                               scalar_t* __restrict__ kl, scalar_t* __restrict__ lr) {
  using acc_t = at::opmath_type<scalar_t>;
  const int lane = threadIdx.x % TPR;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (kThreads / TPR) + threadIdx.x / TPR;
  const bool active = row < K * B;
  const int64_t b = active ? row % B : 0;
  const int64_t chunks = (D + 3) / 4;
  acc_t acc_lr = 0, acc_kl = 0;
  if (active) {
    for (int64_t c = lane; c < chunks; c += TPR) {
      const int64_t d0 = 4 * c;
      const int valid = static_cast<int>(D - d0 < 4 ? D - d0 : 4);
      const int64_t flat = row * D + d0;
      float nz[4] = {0.f, 0.f, 0.f, 0.f};
      if (eps == nullptr) noise4(flat, valid, key, stream, nz);
#pragma unroll
      for (int t = 0; t < 4; ++t) {
        if (t < valid) {
          const acc_t m = static_cast<acc_t>(mu[b * D + d0 + t]);
          const acc_t l = static_cast<acc_t>(lv[b * D + d0 + t]);
          const acc_t s = exp_acc(acc_t(0.5) * l);
          const acc_t e = eps ? static_cast<acc_t>(eps[flat + t]) : static_cast<acc_t>(nz[t]);
          const acc_t zz = m + s * e;
          z[flat + t] = static_cast<scalar_t>(zz);
          acc_lr += e * e - zz * zz + l;
          acc_kl += m * m + s * s - acc_t(1) - l;
        }
      }
    }
  }
#pragma unroll
  for (int off = TPR / 2; off > 0; off /= 2) {
    acc_lr += __shfl_xor_sync(0xffffffffu, acc_lr, off, TPR);
    acc_kl += __shfl_xor_sync(0xffffffffu, acc_kl, off, TPR);
  }
  if (active && lane == 0) {
    lr[row] = static_cast<scalar_t>(acc_t(0.5) * acc_lr);
    if (row < B) kl[row] = static_cast<scalar_t>(acc_t(0.5) * acc_kl);
  }
}

template <typename scalar_t>
__global__ void backward_kernel(const scalar_t* __restrict__ gz, const scalar_t* __restrict__ gkl,
                                const scalar_t* __restrict__ glr, const scalar_t* __restrict__ mu,
                                const scalar_t* __restrict__ lv, const scalar_t* __restrict__ eps,
                                int64_t K, int64_t B, int64_t D, uint64_t key, uint64_t stream,
                                scalar_t* __restrict__ gmu, scalar_t* __restrict__ glv) {
  using acc_t = at::opmath_type<scalar_t>;
  const int64_t chunks = (D + 3) / 4;
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (tid >= B * chunks) return;
  const int64_t b = tid / chunks;
  const int64_t d0 = 4 * (tid % chunks);
  const int valid = static_cast<int>(D - d0 < 4 ? D - d0 : 4);
  acc_t m[4], s[4], am[4], al[4];
  const acc_t g_kl = static_cast<acc_t>(gkl[b]);
#pragma unroll
  for (int t = 0; t < 4; ++t) {
    m[t] = t < valid ? static_cast<acc_t>(mu[b * D + d0 + t]) : acc_t(0);
    s[t] = t < valid ? exp_acc(acc_t(0.5) * static_cast<acc_t>(lv[b * D + d0 + t])) : acc_t(1);
    am[t] = g_kl * m[t];
    al[t] = g_kl * acc_t(0.5) * (s[t] * s[t] - acc_t(1));
  }
  for (int64_t k = 0; k < K; ++k) {
    const int64_t flat = (k * B + b) * D + d0;
    const acc_t g = static_cast<acc_t>(glr[k * B + b]);
    float nz[4] = {0.f, 0.f, 0.f, 0.f};
    if (eps == nullptr) noise4(flat, valid, key, stream, nz);
#pragma unroll
    for (int t = 0; t < 4; ++t) {
      if (t < valid) {
        const acc_t e = eps ? static_cast<acc_t>(eps[flat + t]) : static_cast<acc_t>(nz[t]);
        const acc_t zz = m[t] + s[t] * e;
        const acc_t gzz = static_cast<acc_t>(gz[flat + t]) - g * zz;
        am[t] += gzz;
        al[t] += acc_t(0.5) * (gzz * s[t] * e + g);
      }
    }
  }
#pragma unroll
  for (int t = 0; t < 4; ++t) {
    if (t < valid) {
      gmu[b * D + d0 + t] = static_cast<scalar_t>(am[t]);
      glv[b * D + d0 + t] = static_cast<scalar_t>(al[t]);
    }
  }
}

template <typename scalar_t, int TPR>
void launch_forward(const at::Tensor& mu, const at::Tensor& lv, const at::Tensor& eps,
                    ReparamKLShape s, uint64_t key, uint64_t stream, at::Tensor& z, at::Tensor& kl,
                    at::Tensor& lr, cudaStream_t cuda_stream) {
  const int64_t rows = s.k * s.b;
  const int64_t blocks = (rows + kThreads / TPR - 1) / (kThreads / TPR);
  forward_kernel<scalar_t, TPR><<<static_cast<unsigned>(blocks), kThreads, 0, cuda_stream>>>(
      mu.const_data_ptr<scalar_t>(), lv.const_data_ptr<scalar_t>(),
      eps.defined() ? eps.const_data_ptr<scalar_t>() : nullptr, s.k, s.b, s.d, key, stream,
      z.mutable_data_ptr<scalar_t>(), kl.mutable_data_ptr<scalar_t>(),
      lr.mutable_data_ptr<scalar_t>());
  C10_CUDA_KERNEL_LAUNCH_CHECK();
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> reparam_kl_cuda(
    const at::Tensor& mu, const at::Tensor& logvar, const std::optional<at::Tensor>& eps, int64_t k,
    const std::optional<at::Tensor>& seed) {
  const ReparamKLShape s = check_reparam_kl_args(mu, logvar, eps, k, seed);
  TORCH_CHECK(mu.is_cuda(), "vaetools.reparam_kl: CUDA kernel got a tensor on ", mu.device());
  const c10::cuda::CUDAGuard guard(mu.device());
  const std::pair<uint64_t, uint64_t> key_stream = read_seed(seed);
  const uint64_t key = key_stream.first, stream = key_stream.second;
  const at::Tensor mu_c = mu.contiguous();
  const at::Tensor lv_c = logvar.contiguous();
  const at::Tensor eps_c = eps.has_value() ? eps->contiguous() : at::Tensor();
  at::Tensor z = at::empty({s.k, s.b, s.d}, mu.options());
  at::Tensor kl = at::empty({s.b}, mu.options());
  at::Tensor lr = at::empty({s.k, s.b}, mu.options());
  if (s.k * s.b == 0) return {z, kl, lr};
  const cudaStream_t cuda_stream = c10::cuda::getCurrentCUDAStream();
  const int64_t chunks = (s.d + 3) / 4;
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, mu.scalar_type(), "reparam_kl_cuda", [&] {
    if (chunks <= 1) {
      launch_forward<scalar_t, 1>(mu_c, lv_c, eps_c, s, key, stream, z, kl, lr, cuda_stream);
    } else if (chunks <= 2) {
      launch_forward<scalar_t, 2>(mu_c, lv_c, eps_c, s, key, stream, z, kl, lr, cuda_stream);
    } else if (chunks <= 4) {
      launch_forward<scalar_t, 4>(mu_c, lv_c, eps_c, s, key, stream, z, kl, lr, cuda_stream);
    } else if (chunks <= 8) {
      launch_forward<scalar_t, 8>(mu_c, lv_c, eps_c, s, key, stream, z, kl, lr, cuda_stream);
    } else if (chunks <= 16) {
      launch_forward<scalar_t, 16>(mu_c, lv_c, eps_c, s, key, stream, z, kl, lr, cuda_stream);
    } else {
      launch_forward<scalar_t, 32>(mu_c, lv_c, eps_c, s, key, stream, z, kl, lr, cuda_stream);
    }
  });
  return {z, kl, lr};
}

std::tuple<at::Tensor, at::Tensor> reparam_kl_backward_cuda(
    const at::Tensor& grad_z, const at::Tensor& grad_kl, const at::Tensor& grad_log_ratio,
    const at::Tensor& mu, const at::Tensor& logvar, const std::optional<at::Tensor>& eps, int64_t k,
    const std::optional<at::Tensor>& seed) {
  const ReparamKLShape s = check_reparam_kl_args(mu, logvar, eps, k, seed);
  check_reparam_kl_grads(grad_z, grad_kl, grad_log_ratio, s, mu);
  const c10::cuda::CUDAGuard guard(mu.device());
  const std::pair<uint64_t, uint64_t> key_stream = read_seed(seed);
  const uint64_t key = key_stream.first, stream = key_stream.second;
  const at::Tensor mu_c = mu.contiguous();
  const at::Tensor lv_c = logvar.contiguous();
  const at::Tensor eps_c = eps.has_value() ? eps->contiguous() : at::Tensor();
  const at::Tensor gz = grad_z.contiguous();
  const at::Tensor gkl = grad_kl.contiguous();
  const at::Tensor glr = grad_log_ratio.contiguous();
  at::Tensor gmu = at::empty({s.b, s.d}, mu.options());
  at::Tensor glv = at::empty({s.b, s.d}, mu.options());
  const int64_t threads = s.b * ((s.d + 3) / 4);
  if (threads == 0) return {gmu, glv};
  const cudaStream_t cuda_stream = c10::cuda::getCurrentCUDAStream();
  const unsigned blocks = static_cast<unsigned>((threads + kThreads - 1) / kThreads);
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, mu.scalar_type(), "reparam_kl_backward_cuda", [&] {
    backward_kernel<scalar_t><<<blocks, kThreads, 0, cuda_stream>>>(
        gz.const_data_ptr<scalar_t>(), gkl.const_data_ptr<scalar_t>(), glr.const_data_ptr<scalar_t>(),
        mu_c.const_data_ptr<scalar_t>(), lv_c.const_data_ptr<scalar_t>(),
        eps_c.defined() ? eps_c.const_data_ptr<scalar_t>() : nullptr, s.k, s.b, s.d, key, stream,
        gmu.mutable_data_ptr<scalar_t>(), glv.mutable_data_ptr<scalar_t>());
    C10_CUDA_KERNEL_LAUNCH_CHECK();
  });
  return {gmu, glv};
}

}  // namespace

TORCH_LIBRARY_IMPL(vaetools, CUDA, m) {
  m.impl("reparam_kl", &reparam_kl_cuda);
  m.impl("reparam_kl_backward", &reparam_kl_backward_cuda);
}

}  // namespace vaetools
