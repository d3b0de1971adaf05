// smolvlm/kernels/x86_avx2_resample.hpp — AVX2 twins of the resample passes (kernels/resample.hpp).
//
// Same integer arithmetic as scalar::resample_h / resample_v (int32 lanes, pmulld, the same
// rounding constant and arithmetic shift), tested equal on every channel count.
#pragma once

#include "../config.hpp"
#include "resample.hpp"

#if SMOLVLM_SIMD_X86
#include <immintrin.h>

#include <cstring>

namespace smolvlm::kernels::avx2 {

// AVX2 twin of resample_row_v_scalar: 32 bytes per step, int32 lanes, pmulld.
SMOLVLM_TARGET("avx2")
inline void resample_row_v_avx2(const std::uint8_t* src, std::size_t stride, std::uint8_t* dst, std::size_t n,
                                const std::int32_t* k, int count, int precision) {
    const __m256i half = _mm256_set1_epi32(1 << (precision - 1));
    const __m128i shift = _mm_cvtsi32_si128(precision);
    std::size_t x = 0;
    for (; x + 32 <= n; x += 32) {
        __m256i a0 = half, a1 = half, a2 = half, a3 = half;
        for (int t = 0; t < count; ++t) {
            const std::uint8_t* row = src + std::size_t(t) * stride + x;
            const __m256i kt = _mm256_set1_epi32(k[t]);
            const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row));
            const __m128i lo = _mm256_castsi256_si128(v), hi = _mm256_extracti128_si256(v, 1);
            a0 = _mm256_add_epi32(a0, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(lo), kt));
            a1 = _mm256_add_epi32(a1, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(lo, 8)), kt));
            a2 = _mm256_add_epi32(a2, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(hi), kt));
            a3 = _mm256_add_epi32(a3, _mm256_mullo_epi32(_mm256_cvtepu8_epi32(_mm_srli_si128(hi, 8)), kt));
        }
        a0 = _mm256_sra_epi32(a0, shift);
        a1 = _mm256_sra_epi32(a1, shift);
        a2 = _mm256_sra_epi32(a2, shift);
        a3 = _mm256_sra_epi32(a3, shift);
        // packs (int32 -> int16, in range) then packus (int16 -> uint8, clamps to [0, 255]);
        // both work per 128-bit lane, so undo the interleave with a permute.
        __m256i p01 = _mm256_packs_epi32(a0, a1);  // [a0lo a1lo | a0hi a1hi]
        __m256i p23 = _mm256_packs_epi32(a2, a3);
        __m256i b = _mm256_packus_epi16(p01, p23);  // [a0lo a1lo a2lo a3lo | a0hi a1hi a2hi a3hi] (4 bytes each)
        b = _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + x), b);
    }
    if (x < n) scalar::resample_v(src + x, stride, dst + x, n - x, k, count, precision);
}

// AVX2 horizontal pass for 4-byte pixels: two taps per step (8 int32 lanes).
SMOLVLM_TARGET("avx2")
inline void resample_row_h4_avx2(const std::uint8_t* src, std::uint8_t* dst, int out_w, int dst_channels,
                                 const resample_coeffs& rc) {
    const __m256i sel = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
    for (int xx = 0; xx < out_w; ++xx) {
        const std::int32_t* k = &rc.k[std::size_t(xx) * std::size_t(rc.ksize)];
        const std::uint8_t* p = src + std::size_t(rc.first[std::size_t(xx)]) * 4;
        const int n = rc.count[std::size_t(xx)];
        __m256i acc = _mm256_setzero_si256();
        int t = 0;
        for (; t + 2 <= n; t += 2) {
            const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + t * 4)));
            const __m256i kk =
                _mm256_permutevar8x32_epi32(_mm256_castsi128_si256(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(k + t))), sel);
            acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(v, kk));
        }
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
        s = _mm_add_epi32(s, _mm_set1_epi32(1 << (rc.precision - 1)));
        if (t < n) {
            std::int32_t px;
            std::memcpy(&px, p + t * 4, 4);
            s = _mm_add_epi32(s, _mm_mullo_epi32(_mm_cvtepu8_epi32(_mm_cvtsi32_si128(px)), _mm_set1_epi32(k[t])));
        }
        s = _mm_sra_epi32(s, _mm_cvtsi32_si128(rc.precision));
        s = _mm_packus_epi16(_mm_packs_epi32(s, s), s);
        std::uint32_t out = std::uint32_t(_mm_cvtsi128_si32(s));
        std::uint8_t* d = dst + std::size_t(xx) * std::size_t(dst_channels);
        if (dst_channels == 4) std::memcpy(d, &out, 4);
        else for (int c = 0; c < dst_channels; ++c) d[c] = std::uint8_t(out >> (8 * c));
    }
}

