// Shared argument checks and shapes for the fused reparameterize + KL kernels.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>

#include <cstdint>
#include <optional>
#include <tuple>

namespace vaetools {

struct ReparamKLShape {
  int64_t k;
  int64_t b;
  int64_t d;
};

// Validates (mu, logvar, eps, k, seed) and returns the (K, B, D) sizes.
// The Python wrapper gives friendlier errors first; these guard direct torch.ops calls.
inline ReparamKLShape check_reparam_kl_args(const at::Tensor& mu, const at::Tensor& logvar,
                                            const std::optional<at::Tensor>& eps, int64_t k,
                                            const std::optional<at::Tensor>& seed) {
  TORCH_CHECK(mu.dim() == 2, "vaetools.reparam_kl: mu must be 2-D (batch, latent), got shape ",
              mu.sizes());
  TORCH_CHECK(logvar.sizes() == mu.sizes(), "vaetools.reparam_kl: logvar shape ", logvar.sizes(),
              " must equal mu shape ", mu.sizes());
  TORCH_CHECK(at::isFloatingType(mu.scalar_type()),
              "vaetools.reparam_kl: mu must be a floating tensor, got ", mu.scalar_type());
  TORCH_CHECK(logvar.scalar_type() == mu.scalar_type(), "vaetools.reparam_kl: logvar dtype ",
              logvar.scalar_type(), " must equal mu dtype ", mu.scalar_type());
  TORCH_CHECK(logvar.device() == mu.device(), "vaetools.reparam_kl: logvar is on ",
              logvar.device(), " but mu is on ", mu.device());
  TORCH_CHECK(k >= 1, "vaetools.reparam_kl: k (draws per row) must be >= 1, got ", k);
  if (eps.has_value()) {
    const at::Tensor& e = *eps;
    TORCH_CHECK(e.dim() == 3 && e.size(0) == k && e.size(1) == mu.size(0) &&
                    e.size(2) == mu.size(1),
                "vaetools.reparam_kl: eps must have shape (k, batch, latent) = (", k, ", ",
                mu.size(0), ", ", mu.size(1), "), got ", e.sizes());
    TORCH_CHECK(e.scalar_type() == mu.scalar_type(), "vaetools.reparam_kl: eps dtype ",
                e.scalar_type(), " must equal mu dtype ", mu.scalar_type());
    TORCH_CHECK(e.device() == mu.device(), "vaetools.reparam_kl: eps is on ", e.device(),
                " but mu is on ", mu.device());
  } else {
    TORCH_CHECK(seed.has_value(),
                "vaetools.reparam_kl: pass either eps or seed (a CPU int64 tensor [key, stream])");
  }
  if (seed.has_value()) {
    TORCH_CHECK(seed->device().is_cpu() && seed->scalar_type() == at::kLong && seed->numel() == 2,
                "vaetools.reparam_kl: seed must be a CPU int64 tensor of 2 values [key, stream], "
                "got ",
                seed->scalar_type(), " of shape ", seed->sizes(), " on ", seed->device());
  }
  return {k, mu.size(0), mu.size(1)};
}

// The (key, stream) pair of the counter-based generator.
inline std::pair<uint64_t, uint64_t> read_seed(const std::optional<at::Tensor>& seed) {
  if (!seed.has_value()) return {0, 0};
  const at::Tensor s = seed->contiguous();
  const int64_t* p = s.data_ptr<int64_t>();
  return {static_cast<uint64_t>(p[0]), static_cast<uint64_t>(p[1])};
}

inline void check_reparam_kl_grads(const at::Tensor& grad_z, const at::Tensor& grad_kl,
                                   const at::Tensor& grad_log_ratio, const ReparamKLShape& s,
                                   const at::Tensor& mu) {
  TORCH_CHECK(grad_z.dim() == 3 && grad_z.size(0) == s.k && grad_z.size(1) == s.b &&
                  grad_z.size(2) == s.d,
              "vaetools.reparam_kl_backward: grad_z has shape ", grad_z.sizes());
  TORCH_CHECK(grad_kl.dim() == 1 && grad_kl.size(0) == s.b,
              "vaetools.reparam_kl_backward: grad_kl has shape ", grad_kl.sizes());
  TORCH_CHECK(grad_log_ratio.dim() == 2 && grad_log_ratio.size(0) == s.k &&
                  grad_log_ratio.size(1) == s.b,
              "vaetools.reparam_kl_backward: grad_log_ratio has shape ", grad_log_ratio.sizes());
  for (const at::Tensor* g : {&grad_z, &grad_kl, &grad_log_ratio}) {
    TORCH_CHECK(g->device() == mu.device() && g->scalar_type() == mu.scalar_type(),
                "vaetools.reparam_kl_backward: gradients must match mu's dtype and device");
  }
}

}  // namespace vaetools
