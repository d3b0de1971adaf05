// smolvlm/io/jpeg_idct.hpp — the JPEG inverse DCT that Pillow's libjpeg-turbo computes.
//
//   void detail::jpeg_idct_islow(const int16_t* coef, const int16_t* qt, uint8_t* out, size_t stride);
//   void detail::jpeg_idct_islow_scalar(...);   // the reference; the SSE2 version must equal it
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

// ---------------------------------------------------------------------------------------
// Inverse DCT
// ---------------------------------------------------------------------------------------
//
// libjpeg's ISLOW algorithm (jidctint.c: Loeffler-Ligtenberg-Moschytz with 13-bit constants,
// 2 extra bits between the passes) computed the way libjpeg-turbo's SSE2 / AVX2 code does it,
// which is what Pillow runs on x86-64: coefficients are dequantized in 16 bits (wrapping),
// in0 +- in4 and the odd-part sums in7+in3, in5+in1 wrap in 16 bits, each pass saturates its
// outputs to 16 bits, and the samples saturate to 0..255. When the block has no AC
// coefficient outside row 0, pass 1 is the 16-bit shift (dequantized row 0) << 2. For
// coefficients of any real image none of this wraps or saturates and the result equals the
// C code; the emulation matters for corrupt files.
struct jpeg_idct_k {
    // Constant pairs of the pmaddwd formulation (FIX(x) = round(x * 8192)).
    static constexpr std::int32_t f130 = 4433 + 6270;      // 0.541196100 + 0.765366865
    static constexpr std::int32_t f054 = 4433;             // 0.541196100
    static constexpr std::int32_t mf130 = 4433 - 15137;    // 0.541196100 - 1.847759065
    static constexpr std::int32_t mf078 = 9633 - 16069;    // 1.175875602 - 1.961570560
    static constexpr std::int32_t f117 = 9633;             // 1.175875602
    static constexpr std::int32_t f078 = 9633 - 3196;      // 1.175875602 - 0.390180644
    static constexpr std::int32_t mf060 = 2446 - 7373;     // 0.298631336 - 0.899976223
    static constexpr std::int32_t mf089 = -7373;           // -0.899976223
    static constexpr std::int32_t mf050 = 16819 - 20995;   // 2.053119869 - 2.562915447
    static constexpr std::int32_t mf256 = -20995;          // -2.562915447
    static constexpr std::int32_t f060 = 12299 - 7373;     // 1.501321110 - 0.899976223
    static constexpr std::int32_t f050 = 25172 - 20995;    // 3.072711026 - 2.562915447
};

inline std::int16_t jpeg_sat16(std::int32_t v) { return std::int16_t(v < -32768 ? -32768 : (v > 32767 ? 32767 : v)); }
inline std::int16_t jpeg_wrap16(std::int32_t v) { return std::int16_t(std::uint16_t(std::uint32_t(v))); }

