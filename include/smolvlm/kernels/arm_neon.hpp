// smolvlm/kernels/arm_neon.hpp — AArch64 kernels (compiled only for __aarch64__).
//
//   neon::matmul          dense f32/bf16/f16 with FMA; q8/q4 with smull + pairwise adds
//   neon_dotprod::matmul  q8/q4 with sdot (4 int8 products per 32-bit lane), ARMv8.2 dotprod
//   neon::dot, neon::axpy twins of scalar::dot / scalar::axpy
//   neon::softmax, attend_any<T>, pv_any<T>, to_f16   twins of the scalar ones (vec.hpp; T = float / f16 bits)
//
// Panel layout as on x86 (quant.hpp): 16 bytes = 4 rows x 4 columns, so a 16-row panel
// is 4 vectors per 4 columns. sdot is signed x signed: q4 codes 0..15 are used as they
// are (offset 8 comes back through xs), q8 is flipped back to signed (offset 0).
#pragma once

#include "../config.hpp"
#include "matmul.hpp"
#include "vec.hpp"

#if SMOLVLM_SIMD_ARM
#include <arm_neon.h>

#include <cstring>

#if defined(__clang__)
#define SMOLVLM_DOTPROD_TARGET SMOLVLM_TARGET("dotprod")
#else
#define SMOLVLM_DOTPROD_TARGET SMOLVLM_TARGET("arch=armv8.2-a+dotprod")
#endif

namespace smolvlm::kernels {
namespace neon {

inline std::int32_t load_i32(const void* p) {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

inline float dot(const float* a, const float* b, std::int64_t n) {
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = vdupq_n_f32(0.0f);
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
        s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
    }
    float s = vaddvq_f32(vaddq_f32(s0, s1));
    for (; i < n; ++i) s += a[i] * b[i];
    return s;
}

inline void axpy(float a, const float* x, float* y, std::int64_t n) {
    std::int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), a));
    for (; i < n; ++i) y[i] += a * x[i];
}

// ---- softmax, P V, f32 -> f16 (twins of scalar::softmax / pv_t / to_f16) ---------------

// e^x for 4 lanes, the steps of scalar::exp_f32 (2^k e^r, degree-6 polynomial); 2^k
// through the exponent bits with x clamped to [-87.3, 88.3], lanes below -87.3 set to 0.
inline float32x4_t exp4(float32x4_t x) {
    const uint32x4_t keep = vcgeq_f32(x, vdupq_n_f32(-87.3f));
    x = vminq_f32(vmaxq_f32(x, vdupq_n_f32(-87.3f)), vdupq_n_f32(88.3f));
    const float32x4_t k = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504f)));
    float32x4_t r = vfmsq_f32(x, k, vdupq_n_f32(0.693145752f));
    r = vfmsq_f32(r, k, vdupq_n_f32(1.42860677e-6f));
    float32x4_t p = vdupq_n_f32(1.0f / 720.0f);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 120.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 24.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f / 6.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
    const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(k), vdupq_n_s32(127)), 23);
    const float32x4_t y = vmulq_f32(p, vreinterpretq_f32_s32(e));
    return vreinterpretq_f32_u32(vandq_u32(vreinterpretq_u32_f32(y), keep));
}

inline float softmax(float* row, std::int64_t n, float scale) {
    float32x4_t m4 = vdupq_n_f32(row[0]);
    std::int64_t j = 0;
    for (; j + 4 <= n; j += 4) m4 = vmaxq_f32(m4, vld1q_f32(row + j));
    float mx = vmaxvq_f32(m4);
    for (std::int64_t t = j; t < n; ++t) mx = row[t] > mx ? row[t] : mx;
    const float32x4_t vm = vdupq_n_f32(mx), vs = vdupq_n_f32(scale);
    float32x4_t s4 = vdupq_n_f32(0.0f);
    for (j = 0; j + 4 <= n; j += 4) {
        const float32x4_t e = exp4(vmulq_f32(vsubq_f32(vld1q_f32(row + j), vm), vs));
        vst1q_f32(row + j, e);
        s4 = vaddq_f32(s4, e);
    }
    float sum = vaddvq_f32(s4);
    for (; j < n; ++j) sum += row[j] = scalar::exp_nonpositive((row[j] - mx) * scale);
    return sum;
}

