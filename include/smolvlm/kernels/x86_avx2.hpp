// smolvlm/kernels/x86_avx2.hpp — AVX2 (+FMA, F16C) and AVX-VNNI kernels, chosen at run time.
//
//   avx2::matmul      dense f32/bf16/f16 with FMA on ymm; q8/q4 with vpmaddubsw + vpmaddwd
//   avx_vnni::matmul  same dense kernels; q8/q4 with VEX vpdpbusd on ymm
//   avx2::dot, avx2::axpy   twins of scalar::dot / scalar::axpy (vec.hpp)
//
// Same panel scheme as x86_avx512.hpp, but a ymm holds 8 lanes, so each 16-row panel is
// processed as two halves of 8 rows (16 registers are few: a tile is 8 rows x 4 tokens).
#pragma once

#include "../config.hpp"
#include "matmul.hpp"
#include "vec.hpp"

#if SMOLVLM_SIMD_X86
#include <immintrin.h>

#include <cstring>

// GCC 12's own AVX-512 headers trip -Wmaybe-uninitialized (their _mm512_undefined_*
// placeholders) once inlined here; the warning is about the compiler's headers, not us.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#define SMOLVLM_AVX2_TARGET "avx2,fma,f16c"
#define SMOLVLM_AVXVNNI_TARGET "avx2,fma,f16c,avxvnni"

namespace smolvlm::kernels {
namespace avx2 {

inline std::int32_t load_i32(const void* p) {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

SMOLVLM_TARGET(SMOLVLM_AVX2_TARGET)
inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

SMOLVLM_TARGET(SMOLVLM_AVX2_TARGET)
inline float dot(const float* a, const float* b, std::int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    std::int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float s = hsum(_mm256_add_ps(s0, s1));
    for (; i < n; ++i) s += a[i] * b[i];
    return s;
}

SMOLVLM_TARGET(SMOLVLM_AVX2_TARGET)
inline void axpy(float a, const float* x, float* y, std::int64_t n) {
    const __m256 va = _mm256_set1_ps(a);
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    for (; i < n; ++i) y[i] += a * x[i];
}

// ---- activation quantization (twin of quantize_act_row) ----------------------------
// ---- vector exp, activations, attention of one query (twins in vec.hpp) ------------

// e^x for 8 lanes, the steps of scalar::exp_f32; 2^k through the exponent bits, with x
// clamped to [-87.3, 88.3] (k <= 127) and lanes below -87.3 (or NaN) set to 0.
SMOLVLM_TARGET(SMOLVLM_AVX2_TARGET)
inline __m256 exp8(__m256 x) {
    const __m256 keep = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_GE_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3f)), _mm256_set1_ps(88.3f));
    const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693145752f), x);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(1.42860677e-6f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720.0f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    return _mm256_and_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e)), keep);
}

SMOLVLM_TARGET(SMOLVLM_AVX2_TARGET)
inline void swiglu(float* gate, const float* up, std::int64_t n) {
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)),
                                                 _mm256_loadu_ps(up + i)));
    }
    if (i < n) scalar::swiglu(gate + i, up + i, n - i);
}

SMOLVLM_TARGET(SMOLVLM_AVX2_TARGET)
inline void gelu_tanh(float* x, std::int64_t n) {
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256 v3 = _mm256_mul_ps(_mm256_mul_ps(v, v), v);
        const __m256 u = _mm256_mul_ps(_mm256_set1_ps(0.7978845608028654f), _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), v3, v));
        const __m256 e = exp8(_mm256_add_ps(u, u));
        const __m256 th = _mm256_sub_ps(_mm256_set1_ps(1.0f),
                                        _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, _mm256_set1_ps(1.0f))));
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), v), _mm256_add_ps(_mm256_set1_ps(1.0f), th)));
    }
    if (i < n) scalar::gelu_tanh(x + i, n - i);
}

