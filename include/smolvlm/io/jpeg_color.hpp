// smolvlm/io/jpeg_color.hpp — libjpeg-turbo's upsampling and YCbCr -> RGB, bit for bit.
//
//   detail::jpeg_h2v1_fancy(s, dw, d)            d[0, 2*dw) from s[0, dw)  (jdsample.c, dw > 2)
//   detail::jpeg_h1v2_fancy(s0, s1, dw, bias, d)  one output row of 2:1 vertical upsampling
//   detail::jpeg_h2v2_fancy(s0, s1, dw, d)        one output row of 2:1 both ways (dw > 2)
//   detail::jpeg_ycc_rgb(y, cb, cr, rgb, n)       jdcolor.c ycc_rgb_convert
//
// Each has a `_scalar` twin written as libjpeg states the arithmetic; the SSE2 versions must
// equal them for every input (tests/io/jpeg_test.cpp checks).
//   h2v1: out[2i] = (3 s[i] + s[i-1] + 1) >> 2, out[2i+1] = (3 s[i] + s[i+1] + 2) >> 2,
//         with s[-1] = s[0] and s[dw] = s[dw-1] (libjpeg's first/last column cases);
//   h2v2: c[i] = 3 s0[i] + s1[i] (s0 the nearer row), out[2i] = (3 c[i] + c[i-1] + 8) >> 4,
//         out[2i+1] = (3 c[i] + c[i+1] + 7) >> 4, same edge rule;
//   YCbCr: R = Y + round(1.40200 (Cr-128)), G = Y + ((-0.34414 (Cb-128) - 0.71414 (Cr-128)) >> 16
//         in 16-bit fixed point, B = Y + round(1.77200 (Cb-128)), clamped to 0..255.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "../config.hpp"

#if SMOLVLM_SIMD_X86
#include <emmintrin.h>
#include <immintrin.h>
#endif