inline float32x4_t load_kv(const float* p) { return vld1q_f32(p); }
inline float32x4_t load_kv(const std::uint16_t* p) {
    float16x4_t h;
    std::memcpy(&h, p, sizeof h);
    return vcvt_f32_f16(h);
}

// hd = 4 * NV columns in registers, R query rows at a time (see avx512::pv_nv).
template <int NV, class T>
inline void pv_nv(const float* p, std::int64_t p_stride, std::int64_t m, std::int64_t nk, const T* v,
                  std::int64_t v_stride, float* o) {
    constexpr int R = 4 * NV + NV <= 32 ? 4 : (2 * NV + NV <= 32 ? 2 : 1);  // R x NV accumulators + NV values
    constexpr std::int64_t hd = 4 * NV;
    std::int64_t r0 = 0;
    for (; r0 + R <= m; r0 += R) {
        float32x4_t acc[R][NV];
        for (int r = 0; r < R; ++r)
            for (int i = 0; i < NV; ++i) acc[r][i] = vdupq_n_f32(0.0f);
        for (std::int64_t j = 0; j < nk; ++j) {
            float32x4_t vr[NV];
            for (int i = 0; i < NV; ++i) vr[i] = load_kv(v + j * v_stride + 4 * i);
            for (int r = 0; r < R; ++r) {
                const float w = p[(r0 + r) * p_stride + j];
                for (int i = 0; i < NV; ++i) acc[r][i] = vfmaq_n_f32(acc[r][i], vr[i], w);
            }
        }
        for (int r = 0; r < R; ++r)
            for (int i = 0; i < NV; ++i) vst1q_f32(o + (r0 + r) * hd + 4 * i, acc[r][i]);
    }
    for (; r0 < m; ++r0) {
        float32x4_t acc[NV];
        for (int i = 0; i < NV; ++i) acc[i] = vdupq_n_f32(0.0f);
        for (std::int64_t j = 0; j < nk; ++j) {
            const float w = p[r0 * p_stride + j];
            for (int i = 0; i < NV; ++i) acc[i] = vfmaq_n_f32(acc[i], load_kv(v + j * v_stride + 4 * i), w);
        }
        for (int i = 0; i < NV; ++i) vst1q_f32(o + r0 * hd + 4 * i, acc[i]);
    }
}

template <class T>
inline void pv_any(const float* p, std::int64_t p_stride, std::int64_t m, std::int64_t nk, const T* v,
                   std::int64_t v_stride, std::int64_t hd, float* o) {
    switch (hd) {
        case 32: pv_nv<8, T>(p, p_stride, m, nk, v, v_stride, o); break;
        case 64: pv_nv<16, T>(p, p_stride, m, nk, v, v_stride, o); break;
        default: scalar::pv_t<T>(p, p_stride, m, nk, v, v_stride, hd, o); break;
    }
}

