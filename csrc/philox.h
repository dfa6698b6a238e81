// Counter-based normal noise shared by the CPU and CUDA kernels.
//
// Element i of the flat (K, B, D) noise tensor is lane (i % 4) of the
// Philox4x32-10 block with counter (i / 4, stream) and key `seed`, turned into
// normals by Box-Muller. The transcendental functions are our own short
// polynomials (not libm / CUDA intrinsics) so that
//   * the CPU loop auto-vectorizes (no libm calls inside it),
//   * CPU and CUDA produce the same noise up to rounding,
//   * the pure-PyTorch fallback (vaetools/ops/_philox.py) can mirror it.
// Any change here must be mirrored there; tests compare the two.
#pragma once

#include <cstdint>
#if !defined(__CUDACC__)
#include <cmath>
#endif

#if defined(__CUDACC__)
#define VT_HD __host__ __device__ __forceinline__
#else
#define VT_HD inline __attribute__((always_inline))
#endif

namespace vaetools {

constexpr uint32_t kPhiloxM0 = 0xD2511F53u;
constexpr uint32_t kPhiloxM1 = 0xCD9E8D57u;
constexpr uint32_t kPhiloxW0 = 0x9E3779B9u;
constexpr uint32_t kPhiloxW1 = 0xBB67AE85u;

struct U32x4 {
  uint32_t x, y, z, w;
};

// Philox4x32-10 (Salmon et al., SC'11).
VT_HD U32x4 philox4x32_10(uint64_t block, uint64_t stream, uint64_t seed) {
  uint32_t c0 = static_cast<uint32_t>(block);
  uint32_t c1 = static_cast<uint32_t>(block >> 32);
  uint32_t c2 = static_cast<uint32_t>(stream);
  uint32_t c3 = static_cast<uint32_t>(stream >> 32);
  uint32_t k0 = static_cast<uint32_t>(seed);
  uint32_t k1 = static_cast<uint32_t>(seed >> 32);
#pragma unroll
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kPhiloxM0) * c0;
    const uint64_t p1 = static_cast<uint64_t>(kPhiloxM1) * c2;
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32);
    const uint32_t lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32);
    const uint32_t lo1 = static_cast<uint32_t>(p1);
    c0 = hi1 ^ c1 ^ k0;
    c1 = lo1;
    c2 = hi0 ^ c3 ^ k1;
    c3 = lo0;
    k0 += kPhiloxW0;
    k1 += kPhiloxW1;
  }
  return {c0, c1, c2, c3};
}

VT_HD float bits_as_float(uint32_t u) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(u);
#else
  return __builtin_bit_cast(float, u);  // a union would block vectorization
#endif
}

VT_HD uint32_t float_as_bits(float f) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(f);
#else
  return __builtin_bit_cast(uint32_t, f);
#endif
}

#if defined(__CUDA_ARCH__)
#define VT_SQRT sqrtf
#else
#define VT_SQRT std::sqrt
#endif

// Natural log for x in [2^-24, 1] (Cephes logf polynomial, branch-free).
VT_HD float poly_log(float x) {
  const uint32_t bits = float_as_bits(x);
  float e = static_cast<float>(static_cast<int32_t>(bits >> 23) - 126);
  float m = bits_as_float((bits & 0x007FFFFFu) | 0x3F000000u);  // [0.5, 1)
  const bool small = m < 0.70710678118654752f;
  e = small ? e - 1.0f : e;
  m = small ? m + m - 1.0f : m - 1.0f;
  const float z = m * m;
  float y = 7.0376836292e-2f;
  y = y * m - 1.1514610310e-1f;
  y = y * m + 1.1676998740e-1f;
  y = y * m - 1.2420140846e-1f;
  y = y * m + 1.4249322787e-1f;
  y = y * m - 1.6668057665e-1f;
  y = y * m + 2.0000714765e-1f;
  y = y * m - 2.4999993993e-1f;
  y = y * m + 3.3333331174e-1f;
  y = y * m * z;
  y += -2.12194440e-4f * e;
  y += -0.5f * z;
  return m + y + 0.693359375f * e;
}

