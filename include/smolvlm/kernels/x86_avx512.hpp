// smolvlm/kernels/x86_avx512.hpp — AVX-512 kernels (x86-64), chosen at run time.
//
//   avx512::matmul       AVX-512 F/BW/VL (+FMA, F16C): dense f32/bf16/f16 (FMA), and
//                        q8/q4 with vpmaddubsw + vpmaddwd (no VNNI needed)
//   avx512_vnni::matmul  same dense kernels; q8/q4 with vpdpbusd
//
// Every function carries SMOLVLM_TARGET, so this compiles without -mavx512f and is only
// called when kernels/dispatch.hpp saw the features. Scalar twins: scalar::matmul
// (matmul.hpp) and quantize_act_row (quant.hpp); tests/kernels/matmul_test.cpp compares.
//
// Int kernels read the panel layout of quant.hpp: one 64-byte load = 16 rows x 4 columns,
// one 32-bit lane per row. A tile is one panel (16 output rows) x T tokens:
//   for each 32-group b:  lane r of s[t] += sum_k code[r][k] * xq[t][k]   (integer)
//                         acc[t] += dw[b][r] * (dx[t][b] * s[t] + xs[t][b])   (f32)
// Each weight vector is loaded once per T tokens (GEMM reuse), each activation group is
// broadcast from L1. Decode (n = 1) streams the weights exactly once.
#pragma once

#include "../config.hpp"
#include "matmul.hpp"
#include "vec.hpp"

#if SMOLVLM_SIMD_X86
#include <immintrin.h>

#include <atomic>
#include <cstring>

// GCC 12's own AVX-512 headers trip -Wmaybe-uninitialized (their _mm512_undefined_*
// placeholders) once inlined here; the warning is about the compiler's headers, not us.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#define SMOLVLM_AVX512_TARGET "avx512f,avx512bw,avx512vl,avx512dq,fma,f16c"
#define SMOLVLM_AVX512VNNI_TARGET "avx512f,avx512bw,avx512vl,avx512dq,fma,f16c,avx512vnni"

namespace smolvlm::kernels {
namespace avx512 {

inline std::int32_t load_i32(const void* p) {
    std::int32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// ---- activation quantization (twin of quantize_act_row) ----------------------------
SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline void quantize_act_row(const float* x, std::int64_t k, int offset, std::int8_t* q, float* d, float* s) {
    const __m512 sign = _mm512_set1_ps(-0.0f);
    for (std::int64_t b = 0; b < k / k_group; ++b) {
        const __m512 x0 = _mm512_loadu_ps(x + b * 32);
        const __m512 x1 = _mm512_loadu_ps(x + b * 32 + 16);
        const __m512 a = _mm512_max_ps(_mm512_andnot_ps(sign, x0), _mm512_andnot_ps(sign, x1));
        const float amax = _mm512_reduce_max_ps(a);
        const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
        const __m512 vid = _mm512_set1_ps(id);
        const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(x0, vid));  // round to nearest even
        const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(x1, vid));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * 32), _mm512_cvtsepi32_epi8(q0));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * 32 + 16), _mm512_cvtsepi32_epi8(q1));
        const int sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
        d[b] = amax / 127.0f;
        s[b] = -float(offset) * d[b] * float(sum);
    }
}

// ---- q4 weight quantization (twin of quantize_row_q4, used by pack_weight) ----------
//
// 16 groups at a time, one group per lane, so every step of the scalar twin runs as the
// same vertical operation in the same order: the largest-magnitude element, the 26
// candidate scales (f32 -> f16 -> f32 by vcvtps2ph / vcvtph2ps, which round exactly like
// f32_to_f16), the codes, the squared error and the least-squares refit summed over the
// 32 elements one after another, as the scalar loops do. The blocks are bit-identical to
// the scalar twin's (tested), ~10x faster: this is most of loading a bf16 model as q4.

// Products and sums that must round as the scalar twin's separate * and +: with FMA enabled
// GCC would fuse plain _mm512_mul_ps + _mm512_add_ps into one rounding (fp-contract);
// the explicit-rounding forms are never fused.
#define SMOLVLM_RN (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)

// Codes of 16 groups (xs[i] = element i of each group) for the f16 scales dh, their
// squared errors, and the codes in cur[i].
SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline __m512 q4_codes_lanes(const float (*xs)[16], __m256i dh, float (*cur)[16]) {
    const __m512 eight = _mm512_set1_ps(8.0f), zero = _mm512_setzero_ps(), fifteen = _mm512_set1_ps(15.0f);
    constexpr int rn = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
    const __m512 d = _mm512_cvtph_ps(dh);
    const __m512 id = _mm512_maskz_div_ps(_mm512_cmp_ps_mask(d, zero, _CMP_NEQ_UQ), _mm512_set1_ps(1.0f), d);
    __m512 err = zero;
    for (int i = 0; i < k_group; ++i) {
        const __m512 x = _mm512_load_ps(xs[i]);
        __m512 c = _mm512_add_ps(_mm512_roundscale_ps(_mm512_mul_ps(x, id), rn), eight);
        c = _mm512_min_ps(_mm512_max_ps(c, zero), fifteen);  // NaN -> 0, as max_f / min_f
        _mm512_store_ps(cur[i], c);
        const __m512 e = _mm512_sub_round_ps(x, _mm512_mul_round_ps(d, _mm512_sub_ps(c, eight), SMOLVLM_RN), SMOLVLM_RN);
        err = _mm512_add_round_ps(err, _mm512_mul_round_ps(e, e, SMOLVLM_RN), SMOLVLM_RN);
    }
    return err;
}