// ---- attention of one query (twin of scalar::attend_t) ----------------------------------
// hd = 4 * NV. Keys in blocks of 4: 4 dot products (NV FMAs + one horizontal add each),
// the block's max and exp as one vector, then P V with the 4 weights.
template <int NV, class T>
inline void attend_nv(const float* q, const T* k, const T* v, std::int64_t stride, std::int64_t n_keys, float scale,
                      float* out) {
    float32x4_t qv[NV], acc[NV];
    for (int i = 0; i < NV; ++i) {
        qv[i] = vld1q_f32(q + 4 * i);
        acc[i] = vdupq_n_f32(0.0f);
    }
    float m = -INFINITY, l = 0.0f;
    for (std::int64_t j0 = 0; j0 < n_keys; j0 += 4) {
        const int nb = n_keys - j0 < 4 ? int(n_keys - j0) : 4;
        float sc[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
        float smax = -INFINITY;
        for (int j = 0; j < nb; ++j) {
            const T* kr = k + (j0 + j) * stride;
            float32x4_t d = vmulq_f32(qv[0], load_kv(kr));
            for (int i = 1; i < NV; ++i) d = vfmaq_f32(d, qv[i], load_kv(kr + 4 * i));
            sc[j] = vaddvq_f32(d) * scale;
            smax = sc[j] > smax ? sc[j] : smax;
        }
        const float bm = smax > m ? smax : m;
        const float corr = scalar::exp_f32(m - bm);  // 0 on the first block (m = -inf)
        const float32x4_t p = exp4(vsubq_f32(vld1q_f32(sc), vdupq_n_f32(bm)));  // missing keys: e^-inf = 0
        l = l * corr + vaddvq_f32(p);
        for (int i = 0; i < NV; ++i) acc[i] = vmulq_n_f32(acc[i], corr);
        float pw[4];
        vst1q_f32(pw, p);
        for (int j = 0; j < nb; ++j) {
            const T* vr = v + (j0 + j) * stride;
            for (int i = 0; i < NV; ++i) acc[i] = vfmaq_n_f32(acc[i], load_kv(vr + 4 * i), pw[j]);
        }
        m = bm;
    }
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    for (int i = 0; i < NV; ++i) vst1q_f32(out + 4 * i, vmulq_n_f32(acc[i], inv));
}

template <class T>
inline void attend_any(const float* q, const T* k, const T* v, std::int64_t stride, std::int64_t n_keys,
                       std::int64_t hd, float scale, float* out) {
    switch (hd) {
        case 32: attend_nv<8, T>(q, k, v, stride, n_keys, scale, out); break;
        case 64: attend_nv<16, T>(q, k, v, stride, n_keys, scale, out); break;
        default: scalar::attend_t<T>(q, k, v, stride, n_keys, hd, scale, out); break;
    }
}

// f32 -> f16 bits with fcvtn (round to nearest even, as f32_to_f16; NaN stays a NaN).
inline void to_f16(const float* x, std::uint16_t* y, std::int64_t n) {
    std::int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float16x4_t h = vcvt_f16_f32(vld1q_f32(x + i));
        std::memcpy(y + i, &h, sizeof h);
    }
    if (i < n) scalar::to_f16(x + i, y + i, n - i);
}

// ---- dense: one row x one token, 8 columns per step -----------------------------------
template <dtype D>
inline float32x4_t load4(const void* row, std::int64_t c) {
    if constexpr (D == dtype::f32) {
        return vld1q_f32(static_cast<const float*>(row) + c);
    } else {
        const uint16x4_t h = vld1_u16(static_cast<const std::uint16_t*>(row) + c);
        if constexpr (D == dtype::bf16)
            return vreinterpretq_f32_u32(vshll_n_u16(h, 16));
        else
            return vcvt_f32_f16(vreinterpret_f16_u16(h));
    }
}

template <dtype D>
inline void dense_matmul(const weight_matrix& w, const float* x, std::int64_t n, float* y, const float* bias,
                         thread_pool* pool) {
    const std::int64_t cols = w.cols, cv = cols - cols % 8;
    const auto* base = static_cast<const unsigned char*>(w.data);
    parallel_for(pool, w.rows, [&](std::int64_t r0, std::int64_t r1, int) {
        for (std::int64_t t = 0; t < n; ++t) {
            const float* xt = x + t * cols;
            for (std::int64_t r = r0; r < r1; ++r) {
                const void* row = base + std::size_t(r) * std::size_t(cols) * dtype_size(D);
                float32x4_t s0 = vdupq_n_f32(0.0f), s1 = vdupq_n_f32(0.0f);
                for (std::int64_t c = 0; c < cv; c += 8) {
                    s0 = vfmaq_f32(s0, load4<D>(row, c), vld1q_f32(xt + c));
                    s1 = vfmaq_f32(s1, load4<D>(row, c + 4), vld1q_f32(xt + c + 4));
                }
                float s = vaddvq_f32(vaddq_f32(s0, s1));
                for (std::int64_t c = cv; c < cols; ++c) s += scalar::load_weight(w, r, c) * xt[c];
                y[t * w.rows + r] = s + (bias ? bias[r] : 0.0f);
            }
        }
    });
}