// Softmax numerators of a score row and their sum (twin of scalar::softmax; see
// avx512::softmax). The tail (< 8 values) runs the scalar steps.
SMOLVLM_TARGET(SMOLVLM_AVX2_TARGET)
inline float softmax(float* row, std::int64_t n, float scale) {
    __m256 m0 = _mm256_set1_ps(row[0]), m1 = m0;
    std::int64_t j = 0;
    for (; j + 16 <= n; j += 16) {
        m0 = _mm256_max_ps(m0, _mm256_loadu_ps(row + j));
        m1 = _mm256_max_ps(m1, _mm256_loadu_ps(row + j + 8));
    }
    for (; j + 8 <= n; j += 8) m0 = _mm256_max_ps(m0, _mm256_loadu_ps(row + j));
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, _mm256_max_ps(m0, m1));
    float mxs = lanes[0];
    for (int l = 1; l < 8; ++l) mxs = lanes[l] > mxs ? lanes[l] : mxs;
    for (std::int64_t t = j; t < n; ++t) mxs = row[t] > mxs ? row[t] : mxs;
    const __m256 mx = _mm256_set1_ps(mxs), vs = _mm256_set1_ps(scale);
    __m256 s0 = _mm256_setzero_ps();
    j = 0;
    for (; j + 8 <= n; j += 8) {
        const __m256 e = exp8(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(row + j), mx), vs));
        _mm256_storeu_ps(row + j, e);
        s0 = _mm256_add_ps(s0, e);
    }
    _mm256_store_ps(lanes, s0);
    float sum = 0.0f;
    for (int l = 0; l < 8; ++l) sum += lanes[l];
    for (; j < n; ++j) sum += row[j] = scalar::exp_nonpositive((row[j] - mxs) * scale);
    return sum;
}

// hd = 8 * NV; keys in blocks of 8 (see avx512::attend_nv).
// f32 -> f16 bits, 8 at a time with vcvtps2ph (round to nearest even, as f32_to_f16).
SMOLVLM_TARGET(SMOLVLM_AVX2_TARGET)
inline void to_f16(const float* x, std::uint16_t* y, std::int64_t n) {
    std::int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    if (i < n) scalar::to_f16(x + i, y + i, n - i);
}

// One vector of stored keys/values as f32: f32 as is, f16 (an f16 KV cache) converted.
SMOLVLM_TARGET(SMOLVLM_AVX2_TARGET)
inline __m256 load_kv(const float* p) { return _mm256_loadu_ps(p); }
SMOLVLM_TARGET(SMOLVLM_AVX2_TARGET)
inline __m256 load_kv(const std::uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }

template <int NV, class T>
SMOLVLM_TARGET(SMOLVLM_AVX2_TARGET)
inline void attend_nv(const float* q, const T* k, const T* v, std::int64_t stride, std::int64_t n_keys,
                      float scale, float* out) {
    __m256 qv[NV], acc[NV];
    SMOLVLM_UNROLL
    for (int i = 0; i < NV; ++i) {
        qv[i] = _mm256_loadu_ps(q + 8 * i);
        acc[i] = _mm256_setzero_ps();
    }
    alignas(32) float sc[8];
    float m = -INFINITY, l = 0.0f;
    for (std::int64_t j0 = 0; j0 < n_keys; j0 += 8) {
        const int nb = n_keys - j0 < 8 ? int(n_keys - j0) : 8;
        float smax = -INFINITY;
        SMOLVLM_UNROLL
        for (int j = 0; j < 8; ++j) {
            if (j >= nb) {
                sc[j] = -INFINITY;
                continue;
            }
            const T* kr = k + (j0 + j) * stride;
            __m256 d = _mm256_mul_ps(qv[0], load_kv(kr));
            SMOLVLM_UNROLL
            for (int i = 1; i < NV; ++i) d = _mm256_fmadd_ps(qv[i], load_kv(kr + 8 * i), d);
            sc[j] = hsum(d) * scale;
            smax = sc[j] > smax ? sc[j] : smax;
        }
        const float bm = smax > m ? smax : m;
        const float corr = scalar::exp_f32(m - bm);  // 0 on the first block (m = -inf)
        const __m256 p = exp8(_mm256_sub_ps(_mm256_load_ps(sc), _mm256_set1_ps(bm)));
        l = l * corr + hsum(p);
        const __m256 vc = _mm256_set1_ps(corr);
        SMOLVLM_UNROLL
        for (int i = 0; i < NV; ++i) acc[i] = _mm256_mul_ps(acc[i], vc);
        _mm256_store_ps(sc, p);
        for (int j = 0; j < nb; ++j) {
            const T* vr = v + (j0 + j) * stride;
            const __m256 pj = _mm256_set1_ps(sc[j]);
            SMOLVLM_UNROLL
            for (int i = 0; i < NV; ++i) acc[i] = _mm256_fmadd_ps(pj, load_kv(vr + 8 * i), acc[i]);
        }
        m = bm;
    }
    const __m256 inv = _mm256_set1_ps(l > 0.0f ? 1.0f / l : 0.0f);
    SMOLVLM_UNROLL
    for (int i = 0; i < NV; ++i) _mm256_storeu_ps(out + 8 * i, _mm256_mul_ps(acc[i], inv));
}