// Try the scales dh in the lanes `allowed`: where the error beats best_err, keep them.
SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline void q4_consider(const float (*xs)[16], float (*cur)[16], float (*best)[16], __m256i dh, __mmask16 allowed,
                        __m512& best_err, __m256i& bdh) {
    const __m512 err = q4_codes_lanes(xs, dh, cur);
    const __mmask16 better = allowed & _mm512_cmp_ps_mask(err, best_err, _CMP_LT_OQ);
    if (!better) return;
    best_err = _mm512_mask_mov_ps(best_err, better, err);
    bdh = _mm256_mask_mov_epi16(bdh, better, dh);
    for (int i = 0; i < k_group; ++i)
        _mm512_store_ps(best[i], _mm512_mask_mov_ps(_mm512_load_ps(best[i]), better, _mm512_load_ps(cur[i])));
}

SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline void quantize_row_q4(const float* x, block_q4* y, std::int64_t k) {
    const std::int64_t nb = k / k_group;
    const __m512 eight = _mm512_set1_ps(8.0f), zero = _mm512_setzero_ps(), sign = _mm512_set1_ps(-0.0f);
    const __m512i lane_at = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                               _mm512_set1_epi32(k_group));
    alignas(64) float xs[k_group][16];    // element i of the 16 groups
    alignas(64) float cur[k_group][16];   // codes of the candidate just tried
    alignas(64) float best[k_group][16];  // codes of the best candidate so far
    alignas(32) std::uint16_t best_dh[16];
    for (std::int64_t b0 = 0; b0 < nb; b0 += 16) {
        const int m = nb - b0 < 16 ? int(nb - b0) : 16;
        const __mmask16 live = __mmask16((1u << m) - 1u);  // missing groups read as zeros
        const float* base = x + b0 * k_group;
        __m512 mx = zero;  // signed element of largest magnitude (first on ties)
        for (int i = 0; i < k_group; ++i) {
            const __m512 v = _mm512_mask_i32gather_ps(zero, live, _mm512_add_epi32(lane_at, _mm512_set1_epi32(i)), base, 4);
            _mm512_store_ps(xs[i], v);
            mx = _mm512_mask_mov_ps(mx, _mm512_cmp_ps_mask(_mm512_andnot_ps(sign, v), _mm512_andnot_ps(sign, mx), _CMP_GT_OQ), v);
        }
        const __mmask16 nonzero = _mm512_cmp_ps_mask(mx, zero, _CMP_NEQ_UQ);
        // Scalar start: codes 8 for all-zero groups, codes 0 (d = 0) where no candidate wins.
        const __m512 start = _mm512_maskz_mov_ps(__mmask16(~nonzero), eight);
        for (int i = 0; i < k_group; ++i) _mm512_store_ps(best[i], start);
        __m256i bdh = _mm256_setzero_si256();
        __m512 best_err = _mm512_set1_ps(INFINITY);
        if (nonzero) {
            for (int s = 0; s <= 12; ++s) {
                const float div = s <= 10 ? -8.0f - 0.15f * float(s) : (s == 11 ? 7.0f : 7.5f);
                q4_consider(xs, cur, best, _mm512_cvtps_ph(_mm512_div_ps(mx, _mm512_set1_ps(div)), _MM_FROUND_TO_NEAREST_INT),
                            nonzero, best_err, bdh);
                // Least-squares d for the codes just chosen (cur), where den > 0.
                __m512 num = zero, den = zero;
                for (int i = 0; i < k_group; ++i) {
                    const __m512 c = _mm512_sub_ps(_mm512_load_ps(cur[i]), eight);
                    num = _mm512_add_round_ps(num, _mm512_mul_round_ps(c, _mm512_load_ps(xs[i]), SMOLVLM_RN), SMOLVLM_RN);
                    den = _mm512_add_round_ps(den, _mm512_mul_round_ps(c, c, SMOLVLM_RN), SMOLVLM_RN);
                }
                const __mmask16 fit = nonzero & _mm512_cmp_ps_mask(den, zero, _CMP_GT_OQ);
                if (fit)
                    q4_consider(xs, cur, best, _mm512_cvtps_ph(_mm512_maskz_div_ps(fit, num, den), _MM_FROUND_TO_NEAREST_INT),
                                fit, best_err, bdh);
            }
        }
        _mm256_store_si256(reinterpret_cast<__m256i*>(best_dh), bdh);
        for (int g = 0; g < m; ++g) {
            block_q4& out = y[b0 + g];
            out.d = best_dh[g];
            for (int j = 0; j < k_group / 2; ++j)
                out.qs[j] = std::uint8_t(int(best[j][g]) | (int(best[j + 16][g]) << 4));
        }
    }
}

#undef SMOLVLM_RN

// ---- q8 weight quantization (twin of quantize_row_q8; bit-identical) ----------------
SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline void quantize_row_q8(const float* x, block_q8* y, std::int64_t k) {
    const __m512 sign = _mm512_set1_ps(-0.0f), lim = _mm512_set1_ps(127.0f), nlim = _mm512_set1_ps(-127.0f);
    for (std::int64_t b = 0; b < k / k_group; ++b) {
        const __m512 x0 = _mm512_loadu_ps(x + b * 32), x1 = _mm512_loadu_ps(x + b * 32 + 16);
        // max|x| ignoring NaN lanes, as the scalar max_f: vmaxps returns its second operand
        // when either is NaN, so keep the running max second.
        __m512 a = _mm512_max_ps(_mm512_andnot_ps(sign, x0), _mm512_setzero_ps());
        a = _mm512_max_ps(_mm512_andnot_ps(sign, x1), a);
        const float amax = _mm512_reduce_max_ps(a);
        const std::uint16_t dh = f32_to_f16(amax / 127.0f);
        const float d = f16_to_f32(dh);
        const __m512 vid = _mm512_set1_ps(d > 0.0f ? 1.0f / d : 0.0f);
        constexpr int rn = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
        // NaN -> -127 like the scalar twin (min/max return the second operand on NaN).
        const __m512 q0 = _mm512_min_ps(_mm512_max_ps(_mm512_roundscale_ps(_mm512_mul_ps(x0, vid), rn), nlim), lim);
        const __m512 q1 = _mm512_min_ps(_mm512_max_ps(_mm512_roundscale_ps(_mm512_mul_ps(x1, vid), rn), nlim), lim);
        y[b].d = dh;
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y[b].qs), _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(q0)));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(y[b].qs + 16), _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(q1)));
    }
}

