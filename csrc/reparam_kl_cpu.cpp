// CPU kernels of the fused reparameterize + KL operator.
//
// Work is split over batch rows (at::parallel_for, OpenMP). Each thread walks a
// tile of rows small enough to stay in L1/L2 and, for each of the k draws,
// generates the tile's noise in one vectorizable pass (csrc/philox.h) before
// consuming it, so mu, logvar and the noise are read from cache, never stored.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "philox.h"
#include "reparam_kl.h"

namespace vaetools {
namespace {

constexpr int64_t kTileElems = 2048;

inline float exp_acc(float x) { return poly_exp(x); }
inline double exp_acc(double x) { return std::exp(x); }

// Writes the standard normals of flat indices [start, start + n) to out + (start & 3).
// out needs room for n + 8 floats. Returns the pointer to element `start`.
const float* fill_normal(float* out, int64_t start, int64_t n, uint64_t key, uint64_t stream) {
  const int64_t first_block = start >> 2;
  const int64_t lead = start & 3;
  const int64_t nblocks = (lead + n + 3) >> 2;
#pragma omp simd
  for (int64_t j = 0; j < nblocks; ++j) {
    const F32x4 v = philox_normal4(static_cast<uint64_t>(first_block + j), stream, key);
    out[4 * j] = v.a;
    out[4 * j + 1] = v.b;
    out[4 * j + 2] = v.c;
    out[4 * j + 3] = v.d;
  }
  return out + lead;
}

inline int64_t tile_rows(int64_t d) { return std::max<int64_t>(1, kTileElems / std::max<int64_t>(d, 1)); }

template <typename scalar_t>
void forward_kernel(const scalar_t* mu, const scalar_t* lv, const scalar_t* eps, ReparamKLShape s,
                    uint64_t key, uint64_t stream, scalar_t* z, scalar_t* kl, scalar_t* lr) {
  using acc_t = at::opmath_type<scalar_t>;
  const int64_t K = s.k, B = s.b, D = s.d;
  const int64_t tb = tile_rows(D);
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(K * D, 1));
  at::parallel_for(0, B, grain, [&](int64_t b_begin, int64_t b_end) {
    std::vector<float> noise(eps ? 0 : tb * D + 8);
    std::vector<acc_t> sig(tb * D), m(tb * D), lvb(tb * D);
    for (int64_t b0 = b_begin; b0 < b_end; b0 += tb) {
      const int64_t rows = std::min(tb, b_end - b0);
      const int64_t n = rows * D;
      const scalar_t* mu_t = mu + b0 * D;
      const scalar_t* lv_t = lv + b0 * D;
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) {
        m[i] = static_cast<acc_t>(mu_t[i]);
        lvb[i] = static_cast<acc_t>(lv_t[i]);
        sig[i] = exp_acc(acc_t(0.5) * lvb[i]);
      }
      for (int64_t r = 0; r < rows; ++r) {
        acc_t acc = 0;
#pragma omp simd reduction(+ : acc)
        for (int64_t dd = 0; dd < D; ++dd) {
          const int64_t i = r * D + dd;
          acc += m[i] * m[i] + sig[i] * sig[i] - acc_t(1) - lvb[i];
        }
        kl[b0 + r] = static_cast<scalar_t>(acc_t(0.5) * acc);
      }
      for (int64_t kk = 0; kk < K; ++kk) {
        const int64_t base = (kk * B + b0) * D;
        const float* nz = eps ? nullptr : fill_normal(noise.data(), base, n, key, stream);
        const scalar_t* ep = eps ? eps + base : nullptr;
        scalar_t* zt = z + base;
        for (int64_t r = 0; r < rows; ++r) {
          acc_t acc = 0;
#pragma omp simd reduction(+ : acc)
          for (int64_t dd = 0; dd < D; ++dd) {
            const int64_t i = r * D + dd;
            const acc_t e = eps ? static_cast<acc_t>(ep[i]) : static_cast<acc_t>(nz[i]);
            const acc_t zz = m[i] + sig[i] * e;
            zt[i] = static_cast<scalar_t>(zz);
            acc += e * e - zz * zz + lvb[i];
          }
          lr[kk * B + b0 + r] = static_cast<scalar_t>(acc_t(0.5) * acc);
        }
      }
    }
  });
}