// P V for a block of queries (twin of scalar::pv_t): hd = 8 * NV columns in registers,
// R query rows at a time (as many as the registers hold), so each value row is loaded once
// per R rows.
template <int NV, class T>
SMOLVLM_TARGET(SMOLVLM_AVX2_TARGET)
inline void pv_nv(const float* p, std::int64_t p_stride, std::int64_t m, std::int64_t nk, const T* v,
                  std::int64_t v_stride, float* o) {
    constexpr int R = 4 * NV + NV <= 16 ? 4 : (2 * NV + NV <= 16 ? 2 : 1);  // R x NV accumulators + NV values
    constexpr std::int64_t hd = 8 * NV;
    std::int64_t r0 = 0;
    for (; r0 + R <= m; r0 += R) {
        __m256 acc[R][NV];
        SMOLVLM_UNROLL
        for (int r = 0; r < R; ++r)
            SMOLVLM_UNROLL
            for (int i = 0; i < NV; ++i) acc[r][i] = _mm256_setzero_ps();
        const float* p0 = p + r0 * p_stride;
        for (std::int64_t j = 0; j < nk; ++j) {
            __m256 vr[NV];
            SMOLVLM_UNROLL
            for (int i = 0; i < NV; ++i) vr[i] = load_kv(v + j * v_stride + 8 * i);
            SMOLVLM_UNROLL
            for (int r = 0; r < R; ++r) {
                const __m256 w = _mm256_set1_ps(p0[r * p_stride + j]);
                SMOLVLM_UNROLL
                for (int i = 0; i < NV; ++i) acc[r][i] = _mm256_fmadd_ps(w, vr[i], acc[r][i]);
            }
        }
        SMOLVLM_UNROLL
        for (int r = 0; r < R; ++r)
            SMOLVLM_UNROLL
            for (int i = 0; i < NV; ++i) _mm256_storeu_ps(o + (r0 + r) * hd + 8 * i, acc[r][i]);
    }
    for (; r0 < m; ++r0) {  // leftover rows, one at a time
        __m256 acc[NV];
        SMOLVLM_UNROLL
        for (int i = 0; i < NV; ++i) acc[i] = _mm256_setzero_ps();
        for (std::int64_t j = 0; j < nk; ++j) {
            const __m256 w = _mm256_set1_ps(p[r0 * p_stride + j]);
            SMOLVLM_UNROLL
            for (int i = 0; i < NV; ++i) acc[i] = _mm256_fmadd_ps(w, load_kv(v + j * v_stride + 8 * i), acc[i]);
        }
        SMOLVLM_UNROLL
        for (int i = 0; i < NV; ++i) _mm256_storeu_ps(o + r0 * hd + 8 * i, acc[i]);
    }
}

template <class T>
inline void pv_any(const float* p, std::int64_t p_stride, std::int64_t m, std::int64_t nk, const T* v,
                   std::int64_t v_stride, std::int64_t hd, float* o) {
    switch (hd) {
        case 16: pv_nv<2, T>(p, p_stride, m, nk, v, v_stride, o); break;
        case 32: pv_nv<4, T>(p, p_stride, m, nk, v, v_stride, o); break;
        case 64: pv_nv<8, T>(p, p_stride, m, nk, v, v_stride, o); break;
        default: scalar::pv_t<T>(p, p_stride, m, nk, v, v_stride, hd, o); break;
    }
}

template <class T>
inline void attend_any(const float* q, const T* k, const T* v, std::int64_t stride, std::int64_t n_keys,
                       std::int64_t hd, float scale, float* out) {
    switch (hd) {
        case 32: attend_nv<4, T>(q, k, v, stride, n_keys, scale, out); break;
        case 64: attend_nv<8, T>(q, k, v, stride, n_keys, scale, out); break;
        case 128: attend_nv<16, T>(q, k, v, stride, n_keys, scale, out); break;
        default: scalar::attend_t<T>(q, k, v, stride, n_keys, hd, scale, out); break;
    }
}