// ---- attention of one query (twin of scalar::attend) --------------------------------

// e^x for 16 lanes: the steps of scalar::exp_f32 (2^k e^r, degree-6 polynomial), with
// vscalefps for 2^k. Lanes below -87.3 (and -inf, NaN from -inf - -inf) give 0.
SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline __m512 exp16(__m512 x) {
    const __mmask16 tiny = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3f), _CMP_NLT_UQ);  // keep lanes >= -87.3
    x = _mm512_min_ps(x, _mm512_set1_ps(88.7f));
    const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693145752f), x);
    r = _mm512_fnmadd_ps(k, _mm512_set1_ps(1.42860677e-6f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_maskz_mov_ps(tiny, _mm512_scalef_ps(p, k));
}

// ---- activations (twins of scalar::swiglu / scalar::gelu_tanh) ---------------------
SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline __m512 silu16(__m512 x) {
    const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), x));  // e^-x, clamped at e^88.7
    return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline void swiglu(float* gate, const float* up, std::int64_t n) {
    std::int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(gate + i, _mm512_mul_ps(silu16(_mm512_loadu_ps(gate + i)), _mm512_loadu_ps(up + i)));
    if (i < n) {
        const __mmask16 m = __mmask16((1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(gate + i, m, _mm512_mul_ps(silu16(_mm512_maskz_loadu_ps(m, gate + i)),
                                                         _mm512_maskz_loadu_ps(m, up + i)));
    }
}

// tanh(u) = 1 - 2 / (e^{2u} + 1): exact limits +-1 (e^{2u} clamps at e^88.7 or is 0).
SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline __m512 gelu16(__m512 x) {
    const __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
    const __m512 u = _mm512_mul_ps(_mm512_set1_ps(0.7978845608028654f), _mm512_fmadd_ps(_mm512_set1_ps(0.044715f), x3, x));
    const __m512 e = exp16(_mm512_add_ps(u, u));
    const __m512 th = _mm512_sub_ps(_mm512_set1_ps(1.0f),
                                    _mm512_div_ps(_mm512_set1_ps(2.0f), _mm512_add_ps(e, _mm512_set1_ps(1.0f))));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1.0f), th));
}

SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline void gelu_tanh(float* x, std::int64_t n) {
    std::int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(x + i, gelu16(_mm512_loadu_ps(x + i)));
    if (i < n) {
        const __mmask16 m = __mmask16((1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(x + i, m, gelu16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

// Softmax numerators of a score row and their sum (twin of scalar::softmax): the max in
// two 16-lane accumulators, then exp16((x - max) * scale) stored back and summed.
SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline float softmax(float* row, std::int64_t n, float scale) {
    __m512 m0 = _mm512_set1_ps(row[0]), m1 = m0;
    std::int64_t j = 0;
    for (; j + 32 <= n; j += 32) {
        m0 = _mm512_max_ps(m0, _mm512_loadu_ps(row + j));
        m1 = _mm512_max_ps(m1, _mm512_loadu_ps(row + j + 16));
    }
    for (; j + 16 <= n; j += 16) m0 = _mm512_max_ps(m0, _mm512_loadu_ps(row + j));
    const __mmask16 tail = __mmask16((1u << (n - j)) - 1u);  // n - j < 16
    m1 = _mm512_max_ps(m1, _mm512_mask_loadu_ps(m0, tail, row + j));  // lanes past n repeat m0
    const __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(_mm512_max_ps(m0, m1)));
    const __m512 vs = _mm512_set1_ps(scale);
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    j = 0;
    for (; j + 32 <= n; j += 32) {
        const __m512 e0 = exp16(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(row + j), mx), vs));
        const __m512 e1 = exp16(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(row + j + 16), mx), vs));
        _mm512_storeu_ps(row + j, e0);
        _mm512_storeu_ps(row + j + 16, e1);
        s0 = _mm512_add_ps(s0, e0);
        s1 = _mm512_add_ps(s1, e1);
    }
    for (; j < n; j += 16) {
        const __mmask16 m = n - j >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - j)) - 1u);
        const __m512 e = _mm512_maskz_mov_ps(m, exp16(_mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, row + j), mx), vs)));
        _mm512_mask_storeu_ps(row + j, m, e);
        s0 = _mm512_add_ps(s0, e);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

// hd = 16 * NV. Keys in blocks of 16: 16 dot products (NV FMAs + one horizontal sum
// each), the block's max and exp as vectors, then P V with broadcast weights.
// One vector of stored keys/values as f32: f32 as is, f16 (an f16 KV cache) converted.
SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline __m512 load_kv(const float* p) { return _mm512_loadu_ps(p); }
SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline __m512 load_kv(const std::uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

template <int NV, class T>
SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline void attend_nv(const float* q, const T* k, const T* v, std::int64_t stride, std::int64_t n_keys,
                      float scale, float* out) {
    __m512 qv[NV], acc[NV];
    SMOLVLM_UNROLL
    for (int i = 0; i < NV; ++i) {
        qv[i] = _mm512_loadu_ps(q + 16 * i);
        acc[i] = _mm512_setzero_ps();
    }
    alignas(64) float sc[16];
    float m = -INFINITY, l = 0.0f;
    for (std::int64_t j0 = 0; j0 < n_keys; j0 += 16) {
        const int nb = n_keys - j0 < 16 ? int(n_keys - j0) : 16;
        for (int j = 0; j < nb; ++j) {
            const T* kr = k + (j0 + j) * stride;
            __m512 d = _mm512_mul_ps(qv[0], load_kv(kr));
            SMOLVLM_UNROLL
            for (int i = 1; i < NV; ++i) d = _mm512_fmadd_ps(qv[i], load_kv(kr + 16 * i), d);
            sc[j] = _mm512_reduce_add_ps(d) * scale;
        }
        const __mmask16 live = __mmask16((1u << nb) - 1u);
        const __m512 s = _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), live, sc);
        const float smax = _mm512_reduce_max_ps(s);
        const float bm = smax > m ? smax : m;
        const float corr = scalar::exp_f32(m - bm);  // 0 on the first block (m = -inf)
        const __m512 p = exp16(_mm512_sub_ps(s, _mm512_set1_ps(bm)));
        l = l * corr + _mm512_reduce_add_ps(p);
        const __m512 vc = _mm512_set1_ps(corr);
        SMOLVLM_UNROLL
        for (int i = 0; i < NV; ++i) acc[i] = _mm512_mul_ps(acc[i], vc);
        _mm512_store_ps(sc, p);
        for (int j = 0; j < nb; ++j) {
            const T* vr = v + (j0 + j) * stride;
            const __m512 pj = _mm512_set1_ps(sc[j]);
            SMOLVLM_UNROLL
            for (int i = 0; i < NV; ++i) acc[i] = _mm512_fmadd_ps(pj, load_kv(vr + 16 * i), acc[i]);
        }
        m = bm;
    }
    const __m512 inv = _mm512_set1_ps(l > 0.0f ? 1.0f / l : 0.0f);
    SMOLVLM_UNROLL
    for (int i = 0; i < NV; ++i) _mm512_storeu_ps(out + 16 * i, _mm512_mul_ps(acc[i], inv));
}