namespace smolvlm {
namespace detail {

// jdcolor.c's fixed-point constants: FIX(x) = round(x * 65536).
constexpr std::int32_t k_ycc_cr_r = 91881, k_ycc_cb_b = 116130, k_ycc_cr_g = 46802, k_ycc_cb_g = 22554;

inline std::uint8_t jpeg_clamp8(std::int32_t v) { return std::uint8_t(v < 0 ? 0 : (v > 255 ? 255 : v)); }

inline void jpeg_ycc_rgb_scalar(const std::uint8_t* y, const std::uint8_t* cb, const std::uint8_t* cr,
                                std::uint8_t* rgb, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        const std::int32_t yy = y[i], b = cb[i] - 128, r = cr[i] - 128;
        rgb[3 * i] = jpeg_clamp8(yy + ((k_ycc_cr_r * r + 32768) >> 16));
        rgb[3 * i + 1] = jpeg_clamp8(yy + ((-k_ycc_cb_g * b + 32768 - k_ycc_cr_g * r) >> 16));
        rgb[3 * i + 2] = jpeg_clamp8(yy + ((k_ycc_cb_b * b + 32768) >> 16));
    }
}

inline void jpeg_h2v1_fancy_scalar(const std::uint8_t* s, int dw, std::uint8_t* d) {
    for (int i = 0; i < dw; ++i) {
        const int l = s[i > 0 ? i - 1 : 0], r = s[i + 1 < dw ? i + 1 : dw - 1], c3 = s[i] * 3;
        d[2 * i] = std::uint8_t((c3 + l + 1) >> 2);
        d[2 * i + 1] = std::uint8_t((c3 + r + 2) >> 2);
    }
}

inline void jpeg_h1v2_fancy(const std::uint8_t* s0, const std::uint8_t* s1, int dw, int bias, std::uint8_t* d) {
    for (int i = 0; i < dw; ++i) d[i] = std::uint8_t((s0[i] * 3 + s1[i] + bias) >> 2);  // vectorizes as is
}

inline void jpeg_h2v2_fancy_scalar(const std::uint8_t* s0, const std::uint8_t* s1, int dw, std::uint8_t* d) {
    auto col = [&](int i) { return s0[i] * 3 + s1[i]; };
    for (int i = 0; i < dw; ++i) {
        const int c = col(i), l = col(i > 0 ? i - 1 : 0), r = col(i + 1 < dw ? i + 1 : dw - 1);
        d[2 * i] = std::uint8_t((c * 3 + l + 8) >> 4);
        d[2 * i + 1] = std::uint8_t((c * 3 + r + 7) >> 4);
    }
}

#if SMOLVLM_SIMD_X86
struct jpeg_color_sse2 {
    static __m128i pairs(std::int16_t a, std::int16_t b) {
        return _mm_set_epi16(b, a, b, a, b, a, b, a);
    }
    // 8 lanes of ((lo16 * a + hi16 * b) + add) >> 16, for the interleaved pairs (x, w).
    static __m128i madd_shift(__m128i x, __m128i w, __m128i k, __m128i add) {
        __m128i lo = _mm_srai_epi32(_mm_add_epi32(_mm_madd_epi16(_mm_unpacklo_epi16(x, w), k), add), 16);
        __m128i hi = _mm_srai_epi32(_mm_add_epi32(_mm_madd_epi16(_mm_unpackhi_epi16(x, w), k), add), 16);
        return _mm_packs_epi32(lo, hi);
    }
    // R, G, B offsets for 8 pixels (16-bit lanes), exactly the scalar formulas:
    //   (91881 r + 32768) >> 16 = r + ((26345 r + 2 * 16384) >> 16), 91881 = 65536 + 26345
    //   (116130 b + 32768) >> 16 = 2b + ((-14942 b + 2 * 16384) >> 16), 116130 = 131072 - 14942
    //   (-22554 b - 46802 r + 32768) >> 16 = -r + ((-22554 b + 18734 r + 32768) >> 16)
    static void offsets(__m128i b, __m128i r, __m128i* ro, __m128i* go, __m128i* bo) {
        const __m128i two = _mm_set1_epi16(2), zero = _mm_setzero_si128(), half = _mm_set1_epi32(32768);
        *ro = _mm_add_epi16(r, madd_shift(r, two, pairs(26345, 16384), zero));
        *bo = _mm_add_epi16(_mm_add_epi16(b, b), madd_shift(b, two, pairs(-14942, 16384), zero));
        *go = _mm_sub_epi16(madd_shift(b, r, pairs(-22554, 18734), half), r);
    }
};

inline void jpeg_ycc_rgb(const std::uint8_t* y, const std::uint8_t* cb, const std::uint8_t* cr, std::uint8_t* rgb,
                         std::size_t n) {
    const __m128i zero = _mm_setzero_si128(), c128 = _mm_set1_epi16(128);
    std::size_t i = 0;
    // 16 pixels at a time; the stores below write 2 bytes past the 48 of a group, so the
    // vector loop stops while a later group (or the scalar tail) will overwrite them.
    for (; i + 17 <= n; i += 16) {
        __m128i yv = _mm_loadu_si128(reinterpret_cast<const __m128i*>(y + i));
        __m128i bv = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cb + i));
        __m128i rv = _mm_loadu_si128(reinterpret_cast<const __m128i*>(cr + i));
        __m128i out[3][2];
        for (int h = 0; h < 2; ++h) {
            __m128i y16 = h ? _mm_unpackhi_epi8(yv, zero) : _mm_unpacklo_epi8(yv, zero);
            __m128i b16 = _mm_sub_epi16(h ? _mm_unpackhi_epi8(bv, zero) : _mm_unpacklo_epi8(bv, zero), c128);
            __m128i r16 = _mm_sub_epi16(h ? _mm_unpackhi_epi8(rv, zero) : _mm_unpacklo_epi8(rv, zero), c128);
            __m128i ro, go, bo;
            jpeg_color_sse2::offsets(b16, r16, &ro, &go, &bo);
            out[0][h] = _mm_add_epi16(y16, ro);
            out[1][h] = _mm_add_epi16(y16, go);
            out[2][h] = _mm_add_epi16(y16, bo);
        }
        const __m128i R = _mm_packus_epi16(out[0][0], out[0][1]), G = _mm_packus_epi16(out[1][0], out[1][1]),
                      B = _mm_packus_epi16(out[2][0], out[2][1]);
        // Interleave: RGBX pixels, then per 64-bit lane (p0 | p1 << 24) keeps 6 RGB bytes.
        const __m128i rg_lo = _mm_unpacklo_epi8(R, G), rg_hi = _mm_unpackhi_epi8(R, G);
        const __m128i bx_lo = _mm_unpacklo_epi8(B, zero), bx_hi = _mm_unpackhi_epi8(B, zero);
        const __m128i px[4] = {_mm_unpacklo_epi16(rg_lo, bx_lo), _mm_unpackhi_epi16(rg_lo, bx_lo),
                               _mm_unpacklo_epi16(rg_hi, bx_hi), _mm_unpackhi_epi16(rg_hi, bx_hi)};
        const __m128i m_lo = _mm_set_epi32(0, 0x00FFFFFF, 0, 0x00FFFFFF), m_hi = _mm_set_epi32(0xFFFF, int(0xFF000000), 0xFFFF, int(0xFF000000));
        std::uint8_t* o = rgb + 3 * i;
        for (int q = 0; q < 4; ++q) {
            const __m128i w = _mm_or_si128(_mm_and_si128(px[q], m_lo), _mm_and_si128(_mm_srli_epi64(px[q], 8), m_hi));
            _mm_storel_epi64(reinterpret_cast<__m128i*>(o + 12 * q), w);
            _mm_storel_epi64(reinterpret_cast<__m128i*>(o + 12 * q + 6), _mm_srli_si128(w, 8));
        }
    }
    jpeg_ycc_rgb_scalar(y + i, cb + i, cr + i, rgb + 3 * i, n - i);
}