// One 8-point pass on 16-bit inputs; results descaled by `shift` and saturated to 16 bits.
inline void jpeg_idct_pass(const std::int16_t* x, std::ptrdiff_t step, std::int16_t* o, std::ptrdiff_t ostep, int shift) {
    using K = jpeg_idct_k;
    auto m = [](std::int32_t a, std::int32_t b) { return std::uint32_t(a * b); };  // no overflow: |a|<2^15, |b|<2^15
    const std::int32_t x0 = x[0], x1 = x[step], x2 = x[2 * step], x3 = x[3 * step], x4 = x[4 * step],
                       x5 = x[5 * step], x6 = x[6 * step], x7 = x[7 * step];
    const std::uint32_t tmp3 = m(x2, K::f130) + m(x6, K::f054);
    const std::uint32_t tmp2 = m(x2, K::f054) + m(x6, K::mf130);
    const std::uint32_t tmp0 = std::uint32_t(std::int32_t(jpeg_wrap16(x0 + x4))) << 13;
    const std::uint32_t tmp1 = std::uint32_t(std::int32_t(jpeg_wrap16(x0 - x4))) << 13;
    const std::uint32_t tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3, tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;
    const std::int32_t z3 = jpeg_wrap16(x7 + x3), z4 = jpeg_wrap16(x5 + x1);
    const std::uint32_t z3p = m(z3, K::mf078) + m(z4, K::f117);
    const std::uint32_t z4p = m(z3, K::f117) + m(z4, K::f078);
    const std::uint32_t t0 = m(x7, K::mf060) + m(x1, K::mf089) + z3p;
    const std::uint32_t t1 = m(x5, K::mf050) + m(x3, K::mf256) + z4p;
    const std::uint32_t t3 = m(x7, K::mf089) + m(x1, K::f060) + z4p;
    const std::uint32_t t2 = m(x5, K::mf256) + m(x3, K::f050) + z3p;
    const std::uint32_t r = std::uint32_t(1) << (shift - 1);
    auto d = [&](std::uint32_t v) { return jpeg_sat16(std::int32_t(v + r) >> shift); };
    o[0] = d(tmp10 + t3);
    o[7 * ostep] = d(tmp10 - t3);
    o[1 * ostep] = d(tmp11 + t2);
    o[6 * ostep] = d(tmp11 - t2);
    o[2 * ostep] = d(tmp12 + t1);
    o[5 * ostep] = d(tmp12 - t1);
    o[3 * ostep] = d(tmp13 + t0);
    o[4 * ostep] = d(tmp13 - t0);
}

// coef: [64] natural order; qt: [64] quantization values as int16 (libjpeg's ISLOW table);
// out: 8 rows of 8 samples, `stride` bytes apart.
inline void jpeg_idct_islow_scalar(const std::int16_t* coef, const std::int16_t* qt, std::uint8_t* out,
                                   std::size_t stride) {
    std::int16_t ws[64];
    bool ac_rows_zero = true;
    for (int i = 8; i < 64; ++i)
        if (coef[i]) {
            ac_rows_zero = false;
            break;
        }
    if (ac_rows_zero) {
        for (int c = 0; c < 8; ++c) {
            std::int16_t v = jpeg_wrap16(std::int32_t(jpeg_wrap16(std::int32_t(coef[c]) * qt[c])) * 4);
            for (int r = 0; r < 8; ++r) ws[r * 8 + c] = v;
        }
    } else {
        std::int16_t in[64];
        for (int i = 0; i < 64; ++i) in[i] = jpeg_wrap16(std::int32_t(coef[i]) * qt[i]);
        for (int c = 0; c < 8; ++c) jpeg_idct_pass(in + c, 8, ws + c, 8, 11);
    }
    for (int r = 0; r < 8; ++r) {
        std::int16_t row[8];
        jpeg_idct_pass(ws + r * 8, 1, row, 1, 18);
        std::uint8_t* o = out + std::size_t(r) * stride;
        for (int c = 0; c < 8; ++c) {
            int v = row[c];
            o[c] = std::uint8_t((v < -128 ? -128 : (v > 127 ? 127 : v)) + 128);
        }
    }
}

// A block whose AC coefficients are all zero: the passes above reduce to one value,
// (x0 * 8192 + 2^17) >> 18 with x0 = (dc * q0) << 2 in 16 bits, for all 64 samples.
inline void jpeg_idct_dc_only(std::int16_t dc, std::int16_t q0, std::uint8_t* out, std::size_t stride) {
    const std::int32_t x0 = jpeg_wrap16(std::int32_t(jpeg_wrap16(std::int32_t(dc) * q0)) * 4);
    const int v = (x0 * 8192 + 131072) >> 18;  // |v| <= 1024: no 16-bit saturation
    const std::uint8_t px = std::uint8_t((v < -128 ? -128 : (v > 127 ? 127 : v)) + 128);
    for (int r = 0; r < 8; ++r) std::memset(out + std::size_t(r) * stride, px, 8);
}

