// Operator schemas. Kernels live in reparam_kl_cpu.cpp, reparam_kl_cuda.cu and particle_weights_cpu.cpp;
// fake (meta) kernels and autograd are registered from Python (vaetools/ops/_registry.py).
#include <Python.h>
#include <torch/library.h>

extern "C" {
// `import vaetools._C` loads this library, which runs the registrations below.
PyObject* PyInit__C(void) {
  static struct PyModuleDef module_def = {
      PyModuleDef_HEAD_INIT, "_C", "vaetools compiled operators (registered via torch.library)",
      -1, nullptr};
  return PyModule_Create(&module_def);
}
}

TORCH_LIBRARY(vaetools, m) {
  // z = mu + exp(logvar/2) * eps, shape (k, B, D); kl = KL(q || N(0, I)) per row, shape (B,);
  // log_ratio = log p(z) - log q(z | x) per draw, shape (k, B). With eps absent, noise comes
  // from the counter-based generator keyed by seed = [key, stream] (CPU int64).
  m.def(
      "reparam_kl(Tensor mu, Tensor logvar, Tensor? eps, int k, Tensor? seed) "
      "-> (Tensor z, Tensor kl, Tensor log_ratio)");
  // Gradients w.r.t. mu and logvar; regenerates the noise from seed when eps is absent.
  m.def(
      "reparam_kl_backward(Tensor grad_z, Tensor grad_kl, Tensor grad_log_ratio, Tensor mu, "
      "Tensor logvar, Tensor? eps, int k, Tensor? seed) -> (Tensor grad_mu, Tensor grad_logvar)");
  // Self-normalized importance weights (k, rows) of k particles per row from the decoder's
  // outputs, feature-major (outputs, k, rows): numeric locs, raw scales, binary logits, category
  // logits; and each output's weighted mean over the particles (outputs, rows), binary logits
  // as probabilities. Rewrites out's raw scales as scales (softplus + min_scale) and each
  // categorical column's logits as probabilities. df: Student-t's degrees of freedom per numeric
  // column, or none for Gaussian cells. Inference only: no autograd.
  m.def(
      "particle_weights_(Tensor(a!) out, Tensor log_ratio, Tensor num, Tensor m_num, Tensor bin, "
      "Tensor m_bin, Tensor cat, Tensor m_cat, Tensor min_scale, Tensor? df, int[] cat_sizes) "
      "-> (Tensor weights, Tensor expectations)");
}