SMOLVLM_TARGET(SMOLVLM_AVX2_TARGET)
inline void quantize_act_row(const float* x, std::int64_t k, int offset, std::int8_t* q, float* d, float* s) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (std::int64_t b = 0; b < k / k_group; ++b) {
        __m256 v[4];
        __m256 m = _mm256_setzero_ps();
        SMOLVLM_UNROLL
        for (int i = 0; i < 4; ++i) {
            v[i] = _mm256_loadu_ps(x + b * 32 + 8 * i);
            m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v[i]));
        }
        __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        h = _mm_max_ps(h, _mm_movehl_ps(h, h));
        h = _mm_max_ss(h, _mm_movehdup_ps(h));
        const float amax = _mm_cvtss_f32(h);
        const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
        const __m256 vid = _mm256_set1_ps(id);
        __m256i qi[4];
        SMOLVLM_UNROLL
        for (int i = 0; i < 4; ++i) qi[i] = _mm256_cvtps_epi32(_mm256_mul_ps(v[i], vid));
        const __m256i sum4 = _mm256_add_epi32(_mm256_add_epi32(qi[0], qi[1]), _mm256_add_epi32(qi[2], qi[3]));
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(sum4), _mm256_extracti128_si256(sum4, 1));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4e));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xb1));
        const __m256i p16a = _mm256_packs_epi32(qi[0], qi[1]);
        const __m256i p16b = _mm256_packs_epi32(qi[2], qi[3]);
        const __m256i p8 = _mm256_permutevar8x32_epi32(_mm256_packs_epi16(p16a, p16b), order);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + b * 32), p8);
        d[b] = amax / 127.0f;
        s[b] = -float(offset) * d[b] * float(_mm_cvtsi128_si32(s4));
    }
}

// ---- dense f32 / bf16 / f16 ---------------------------------------------------------
template <dtype D>
SMOLVLM_TARGET(SMOLVLM_AVX2_TARGET)
inline __m256 load8(const void* row, std::int64_t c) {
    if constexpr (D == dtype::f32) {
        return _mm256_loadu_ps(static_cast<const float*>(row) + c);
    } else {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(static_cast<const std::uint16_t*>(row) + c));
        if constexpr (D == dtype::bf16)
            return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
        else
            return _mm256_cvtph_ps(h);
    }
}

template <dtype D, int R, int T>
SMOLVLM_TARGET(SMOLVLM_AVX2_TARGET)
inline void dense_tile(const weight_matrix& w, const float* x, std::int64_t t0, std::int64_t r0, float* y,
                       const float* bias) {
    const std::int64_t cols = w.cols, cv = cols - cols % 8;
    const std::size_t es = dtype_size(D);
    const auto* base = static_cast<const unsigned char*>(w.data);
    __m256 acc[R][T];
    SMOLVLM_UNROLL
    for (int r = 0; r < R; ++r)
        SMOLVLM_UNROLL
        for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
    for (std::int64_t c = 0; c < cv; c += 8) {
        __m256 xv[T];
        SMOLVLM_UNROLL
        for (int t = 0; t < T; ++t) xv[t] = _mm256_loadu_ps(x + (t0 + t) * cols + c);
        SMOLVLM_UNROLL
        for (int r = 0; r < R; ++r) {
            const __m256 wv = load8<D>(base + std::size_t(r0 + r) * std::size_t(cols) * es, c);
            SMOLVLM_UNROLL
            for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(wv, xv[t], acc[r][t]);
        }
    }
    SMOLVLM_UNROLL
    for (int t = 0; t < T; ++t)
        SMOLVLM_UNROLL
        for (int r = 0; r < R; ++r) {
            float s = hsum(acc[r][t]);
            for (std::int64_t c = cv; c < cols; ++c) s += scalar::load_weight(w, r0 + r, c) * x[(t0 + t) * cols + c];
            y[(t0 + t) * w.rows + r0 + r] = s + (bias ? bias[r0 + r] : 0.0f);
        }
}