// The same with AVX2, 32 pixels a step (callers check for AVX2 at run time).
struct jpeg_color_avx2 {
    static constexpr std::int32_t pair(std::int16_t a, std::int16_t b) {
        return std::int32_t(std::uint32_t(std::uint16_t(a)) | std::uint32_t(std::uint16_t(b)) << 16);
    }
    SMOLVLM_TARGET("avx2") static __m256i madd_shift(__m256i x, __m256i w, __m256i k, __m256i add) {
        __m256i lo = _mm256_srai_epi32(_mm256_add_epi32(_mm256_madd_epi16(_mm256_unpacklo_epi16(x, w), k), add), 16);
        __m256i hi = _mm256_srai_epi32(_mm256_add_epi32(_mm256_madd_epi16(_mm256_unpackhi_epi16(x, w), k), add), 16);
        return _mm256_packs_epi32(lo, hi);  // lane-wise: undoes the lane-wise unpacks
    }
};

SMOLVLM_TARGET("avx2") inline void jpeg_ycc_rgb_avx2(const std::uint8_t* y, const std::uint8_t* cb,
                                                     const std::uint8_t* cr, std::uint8_t* rgb, std::size_t n) {
    using A = jpeg_color_avx2;
    const __m256i zero = _mm256_setzero_si256(), c128 = _mm256_set1_epi16(128), two = _mm256_set1_epi16(2);
    const __m256i half = _mm256_set1_epi32(32768);
    const __m256i k_r = _mm256_set1_epi32(A::pair(26345, 16384)), k_b = _mm256_set1_epi32(A::pair(-14942, 16384)),
                  k_g = _mm256_set1_epi32(A::pair(-22554, 18734));
    std::size_t i = 0;
    const __m256i m_lo = _mm256_set_epi32(0, 0x00FFFFFF, 0, 0x00FFFFFF, 0, 0x00FFFFFF, 0, 0x00FFFFFF);
    const __m256i m_hi = _mm256_set_epi32(0xFFFF, int(0xFF000000), 0xFFFF, int(0xFF000000), 0xFFFF, int(0xFF000000), 0xFFFF,
                                          int(0xFF000000));
    for (; i + 33 <= n; i += 32) {
        const __m256i yv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(y + i));
        const __m256i bv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cb + i));
        const __m256i rv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(cr + i));
        __m256i o8[3];
        __m256i o16[3][2];
        for (int h = 0; h < 2; ++h) {
            const __m256i y16 = h ? _mm256_unpackhi_epi8(yv, zero) : _mm256_unpacklo_epi8(yv, zero);
            const __m256i b16 = _mm256_sub_epi16(h ? _mm256_unpackhi_epi8(bv, zero) : _mm256_unpacklo_epi8(bv, zero), c128);
            const __m256i r16 = _mm256_sub_epi16(h ? _mm256_unpackhi_epi8(rv, zero) : _mm256_unpacklo_epi8(rv, zero), c128);
            const __m256i ro = _mm256_add_epi16(r16, A::madd_shift(r16, two, k_r, zero));
            const __m256i bo = _mm256_add_epi16(_mm256_add_epi16(b16, b16), A::madd_shift(b16, two, k_b, zero));
            const __m256i go = _mm256_sub_epi16(A::madd_shift(b16, r16, k_g, half), r16);
            o16[0][h] = _mm256_add_epi16(y16, ro);
            o16[1][h] = _mm256_add_epi16(y16, go);
            o16[2][h] = _mm256_add_epi16(y16, bo);
        }
        for (int c = 0; c < 3; ++c) o8[c] = _mm256_packus_epi16(o16[c][0], o16[c][1]);  // pixel order restored per lane
        // Per 128-bit lane: 16 pixels (lane 0: pixels 0..15, lane 1: 16..31), as in the SSE2 version.
        const __m256i rg_lo = _mm256_unpacklo_epi8(o8[0], o8[1]), rg_hi = _mm256_unpackhi_epi8(o8[0], o8[1]);
        const __m256i bx_lo = _mm256_unpacklo_epi8(o8[2], zero), bx_hi = _mm256_unpackhi_epi8(o8[2], zero);
        const __m256i px[4] = {_mm256_unpacklo_epi16(rg_lo, bx_lo), _mm256_unpackhi_epi16(rg_lo, bx_lo),
                               _mm256_unpacklo_epi16(rg_hi, bx_hi), _mm256_unpackhi_epi16(rg_hi, bx_hi)};
        std::uint8_t* o = rgb + 3 * i;
        __m128i w1[4];
        // Stores in increasing address order: each writes 2 bytes that the next one overwrites.
        for (int q = 0; q < 4; ++q) {
            const __m256i w = _mm256_or_si256(_mm256_and_si256(px[q], m_lo), _mm256_and_si256(_mm256_srli_epi64(px[q], 8), m_hi));
            const __m128i w0 = _mm256_castsi256_si128(w);
            w1[q] = _mm256_extracti128_si256(w, 1);
            _mm_storel_epi64(reinterpret_cast<__m128i*>(o + 12 * q), w0);
            _mm_storel_epi64(reinterpret_cast<__m128i*>(o + 12 * q + 6), _mm_srli_si128(w0, 8));
        }
        for (int q = 0; q < 4; ++q) {
            _mm_storel_epi64(reinterpret_cast<__m128i*>(o + 48 + 12 * q), w1[q]);
            _mm_storel_epi64(reinterpret_cast<__m128i*>(o + 48 + 12 * q + 6), _mm_srli_si128(w1[q], 8));
        }
    }
    jpeg_ycc_rgb(y + i, cb + i, cr + i, rgb + 3 * i, n - i);
}