template <typename scalar_t>
void backward_kernel(const scalar_t* gz, const scalar_t* gkl, const scalar_t* glr, const scalar_t* mu,
                     const scalar_t* lv, const scalar_t* eps, ReparamKLShape s, uint64_t key,
                     uint64_t stream, scalar_t* gmu, scalar_t* glv) {
  using acc_t = at::opmath_type<scalar_t>;
  const int64_t K = s.k, B = s.b, D = s.d;
  const int64_t tb = tile_rows(D);
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(K * D, 1));
  at::parallel_for(0, B, grain, [&](int64_t b_begin, int64_t b_end) {
    std::vector<float> noise(eps ? 0 : tb * D + 8);
    std::vector<acc_t> sig(tb * D), m(tb * D), am(tb * D), al(tb * D);
    for (int64_t b0 = b_begin; b0 < b_end; b0 += tb) {
      const int64_t rows = std::min(tb, b_end - b0);
      const int64_t n = rows * D;
      for (int64_t r = 0; r < rows; ++r) {
        const acc_t g = static_cast<acc_t>(gkl[b0 + r]);
#pragma omp simd
        for (int64_t dd = 0; dd < D; ++dd) {
          const int64_t i = r * D + dd;
          m[i] = static_cast<acc_t>(mu[b0 * D + i]);
          sig[i] = exp_acc(acc_t(0.5) * static_cast<acc_t>(lv[b0 * D + i]));
          // d kl / d mu = mu, d kl / d logvar = (exp(logvar) - 1) / 2
          am[i] = g * m[i];
          al[i] = g * acc_t(0.5) * (sig[i] * sig[i] - acc_t(1));
        }
      }
      for (int64_t kk = 0; kk < K; ++kk) {
        const int64_t base = (kk * B + b0) * D;
        const float* nz = eps ? nullptr : fill_normal(noise.data(), base, n, key, stream);
        const scalar_t* ep = eps ? eps + base : nullptr;
        const scalar_t* gzt = gz + base;
        for (int64_t r = 0; r < rows; ++r) {
          const acc_t g = static_cast<acc_t>(glr[kk * B + b0 + r]);
#pragma omp simd
          for (int64_t dd = 0; dd < D; ++dd) {
            const int64_t i = r * D + dd;
            const acc_t e = eps ? static_cast<acc_t>(ep[i]) : static_cast<acc_t>(nz[i]);
            const acc_t zz = m[i] + sig[i] * e;
            // total gradient reaching z: grad_z + grad_log_ratio * d log p(z) / dz
            const acc_t gzz = static_cast<acc_t>(gzt[i]) - g * zz;
            am[i] += gzz;
            al[i] += acc_t(0.5) * (gzz * sig[i] * e + g);
          }
        }
      }
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) {
        gmu[b0 * D + i] = static_cast<scalar_t>(am[i]);
        glv[b0 * D + i] = static_cast<scalar_t>(al[i]);
      }
    }
  });
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> reparam_kl_cpu(const at::Tensor& mu,
                                                              const at::Tensor& logvar,
                                                              const std::optional<at::Tensor>& eps,
                                                              int64_t k,
                                                              const std::optional<at::Tensor>& seed) {
  const ReparamKLShape s = check_reparam_kl_args(mu, logvar, eps, k, seed);
  TORCH_CHECK(mu.device().is_cpu(), "vaetools.reparam_kl: CPU kernel got a tensor on ", mu.device());
  const std::pair<uint64_t, uint64_t> key_stream = read_seed(seed);
  const uint64_t key = key_stream.first, stream = key_stream.second;
  const at::Tensor mu_c = mu.contiguous();
  const at::Tensor lv_c = logvar.contiguous();
  const at::Tensor eps_c = eps.has_value() ? eps->contiguous() : at::Tensor();
  at::Tensor z = at::empty({s.k, s.b, s.d}, mu.options());
  at::Tensor kl = at::empty({s.b}, mu.options());
  at::Tensor lr = at::empty({s.k, s.b}, mu.options());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, mu.scalar_type(), "reparam_kl_cpu", [&] {
    forward_kernel<scalar_t>(mu_c.const_data_ptr<scalar_t>(), lv_c.const_data_ptr<scalar_t>(),
                             eps_c.defined() ? eps_c.const_data_ptr<scalar_t>() : nullptr, s, key,
                             stream, z.mutable_data_ptr<scalar_t>(), kl.mutable_data_ptr<scalar_t>(),
                             lr.mutable_data_ptr<scalar_t>());
  });
  return {z, kl, lr};
}

std::tuple<at::Tensor, at::Tensor> reparam_kl_backward_cpu(
    const at::Tensor& grad_z, const at::Tensor& grad_kl, const at::Tensor& grad_log_ratio,
    const at::Tensor& mu, const at::Tensor& logvar, const std::optional<at::Tensor>& eps, int64_t k,
    const std::optional<at::Tensor>& seed) {
  const ReparamKLShape s = check_reparam_kl_args(mu, logvar, eps, k, seed);
  check_reparam_kl_grads(grad_z, grad_kl, grad_log_ratio, s, mu);
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
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kHalf, at::kBFloat16, mu.scalar_type(), "reparam_kl_backward_cpu", [&] {
    backward_kernel<scalar_t>(gz.const_data_ptr<scalar_t>(), gkl.const_data_ptr<scalar_t>(),
                              glr.const_data_ptr<scalar_t>(), mu_c.const_data_ptr<scalar_t>(),
                              lv_c.const_data_ptr<scalar_t>(),
                              eps_c.defined() ? eps_c.const_data_ptr<scalar_t>() : nullptr, s, key,
                              stream, gmu.mutable_data_ptr<scalar_t>(),
                              glv.mutable_data_ptr<scalar_t>());
  });
  return {gmu, glv};
}

}  // namespace

TORCH_LIBRARY_IMPL(vaetools, CPU, m) {
  m.impl("reparam_kl", &reparam_kl_cpu);
  m.impl("reparam_kl_backward", &reparam_kl_backward_cpu);
}

}  // namespace vaetools