template <dtype D>
inline void dense_matmul(const weight_matrix& w, const float* x, std::int64_t n, float* y, const float* bias,
                         thread_pool* pool) {
    const std::int64_t quads = (w.rows + 3) / 4;
    parallel_for(pool, quads, [&](std::int64_t q0, std::int64_t q1, int) {
        for (std::int64_t tc = 0; tc < n; tc += 64) {
            const std::int64_t te = n - tc < 64 ? n : tc + 64;
            for (std::int64_t q = q0; q < q1; ++q) {
                const std::int64_t r0 = q * 4;
                std::int64_t t = tc;
                if (r0 + 4 <= w.rows) {
                    for (; t + 2 <= te; t += 2) dense_tile<D, 4, 2>(w, x, t, r0, y, bias);
                    if (t < te) dense_tile<D, 4, 1>(w, x, t, r0, y, bias);
                } else {
                    for (std::int64_t r = r0; r < w.rows; ++r)
                        for (t = tc; t < te; ++t) dense_tile<D, 1, 1>(w, x, t, r, y, bias);
                }
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

// ---- int8 / int4 half-panels (8 rows), vpmaddubsw + vpmaddwd ---------------------------
SMOLVLM_TARGET(SMOLVLM_AVX2_TARGET)
inline __m256i dot_u8s8(__m256i acc, __m256i u, __m256i s) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
}

template <int T>
SMOLVLM_TARGET(SMOLVLM_AVX2_TARGET)
inline void finish_group(__m256* acc, const __m256i* s, const std::uint16_t* wd, std::int64_t b, int h,
                         const detail::quantized_acts& a, std::int64_t t0) {
    const __m256 dw =
        _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wd + b * k_panel + 8 * h)));
    SMOLVLM_UNROLL
    for (int t = 0; t < T; ++t) {
        const __m256 f = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s[t]), _mm256_set1_ps(a.d_row(t0 + t)[b]),
                                         _mm256_set1_ps(a.s_row(t0 + t)[b]));
        acc[t] = _mm256_fmadd_ps(f, dw, acc[t]);
    }
}

template <int T>
SMOLVLM_TARGET(SMOLVLM_AVX2_TARGET)
inline void store_tile(const __m256* acc, float* y, std::int64_t rows, std::int64_t p, int h, std::int64_t t0,
                       const float* bias) {
    const std::int64_t r0 = p * k_panel + 8 * h;
    SMOLVLM_UNROLL
    for (int t = 0; t < T; ++t) {
        alignas(32) float tmp[8];
        _mm256_store_ps(tmp, acc[t]);
        for (int r = 0; r < 8 && r0 + r < rows; ++r) y[(t0 + t) * rows + r0 + r] = tmp[r] + (bias ? bias[r0 + r] : 0.0f);
    }
}

template <int T>
SMOLVLM_TARGET(SMOLVLM_AVX2_TARGET)
inline void q4_tile(const weight_matrix& w, const detail::quantized_acts& a, std::int64_t p, int h, std::int64_t t0,
                    float* y, const float* bias) {
    const std::int64_t nb = a.nb;
    const auto* wq = static_cast<const std::uint8_t*>(w.data) + p * nb * 256 + 32 * h;
    const auto* wd = static_cast<const std::uint16_t*>(w.scales) + p * nb * k_panel;
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    __m256 acc[T];
    SMOLVLM_UNROLL
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (std::int64_t b = 0; b < nb; ++b) {
        __m256i s[T];
        SMOLVLM_UNROLL
        for (int t = 0; t < T; ++t) s[t] = _mm256_setzero_si256();
        SMOLVLM_UNROLL
        for (int i = 0; i < 4; ++i) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wq + b * 256 + i * 64));
            const __m256i lo = _mm256_and_si256(v, m4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
            SMOLVLM_UNROLL
            for (int t = 0; t < T; ++t) {
                const std::int8_t* xq = a.q_row(t0 + t) + b * 32;
                s[t] = dot_u8s8(s[t], lo, _mm256_set1_epi32(load_i32(xq + 4 * i)));
                s[t] = dot_u8s8(s[t], hi, _mm256_set1_epi32(load_i32(xq + 16 + 4 * i)));
            }
        }
        finish_group<T>(acc, s, wd, b, h, a, t0);
    }
    store_tile<T>(acc, y, w.rows, p, h, t0, bias);
}