// h2v1 / h2v2 on 16-bit column values with the edges replicated: even = (3c + left + e) >> s,
// odd = (3c + right + o) >> s, 8 input columns at a time.
inline void jpeg_fancy_h2_sse2(const std::int16_t* c, int dw, int even_bias, int odd_bias, int shift, std::uint8_t* d) {
    // c[-1] and c[dw] must be readable (the caller replicates the edge columns there).
    const __m128i eb = _mm_set1_epi16(std::int16_t(even_bias)), ob = _mm_set1_epi16(std::int16_t(odd_bias));
    const __m128i sh = _mm_cvtsi32_si128(shift);
    int i = 0;
    for (; i + 8 <= dw; i += 8) {
        __m128i cur = _mm_loadu_si128(reinterpret_cast<const __m128i*>(c + i));
        __m128i left = _mm_loadu_si128(reinterpret_cast<const __m128i*>(c + i - 1));
        __m128i right = _mm_loadu_si128(reinterpret_cast<const __m128i*>(c + i + 1));
        __m128i c3 = _mm_add_epi16(_mm_add_epi16(cur, cur), cur);
        __m128i ev = _mm_srl_epi16(_mm_add_epi16(_mm_add_epi16(c3, left), eb), sh);
        __m128i od = _mm_srl_epi16(_mm_add_epi16(_mm_add_epi16(c3, right), ob), sh);
        __m128i e8 = _mm_packus_epi16(ev, ev), o8 = _mm_packus_epi16(od, od);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(d + 2 * i), _mm_unpacklo_epi8(e8, o8));
    }
    for (; i < dw; ++i) {
        const int c3 = c[i] * 3;
        d[2 * i] = std::uint8_t((c3 + c[i - 1] + even_bias) >> shift);
        d[2 * i + 1] = std::uint8_t((c3 + c[i + 1] + odd_bias) >> shift);
    }
}