// P V for a block of queries (twin of scalar::pv_t): hd = 16 * NV columns in registers,
// R query rows at a time (as many as the registers hold), so each value row is loaded once
// per R rows.
template <int NV, class T>
SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline void pv_nv(const float* p, std::int64_t p_stride, std::int64_t m, std::int64_t nk, const T* v,
                  std::int64_t v_stride, float* o) {
    constexpr int R = 4 * NV + NV <= 32 ? 4 : (2 * NV + NV <= 32 ? 2 : 1);  // R x NV accumulators + NV values
    constexpr std::int64_t hd = 16 * NV;
    std::int64_t r0 = 0;
    for (; r0 + R <= m; r0 += R) {
        __m512 acc[R][NV];
        SMOLVLM_UNROLL
        for (int r = 0; r < R; ++r)
            SMOLVLM_UNROLL
            for (int i = 0; i < NV; ++i) acc[r][i] = _mm512_setzero_ps();
        const float* p0 = p + r0 * p_stride;
        for (std::int64_t j = 0; j < nk; ++j) {
            __m512 vr[NV];
            SMOLVLM_UNROLL
            for (int i = 0; i < NV; ++i) vr[i] = load_kv(v + j * v_stride + 16 * i);
            SMOLVLM_UNROLL
            for (int r = 0; r < R; ++r) {
                const __m512 w = _mm512_set1_ps(p0[r * p_stride + j]);
                SMOLVLM_UNROLL
                for (int i = 0; i < NV; ++i) acc[r][i] = _mm512_fmadd_ps(w, vr[i], acc[r][i]);
            }
        }
        SMOLVLM_UNROLL
        for (int r = 0; r < R; ++r)
            SMOLVLM_UNROLL
            for (int i = 0; i < NV; ++i) _mm512_storeu_ps(o + (r0 + r) * hd + 16 * i, acc[r][i]);
    }
    for (; r0 < m; ++r0) {  // leftover rows, one at a time
        __m512 acc[NV];
        SMOLVLM_UNROLL
        for (int i = 0; i < NV; ++i) acc[i] = _mm512_setzero_ps();
        for (std::int64_t j = 0; j < nk; ++j) {
            const __m512 w = _mm512_set1_ps(p[r0 * p_stride + j]);
            SMOLVLM_UNROLL
            for (int i = 0; i < NV; ++i) acc[i] = _mm512_fmadd_ps(w, load_kv(v + j * v_stride + 16 * i), acc[i]);
        }
        SMOLVLM_UNROLL
        for (int i = 0; i < NV; ++i) _mm512_storeu_ps(o + r0 * hd + 16 * i, acc[i]);
    }
}

template <class T>
inline void pv_any(const float* p, std::int64_t p_stride, std::int64_t m, std::int64_t nk, const T* v,
                   std::int64_t v_stride, std::int64_t hd, float* o) {
    switch (hd) {
        case 32: pv_nv<2, T>(p, p_stride, m, nk, v, v_stride, o); break;
        case 64: pv_nv<4, T>(p, p_stride, m, nk, v, v_stride, o); break;
        case 128: pv_nv<8, T>(p, p_stride, m, nk, v, v_stride, o); break;
        default: scalar::pv_t<T>(p, p_stride, m, nk, v, v_stride, hd, o); break;
    }
}

template <class T>
inline void attend_any(const float* q, const T* k, const T* v, std::int64_t stride, std::int64_t n_keys,
                       std::int64_t hd, float scale, float* out) {
    switch (hd) {
        case 32: attend_nv<2, T>(q, k, v, stride, n_keys, scale, out); break;
        case 64: attend_nv<4, T>(q, k, v, stride, n_keys, scale, out); break;
        case 80: attend_nv<5, T>(q, k, v, stride, n_keys, scale, out); break;
        case 96: attend_nv<6, T>(q, k, v, stride, n_keys, scale, out); break;
        case 128: attend_nv<8, T>(q, k, v, stride, n_keys, scale, out); break;
        default: scalar::attend_t<T>(q, k, v, stride, n_keys, hd, scale, out); break;
    }
}

// ---- dense f32 / bf16 / f16 ---------------------------------------------------------

// 16 weights from column c of a row as f32 (masked tail).
template <dtype D>
SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline __m512 load16(const void* row, std::int64_t c, __mmask16 m) {
    if constexpr (D == dtype::f32) {
        return _mm512_maskz_loadu_ps(m, static_cast<const float*>(row) + c);
    } else {
        const __m256i h = _mm256_maskz_loadu_epi16(m, static_cast<const std::uint16_t*>(row) + c);
        if constexpr (D == dtype::bf16)
            return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
        else
            return _mm512_cvtph_ps(h);
    }
}

