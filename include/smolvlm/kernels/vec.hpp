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
#include <limits>

#include "../config.hpp"

namespace smolvlm::kernels {

using dot_fn = float (*)(const float* a, const float* b, std::int64_t n);
// gate[i] = silu(gate[i]) * up[i]  (SwiGLU);  x[i] = gelu_tanh(x[i])  (SigLIP MLP)
using swiglu_fn = void (*)(float* gate, const float* up, std::int64_t n);
using gelu_fn = void (*)(float* x, std::int64_t n);
// One query against n_keys keys/values (row stride `stride` floats), online softmax:
//   out[hd] = sum_j softmax_j(scale * q.k_j) v_j
using attend_fn = void (*)(const float* q, const float* k, const float* v, std::int64_t stride, std::int64_t n_keys,
                           std::int64_t hd, float scale, float* out);
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

// References for swiglu_fn / gelu_fn (the formulas of nn/activation.hpp).
inline void swiglu(float* gate, const float* up, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}
// gelu_pytorch_tanh: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
inline void gelu_tanh(float* x, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) {
        const float v = x[i];
        x[i] = 0.5f * v * (1.0f + std::tanh(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    }
}

// Reference for attend_fn: keys in blocks of 64, running max m and sum l per query
// (the scores of one block at a time; no [n_kv] buffer). What nn::attention ran inline.
inline void attend(const float* q, const float* k, const float* v, std::int64_t stride, std::int64_t n_keys,
                   std::int64_t hd, float scale, float* out) {
    constexpr std::int64_t k_block = 64;
    float scores[k_block];
    float m = -std::numeric_limits<float>::infinity();
    float l = 0.0f;
    for (std::int64_t i = 0; i < hd; ++i) out[i] = 0.0f;  // accumulator
    for (std::int64_t j0 = 0; j0 < n_keys; j0 += k_block) {
        const std::int64_t j1 = n_keys < j0 + k_block ? n_keys : j0 + k_block;
        float bm = m;
        for (std::int64_t j = j0; j < j1; ++j) {
            const float* kv = k + j * stride;
            float d = 0.0f;
            for (std::int64_t i = 0; i < hd; ++i) d += q[i] * kv[i];
            d *= scale;
            scores[j - j0] = d;
            bm = d > bm ? d : bm;
        }
        const float corr = std::exp(m - bm);  // 0 on the first block (m = -inf)
        l *= corr;
        for (std::int64_t i = 0; i < hd; ++i) out[i] *= corr;
        for (std::int64_t j = j0; j < j1; ++j) {
            const float p = std::exp(scores[j - j0] - bm);
            l += p;
            const float* vv = v + j * stride;
            for (std::int64_t i = 0; i < hd; ++i) out[i] += p * vv[i];
        }
        m = bm;
    }
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    for (std::int64_t i = 0; i < hd; ++i) out[i] *= inv;
}

}  // namespace scalar
}  // namespace smolvlm::kernels