// AVX2 horizontal pass for 3-byte pixels (RGB): two taps per step, the 6 bytes of a pixel
// pair spread to [r g b 0 r' g' b' 0] by a byte shuffle. An 8-byte load may only run past
// the pair when it stays inside the row; the last pairs of a row go through the tail.
SMOLVLM_TARGET("avx2")
inline void resample_row_h3_avx2(const std::uint8_t* src, int in_w, std::uint8_t* dst, int out_w,
                                 const resample_coeffs& rc) {
    const __m256i sel = _mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1);
    const __m128i spread = _mm_setr_epi8(0, 1, 2, -1, 3, 4, 5, -1, -1, -1, -1, -1, -1, -1, -1, -1);
    const std::uint8_t* row_end = src + std::size_t(in_w) * 3;
    for (int xx = 0; xx < out_w; ++xx) {
        const std::int32_t* k = &rc.k[std::size_t(xx) * std::size_t(rc.ksize)];
        const std::uint8_t* p = src + std::size_t(rc.first[std::size_t(xx)]) * 3;
        const int n = rc.count[std::size_t(xx)];
        __m256i acc = _mm256_setzero_si256();
        int t = 0;
        // A last odd tap is taken as a pair with the zero weight k[n] when the row has room
        // (k is zero-filled up to ksize), so most pixels never reach the scalar tail.
        for (; t < n && t + 2 <= rc.ksize && p + t * 3 + 8 <= row_end; t += 2) {
            const __m128i raw = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + t * 3));
            const __m256i v = _mm256_cvtepu8_epi32(_mm_shuffle_epi8(raw, spread));
            const __m256i kk = _mm256_permutevar8x32_epi32(
                _mm256_castsi128_si256(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(k + t))), sel);
            acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(v, kk));
        }
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
        s = _mm_add_epi32(s, _mm_set1_epi32(1 << (rc.precision - 1)));
        if (t >= n) {
            s = _mm_sra_epi32(s, _mm_cvtsi32_si128(rc.precision));
            s = _mm_packus_epi16(_mm_packs_epi32(s, s), s);
            const std::uint32_t out = std::uint32_t(_mm_cvtsi128_si32(s));
            std::uint8_t* d = dst + std::size_t(xx) * 3;
            d[0] = std::uint8_t(out);
            d[1] = std::uint8_t(out >> 8);
            d[2] = std::uint8_t(out >> 16);
            continue;
        }
        alignas(16) std::int32_t a[4];
        _mm_store_si128(reinterpret_cast<__m128i*>(a), s);
        for (; t < n; ++t)
            for (int c = 0; c < 3; ++c) a[c] += std::int32_t(p[t * 3 + c]) * k[t];
        std::uint8_t* d = dst + std::size_t(xx) * 3;
        for (int c = 0; c < 3; ++c) d[c] = resample_clip8(a[c], rc.precision);
    }
}

// AVX2 horizontal pass for 1-byte pixels: 8 taps per step.
SMOLVLM_TARGET("avx2")
inline void resample_row_h1_avx2(const std::uint8_t* src, std::uint8_t* dst, int out_w, const resample_coeffs& rc) {
    for (int xx = 0; xx < out_w; ++xx) {
        const std::int32_t* k = &rc.k[std::size_t(xx) * std::size_t(rc.ksize)];
        const std::uint8_t* p = src + rc.first[std::size_t(xx)];
        const int n = rc.count[std::size_t(xx)];
        __m256i acc = _mm256_setzero_si256();
        int t = 0;
        for (; t + 8 <= n; t += 8) {
            const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p + t)));
            const __m256i kk = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(k + t));
            acc = _mm256_add_epi32(acc, _mm256_mullo_epi32(v, kk));
        }
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
        std::int32_t a = _mm_cvtsi128_si32(s) + (1 << (rc.precision - 1));
        for (; t < n; ++t) a += std::int32_t(p[t]) * k[t];
        dst[xx] = resample_clip8(a, rc.precision);
    }
}

// The horizontal pass for any channel count (2-channel rows take the scalar path).
SMOLVLM_TARGET("avx2")
inline void resample_h(int channels, const std::uint8_t* src, int in_w, std::uint8_t* dst, int out_w,
                       const resample_coeffs& rc) {
    switch (channels) {
        case 1: resample_row_h1_avx2(src, dst, out_w, rc); break;
        case 3: resample_row_h3_avx2(src, in_w, dst, out_w, rc); break;
        case 4: resample_row_h4_avx2(src, dst, out_w, 4, rc); break;
        default: scalar::resample_h(channels, src, in_w, dst, out_w, rc); break;
    }
}

SMOLVLM_TARGET("avx2")
inline void resample_v(const std::uint8_t* src, std::size_t stride, std::uint8_t* dst, std::size_t n,
                       const std::int32_t* k, int count, int precision) {
    resample_row_v_avx2(src, stride, dst, n, k, count, precision);
}

}  // namespace smolvlm::kernels::avx2
#endif  // SMOLVLM_SIMD_X86