inline void dense_dispatch(const weight_matrix& w, const float* x, std::int64_t n, float* y, const float* bias,
                           thread_pool* pool) {
    switch (w.type) {
        case dtype::f32: dense_matmul<dtype::f32>(w, x, n, y, bias, pool); break;
        case dtype::bf16: dense_matmul<dtype::bf16>(w, x, n, y, bias, pool); break;
        case dtype::f16: dense_matmul<dtype::f16>(w, x, n, y, bias, pool); break;
        default: scalar::matmul(w, x, n, y, bias, pool); break;
    }
}

// ---- int panels -----------------------------------------------------------------------

// Without sdot: 16 products (4 rows x 4) by two widening multiplies, pairwise adds.
struct dot_smull {
    static int32x4_t dot(int32x4_t acc, int8x16_t w, int8x16_t x) {
        const int16x8_t lo = vmull_s8(vget_low_s8(w), vget_low_s8(x));
        const int16x8_t hi = vmull_high_s8(w, x);
        return vpadalq_s16(acc, vpaddq_s16(lo, hi));
    }
};

// Group b, 16 rows, T tokens: 4 row-quads g, each an int32x4 per token.
template <class Dot, bool Q4, int T>
inline void q_tile(const weight_matrix& w, const detail::quantized_acts& a, std::int64_t p, std::int64_t t0, float* y,
                   const float* bias) {
    const std::int64_t nb = a.nb;
    const std::size_t bb = Q4 ? 256 : 512;
    const auto* wq = static_cast<const std::uint8_t*>(w.data) + std::size_t(p * nb) * bb;
    const auto* wd = static_cast<const std::uint16_t*>(w.scales) + p * nb * k_panel;
    float32x4_t acc[T][4];
    for (int t = 0; t < T; ++t)
        for (int g = 0; g < 4; ++g) acc[t][g] = vdupq_n_f32(0.0f);
    for (std::int64_t b = 0; b < nb; ++b) {
        int32x4_t s[T][4];
        for (int t = 0; t < T; ++t)
            for (int g = 0; g < 4; ++g) s[t][g] = vdupq_n_s32(0);
        const std::uint8_t* q = wq + std::size_t(b) * bb;
        for (int i = 0; i < (Q4 ? 4 : 8); ++i) {
            int8x16_t xv[T], xh[T];
            for (int t = 0; t < T; ++t) {
                const std::int8_t* xq = a.q_row(t0 + t) + b * 32;
                xv[t] = vreinterpretq_s8_s32(vdupq_n_s32(load_i32(xq + 4 * i)));
                if (Q4) xh[t] = vreinterpretq_s8_s32(vdupq_n_s32(load_i32(xq + 16 + 4 * i)));
            }
            for (int g = 0; g < 4; ++g) {
                const uint8x16_t v = vld1q_u8(q + i * 64 + g * 16);
                if (Q4) {
                    const int8x16_t lo = vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0f)));
                    const int8x16_t hi = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));
                    for (int t = 0; t < T; ++t) {
                        s[t][g] = Dot::dot(s[t][g], lo, xv[t]);
                        s[t][g] = Dot::dot(s[t][g], hi, xh[t]);
                    }
                } else {
                    const int8x16_t sw = vreinterpretq_s8_u8(veorq_u8(v, vdupq_n_u8(0x80)));
                    for (int t = 0; t < T; ++t) s[t][g] = Dot::dot(s[t][g], sw, xv[t]);
                }
            }
        }
        for (int g = 0; g < 4; ++g) {
            const float32x4_t dw = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(wd + b * k_panel + 4 * g)));
            for (int t = 0; t < T; ++t) {
                const float32x4_t f = vfmaq_n_f32(vdupq_n_f32(a.s_row(t0 + t)[b]), vcvtq_f32_s32(s[t][g]),
                                                  a.d_row(t0 + t)[b]);
                acc[t][g] = vfmaq_f32(acc[t][g], f, dw);
            }
        }
    }
    for (int t = 0; t < T; ++t)
        for (int g = 0; g < 4; ++g) {
            float tmp[4];
            vst1q_f32(tmp, acc[t][g]);
            for (int e = 0; e < 4; ++e) {
                const std::int64_t r = p * k_panel + 4 * g + e;
                if (r < w.rows) y[(t0 + t) * w.rows + r] = tmp[e] + (bias ? bias[r] : 0.0f);
            }
        }
}

