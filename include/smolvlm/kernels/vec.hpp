// smolvlm/kernels/vec.hpp — small vector helpers for attention and norms (scalar twins).
//
//   dot(a, b, n)       sum a[i]*b[i]
//   axpy(a, x, y, n)   y[i] += a*x[i]
//   scale(a, y, n)     y[i] *= a
//   exp_f32(x)         e^x for softmax, rel. error < 2e-7 over [-87, 88]; 0 below -87.3
//   softmax(row, n, s) softmax numerators of a score row and their sum (exp_nonpositive:
//                      branch-free, so this scalar twin vectorises where the compiler can)
//
// SIMD versions (avx2::dot, neon::dot, ...) share the signatures; dispatch.hpp picks them.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "../config.hpp"
#include "../core/dtype.hpp"

namespace smolvlm::kernels {

using dot_fn = float (*)(const float* a, const float* b, std::int64_t n);
// gate[i] = silu(gate[i]) * up[i]  (SwiGLU);  x[i] = gelu_tanh(x[i])  (SigLIP MLP)
using swiglu_fn = void (*)(float* gate, const float* up, std::int64_t n);
using gelu_fn = void (*)(float* x, std::int64_t n);
// One query against n_keys keys/values (row stride `stride` floats), online softmax:
//   out[hd] = sum_j softmax_j(scale * q.k_j) v_j
using attend_fn = void (*)(const float* q, const float* k, const float* v, std::int64_t stride, std::int64_t n_keys,
                           std::int64_t hd, float scale, float* out);
// The same with keys and values stored as f16 (an f16 KV cache; stride in elements).
using attend_f16_fn = void (*)(const float* q, const std::uint16_t* k, const std::uint16_t* v, std::int64_t stride,
                               std::int64_t n_keys, std::int64_t hd, float scale, float* out);
using axpy_fn = void (*)(float a, const float* x, float* y, std::int64_t n);
// Weighted sums of value rows for a block of queries (the P V half of blocked attention):
//   o[r, :] = sum_j p[r * p_stride + j] * v[j * v_stride + :]   r < m, j < nk, hd columns
// v: f32 (pv) or f16 bits (pv_f16), row stride v_stride elements; o: [m, hd] dense.
using pv_fn = void (*)(const float* p, std::int64_t p_stride, std::int64_t m, std::int64_t nk, const float* v,
                       std::int64_t v_stride, std::int64_t hd, float* o);
using pv_f16_fn = void (*)(const float* p, std::int64_t p_stride, std::int64_t m, std::int64_t nk,
                           const std::uint16_t* v, std::int64_t v_stride, std::int64_t hd, float* o);
// y[i] = f16 bits of x[i], rounded to nearest even (f32_to_f16); NaN stays a NaN.
using to_f16_fn = void (*)(const float* x, std::uint16_t* y, std::int64_t n);
// Softmax numerators of one score row, in place, and their sum (the caller divides):
//   row[j] = exp((row[j] - max_j row) * scale);  returns sum_j row[j].   row: [n], n >= 1
using softmax_fn = float (*)(float* row, std::int64_t n, float scale);

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

// Stored key/value element as f32 (f32 as is, f16 bits converted).
inline float to_f32(float x) { return x; }
inline float to_f32(std::uint16_t h) { return f16_to_f32(h); }

// Reference for attend_fn / attend_f16_fn (T = float / f16 bits): keys in blocks of 64, running max m and sum l per query
// (the scores of one block at a time; no [n_kv] buffer). What nn::attention ran inline.
template <class T>
inline void attend_t(const float* q, const T* k, const T* v, std::int64_t stride, std::int64_t n_keys,
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
            const T* kv = k + j * stride;
            float d = 0.0f;
            for (std::int64_t i = 0; i < hd; ++i) d += q[i] * to_f32(kv[i]);
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
            const T* vv = v + j * stride;
            for (std::int64_t i = 0; i < hd; ++i) out[i] += p * to_f32(vv[i]);
        }
        m = bm;
    }
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    for (std::int64_t i = 0; i < hd; ++i) out[i] *= inv;
}
inline void attend(const float* q, const float* k, const float* v, std::int64_t stride, std::int64_t n_keys,
                   std::int64_t hd, float scale, float* out) {
    attend_t<float>(q, k, v, stride, n_keys, hd, scale, out);
}

