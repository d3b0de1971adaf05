// smolvlm/kernels/x86_avx2_quantize.hpp — AVX2 twin of the q4 weight quantizer
// (quantize_row_q4 in kernels/quant.hpp), used by pack_weight on CPUs without AVX-512.
//
// 8 groups at a time, one group per lane, so every step of the scalar twin runs as the same
// vertical operation in the same order: the signed element of largest magnitude, the 26
// candidate scales (f32 -> f16 -> f32 by vcvtps2ph / vcvtph2ps, which round exactly like
// f32_to_f16), the codes, the squared error and the least-squares refit summed over the 32
// elements one after another. The target has no "fma", so the compiler cannot fuse a
// product and a sum into one rounding (the scalar twin rounds each): the blocks are
// bit-identical to the scalar twin's (tested), several times faster.
#pragma once

#include "../config.hpp"
#include "quant.hpp"

#if SMOLVLM_SIMD_X86
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#define SMOLVLM_AVX2_NOFMA_TARGET "avx2,f16c"

namespace smolvlm::kernels::avx2 {

// Codes of 8 groups (xs[i] = element i of each group) for the f16 scales dh, their squared
// errors, and the codes in cur[i].
SMOLVLM_TARGET(SMOLVLM_AVX2_NOFMA_TARGET)
inline __m256 q4_codes_lanes(const float (*xs)[8], __m128i dh, float (*cur)[8]) {
    const __m256 eight = _mm256_set1_ps(8.0f), zero = _mm256_setzero_ps(), fifteen = _mm256_set1_ps(15.0f);
    const __m256 d = _mm256_cvtph_ps(dh);
    const __m256 nz = _mm256_cmp_ps(d, zero, _CMP_NEQ_UQ);
    const __m256 id = _mm256_and_ps(nz, _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_blendv_ps(_mm256_set1_ps(1.0f), d, nz)));
    __m256 err = zero;
    for (int i = 0; i < k_group; ++i) {
        const __m256 x = _mm256_load_ps(xs[i]);
        __m256 c = _mm256_add_ps(_mm256_round_ps(_mm256_mul_ps(x, id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), eight);
        c = _mm256_min_ps(_mm256_max_ps(c, zero), fifteen);  // NaN -> 0, as max_f / min_f
        _mm256_store_ps(cur[i], c);
        const __m256 e = _mm256_sub_ps(x, _mm256_mul_ps(d, _mm256_sub_ps(c, eight)));
        err = _mm256_add_ps(err, _mm256_mul_ps(e, e));
    }
    return err;
}

// Try the scales dh in the lanes `allowed` (all-ones lanes): where the error beats
// best_err, keep them.
SMOLVLM_TARGET(SMOLVLM_AVX2_NOFMA_TARGET)
inline void q4_consider(const float (*xs)[8], float (*cur)[8], float (*best)[8], __m128i dh, __m256 allowed,
                        __m256& best_err, __m128i& bdh) {
    const __m256 err = q4_codes_lanes(xs, dh, cur);
    const __m256 better = _mm256_and_ps(allowed, _mm256_cmp_ps(err, best_err, _CMP_LT_OQ));
    if (_mm256_movemask_ps(better) == 0) return;
    best_err = _mm256_blendv_ps(best_err, err, better);
    // 16-bit lanes of bdh follow the 32-bit mask: pack the mask's halves.
    const __m256i bm = _mm256_castps_si256(better);
    const __m128i m16 = _mm_packs_epi32(_mm256_castsi256_si128(bm), _mm256_extracti128_si256(bm, 1));
    bdh = _mm_blendv_epi8(bdh, dh, m16);
    for (int i = 0; i < k_group; ++i)
        _mm256_store_ps(best[i], _mm256_blendv_ps(_mm256_load_ps(best[i]), _mm256_load_ps(cur[i]), better));
}

SMOLVLM_TARGET(SMOLVLM_AVX2_NOFMA_TARGET)
inline void quantize_row_q4(const float* x, block_q4* y, std::int64_t k) {
    const std::int64_t nb = k / k_group;
    const __m256 eight = _mm256_set1_ps(8.0f), zero = _mm256_setzero_ps(), sign = _mm256_set1_ps(-0.0f);
    const __m256i lane_at = _mm256_setr_epi32(0, 32, 64, 96, 128, 160, 192, 224);  // lane g: group g
    alignas(32) float xs[k_group][8];    // element i of the 8 groups
    alignas(32) float cur[k_group][8];   // codes of the candidate just tried
    alignas(32) float best[k_group][8];  // codes of the best candidate so far
    alignas(16) std::uint16_t best_dh[8];
    for (std::int64_t b0 = 0; b0 < nb; b0 += 8) {
        const int m = nb - b0 < 8 ? int(nb - b0) : 8;
        const __m256i live_i = _mm256_cmpgt_epi32(_mm256_set1_epi32(m), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
        const __m256 live = _mm256_castsi256_ps(live_i);  // missing groups read as zeros
        const float* base = x + b0 * k_group;
        __m256 mx = zero;  // signed element of largest magnitude (first on ties)
        for (int i = 0; i < k_group; ++i) {
            const __m256 v =
                _mm256_mask_i32gather_ps(zero, base, _mm256_add_epi32(lane_at, _mm256_set1_epi32(i)), live, 4);
            _mm256_store_ps(xs[i], v);
            const __m256 gt = _mm256_cmp_ps(_mm256_andnot_ps(sign, v), _mm256_andnot_ps(sign, mx), _CMP_GT_OQ);
            mx = _mm256_blendv_ps(mx, v, gt);
        }
        const __m256 nonzero = _mm256_cmp_ps(mx, zero, _CMP_NEQ_UQ);
        // Scalar start: codes 8 for all-zero groups, codes 0 (d = 0) where no candidate wins.
        const __m256 start = _mm256_andnot_ps(nonzero, eight);
        for (int i = 0; i < k_group; ++i) _mm256_store_ps(best[i], start);
        __m128i bdh = _mm_setzero_si128();
        __m256 best_err = _mm256_set1_ps(INFINITY);
        if (_mm256_movemask_ps(nonzero) != 0) {
            for (int s = 0; s <= 12; ++s) {
                const float div = s <= 10 ? -8.0f - 0.15f * float(s) : (s == 11 ? 7.0f : 7.5f);
                q4_consider(xs, cur, best, _mm256_cvtps_ph(_mm256_div_ps(mx, _mm256_set1_ps(div)), _MM_FROUND_TO_NEAREST_INT),
                            nonzero, best_err, bdh);
                // Least-squares d for the codes just chosen (cur), where den > 0.
                __m256 num = zero, den = zero;
                for (int i = 0; i < k_group; ++i) {
                    const __m256 c = _mm256_sub_ps(_mm256_load_ps(cur[i]), eight);
                    num = _mm256_add_ps(num, _mm256_mul_ps(c, _mm256_load_ps(xs[i])));
                    den = _mm256_add_ps(den, _mm256_mul_ps(c, c));
                }
                const __m256 fit = _mm256_and_ps(nonzero, _mm256_cmp_ps(den, zero, _CMP_GT_OQ));
                if (_mm256_movemask_ps(fit) != 0) {
                    const __m256 q = _mm256_div_ps(num, _mm256_blendv_ps(_mm256_set1_ps(1.0f), den, fit));
                    q4_consider(xs, cur, best, _mm256_cvtps_ph(_mm256_and_ps(fit, q), _MM_FROUND_TO_NEAREST_INT), fit,
                                best_err, bdh);
                }
            }
        }
        _mm_store_si128(reinterpret_cast<__m128i*>(best_dh), bdh);
        for (int g = 0; g < m; ++g) {
            block_q4& out = y[b0 + g];
            out.d = best_dh[g];
            for (int j = 0; j < k_group / 2; ++j)
                out.qs[j] = std::uint8_t(int(best[j][g]) | (int(best[j + 16][g]) << 4));
        }
    }
}

}  // namespace smolvlm::kernels::avx2

#undef SMOLVLM_AVX2_NOFMA_TARGET
#endif  // SMOLVLM_SIMD_X86