template <class Dot, bool Q4>
inline void q_panels(const weight_matrix& w, const detail::quantized_acts& a, std::int64_t n, float* y,
                     const float* bias, std::int64_t p0, std::int64_t p1) {
    for (std::int64_t p = p0; p < p1; ++p) {
        std::int64_t t = 0;
        for (; t + 2 <= n; t += 2) q_tile<Dot, Q4, 2>(w, a, p, t, y, bias);
        if (t < n) q_tile<Dot, Q4, 1>(w, a, p, t, y, bias);
    }
}

inline void matmul(const weight_matrix& w, const float* x, std::int64_t n, float* y, const float* bias,
                   thread_pool* pool) {
    if (w.type == dtype::q4)
        detail::q_matmul(w, x, n, y, bias, pool, 8, &quantize_act_row, &q_panels<dot_smull, true>);
    else if (w.type == dtype::q8)
        detail::q_matmul(w, x, n, y, bias, pool, 0, &quantize_act_row, &q_panels<dot_smull, false>);
    else
        dense_dispatch(w, x, n, y, bias, pool);
}

inline void matmul_multi(const weight_matrix* ws, int count, const float* x, std::int64_t n, float* const* ys,
                         const float* const* biases, thread_pool* pool) {
    detail::matmul_multi_with<&quantize_act_row, &q_panels<dot_smull, true>, &q_panels<dot_smull, false>, 8, 0, &matmul>(
        ws, count, x, n, ys, biases, pool);
}

}  // namespace neon