// y[t0..t0+T, r0..r0+R] for a dense matrix: R rows x T tokens of dot products.
template <dtype D, int R, int T>
SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline void dense_tile(const weight_matrix& w, const float* x, std::int64_t t0, std::int64_t r0, float* y,
                       const float* bias) {
    const std::int64_t cols = w.cols;
    const std::size_t es = dtype_size(D);
    const auto* base = static_cast<const unsigned char*>(w.data);
    __m512 acc[R][T];
    SMOLVLM_UNROLL
    for (int r = 0; r < R; ++r)
        SMOLVLM_UNROLL
        for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
    for (std::int64_t c = 0; c < cols; c += 16) {
        const __mmask16 m = cols - c >= 16 ? __mmask16(0xffff) : __mmask16((1u << (cols - c)) - 1u);
        __m512 xv[T];
        SMOLVLM_UNROLL
        for (int t = 0; t < T; ++t) xv[t] = _mm512_maskz_loadu_ps(m, x + (t0 + t) * cols + c);
        SMOLVLM_UNROLL
        for (int r = 0; r < R; ++r) {
            const __m512 wv = load16<D>(base + std::size_t(r0 + r) * std::size_t(cols) * es, c, m);
            SMOLVLM_UNROLL
            for (int t = 0; t < T; ++t) acc[r][t] = _mm512_fmadd_ps(wv, xv[t], acc[r][t]);
        }
    }
    SMOLVLM_UNROLL
    for (int t = 0; t < T; ++t)
        SMOLVLM_UNROLL
        for (int r = 0; r < R; ++r)
            y[(t0 + t) * w.rows + r0 + r] = _mm512_reduce_add_ps(acc[r][t]) + (bias ? bias[r0 + r] : 0.0f);
}

template <dtype D, int R>
SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline void dense_rows(const weight_matrix& w, const float* x, std::int64_t t0, std::int64_t t1, std::int64_t r0,
                       float* y, const float* bias) {
    std::int64_t t = t0;
    for (; t + 6 <= t1; t += 6) dense_tile<D, R, 6>(w, x, t, r0, y, bias);
    switch (t1 - t) {
        case 5: dense_tile<D, R, 5>(w, x, t, r0, y, bias); break;
        case 4: dense_tile<D, R, 4>(w, x, t, r0, y, bias); break;
        case 3: dense_tile<D, R, 3>(w, x, t, r0, y, bias); break;
        case 2: dense_tile<D, R, 2>(w, x, t, r0, y, bias); break;
        case 1: dense_tile<D, R, 1>(w, x, t, r0, y, bias); break;
        default: break;
    }
}

// ---- dense GEMM for many tokens: packed panels, outer products ----------------------
//
// For n >= k_dense_gemm_min tokens the weights are re-read n times, so it pays to
// repack 32 rows at a time into f32 panels wp[k][32] (row r0+i at wp[k*32 + i]) and run
// an outer-product micro-kernel: per column k, two 16-row weight vectors times T
// broadcast activations, 2T independent FMA chains, no horizontal sums. The packing is
// rows*cols conversions per call, amortised over n tokens.
inline constexpr std::int64_t k_dense_gemm_min = 8;
inline constexpr int k_dense_panel = 32;

// Scalar packing (reference and the k = 0 column of 16-bit types, see below).
template <dtype D>
inline float dense_weight(const weight_matrix& w, std::int64_t r, std::int64_t k) {
    if constexpr (D == dtype::f32) return static_cast<const float*>(w.data)[r * w.cols + k];
    const std::uint16_t h = static_cast<const std::uint16_t*>(w.data)[r * w.cols + k];
    return D == dtype::bf16 ? bf16_to_f32(h) : f16_to_f32(h);
}

// wp[k][i] = W[r0 + i][k] as f32 (0 past the last row). One column of 16 rows per
// gather. 16-bit types gather the 32-bit word that *ends* at element k (byte offset
// 2k - 2 in the row) so no load reaches past the matrix; its high half is the element.
// Column k = 0 of each row (whose word would start before the row) is done in scalar.
template <dtype D>
SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline void pack_dense_panel(const weight_matrix& w, std::int64_t r0, float* wp) {
    const std::int64_t K = w.cols;
    const std::size_t es = dtype_size(D);
    const auto* base = static_cast<const unsigned char*>(w.data) + std::size_t(r0) * std::size_t(K) * es;
    for (int half = 0; half < 2; ++half) {
        const std::int64_t left = w.rows - r0 - 16 * half;
        const __mmask16 m = left >= 16 ? __mmask16(0xffff) : (left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1u));
        // byte offset of row 16*half + lane, relative to base
        const __m512i row_off = _mm512_mullo_epi32(
            _mm512_add_epi32(_mm512_set1_epi32(16 * half),
                             _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)),
            _mm512_set1_epi32(int(K * std::int64_t(es))));
        float* dst = wp + 16 * half;
        std::int64_t k = 0;
        if constexpr (D != dtype::f32) {
            SMOLVLM_UNROLL
            for (int i = 0; i < 16; ++i)
                dst[i] = i < left ? dense_weight<D>(w, r0 + 16 * half + i, 0) : 0.0f;
            k = 1;
        }
        for (; k < K; ++k) {
            __m512 v;
            if constexpr (D == dtype::f32) {
                const __m512i idx = _mm512_add_epi32(row_off, _mm512_set1_epi32(int(k * 4)));
                v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, base, 1);
            } else {
                const __m512i idx = _mm512_add_epi32(row_off, _mm512_set1_epi32(int(k * 2 - 2)));
                const __m512i g = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), m, idx, base, 1);
                if constexpr (D == dtype::bf16) {
                    v = _mm512_castsi512_ps(_mm512_and_si512(g, _mm512_set1_epi32(int(0xffff0000u))));
                } else {
                    v = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(g, 16)));
                }
            }
            _mm512_storeu_ps(dst + k * k_dense_panel, v);
        }
    }
}