#if SMOLVLM_SIMD_X86
// The same computation with SSE2 (8 columns / rows at a time): bit-identical to the scalar
// version above, which is the reference (tests/io/jpeg_test.cpp compares the two).
struct jpeg_idct_sse2 {
    static __m128i pair(std::int32_t a, std::int32_t b) {
        return _mm_set_epi16(std::int16_t(b), std::int16_t(a), std::int16_t(b), std::int16_t(a), std::int16_t(b),
                             std::int16_t(a), std::int16_t(b), std::int16_t(a));
    }
    // v[0..7]: the 8 inputs, one per register, 8 lanes each. Results replace v[].
    static void pass(__m128i v[8], int shift) {
        using K = jpeg_idct_k;
        const __m128i r = _mm_set1_epi32(1 << (shift - 1));
        // Even part.
        __m128i lo26 = _mm_unpacklo_epi16(v[2], v[6]), hi26 = _mm_unpackhi_epi16(v[2], v[6]);
        __m128i tmp3l = _mm_madd_epi16(lo26, pair(K::f130, K::f054)), tmp3h = _mm_madd_epi16(hi26, pair(K::f130, K::f054));
        __m128i tmp2l = _mm_madd_epi16(lo26, pair(K::f054, K::mf130)), tmp2h = _mm_madd_epi16(hi26, pair(K::f054, K::mf130));
        __m128i s04 = _mm_add_epi16(v[0], v[4]), d04 = _mm_sub_epi16(v[0], v[4]);
        __m128i tmp0l = _mm_srai_epi32(_mm_unpacklo_epi16(_mm_setzero_si128(), s04), 3);
        __m128i tmp0h = _mm_srai_epi32(_mm_unpackhi_epi16(_mm_setzero_si128(), s04), 3);
        __m128i tmp1l = _mm_srai_epi32(_mm_unpacklo_epi16(_mm_setzero_si128(), d04), 3);
        __m128i tmp1h = _mm_srai_epi32(_mm_unpackhi_epi16(_mm_setzero_si128(), d04), 3);
        __m128i tmp10l = _mm_add_epi32(tmp0l, tmp3l), tmp10h = _mm_add_epi32(tmp0h, tmp3h);
        __m128i tmp13l = _mm_sub_epi32(tmp0l, tmp3l), tmp13h = _mm_sub_epi32(tmp0h, tmp3h);
        __m128i tmp11l = _mm_add_epi32(tmp1l, tmp2l), tmp11h = _mm_add_epi32(tmp1h, tmp2h);
        __m128i tmp12l = _mm_sub_epi32(tmp1l, tmp2l), tmp12h = _mm_sub_epi32(tmp1h, tmp2h);
        // Odd part.
        __m128i z3 = _mm_add_epi16(v[7], v[3]), z4 = _mm_add_epi16(v[5], v[1]);
        __m128i lo34 = _mm_unpacklo_epi16(z3, z4), hi34 = _mm_unpackhi_epi16(z3, z4);
        __m128i z3l = _mm_madd_epi16(lo34, pair(K::mf078, K::f117)), z3h = _mm_madd_epi16(hi34, pair(K::mf078, K::f117));
        __m128i z4l = _mm_madd_epi16(lo34, pair(K::f117, K::f078)), z4h = _mm_madd_epi16(hi34, pair(K::f117, K::f078));
        __m128i lo71 = _mm_unpacklo_epi16(v[7], v[1]), hi71 = _mm_unpackhi_epi16(v[7], v[1]);
        __m128i lo53 = _mm_unpacklo_epi16(v[5], v[3]), hi53 = _mm_unpackhi_epi16(v[5], v[3]);
        __m128i t0l = _mm_add_epi32(_mm_madd_epi16(lo71, pair(K::mf060, K::mf089)), z3l);
        __m128i t0h = _mm_add_epi32(_mm_madd_epi16(hi71, pair(K::mf060, K::mf089)), z3h);
        __m128i t3l = _mm_add_epi32(_mm_madd_epi16(lo71, pair(K::mf089, K::f060)), z4l);
        __m128i t3h = _mm_add_epi32(_mm_madd_epi16(hi71, pair(K::mf089, K::f060)), z4h);
        __m128i t1l = _mm_add_epi32(_mm_madd_epi16(lo53, pair(K::mf050, K::mf256)), z4l);
        __m128i t1h = _mm_add_epi32(_mm_madd_epi16(hi53, pair(K::mf050, K::mf256)), z4h);
        __m128i t2l = _mm_add_epi32(_mm_madd_epi16(lo53, pair(K::mf256, K::f050)), z3l);
        __m128i t2h = _mm_add_epi32(_mm_madd_epi16(hi53, pair(K::mf256, K::f050)), z3h);
        auto out = [&](__m128i l, __m128i h) {
            return _mm_packs_epi32(_mm_srai_epi32(_mm_add_epi32(l, r), shift), _mm_srai_epi32(_mm_add_epi32(h, r), shift));
        };
        v[0] = out(_mm_add_epi32(tmp10l, t3l), _mm_add_epi32(tmp10h, t3h));
        v[7] = out(_mm_sub_epi32(tmp10l, t3l), _mm_sub_epi32(tmp10h, t3h));
        v[1] = out(_mm_add_epi32(tmp11l, t2l), _mm_add_epi32(tmp11h, t2h));
        v[6] = out(_mm_sub_epi32(tmp11l, t2l), _mm_sub_epi32(tmp11h, t2h));
        v[2] = out(_mm_add_epi32(tmp12l, t1l), _mm_add_epi32(tmp12h, t1h));
        v[5] = out(_mm_sub_epi32(tmp12l, t1l), _mm_sub_epi32(tmp12h, t1h));
        v[3] = out(_mm_add_epi32(tmp13l, t0l), _mm_add_epi32(tmp13h, t0h));
        v[4] = out(_mm_sub_epi32(tmp13l, t0l), _mm_sub_epi32(tmp13h, t0h));
    }
    static void transpose(__m128i v[8]) {
        __m128i a0 = _mm_unpacklo_epi16(v[0], v[1]), a1 = _mm_unpackhi_epi16(v[0], v[1]);
        __m128i a2 = _mm_unpacklo_epi16(v[2], v[3]), a3 = _mm_unpackhi_epi16(v[2], v[3]);
        __m128i a4 = _mm_unpacklo_epi16(v[4], v[5]), a5 = _mm_unpackhi_epi16(v[4], v[5]);
        __m128i a6 = _mm_unpacklo_epi16(v[6], v[7]), a7 = _mm_unpackhi_epi16(v[6], v[7]);
        __m128i b0 = _mm_unpacklo_epi32(a0, a2), b1 = _mm_unpackhi_epi32(a0, a2);
        __m128i b2 = _mm_unpacklo_epi32(a1, a3), b3 = _mm_unpackhi_epi32(a1, a3);
        __m128i b4 = _mm_unpacklo_epi32(a4, a6), b5 = _mm_unpackhi_epi32(a4, a6);
        __m128i b6 = _mm_unpacklo_epi32(a5, a7), b7 = _mm_unpackhi_epi32(a5, a7);
        v[0] = _mm_unpacklo_epi64(b0, b4), v[1] = _mm_unpackhi_epi64(b0, b4);
        v[2] = _mm_unpacklo_epi64(b1, b5), v[3] = _mm_unpackhi_epi64(b1, b5);
        v[4] = _mm_unpacklo_epi64(b2, b6), v[5] = _mm_unpackhi_epi64(b2, b6);
        v[6] = _mm_unpacklo_epi64(b3, b7), v[7] = _mm_unpackhi_epi64(b3, b7);
    }
};

