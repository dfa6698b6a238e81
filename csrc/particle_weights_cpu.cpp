// CPU kernel of particle_weights_: the importance weights of k particles per row, and the
// weighted mean of each decoder output over them.
//
// The decoder's outputs arrive feature-major, (outputs, k, rows), as vaetools/model/particles.py
// writes them. Work is split over rows (at::parallel_for): a thread takes a tile of kTile rows
// and walks, for each column and particle, the tile's contiguous segment of that column's
// outputs, so every output is read from memory once and each column's pass (softplus, the
// likelihood, a categorical column's max, exponentials, sum and division) runs on cached,
// vectorizable segments. The same work in PyTorch made about ten passes over the outputs.
// vaetools/ops/_reference.py holds the same computation in PyTorch; tests compare the two.
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>
#include <ATen/ops/empty.h>
#include <c10/util/Exception.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <tuple>
#include <vector>

#include "philox.h"

namespace vaetools {
namespace {

constexpr int64_t kTile = 64;
constexpr double kHalfLog2Pi = 0.91893853320467274178;
constexpr double kPi = 3.14159265358979323846;

inline float exp_acc(float x) { return poly_exp(x); }
inline double exp_acc(double x) { return std::exp(x); }
inline float log_acc(float x) { return poly_log(x); }  // x > 0 and normal here
inline double log_acc(double x) { return std::log(x); }

// softplus as torch computes it (threshold 20: the input itself above it)
template <typename T>
inline T softplus(T x) {
  const T ax = x < T(0) ? -x : x;
  const T y = (x > T(0) ? x : T(0)) + log_acc(T(1) + exp_acc(-ax));
  return x > T(20) ? x : y;
}

struct Layout {
  int64_t k, rows, n_num, n_bin;
  std::vector<int64_t> cat_sizes;
};

template <typename T>
void weights_kernel(T* out, const T* log_ratio, const T* num, const T* m_num, const T* bin,
                    const T* m_bin, const int64_t* cat, const T* m_cat, const T* min_scale,
                    const T* df, const Layout& L, T* weights, T* expect) {
  const int64_t K = L.k, B = L.rows, n = L.n_num, nb = L.n_bin;
  const int64_t nc = static_cast<int64_t>(L.cat_sizes.size());
  int64_t n_out = 2 * n + nb;
  for (int64_t size : L.cat_sizes) n_out += size;
  // Student-t's per-column constant log Gamma((df+1)/2) - log Gamma(df/2) - log(df pi) / 2
  std::vector<T> t_const(df ? n : 0);
  for (int64_t j = 0; df && j < n; ++j) {
    const double d = static_cast<double>(df[j]);
    t_const[j] = static_cast<T>(std::lgamma((d + 1) / 2) - std::lgamma(d / 2) - 0.5 * std::log(d * kPi));
  }
  const int64_t grain = std::max<int64_t>(1, 4096 / std::max<int64_t>(K, 1) / kTile) * kTile;
  at::parallel_for(0, B, grain, [&](int64_t b_begin, int64_t b_end) {
    std::vector<T> ll(K * kTile), x(kTile), m(kTile), top(kTile), total(kTile), picked(kTile);
    std::vector<int64_t> code(kTile);
    for (int64_t b0 = b_begin; b0 < b_end; b0 += kTile) {
      const int64_t w = std::min(kTile, b_end - b0);
      for (int64_t kk = 0; kk < K; ++kk)
        for (int64_t t = 0; t < w; ++t) ll[kk * kTile + t] = log_ratio[kk * B + b0 + t];
      // the segment of output row r for particle kk
      auto seg = [&](int64_t r, int64_t kk) { return out + (r * K + kk) * B + b0; };
      for (int64_t j = 0; j < n; ++j) {
        for (int64_t t = 0; t < w; ++t) {
          x[t] = num[(b0 + t) * n + j];
          m[t] = m_num[(b0 + t) * n + j];
        }
        const T floor = min_scale[j];
        for (int64_t kk = 0; kk < K; ++kk) {
          const T* loc = seg(j, kk);
          T* scale = seg(n + j, kk);
          T* l = ll.data() + kk * kTile;
          if (df) {
            const T dj = df[j], cj = t_const[j], half = (dj + T(1)) / T(2);
#pragma omp simd
            for (int64_t t = 0; t < w; ++t) {
              const T s = softplus(scale[t]) + floor;
              scale[t] = s;
              const T u = (x[t] - loc[t]) / s;
              l[t] += m[t] * (cj - log_acc(s) - half * log_acc(T(1) + u * u / dj));
            }
          } else {
#pragma omp simd
            for (int64_t t = 0; t < w; ++t) {
              const T s = softplus(scale[t]) + floor;
              scale[t] = s;
              const T u = (x[t] - loc[t]) / s;
              l[t] += m[t] * (-T(0.5) * u * u - log_acc(s) - T(kHalfLog2Pi));
            }
          }
        }
      }
      for (int64_t j = 0; j < nb; ++j) {
        for (int64_t t = 0; t < w; ++t) {
          x[t] = bin[(b0 + t) * nb + j];
          m[t] = m_bin[(b0 + t) * nb + j];
        }
        for (int64_t kk = 0; kk < K; ++kk) {
          const T* logit = seg(2 * n + j, kk);
          T* l = ll.data() + kk * kTile;
#pragma omp simd
          for (int64_t t = 0; t < w; ++t) l[t] += m[t] * (x[t] * logit[t] - softplus(logit[t]));
        }
      }
      int64_t start = 2 * n + nb;
      for (int64_t c = 0; c < nc; ++c) {
        const int64_t size = L.cat_sizes[c];
        for (int64_t t = 0; t < w; ++t) {
          const int64_t v = cat[(b0 + t) * nc + c];
          code[t] = v < 0 ? 0 : v;
          m[t] = m_cat[(b0 + t) * nc + c];
        }
        for (int64_t kk = 0; kk < K; ++kk) {
          for (int64_t t = 0; t < w; ++t) {
            picked[t] = seg(start + code[t], kk)[t];
            top[t] = seg(start, kk)[t];
            total[t] = T(0);
          }
          for (int64_t s = 1; s < size; ++s) {
            const T* p = seg(start + s, kk);
#pragma omp simd
            for (int64_t t = 0; t < w; ++t) top[t] = p[t] > top[t] ? p[t] : top[t];
          }
          for (int64_t s = 0; s < size; ++s) {
            T* p = seg(start + s, kk);
#pragma omp simd
            for (int64_t t = 0; t < w; ++t) {
              p[t] = exp_acc(p[t] - top[t]);
              total[t] += p[t];
            }
          }
          T* l = ll.data() + kk * kTile;
#pragma omp simd
          for (int64_t t = 0; t < w; ++t) {
            l[t] += m[t] * (picked[t] - top[t] - log_acc(total[t]));
            total[t] = T(1) / total[t];
          }
          for (int64_t s = 0; s < size; ++s) {
            T* p = seg(start + s, kk);
#pragma omp simd
            for (int64_t t = 0; t < w; ++t) p[t] *= total[t];
          }
        }
        start += size;
      }
      // self-normalized weights: softmax over the particles of each row
      for (int64_t t = 0; t < w; ++t) {
        T hi = ll[t];
        for (int64_t kk = 1; kk < K; ++kk) hi = ll[kk * kTile + t] > hi ? ll[kk * kTile + t] : hi;
        T sum = T(0);
        for (int64_t kk = 0; kk < K; ++kk) {
          const T e = static_cast<T>(std::exp(ll[kk * kTile + t] - hi));
          ll[kk * kTile + t] = e;
          sum += e;
        }
        for (int64_t kk = 0; kk < K; ++kk) {
          ll[kk * kTile + t] /= sum;
          weights[kk * B + b0 + t] = ll[kk * kTile + t];
        }
      }
      // the weighted mean of every output over the particles (binary logits as probabilities)
      for (int64_t r = 0; r < n_out; ++r) {
        const bool logit = r >= 2 * n && r < 2 * n + nb;
        T* mean = expect + r * B + b0;
        for (int64_t t = 0; t < w; ++t) mean[t] = T(0);
        for (int64_t kk = 0; kk < K; ++kk) {
          const T* p = seg(r, kk);
          const T* wk = ll.data() + kk * kTile;  // the weights, by now
          if (logit) {
#pragma omp simd
            for (int64_t t = 0; t < w; ++t) mean[t] += wk[t] / (T(1) + exp_acc(-p[t]));
          } else {
#pragma omp simd
            for (int64_t t = 0; t < w; ++t) mean[t] += wk[t] * p[t];
          }
        }
      }
    }
  });
}

void check_like(const at::Tensor& t, const at::Tensor& ref, const char* name,
                std::initializer_list<int64_t> shape) {
  TORCH_CHECK(t.sizes() == at::IntArrayRef(shape), "vaetools.particle_weights_: ", name,
              " must have shape ", at::IntArrayRef(shape), ", got ", t.sizes());
  TORCH_CHECK(t.device() == ref.device(), "vaetools.particle_weights_: ", name, " is on ",
              t.device(), " but out is on ", ref.device());
}

std::tuple<at::Tensor, at::Tensor> particle_weights_cpu(
    at::Tensor& out, const at::Tensor& log_ratio, const at::Tensor& num, const at::Tensor& m_num,
    const at::Tensor& bin, const at::Tensor& m_bin, const at::Tensor& cat, const at::Tensor& m_cat,
    const at::Tensor& min_scale, const std::optional<at::Tensor>& df, at::IntArrayRef cat_sizes) {
  TORCH_CHECK(out.dim() == 3 && out.is_contiguous(),
              "vaetools.particle_weights_: out must be a contiguous (outputs, k, rows) tensor, got ",
              out.sizes());
  TORCH_CHECK(at::isFloatingType(out.scalar_type()), "vaetools.particle_weights_: out must be floating");
  Layout L{out.size(1), out.size(2), num.size(-1), bin.size(-1),
           std::vector<int64_t>(cat_sizes.begin(), cat_sizes.end())};
  int64_t n_out = 2 * L.n_num + L.n_bin;
  for (int64_t s : L.cat_sizes) {
    TORCH_CHECK(s >= 1, "vaetools.particle_weights_: every categorical column needs a category");
    n_out += s;
  }
  const int64_t nc = static_cast<int64_t>(L.cat_sizes.size());
  TORCH_CHECK(out.size(0) == n_out, "vaetools.particle_weights_: out has ", out.size(0),
              " outputs; the columns need ", n_out);
  check_like(log_ratio, out, "log_ratio", {L.k, L.rows});
  check_like(num, out, "num", {L.rows, L.n_num});
  check_like(m_num, out, "m_num", {L.rows, L.n_num});
  check_like(bin, out, "bin", {L.rows, L.n_bin});
  check_like(m_bin, out, "m_bin", {L.rows, L.n_bin});
  check_like(cat, out, "cat", {L.rows, nc});
  check_like(m_cat, out, "m_cat", {L.rows, nc});
  check_like(min_scale, out, "min_scale", {L.n_num});
  TORCH_CHECK(cat.scalar_type() == at::kLong, "vaetools.particle_weights_: cat must be int64 codes");
  if (df.has_value()) check_like(*df, out, "df", {L.n_num});
  const auto ty = out.scalar_type();
  auto same = [&](const at::Tensor& t) {
    TORCH_CHECK(t.scalar_type() == ty, "vaetools.particle_weights_: inputs must share out's dtype ", ty,
                ", got ", t.scalar_type());
    return t.contiguous();
  };
  const at::Tensor lr = same(log_ratio), x = same(num), mx = same(m_num), y = same(bin), my = same(m_bin),
                   mc = same(m_cat), fl = same(min_scale), codes = cat.contiguous();
  const at::Tensor dfc = df.has_value() ? same(*df) : at::Tensor();
  at::Tensor weights = at::empty({L.k, L.rows}, out.options());
  at::Tensor expect = at::empty({n_out, L.rows}, out.options());
  AT_DISPATCH_FLOATING_TYPES(ty, "particle_weights_cpu", [&] {
    weights_kernel<scalar_t>(out.mutable_data_ptr<scalar_t>(), lr.const_data_ptr<scalar_t>(),
                             x.const_data_ptr<scalar_t>(), mx.const_data_ptr<scalar_t>(),
                             y.const_data_ptr<scalar_t>(), my.const_data_ptr<scalar_t>(),
                             codes.const_data_ptr<int64_t>(), mc.const_data_ptr<scalar_t>(),
                             fl.const_data_ptr<scalar_t>(),
                             dfc.defined() ? dfc.const_data_ptr<scalar_t>() : nullptr, L,
                             weights.mutable_data_ptr<scalar_t>(), expect.mutable_data_ptr<scalar_t>());
  });
  return {weights, expect};
}

}  // namespace

TORCH_LIBRARY_IMPL(vaetools, CPU, m) { m.impl("particle_weights_", &particle_weights_cpu); }

}  // namespace vaetools
