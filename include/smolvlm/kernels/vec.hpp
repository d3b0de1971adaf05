// smolvlm/kernels/vec.hpp — small vector helpers for attention and norms (scalar twins).
//
//   dot(a, b, n)       sum a[i]*b[i]
//   axpy(a, x, y, n)   y[i] += a*x[i]
//   scale(a, y, n)     y[i] *= a
//   exp_f32(x)         e^x for softmax, rel. error < 2e-7 over [-87, 88]; 0 below -87.3
//
// SIMD versions (avx2::dot, neon::dot, ...) share the signatures; dispatch.hpp picks them.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "../config.hpp"

namespace smolvlm::kernels {

using dot_fn = float (*)(const float* a, const float* b, std::int64_t n);
using axpy_fn = void (*)(float a, const float* x, float* y, std::int64_t n);

namespace scalar {

inline float dot(const float* a, const float* b, std::int64_t n) {
    float s = 0.0f;
    for (std::int64_t i = 0; i < n; ++i) s += a[i] * b[i];
    return s;
}

inline void axpy(float a, const float* x, float* y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

inline void scale(float a, float* y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] *= a;
}

// e^x = 2^k * e^r with k = round(x / ln 2), r = x - k ln 2 in [-ln2/2, ln2/2]; e^r by a
// degree-6 Taylor polynomial (error < 2e-7 relative on that interval). ln 2 is split in
// two parts so r stays exact. The same steps run in the SIMD twins.
inline float exp_f32(float x) {
    if (x < -87.3f) return 0.0f;
    if (x > 88.7f) return INFINITY;
    const float k = std::nearbyint(x * 1.44269504f);
    const float r = (x - k * 0.693145752f) - k * 1.42860677e-6f;
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    // 2^k via the exponent bits (k in [-126, 128]; handle the ends by halves).
    const int ki = int(k);
    const int k1 = ki / 2, k2 = ki - k1;
    std::uint32_t b1 = std::uint32_t(k1 + 127) << 23, b2 = std::uint32_t(k2 + 127) << 23;
    float s1, s2;
    std::memcpy(&s1, &b1, 4);
    std::memcpy(&s2, &b2, 4);
    return p * s1 * s2;
}

}  // namespace scalar
}  // namespace smolvlm::kernels