// libjpeg-turbo's arithmetic on two blocks at once, one per 128-bit lane: AVX2 instructions
// are lane-wise, so each lane computes exactly what jpeg_idct_sse2 computes (tested).
struct jpeg_idct_avx2 {
    SMOLVLM_TARGET("avx2") static __m256i pair(std::int32_t a, std::int32_t b) {
        return _mm256_set1_epi32(std::int32_t(std::uint32_t(std::uint16_t(a)) | std::uint32_t(std::uint16_t(b)) << 16));
    }
    // v[0..7]: the 8 inputs, one per register, 8 lanes each. Results replace v[].
    SMOLVLM_TARGET("avx2") static void pass(__m256i v[8], int shift) {
        using K = jpeg_idct_k;
        const __m256i r = _mm256_set1_epi32(1 << (shift - 1));
        // Even part.
        __m256i lo26 = _mm256_unpacklo_epi16(v[2], v[6]), hi26 = _mm256_unpackhi_epi16(v[2], v[6]);
        __m256i tmp3l = _mm256_madd_epi16(lo26, pair(K::f130, K::f054)), tmp3h = _mm256_madd_epi16(hi26, pair(K::f130, K::f054));
        __m256i tmp2l = _mm256_madd_epi16(lo26, pair(K::f054, K::mf130)), tmp2h = _mm256_madd_epi16(hi26, pair(K::f054, K::mf130));
        __m256i s04 = _mm256_add_epi16(v[0], v[4]), d04 = _mm256_sub_epi16(v[0], v[4]);
        __m256i tmp0l = _mm256_srai_epi32(_mm256_unpacklo_epi16(_mm256_setzero_si256(), s04), 3);
        __m256i tmp0h = _mm256_srai_epi32(_mm256_unpackhi_epi16(_mm256_setzero_si256(), s04), 3);
        __m256i tmp1l = _mm256_srai_epi32(_mm256_unpacklo_epi16(_mm256_setzero_si256(), d04), 3);
        __m256i tmp1h = _mm256_srai_epi32(_mm256_unpackhi_epi16(_mm256_setzero_si256(), d04), 3);
        __m256i tmp10l = _mm256_add_epi32(tmp0l, tmp3l), tmp10h = _mm256_add_epi32(tmp0h, tmp3h);
        __m256i tmp13l = _mm256_sub_epi32(tmp0l, tmp3l), tmp13h = _mm256_sub_epi32(tmp0h, tmp3h);
        __m256i tmp11l = _mm256_add_epi32(tmp1l, tmp2l), tmp11h = _mm256_add_epi32(tmp1h, tmp2h);
        __m256i tmp12l = _mm256_sub_epi32(tmp1l, tmp2l), tmp12h = _mm256_sub_epi32(tmp1h, tmp2h);
        // Odd part.
        __m256i z3 = _mm256_add_epi16(v[7], v[3]), z4 = _mm256_add_epi16(v[5], v[1]);
        __m256i lo34 = _mm256_unpacklo_epi16(z3, z4), hi34 = _mm256_unpackhi_epi16(z3, z4);
        __m256i z3l = _mm256_madd_epi16(lo34, pair(K::mf078, K::f117)), z3h = _mm256_madd_epi16(hi34, pair(K::mf078, K::f117));
        __m256i z4l = _mm256_madd_epi16(lo34, pair(K::f117, K::f078)), z4h = _mm256_madd_epi16(hi34, pair(K::f117, K::f078));
        __m256i lo71 = _mm256_unpacklo_epi16(v[7], v[1]), hi71 = _mm256_unpackhi_epi16(v[7], v[1]);
        __m256i lo53 = _mm256_unpacklo_epi16(v[5], v[3]), hi53 = _mm256_unpackhi_epi16(v[5], v[3]);
        __m256i t0l = _mm256_add_epi32(_mm256_madd_epi16(lo71, pair(K::mf060, K::mf089)), z3l);
        __m256i t0h = _mm256_add_epi32(_mm256_madd_epi16(hi71, pair(K::mf060, K::mf089)), z3h);
        __m256i t3l = _mm256_add_epi32(_mm256_madd_epi16(lo71, pair(K::mf089, K::f060)), z4l);
        __m256i t3h = _mm256_add_epi32(_mm256_madd_epi16(hi71, pair(K::mf089, K::f060)), z4h);
        __m256i t1l = _mm256_add_epi32(_mm256_madd_epi16(lo53, pair(K::mf050, K::mf256)), z4l);
        __m256i t1h = _mm256_add_epi32(_mm256_madd_epi16(hi53, pair(K::mf050, K::mf256)), z4h);
        __m256i t2l = _mm256_add_epi32(_mm256_madd_epi16(lo53, pair(K::mf256, K::f050)), z3l);
        __m256i t2h = _mm256_add_epi32(_mm256_madd_epi16(hi53, pair(K::mf256, K::f050)), z3h);
        const __m128i sh = _mm_cvtsi32_si128(shift);
        v[0] = descale(_mm256_add_epi32(tmp10l, t3l), _mm256_add_epi32(tmp10h, t3h), r, sh);
        v[7] = descale(_mm256_sub_epi32(tmp10l, t3l), _mm256_sub_epi32(tmp10h, t3h), r, sh);
        v[1] = descale(_mm256_add_epi32(tmp11l, t2l), _mm256_add_epi32(tmp11h, t2h), r, sh);
        v[6] = descale(_mm256_sub_epi32(tmp11l, t2l), _mm256_sub_epi32(tmp11h, t2h), r, sh);
        v[2] = descale(_mm256_add_epi32(tmp12l, t1l), _mm256_add_epi32(tmp12h, t1h), r, sh);
        v[5] = descale(_mm256_sub_epi32(tmp12l, t1l), _mm256_sub_epi32(tmp12h, t1h), r, sh);
        v[3] = descale(_mm256_add_epi32(tmp13l, t0l), _mm256_add_epi32(tmp13h, t0h), r, sh);
        v[4] = descale(_mm256_sub_epi32(tmp13l, t0l), _mm256_sub_epi32(tmp13h, t0h), r, sh);
    }
    SMOLVLM_TARGET("avx2") static __m256i descale(__m256i l, __m256i h, __m256i r, __m128i sh) {
        return _mm256_packs_epi32(_mm256_sra_epi32(_mm256_add_epi32(l, r), sh), _mm256_sra_epi32(_mm256_add_epi32(h, r), sh));
    }
    SMOLVLM_TARGET("avx2") static void transpose(__m256i v[8]) {
        __m256i a0 = _mm256_unpacklo_epi16(v[0], v[1]), a1 = _mm256_unpackhi_epi16(v[0], v[1]);
        __m256i a2 = _mm256_unpacklo_epi16(v[2], v[3]), a3 = _mm256_unpackhi_epi16(v[2], v[3]);
        __m256i a4 = _mm256_unpacklo_epi16(v[4], v[5]), a5 = _mm256_unpackhi_epi16(v[4], v[5]);
        __m256i a6 = _mm256_unpacklo_epi16(v[6], v[7]), a7 = _mm256_unpackhi_epi16(v[6], v[7]);
        __m256i b0 = _mm256_unpacklo_epi32(a0, a2), b1 = _mm256_unpackhi_epi32(a0, a2);
        __m256i b2 = _mm256_unpacklo_epi32(a1, a3), b3 = _mm256_unpackhi_epi32(a1, a3);
        __m256i b4 = _mm256_unpacklo_epi32(a4, a6), b5 = _mm256_unpackhi_epi32(a4, a6);
        __m256i b6 = _mm256_unpacklo_epi32(a5, a7), b7 = _mm256_unpackhi_epi32(a5, a7);
        v[0] = _mm256_unpacklo_epi64(b0, b4), v[1] = _mm256_unpackhi_epi64(b0, b4);
        v[2] = _mm256_unpacklo_epi64(b1, b5), v[3] = _mm256_unpackhi_epi64(b1, b5);
        v[4] = _mm256_unpacklo_epi64(b2, b6), v[5] = _mm256_unpackhi_epi64(b2, b6);
        v[6] = _mm256_unpacklo_epi64(b3, b7), v[7] = _mm256_unpackhi_epi64(b3, b7);
    }
};