template <int T>
SMOLVLM_TARGET(SMOLVLM_AVX2_TARGET)
inline void q8_tile(const weight_matrix& w, const detail::quantized_acts& a, std::int64_t p, int h, std::int64_t t0,
                    float* y, const float* bias) {
    const std::int64_t nb = a.nb;
    const auto* wq = static_cast<const std::uint8_t*>(w.data) + p * nb * 512 + 32 * h;
    const auto* wd = static_cast<const std::uint16_t*>(w.scales) + p * nb * k_panel;
    const __m256i flip = _mm256_set1_epi8(char(0x80));
    __m256 acc[T];
    SMOLVLM_UNROLL
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (std::int64_t b = 0; b < nb; ++b) {
        __m256i s[T];
        SMOLVLM_UNROLL
        for (int t = 0; t < T; ++t) s[t] = _mm256_setzero_si256();
        SMOLVLM_UNROLL
        for (int j = 0; j < 8; ++j) {
            const __m256i v = _mm256_xor_si256(
                _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wq + b * 512 + j * 64)), flip);  // signed
            const __m256i aw = _mm256_abs_epi8(v);
            SMOLVLM_UNROLL
            for (int t = 0; t < T; ++t) {
                const __m256i xv = _mm256_set1_epi32(load_i32(a.q_row(t0 + t) + b * 32 + 4 * j));
                s[t] = dot_u8s8(s[t], aw, _mm256_sign_epi8(xv, v));
            }
        }
        finish_group<T>(acc, s, wd, b, h, a, t0);
    }
    store_tile<T>(acc, y, w.rows, p, h, t0, bias);
}

template <bool Q4>
SMOLVLM_TARGET(SMOLVLM_AVX2_TARGET)
inline void q_panels(const weight_matrix& w, const detail::quantized_acts& a, std::int64_t n, float* y,
                     const float* bias, std::int64_t p0, std::int64_t p1) {
    for (std::int64_t tc = 0; tc < n; tc += 64) {
        const std::int64_t te = n - tc < 64 ? n : tc + 64;
        for (std::int64_t p = p0; p < p1; ++p)
            SMOLVLM_UNROLL
            for (int h = 0; h < 2; ++h) {
                if (p * k_panel + 8 * h >= w.rows) break;
                std::int64_t t = tc;
                for (; t + 4 <= te; t += 4) Q4 ? q4_tile<4>(w, a, p, h, t, y, bias) : q8_tile<4>(w, a, p, h, t, y, bias);
                for (; t < te; ++t) Q4 ? q4_tile<1>(w, a, p, h, t, y, bias) : q8_tile<1>(w, a, p, h, t, y, bias);
            }
    }
}

inline void matmul(const weight_matrix& w, const float* x, std::int64_t n, float* y, const float* bias,
                   thread_pool* pool) {
    if (w.type == dtype::q4)
        detail::q_matmul(w, x, n, y, bias, pool, 8, &quantize_act_row, &q_panels<true>);
    else if (w.type == dtype::q8)
        detail::q_matmul(w, x, n, y, bias, pool, 0, &quantize_act_row, &q_panels<false>);
    else
        dense_dispatch(w, x, n, y, bias, pool);
}

inline void matmul_multi(const weight_matrix* ws, int count, const float* x, std::int64_t n, float* const* ys,
                         const float* const* biases, thread_pool* pool) {
    detail::matmul_multi_with<&quantize_act_row, &q_panels<true>, &q_panels<false>, 8, 0, &matmul>(ws, count, x, n, ys,
                                                                                                  biases, pool);
}
}  // namespace avx2

// ---- AVX-VNNI: VEX vpdpbusd on ymm (u8 x s8, 4 products per lane, one instruction) ---
namespace avx_vnni {

using avx2::load_i32;

template <int T>
SMOLVLM_TARGET(SMOLVLM_AVXVNNI_TARGET)
inline void q4_tile(const weight_matrix& w, const detail::quantized_acts& a, std::int64_t p, int h, std::int64_t t0,
                    float* y, const float* bias) {
    const std::int64_t nb = a.nb;
    const auto* wq = static_cast<const std::uint8_t*>(w.data) + p * nb * 256 + 32 * h;
    const auto* wd = static_cast<const std::uint16_t*>(w.scales) + p * nb * k_panel;
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    __m256 acc[T];
    SMOLVLM_UNROLL
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (std::int64_t b = 0; b < nb; ++b) {
        __m256i s[T];
        SMOLVLM_UNROLL
        for (int t = 0; t < T; ++t) s[t] = _mm256_setzero_si256();
        SMOLVLM_UNROLL
        for (int i = 0; i < 4; ++i) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wq + b * 256 + i * 64));
            const __m256i lo = _mm256_and_si256(v, m4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
            SMOLVLM_UNROLL
            for (int t = 0; t < T; ++t) {
                const std::int8_t* xq = a.q_row(t0 + t) + b * 32;
                s[t] = _mm256_dpbusd_avx_epi32(s[t], lo, _mm256_set1_epi32(load_i32(xq + 4 * i)));
                s[t] = _mm256_dpbusd_avx_epi32(s[t], hi, _mm256_set1_epi32(load_i32(xq + 16 + 4 * i)));
            }
        }
        avx2::finish_group<T>(acc, s, wd, b, h, a, t0);
    }
    avx2::store_tile<T>(acc, y, w.rows, p, h, t0, bias);
}

