// smolvlm/kernels/resample.hpp — the two 1-D passes of a separable uint8 resize.
//
// Pillow's Resample.c (and torch's uint8 antialiased kernel, which shares its arithmetic)
// resample a uint8 image with two 1-D passes, each output byte
//
//   clip8((2^(precision-1) + sum_t in[first + t] * k[t]) >> precision)     int32 arithmetic
//
// pipeline/resample.hpp computes the weights (resample_coeffs) and the pass order; this
// file holds the passes: scalar::resample_h / resample_v are the reference, the AVX2 twins
// (x86_avx2.hpp) do the same integer arithmetic and are tested equal.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace smolvlm::kernels {

// Pillow's fixed-point precision (32 - 8 - 2 bits); torch's is chosen per resize, below it.
inline constexpr int k_resample_max_precision = 22;

// Fixed-point weights of one 1-D resampling: output i reads input
// [first[i], first[i] + count[i]) with weights k[i * ksize + t].
struct resample_coeffs {
    int ksize = 0;
    int precision = k_resample_max_precision;  // fixed-point bits of k
    std::vector<int> first;                    // [out]
    std::vector<int> count;                    // [out]
    std::vector<std::int32_t> k;               // [out, ksize], zero past count[i]
};

// Horizontal pass over one row: dst[xx * C + c] from src (in_w pixels of C interleaved channels).
using resample_h_fn = void (*)(int channels, const std::uint8_t* src, int in_w, std::uint8_t* dst, int out_w,
                               const resample_coeffs& rc);
// Vertical pass for one output row of n bytes: dst[i] from rows src, src + stride, ...
// (count rows, weights k, fixed-point `precision`).
using resample_v_fn = void (*)(const std::uint8_t* src, std::size_t stride, std::uint8_t* dst, std::size_t n,
                               const std::int32_t* k, int count, int precision);

// (acc >> precision) clamped to [0, 255] (arithmetic shift): Pillow's clip8.
inline std::uint8_t resample_clip8(std::int32_t acc, int precision) {
    std::int32_t v = acc >> precision;
    return std::uint8_t(v < 0 ? 0 : v > 255 ? 255 : v);
}

namespace scalar {


// One output row: dst[xx*C + c] from src row (C interleaved channels).
template <int C>
inline void resample_row_h(const std::uint8_t* src, std::uint8_t* dst, int out_w, const resample_coeffs& rc) {
    for (int xx = 0; xx < out_w; ++xx) {
        const std::int32_t* k = &rc.k[std::size_t(xx) * std::size_t(rc.ksize)];
        const std::uint8_t* p = src + std::size_t(rc.first[std::size_t(xx)]) * C;
        const int n = rc.count[std::size_t(xx)];
        std::int32_t acc[C];
        for (int c = 0; c < C; ++c) acc[c] = 1 << (rc.precision - 1);
        for (int t = 0; t < n; ++t)
            for (int c = 0; c < C; ++c) acc[c] += std::int32_t(p[t * C + c]) * k[t];
        for (int c = 0; c < C; ++c) dst[std::size_t(xx) * C + c] = resample_clip8(acc[c], rc.precision);
    }
}

inline void resample_row_h_any(int channels, const std::uint8_t* src, std::uint8_t* dst, int out_w,
                                      const resample_coeffs& rc) {
    switch (channels) {
        case 1: resample_row_h<1>(src, dst, out_w, rc); break;
        case 2: resample_row_h<2>(src, dst, out_w, rc); break;
        case 3: resample_row_h<3>(src, dst, out_w, rc); break;
        default: resample_row_h<4>(src, dst, out_w, rc); break;
    }
}

inline void resample_h(int channels, const std::uint8_t* src, int in_w, std::uint8_t* dst, int out_w,
                       const resample_coeffs& rc) {
    (void)in_w;
    resample_row_h_any(channels, src, dst, out_w, rc);
}


// One output row of n bytes: dst[i] = clip8(half + sum_t rows[first + t][i] * k[t]).
inline void resample_v(const std::uint8_t* src, std::size_t stride, std::uint8_t* dst, std::size_t n,
                                  const std::int32_t* k, int count, int precision) {
    constexpr std::size_t chunk = 512;
    std::int32_t acc[chunk];
    for (std::size_t x0 = 0; x0 < n; x0 += chunk) {
        const std::size_t m = n - x0 < chunk ? n - x0 : chunk;
        for (std::size_t i = 0; i < m; ++i) acc[i] = 1 << (precision - 1);
        for (int t = 0; t < count; ++t) {
            const std::uint8_t* row = src + std::size_t(t) * stride + x0;
            const std::int32_t kt = k[t];
            for (std::size_t i = 0; i < m; ++i) acc[i] += std::int32_t(row[i]) * kt;
        }
        for (std::size_t i = 0; i < m; ++i) dst[x0 + i] = resample_clip8(acc[i], precision);
    }
}

}  // namespace scalar
}  // namespace smolvlm::kernels