SMOLVLM_TARGET("avx2") inline void jpeg_idct_islow_x2_avx2(const std::int16_t* a, const std::int16_t* b,
                                                            const std::int16_t* qt, std::uint8_t* out_a,
                                                            std::uint8_t* out_b, std::size_t stride) {
    __m256i v[8];
    const __m128i z = _mm_setzero_si128();
    __m128i any_a = z, any_b = z;
    for (int i = 1; i < 8; ++i) {
        any_a = _mm_or_si128(any_a, _mm_loadu_si128(reinterpret_cast<const __m128i*>(a + 8 * i)));
        any_b = _mm_or_si128(any_b, _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 8 * i)));
    }
    for (int i = 0; i < 8; ++i) {
        const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qt + 8 * i));
        const __m256i q2 = _mm256_inserti128_si256(_mm256_castsi128_si256(q), q, 1);
        const __m256i c = _mm256_inserti128_si256(
            _mm256_castsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + 8 * i))),
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 8 * i)), 1);
        v[i] = _mm256_mullo_epi16(c, q2);
    }
    const bool dc_a = _mm_movemask_epi8(_mm_cmpeq_epi8(any_a, z)) == 0xFFFF;
    const bool dc_b = _mm_movemask_epi8(_mm_cmpeq_epi8(any_b, z)) == 0xFFFF;
    const __m256i row0 = _mm256_slli_epi16(v[0], 2);  // the shortcut's pass 1 (rows 1..7 all zero)
    jpeg_idct_avx2::pass(v, 11);
    if (dc_a) for (int i = 0; i < 8; ++i) v[i] = _mm256_blend_epi32(v[i], row0, 0x0F);
    if (dc_b) for (int i = 0; i < 8; ++i) v[i] = _mm256_blend_epi32(v[i], row0, 0xF0);
    jpeg_idct_avx2::transpose(v);
    jpeg_idct_avx2::pass(v, 18);
    jpeg_idct_avx2::transpose(v);
    const __m256i c128 = _mm256_set1_epi8(-128);
    for (int r = 0; r < 8; r += 2) {
        const __m256i p = _mm256_add_epi8(_mm256_packs_epi16(v[r], v[r + 1]), c128);
        const __m128i pa = _mm256_castsi256_si128(p), pb = _mm256_extracti128_si256(p, 1);
        _mm_storel_epi64(reinterpret_cast<__m128i*>(out_a + std::size_t(r) * stride), pa);
        _mm_storel_epi64(reinterpret_cast<__m128i*>(out_a + std::size_t(r + 1) * stride), _mm_srli_si128(pa, 8));
        _mm_storel_epi64(reinterpret_cast<__m128i*>(out_b + std::size_t(r) * stride), pb);
        _mm_storel_epi64(reinterpret_cast<__m128i*>(out_b + std::size_t(r + 1) * stride), _mm_srli_si128(pb, 8));
    }
}