// y[t0..t0+T, r0..r0+32) (masked to the real rows) from the packed panel.
template <int T>
SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline void dense_panel_tile(const float* wp, std::int64_t K, const float* x, std::int64_t t0, float* y,
                             std::int64_t rows, std::int64_t r0, const float* bias) {
    __m512 a0[T], a1[T];
    SMOLVLM_UNROLL
    for (int t = 0; t < T; ++t) a0[t] = a1[t] = _mm512_setzero_ps();
    const float* xr[T];
    SMOLVLM_UNROLL
    for (int t = 0; t < T; ++t) xr[t] = x + (t0 + t) * K;
    for (std::int64_t k = 0; k < K; ++k) {
        const __m512 w0 = _mm512_loadu_ps(wp + k * k_dense_panel);
        const __m512 w1 = _mm512_loadu_ps(wp + k * k_dense_panel + 16);
        SMOLVLM_UNROLL
        for (int t = 0; t < T; ++t) {
            const __m512 xb = _mm512_set1_ps(xr[t][k]);
            a0[t] = _mm512_fmadd_ps(w0, xb, a0[t]);
            a1[t] = _mm512_fmadd_ps(w1, xb, a1[t]);
        }
    }
    const std::int64_t left = rows - r0;
    const __mmask16 m0 = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1u);
    const __mmask16 m1 = left >= 32 ? __mmask16(0xffff) : (left <= 16 ? __mmask16(0) : __mmask16((1u << (left - 16)) - 1u));
    const __m512 b0 = bias ? _mm512_maskz_loadu_ps(m0, bias + r0) : _mm512_setzero_ps();
    const __m512 b1 = bias ? _mm512_maskz_loadu_ps(m1, bias + r0 + 16) : _mm512_setzero_ps();
    SMOLVLM_UNROLL
    for (int t = 0; t < T; ++t) {
        float* yr = y + (t0 + t) * rows + r0;
        _mm512_mask_storeu_ps(yr, m0, _mm512_add_ps(a0[t], b0));
        _mm512_mask_storeu_ps(yr + 16, m1, _mm512_add_ps(a1[t], b1));
    }
}

// false if the panel buffer could not be allocated (the caller then uses dense_rows).
template <dtype D>
inline bool dense_gemm(const weight_matrix& w, const float* x, std::int64_t n, float* y, const float* bias,
                       thread_pool* pool) {
    const std::int64_t K = w.cols;
    if (K * k_dense_panel * std::int64_t(dtype_size(D)) >= (std::int64_t(1) << 31)) return false;  // gather offsets are int32
    const std::int64_t panels = (w.rows + k_dense_panel - 1) / k_dense_panel;
    std::atomic<bool> ok{true};
    parallel_for(pool, panels, [&](std::int64_t p0, std::int64_t p1, int) {
        auto* wp = static_cast<float*>(SMOLVLM_MALLOC(std::size_t(K) * k_dense_panel * sizeof(float), k_alignment));
        if (!wp) {
            ok.store(false);
            return;
        }
        for (std::int64_t p = p0; p < p1; ++p) {
            const std::int64_t r0 = p * k_dense_panel;
            pack_dense_panel<D>(w, r0, wp);
            std::int64_t t = 0;
            for (; t + 8 <= n; t += 8) dense_panel_tile<8>(wp, K, x, t, y, w.rows, r0, bias);
            for (; t + 4 <= n; t += 4) dense_panel_tile<4>(wp, K, x, t, y, w.rows, r0, bias);
            for (; t < n; ++t) dense_panel_tile<1>(wp, K, x, t, y, w.rows, r0, bias);
        }
        SMOLVLM_FREE(wp);
    });
    return ok.load();
}