// Reference for pv_fn / pv_f16_fn: keys in order, one query row at a time.
template <class T>
inline void pv_t(const float* p, std::int64_t p_stride, std::int64_t m, std::int64_t nk, const T* v,
                 std::int64_t v_stride, std::int64_t hd, float* o) {
    for (std::int64_t r = 0; r < m; ++r) {
        float* orow = o + r * hd;
        for (std::int64_t i = 0; i < hd; ++i) orow[i] = 0.0f;
        for (std::int64_t j = 0; j < nk; ++j) {
            const float w = p[r * p_stride + j];
            const T* vr = v + j * v_stride;
            for (std::int64_t i = 0; i < hd; ++i) orow[i] += w * to_f32(vr[i]);
        }
    }
}
inline void pv(const float* p, std::int64_t p_stride, std::int64_t m, std::int64_t nk, const float* v,
               std::int64_t v_stride, std::int64_t hd, float* o) {
    pv_t<float>(p, p_stride, m, nk, v, v_stride, hd, o);
}
inline void pv_f16(const float* p, std::int64_t p_stride, std::int64_t m, std::int64_t nk, const std::uint16_t* v,
                   std::int64_t v_stride, std::int64_t hd, float* o) {
    pv_t<std::uint16_t>(p, p_stride, m, nk, v, v_stride, hd, o);
}

// Reference for to_f16_fn (an f16 KV cache stores keys and values with it).
inline void to_f16(const float* x, std::uint16_t* y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = f32_to_f16(x[i]);
}
inline void attend_f16(const float* q, const std::uint16_t* k, const std::uint16_t* v, std::int64_t stride,
                       std::int64_t n_keys, std::int64_t hd, float scale, float* out) {
    attend_t<std::uint16_t>(q, k, v, stride, n_keys, hd, scale, out);
}

// exp(x) for x <= 0 (softmax arguments) in plain arithmetic compilers vectorise at -O3
// (std::exp is an opaque call per element, and float compares block GCC's vectoriser,
// so the clamp works on the bit pattern).
//   clamp x to [-87, 0]: below, e^x < 2e-38 adds nothing to a softmax row whose largest
//     term is 1 (and 2^n below stays a normal float); NaN / positive inputs give 1 or ~0
//   x = n ln2 + r, |r| <= ln2 / 2 (ln2 split in two so n ln2 is exact)
//   e^r by its Taylor series to r^7 (truncation < 1e-8 relative, below float rounding)
//   2^n written into the exponent bits
// Relative error < 1e-7 (tested against std::exp).
inline float exp_nonpositive(float x) {
    std::uint32_t u;
    std::memcpy(&u, &x, sizeof u);
    u = u < 0xC2AE0000u ? u : 0xC2AE0000u;  // unsigned order of negative floats: below -87 (and -inf, -NaN) -> -87
    u &= 0u - (u >> 31);                    // sign bit clear (+0, positive, +NaN) -> +0
    std::memcpy(&x, &u, sizeof x);
    const float t = x * 1.44269504088896341f;       // x / ln2, in [-125.6, 0]
    const std::int32_t n = std::int32_t(t - 0.5f);  // round to nearest (t <= 0; conversion truncates toward 0)
    const float r = (x - float(n) * 0.693359375f) - float(n) * -2.12194440e-4f;
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const std::int32_t bits = (n + 127) * (std::int32_t(1) << 23);  // 2^n, n in [-126, 0]
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

// Reference for softmax_fn: the softmax numerators of one score row, in place, and their sum:
//   row[j] = exp((row[j] - max) * scale); returns sum_j row[j].  row: [n], n >= 1
// Max and sum use 8 independent lanes (no serial dependency chain; max is exact in any
// order, the sum's rounding differs from a serial sum only at float epsilon).
inline float softmax(float* row, std::int64_t n, float scale) {
    constexpr int k_lanes = 8;
    float m[k_lanes], acc[k_lanes];
    for (int l = 0; l < k_lanes; ++l) m[l] = row[0];
    const std::int64_t n8 = n / k_lanes * k_lanes;
    for (std::int64_t j = 0; j < n8; j += k_lanes)
        for (int l = 0; l < k_lanes; ++l) m[l] = row[j + l] > m[l] ? row[j + l] : m[l];
    for (std::int64_t j = n8; j < n; ++j) m[0] = row[j] > m[0] ? row[j] : m[0];
    float mx = m[0];
    for (int l = 1; l < k_lanes; ++l) mx = m[l] > mx ? m[l] : mx;

    for (std::int64_t j = 0; j < n; ++j) row[j] = exp_nonpositive((row[j] - mx) * scale);

    for (int l = 0; l < k_lanes; ++l) acc[l] = 0.0f;
    for (std::int64_t j = 0; j < n8; j += k_lanes)
        for (int l = 0; l < k_lanes; ++l) acc[l] += row[j + l];
    for (std::int64_t j = n8; j < n; ++j) acc[0] += row[j];
    float sum = 0.0f;
    for (int l = 0; l < k_lanes; ++l) sum += acc[l];
    return sum;
}

}  // namespace scalar
}  // namespace smolvlm::kernels