inline void jpeg_idct_islow(const std::int16_t* coef, const std::int16_t* qt, std::uint8_t* out, std::size_t stride) {
    __m128i v[8];
    __m128i any = _mm_setzero_si128();
    for (int i = 1; i < 8; ++i) any = _mm_or_si128(any, _mm_loadu_si128(reinterpret_cast<const __m128i*>(coef + 8 * i)));
    if (_mm_movemask_epi8(_mm_cmpeq_epi8(any, _mm_setzero_si128())) == 0xFFFF) {
        __m128i d = _mm_slli_epi16(_mm_mullo_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(coef)),
                                                   _mm_loadu_si128(reinterpret_cast<const __m128i*>(qt))),
                                   2);
        for (int i = 0; i < 8; ++i) v[i] = d;  // rows of the column-pass output, all equal
    } else {
        for (int i = 0; i < 8; ++i)
            v[i] = _mm_mullo_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(coef + 8 * i)),
                                   _mm_loadu_si128(reinterpret_cast<const __m128i*>(qt + 8 * i)));
        jpeg_idct_sse2::pass(v, 11);  // columns: v[k] = row k of the result
    }
    jpeg_idct_sse2::transpose(v);     // v[k] = column k
    jpeg_idct_sse2::pass(v, 18);      // rows: v[k] = column k of the output
    jpeg_idct_sse2::transpose(v);     // v[k] = output row k
    const __m128i c128 = _mm_set1_epi8(-128);
    for (int r = 0; r < 8; r += 2) {
        __m128i b = _mm_add_epi8(_mm_packs_epi16(v[r], v[r + 1]), c128);
        _mm_storel_epi64(reinterpret_cast<__m128i*>(out + std::size_t(r) * stride), b);
        _mm_storel_epi64(reinterpret_cast<__m128i*>(out + std::size_t(r + 1) * stride), _mm_srli_si128(b, 8));
    }
}
#else
inline void jpeg_idct_islow(const std::int16_t* coef, const std::int16_t* qt, std::uint8_t* out, std::size_t stride) {
    jpeg_idct_islow_scalar(coef, qt, out, stride);
}
#endif

}  // namespace detail
}  // namespace smolvlm