// sin and cos of 2*pi*t for t in [0, 1): quadrant reduction, then Cephes
// polynomials on [-pi/4, pi/4].
VT_HD void poly_sincos_2pi(float t, float* s_out, float* c_out) {
  const float q4 = t * 4.0f;
  const float qf = static_cast<float>(static_cast<int32_t>(q4 + 0.5f));
  const int32_t q = static_cast<int32_t>(qf) & 3;
  const float a = (q4 - qf) * 1.57079632679489662f;  // [-pi/4, pi/4]
  const float a2 = a * a;
  float s = -1.9515295891e-4f;
  s = s * a2 + 8.3321608736e-3f;
  s = s * a2 - 1.6666654611e-1f;
  s = s * a2 * a + a;
  float c = 2.443315711809948e-5f;
  c = c * a2 - 1.388731625493765e-3f;
  c = c * a2 + 4.166664568298827e-2f;
  c = c * a2 * a2 - 0.5f * a2 + 1.0f;
  // rotate by q quarter turns
  const float sq = (q == 0) ? s : (q == 1) ? c : (q == 2) ? -s : -c;
  const float cq = (q == 0) ? c : (q == 1) ? -s : (q == 2) ? -c : s;
  *s_out = sq;
  *c_out = cq;
}

// exp(x) in float (Cephes expf), branch-free so that loops over it vectorize.
// NaN propagates, x > 88.72 gives inf, x < -87 flushes to 0.
VT_HD float poly_exp(float x) {
  // clamp (NaN to 0) so that every lane runs the same arithmetic; fixed up at the end
  float xc = x < -87.0f ? -87.0f : x;
  xc = xc > 88.72f ? 88.72f : xc;
  xc = x != x ? 0.0f : xc;
  // floor via truncation of a positive value (floorf itself blocks GCC's vectorizer)
  const float fx =
      static_cast<float>(static_cast<int32_t>(xc * 1.44269504088896341f + 128.5f) - 128);
  float r = xc - fx * 0.693359375f;
  r = r - fx * -2.12194440e-4f;
  const float r2 = r * r;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r2 + r + 1.0f;
  // 2^fx as two factors so that fx = 128 does not overflow the exponent field
  const int32_t n = static_cast<int32_t>(fx);
  y = y * bits_as_float(static_cast<uint32_t>(n + 126) << 23) * 2.0f;
  const float inf = bits_as_float(0x7F800000u);
  y = x > 88.72f ? inf : y;
  y = x < -87.0f ? 0.0f : y;
  return x != x ? x : y;
}

struct F32x4 {
  float a, b, c, d;
};

// Four standard normals from one Philox block.
VT_HD F32x4 philox_normal4(uint64_t block, uint64_t stream, uint64_t seed) {
  const U32x4 r = philox4x32_10(block, stream, seed);
  constexpr float kInv24 = 5.9604644775390625e-08f;  // 2^-24
  // 24-bit uniforms, exact in float; int32 casts keep the conversion vectorizable.
  const float u1 = static_cast<float>(static_cast<int32_t>(r.x >> 8) + 1) * kInv24;  // (0, 1]
  const float t1 = static_cast<float>(static_cast<int32_t>(r.y >> 8)) * kInv24;      // [0, 1)
  const float u2 = static_cast<float>(static_cast<int32_t>(r.z >> 8) + 1) * kInv24;
  const float t2 = static_cast<float>(static_cast<int32_t>(r.w >> 8)) * kInv24;
  const float rad1 = VT_SQRT(-2.0f * poly_log(u1));
  const float rad2 = VT_SQRT(-2.0f * poly_log(u2));
  float s1, c1, s2, c2;
  poly_sincos_2pi(t1, &s1, &c1);
  poly_sincos_2pi(t2, &s2, &c2);
  return {rad1 * c1, rad1 * s1, rad2 * c2, rad2 * s2};
}

}  // namespace vaetools