template <int T>
SMOLVLM_TARGET(SMOLVLM_AVXVNNI_TARGET)
inline void q8_tile(const weight_matrix& w, const detail::quantized_acts& a, std::int64_t p, int h, std::int64_t t0,
                    float* y, const float* bias) {
    const std::int64_t nb = a.nb;
    const auto* wq = static_cast<const std::uint8_t*>(w.data) + p * nb * 512 + 32 * h;
    const auto* wd = static_cast<const std::uint16_t*>(w.scales) + p * nb * k_panel;
    __m256 acc[T];
    SMOLVLM_UNROLL
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (std::int64_t b = 0; b < nb; ++b) {
        __m256i s[T];
        SMOLVLM_UNROLL
        for (int t = 0; t < T; ++t) s[t] = _mm256_setzero_si256();
        SMOLVLM_UNROLL
        for (int j = 0; j < 8; ++j) {
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wq + b * 512 + j * 64));  // +128
            SMOLVLM_UNROLL
            for (int t = 0; t < T; ++t)
                s[t] = _mm256_dpbusd_avx_epi32(s[t], v, _mm256_set1_epi32(load_i32(a.q_row(t0 + t) + b * 32 + 4 * j)));
        }
        avx2::finish_group<T>(acc, s, wd, b, h, a, t0);
    }
    avx2::store_tile<T>(acc, y, w.rows, p, h, t0, bias);
}

template <bool Q4>
SMOLVLM_TARGET(SMOLVLM_AVXVNNI_TARGET)
inline void q_panels(const weight_matrix& w, const detail::quantized_acts& a, std::int64_t n, float* y,
                     const float* bias, std::int64_t p0, std::int64_t p1) {
    for (std::int64_t tc = 0; tc < n; tc += 64) {
        const std::int64_t te = n - tc < 64 ? n : tc + 64;
        for (std::int64_t p = p0; p < p1; ++p)
            SMOLVLM_UNROLL
            for (int h = 0; h < 2; ++h) {
                if (p * k_panel + 8 * h >= w.rows) break;
                std::int64_t t = tc;
                for (; t + 4 <= te; t += 4) Q4 ? q4_tile<4>(w, a, p, h, t, y, bias) : q8_tile<4>(w, a, p, h, t, y, bias);
                for (; t < te; ++t) Q4 ? q4_tile<1>(w, a, p, h, t, y, bias) : q8_tile<1>(w, a, p, h, t, y, bias);
            }
    }
}

inline void matmul(const weight_matrix& w, const float* x, std::int64_t n, float* y, const float* bias,
                   thread_pool* pool) {
    if (w.type == dtype::q4)
        detail::q_matmul(w, x, n, y, bias, pool, 8, &avx2::quantize_act_row, &q_panels<true>);
    else if (w.type == dtype::q8)
        detail::q_matmul(w, x, n, y, bias, pool, 128, &avx2::quantize_act_row, &q_panels<false>);
    else
        avx2::dense_dispatch(w, x, n, y, bias, pool);
}

inline void matmul_multi(const weight_matrix* ws, int count, const float* x, std::int64_t n, float* const* ys,
                         const float* const* biases, thread_pool* pool) {
    detail::matmul_multi_with<&avx2::quantize_act_row, &q_panels<true>, &q_panels<false>, 8, 128, &matmul>(
        ws, count, x, n, ys, biases, pool);
}
}  // namespace avx_vnni
}  // namespace smolvlm::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif  // SMOLVLM_SIMD_X86