template <dtype D>
inline void dense_matmul(const weight_matrix& w, const float* x, std::int64_t n, float* y, const float* bias,
                         thread_pool* pool) {
    if (n >= k_dense_gemm_min && dense_gemm<D>(w, x, n, y, bias, pool)) return;
    // Row quads over threads; tokens in chunks of 64 so their activations stay in L2.
    const std::int64_t quads = (w.rows + 3) / 4;
    parallel_for(pool, quads, [&](std::int64_t q0, std::int64_t q1, int) {
        for (std::int64_t tc = 0; tc < n; tc += 64) {
            const std::int64_t te = n - tc < 64 ? n : tc + 64;
            for (std::int64_t q = q0; q < q1; ++q) {
                const std::int64_t r0 = q * 4;
                if (r0 + 4 <= w.rows) {
                    dense_rows<D, 4>(w, x, tc, te, r0, y, bias);
                } else {
                    for (std::int64_t r = r0; r < w.rows; ++r) dense_rows<D, 1>(w, x, tc, te, r, y, bias);
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

// ---- int8 / int4 panels, vpmaddubsw + vpmaddwd ---------------------------------------
//
// u8 x s8 products summed in pairs to i16 (vpmaddubsw), then pairs of i16 to i32
// (vpmaddwd with ones). q4 codes (0..15) are u8 already: |pair| <= 2*15*127, no
// saturation. q8 is used signed with the sign trick (|w| as u8, x with w's sign) so
// |pair| <= 2*127*127 < 32767.

SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline __m512i dot_u8s8(__m512i acc, __m512i u, __m512i s) {
    const __m512i p16 = _mm512_maddubs_epi16(u, s);
    return _mm512_add_epi32(acc, _mm512_madd_epi16(p16, _mm512_set1_epi16(1)));
}

// Finish group b for T tokens: acc[t] += dw * (dx * s + xs).
template <int T>
SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline void finish_group(__m512* acc, const __m512i* s, const std::uint16_t* wd, std::int64_t b,
                         const detail::quantized_acts& a, std::int64_t t0) {
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(wd + b * k_panel)));
    SMOLVLM_UNROLL
    for (int t = 0; t < T; ++t) {
        const __m512 f = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s[t]), _mm512_set1_ps(a.d_row(t0 + t)[b]),
                                         _mm512_set1_ps(a.s_row(t0 + t)[b]));
        acc[t] = _mm512_fmadd_ps(f, dw, acc[t]);
    }
}

template <int T>
SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline void store_tile(const __m512* acc, float* y, std::int64_t rows, std::int64_t p, std::int64_t t0,
                       const float* bias) {
    const std::int64_t r0 = p * k_panel;
    const __mmask16 m = rows - r0 >= 16 ? __mmask16(0xffff) : __mmask16((1u << (rows - r0)) - 1u);
    const __m512 bv = bias ? _mm512_maskz_loadu_ps(m, bias + r0) : _mm512_setzero_ps();
    SMOLVLM_UNROLL
    for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + (t0 + t) * rows + r0, m, _mm512_add_ps(acc[t], bv));
}

template <int T>
SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline void q4_tile(const weight_matrix& w, const detail::quantized_acts& a, std::int64_t p, std::int64_t t0,
                    float* y, const float* bias) {
    const std::int64_t nb = a.nb;
    const auto* wq = static_cast<const std::uint8_t*>(w.data) + p * nb * 256;
    const auto* wd = static_cast<const std::uint16_t*>(w.scales) + p * nb * k_panel;
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    __m512 acc[T];
    SMOLVLM_UNROLL
    for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
    for (std::int64_t b = 0; b < nb; ++b) {
        __m512i s[T];
        SMOLVLM_UNROLL
        for (int t = 0; t < T; ++t) s[t] = _mm512_setzero_si512();
        SMOLVLM_UNROLL
        for (int i = 0; i < 4; ++i) {
            const __m512i v = _mm512_loadu_si512(wq + b * 256 + i * 64);
            const __m512i lo = _mm512_and_si512(v, m4);
            const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
            SMOLVLM_UNROLL
            for (int t = 0; t < T; ++t) {
                const std::int8_t* xq = a.q_row(t0 + t) + b * 32;
                s[t] = dot_u8s8(s[t], lo, _mm512_set1_epi32(load_i32(xq + 4 * i)));
                s[t] = dot_u8s8(s[t], hi, _mm512_set1_epi32(load_i32(xq + 16 + 4 * i)));
            }
        }
        finish_group<T>(acc, s, wd, b, a, t0);
    }
    store_tile<T>(acc, y, w.rows, p, t0, bias);
}

template <int T>
SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline void q8_tile(const weight_matrix& w, const detail::quantized_acts& a, std::int64_t p, std::int64_t t0,
                    float* y, const float* bias) {
    const std::int64_t nb = a.nb;
    const auto* wq = static_cast<const std::uint8_t*>(w.data) + p * nb * 512;
    const auto* wd = static_cast<const std::uint16_t*>(w.scales) + p * nb * k_panel;
    const __m512i flip = _mm512_set1_epi8(char(0x80));
    __m512 acc[T];
    SMOLVLM_UNROLL
    for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
    for (std::int64_t b = 0; b < nb; ++b) {
        __m512i s[T];
        SMOLVLM_UNROLL
        for (int t = 0; t < T; ++t) s[t] = _mm512_setzero_si512();
        SMOLVLM_UNROLL
        for (int j = 0; j < 8; ++j) {
            const __m512i v = _mm512_xor_si512(_mm512_loadu_si512(wq + b * 512 + j * 64), flip);  // signed w
            const __m512i aw = _mm512_abs_epi8(v);
            const __mmask64 neg = _mm512_movepi8_mask(v);
            SMOLVLM_UNROLL
            for (int t = 0; t < T; ++t) {
                const __m512i xv = _mm512_set1_epi32(load_i32(a.q_row(t0 + t) + b * 32 + 4 * j));
                const __m512i xs = _mm512_mask_sub_epi8(xv, neg, _mm512_setzero_si512(), xv);
                s[t] = dot_u8s8(s[t], aw, xs);
            }
        }
        finish_group<T>(acc, s, wd, b, a, t0);
    }
    store_tile<T>(acc, y, w.rows, p, t0, bias);
}

// Tokens in chunks of 64 (their activations stay in L2); inside, tiles of 8 tokens.
template <bool Q4>
SMOLVLM_TARGET(SMOLVLM_AVX512_TARGET)
inline void q_panels(const weight_matrix& w, const detail::quantized_acts& a, std::int64_t n, float* y,
                     const float* bias, std::int64_t p0, std::int64_t p1) {
    for (std::int64_t tc = 0; tc < n; tc += 64) {
        const std::int64_t te = n - tc < 64 ? n : tc + 64;
        for (std::int64_t p = p0; p < p1; ++p) {
            std::int64_t t = tc;
            for (; t + 8 <= te; t += 8) Q4 ? q4_tile<8>(w, a, p, t, y, bias) : q8_tile<8>(w, a, p, t, y, bias);
            for (; t + 4 <= te; t += 4) Q4 ? q4_tile<4>(w, a, p, t, y, bias) : q8_tile<4>(w, a, p, t, y, bias);
            for (; t + 2 <= te; t += 2) Q4 ? q4_tile<2>(w, a, p, t, y, bias) : q8_tile<2>(w, a, p, t, y, bias);
            for (; t < te; ++t) Q4 ? q4_tile<1>(w, a, p, t, y, bias) : q8_tile<1>(w, a, p, t, y, bias);
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

}  // namespace avx512

// ---- AVX-512 VNNI: vpdpbusd does u8 x s8, 4 products per 32-bit lane, in one step ----
namespace avx512_vnni {

using avx512::load_i32;

template <int T>
SMOLVLM_TARGET(SMOLVLM_AVX512VNNI_TARGET)
inline void q4_tile(const weight_matrix& w, const detail::quantized_acts& a, std::int64_t p, std::int64_t t0,
                    float* y, const float* bias) {
    const std::int64_t nb = a.nb;
    const auto* wq = static_cast<const std::uint8_t*>(w.data) + p * nb * 256;
    const auto* wd = static_cast<const std::uint16_t*>(w.scales) + p * nb * k_panel;
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    // Decode (T < 4): two integer chains per token (low / high nibbles) to hide latency.
    constexpr int C = T < 4 ? 2 : 1;
    __m512 acc[T];
    SMOLVLM_UNROLL
    for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
    for (std::int64_t b = 0; b < nb; ++b) {
        __m512i s[T][2];
        SMOLVLM_UNROLL
        for (int t = 0; t < T; ++t) s[t][0] = s[t][1] = _mm512_setzero_si512();
        SMOLVLM_UNROLL
        for (int i = 0; i < 4; ++i) {
            const __m512i v = _mm512_loadu_si512(wq + b * 256 + i * 64);
            const __m512i lo = _mm512_and_si512(v, m4);
            const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
            SMOLVLM_UNROLL
            for (int t = 0; t < T; ++t) {
                const std::int8_t* xq = a.q_row(t0 + t) + b * 32;
                s[t][0] = _mm512_dpbusd_epi32(s[t][0], lo, _mm512_set1_epi32(load_i32(xq + 4 * i)));
                s[t][C - 1] = _mm512_dpbusd_epi32(s[t][C - 1], hi, _mm512_set1_epi32(load_i32(xq + 16 + 4 * i)));
            }
        }
        __m512i st[T];
        SMOLVLM_UNROLL
        for (int t = 0; t < T; ++t) st[t] = C == 2 ? _mm512_add_epi32(s[t][0], s[t][1]) : s[t][0];
        avx512::finish_group<T>(acc, st, wd, b, a, t0);
    }
    avx512::store_tile<T>(acc, y, w.rows, p, t0, bias);
}

// q8 stored +128 is exactly the u8 operand vpdpbusd wants; the +128 comes back out
// through xs (offset 128).
template <int T>
SMOLVLM_TARGET(SMOLVLM_AVX512VNNI_TARGET)
inline void q8_tile(const weight_matrix& w, const detail::quantized_acts& a, std::int64_t p, std::int64_t t0,
                    float* y, const float* bias) {
    const std::int64_t nb = a.nb;
    const auto* wq = static_cast<const std::uint8_t*>(w.data) + p * nb * 512;
    const auto* wd = static_cast<const std::uint16_t*>(w.scales) + p * nb * k_panel;
    constexpr int C = T < 4 ? 2 : 1;
    __m512 acc[T];
    SMOLVLM_UNROLL
    for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
    for (std::int64_t b = 0; b < nb; ++b) {
        __m512i s[T][2];
        SMOLVLM_UNROLL
        for (int t = 0; t < T; ++t) s[t][0] = s[t][1] = _mm512_setzero_si512();
        SMOLVLM_UNROLL
        for (int j = 0; j < 8; ++j) {
            const __m512i v = _mm512_loadu_si512(wq + b * 512 + j * 64);
            SMOLVLM_UNROLL
            for (int t = 0; t < T; ++t) {
                const __m512i xv = _mm512_set1_epi32(load_i32(a.q_row(t0 + t) + b * 32 + 4 * j));
                s[t][j & (C - 1)] = _mm512_dpbusd_epi32(s[t][j & (C - 1)], v, xv);
            }
        }
        __m512i st[T];
        SMOLVLM_UNROLL
        for (int t = 0; t < T; ++t) st[t] = C == 2 ? _mm512_add_epi32(s[t][0], s[t][1]) : s[t][0];
        avx512::finish_group<T>(acc, st, wd, b, a, t0);
    }
    avx512::store_tile<T>(acc, y, w.rows, p, t0, bias);
}

template <bool Q4>
SMOLVLM_TARGET(SMOLVLM_AVX512VNNI_TARGET)
inline void q_panels(const weight_matrix& w, const detail::quantized_acts& a, std::int64_t n, float* y,
                     const float* bias, std::int64_t p0, std::int64_t p1) {
    for (std::int64_t tc = 0; tc < n; tc += 64) {
        const std::int64_t te = n - tc < 64 ? n : tc + 64;
        for (std::int64_t p = p0; p < p1; ++p) {
            std::int64_t t = tc;
            for (; t + 8 <= te; t += 8) Q4 ? q4_tile<8>(w, a, p, t, y, bias) : q8_tile<8>(w, a, p, t, y, bias);
            for (; t + 4 <= te; t += 4) Q4 ? q4_tile<4>(w, a, p, t, y, bias) : q8_tile<4>(w, a, p, t, y, bias);
            for (; t + 2 <= te; t += 2) Q4 ? q4_tile<2>(w, a, p, t, y, bias) : q8_tile<2>(w, a, p, t, y, bias);
            for (; t < te; ++t) Q4 ? q4_tile<1>(w, a, p, t, y, bias) : q8_tile<1>(w, a, p, t, y, bias);
        }
    }
}

inline void matmul(const weight_matrix& w, const float* x, std::int64_t n, float* y, const float* bias,
                   thread_pool* pool) {
    if (w.type == dtype::q4)
        detail::q_matmul(w, x, n, y, bias, pool, 8, &avx512::quantize_act_row, &q_panels<true>);
    else if (w.type == dtype::q8)
        detail::q_matmul(w, x, n, y, bias, pool, 128, &avx512::quantize_act_row, &q_panels<false>);
    else
        avx512::dense_dispatch(w, x, n, y, bias, pool);
}

inline void matmul_multi(const weight_matrix* ws, int count, const float* x, std::int64_t n, float* const* ys,
                         const float* const* biases, thread_pool* pool) {
    detail::matmul_multi_with<&avx512::quantize_act_row, &q_panels<true>, &q_panels<false>, 8, 128, &matmul>(
        ws, count, x, n, ys, biases, pool);
}

}  // namespace avx512_vnni
}  // namespace smolvlm::kernels

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif  // SMOLVLM_SIMD_X86