namespace neon_dotprod {

// acc + 4-way int8 dot products per 32-bit lane (sdot). Clang's arm_neon.h (14 at least)
// declares vdotq_s32 only when the whole file is built for dotprod (__ARM_FEATURE_DOTPROD),
// not inside a function with the target attribute: there the instruction is written out
// (the .arch directive lets the assembler accept it; such a build targets armv8.2 or
// below, so it narrows nothing the compiler emits).
SMOLVLM_DOTPROD_TARGET inline int32x4_t sdot(int32x4_t acc, int8x16_t a, int8x16_t b) {
#if defined(__clang__) && !defined(__ARM_FEATURE_DOTPROD)
    __asm__(".arch armv8.2-a+dotprod\n\tsdot %0.4s, %1.16b, %2.16b" : "+w"(acc) : "w"(a), "w"(b));
    return acc;
#else
    return vdotq_s32(acc, a, b);
#endif
}

// The same tile as neon::q_tile with sdot written in. It is a copy rather than an
// instantiation of neon::q_tile<Dot>: a function compiled without the dotprod target
// cannot inline one compiled with it, so the template version made one call per sdot.
// tests/kernels/matmul_test.cpp runs both against scalar (scripts/test-aarch64.sh).
using neon::load_i32;

template <bool Q4, int T>
SMOLVLM_DOTPROD_TARGET inline void q_tile(const weight_matrix& w, const detail::quantized_acts& a, std::int64_t p,
                                          std::int64_t t0, float* y, const float* bias) {
    const std::int64_t nb = a.nb;
    const std::size_t bb = Q4 ? 256 : 512;
    const auto* wq = static_cast<const std::uint8_t*>(w.data) + std::size_t(p * nb) * bb;
    const auto* wd = static_cast<const std::uint16_t*>(w.scales) + p * nb * k_panel;
    float32x4_t acc[T][4];
    for (int t = 0; t < T; ++t)
        for (int g = 0; g < 4; ++g) acc[t][g] = vdupq_n_f32(0.0f);
    for (std::int64_t b = 0; b < nb; ++b) {
        int32x4_t s[T][4];
        for (int t = 0; t < T; ++t)
            for (int g = 0; g < 4; ++g) s[t][g] = vdupq_n_s32(0);
        const std::uint8_t* q = wq + std::size_t(b) * bb;
        for (int i = 0; i < (Q4 ? 4 : 8); ++i) {
            int8x16_t xv[T], xh[T];
            for (int t = 0; t < T; ++t) {
                const std::int8_t* xq = a.q_row(t0 + t) + b * 32;
                xv[t] = vreinterpretq_s8_s32(vdupq_n_s32(load_i32(xq + 4 * i)));
                if (Q4) xh[t] = vreinterpretq_s8_s32(vdupq_n_s32(load_i32(xq + 16 + 4 * i)));
            }
            for (int g = 0; g < 4; ++g) {
                const uint8x16_t v = vld1q_u8(q + i * 64 + g * 16);
                if (Q4) {
                    const int8x16_t lo = vreinterpretq_s8_u8(vandq_u8(v, vdupq_n_u8(0x0f)));
                    const int8x16_t hi = vreinterpretq_s8_u8(vshrq_n_u8(v, 4));
                    for (int t = 0; t < T; ++t) {
                        s[t][g] = sdot(s[t][g], lo, xv[t]);
                        s[t][g] = sdot(s[t][g], hi, xh[t]);
                    }
                } else {
                    const int8x16_t sw = vreinterpretq_s8_u8(veorq_u8(v, vdupq_n_u8(0x80)));
                    for (int t = 0; t < T; ++t) s[t][g] = sdot(s[t][g], sw, xv[t]);
                }
            }
        }
        for (int g = 0; g < 4; ++g) {
            const float32x4_t dw = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(wd + b * k_panel + 4 * g)));
            for (int t = 0; t < T; ++t) {
                const float32x4_t f = vfmaq_n_f32(vdupq_n_f32(a.s_row(t0 + t)[b]), vcvtq_f32_s32(s[t][g]),
                                                  a.d_row(t0 + t)[b]);
                acc[t][g] = vfmaq_f32(acc[t][g], f, dw);
            }
        }
    }
    for (int t = 0; t < T; ++t)
        for (int g = 0; g < 4; ++g) {
            float tmp[4];
            vst1q_f32(tmp, acc[t][g]);
            for (int e = 0; e < 4; ++e) {
                const std::int64_t r = p * k_panel + 4 * g + e;
                if (r < w.rows) y[(t0 + t) * w.rows + r] = tmp[e] + (bias ? bias[r] : 0.0f);
            }
        }
}

template <bool Q4>
SMOLVLM_DOTPROD_TARGET inline void q_panels(const weight_matrix& w, const detail::quantized_acts& a, std::int64_t n,
                                            float* y, const float* bias, std::int64_t p0, std::int64_t p1) {
    for (std::int64_t p = p0; p < p1; ++p) {
        std::int64_t t = 0;
        for (; t + 2 <= n; t += 2) q_tile<Q4, 2>(w, a, p, t, y, bias);
        if (t < n) q_tile<Q4, 1>(w, a, p, t, y, bias);
    }
}

inline void matmul(const weight_matrix& w, const float* x, std::int64_t n, float* y, const float* bias,
                   thread_pool* pool) {
    if (w.type == dtype::q4)
        detail::q_matmul(w, x, n, y, bias, pool, 8, &quantize_act_row, &q_panels<true>);
    else if (w.type == dtype::q8)
        detail::q_matmul(w, x, n, y, bias, pool, 0, &quantize_act_row, &q_panels<false>);
    else
        neon::dense_dispatch(w, x, n, y, bias, pool);
}

inline void matmul_multi(const weight_matrix* ws, int count, const float* x, std::int64_t n, float* const* ys,
                         const float* const* biases, thread_pool* pool) {
    detail::matmul_multi_with<&quantize_act_row, &q_panels<true>, &q_panels<false>, 8, 0, &matmul>(ws, count, x, n, ys,
                                                                                                  biases, pool);
}

}  // namespace neon_dotprod
}  // namespace smolvlm::kernels

#endif  // SMOLVLM_SIMD_ARM