// c[i] = 3 * s0[i] + s1[i] (s1 = nullptr: c[i] = s0[i]).
inline void jpeg_column_sums(const std::uint8_t* s0, const std::uint8_t* s1, int dw, std::int16_t* c) {
    const __m128i zero = _mm_setzero_si128();
    int i = 0;
    for (; i + 16 <= dw; i += 16) {
        __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s0 + i));
        __m128i lo = _mm_unpacklo_epi8(a, zero), hi = _mm_unpackhi_epi8(a, zero);
        if (s1) {
            __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s1 + i));
            lo = _mm_add_epi16(_mm_add_epi16(lo, _mm_add_epi16(lo, lo)), _mm_unpacklo_epi8(b, zero));
            hi = _mm_add_epi16(_mm_add_epi16(hi, _mm_add_epi16(hi, hi)), _mm_unpackhi_epi8(b, zero));
        }
        _mm_storeu_si128(reinterpret_cast<__m128i*>(c + i), lo);
        _mm_storeu_si128(reinterpret_cast<__m128i*>(c + i + 8), hi);
    }
    for (; i < dw; ++i) c[i] = std::int16_t(s1 ? s0[i] * 3 + s1[i] : s0[i]);
}

// `scratch`: at least dw + 2 int16 values.
inline void jpeg_h2v1_fancy(const std::uint8_t* s, int dw, std::uint8_t* d, std::int16_t* scratch) {
    std::int16_t* c = scratch + 1;
    jpeg_column_sums(s, nullptr, dw, c);
    c[-1] = c[0];
    c[dw] = c[dw - 1];
    jpeg_fancy_h2_sse2(c, dw, 1, 2, 2, d);
}
inline void jpeg_h2v2_fancy(const std::uint8_t* s0, const std::uint8_t* s1, int dw, std::uint8_t* d, std::int16_t* scratch) {
    std::int16_t* c = scratch + 1;
    jpeg_column_sums(s0, s1, dw, c);
    c[-1] = c[0];
    c[dw] = c[dw - 1];
    jpeg_fancy_h2_sse2(c, dw, 8, 7, 4, d);
}
#else
inline void jpeg_ycc_rgb(const std::uint8_t* y, const std::uint8_t* cb, const std::uint8_t* cr, std::uint8_t* rgb,
                         std::size_t n) {
    jpeg_ycc_rgb_scalar(y, cb, cr, rgb, n);
}
inline void jpeg_h2v1_fancy(const std::uint8_t* s, int dw, std::uint8_t* d, std::int16_t*) {
    jpeg_h2v1_fancy_scalar(s, dw, d);
}
inline void jpeg_h2v2_fancy(const std::uint8_t* s0, const std::uint8_t* s1, int dw, std::uint8_t* d, std::int16_t*) {
    jpeg_h2v2_fancy_scalar(s0, s1, dw, d);
}
#endif

}  // namespace detail
}  // namespace smolvlm
