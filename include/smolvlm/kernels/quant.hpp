// smolvlm/kernels/quant.hpp — int8 and int4 weight formats, and activation quantization.
//
// Weights are cut into groups of 32 consecutive input features (one row, 32 columns)
// and each group gets its own 16-bit float (f16) scale. Two element widths:
//
//   q8: 32 x int8  + f16 scale  = 34 bytes / 32 weights = 8.5 bits per weight
//   q4: 32 x 4-bit + f16 scale  = 18 bytes / 32 weights = 4.5 bits per weight
//
// The q4 variant is symmetric (value = d * (q - 8), q in 0..15, like llama.cpp Q4_0) but
// the scale is *searched*: Q4_0 fixes d = max / -8 (max = the element of largest
// magnitude); we also try nearby divisors and a least-squares refit of d for the chosen
// codes, and keep the d with the least squared error. Same storage and kernels as Q4_0,
// lower error. tests/kernels/quant_test.cpp measures the three candidates on Gaussian
// weights (RMSE / RMS of the weights, 4096 groups):
//   Q4_0 rule 0.0858, searched symmetric (this, 4.5 bits) 0.0809, asymmetric d,min
//   (llama.cpp Q4_1-like, 5.0 bits) 0.0783
// The asymmetric "d*q + min" variant is 3% better but costs 11% more bytes (and decode
// speed is bytes), so the searched symmetric form wins.
//
// The block structs below are the canonical row-major format (what quantize_row_* and
// dequantize_row_* read and write). The matmul kernels read a *panel* layout made from
// them at load time (repack_* below, and kernels/pack.hpp): 16 rows interleaved so one
// 64-byte vector holds 4 consecutive columns of 16 rows — the operand shape of the
// int8 dot-product instructions (vpdpbusd, sdot).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "../core/dtype.hpp"

namespace smolvlm::kernels {

inline constexpr int k_group = 32;  // weights per scale
inline constexpr int k_panel = 16;  // rows interleaved in the panel layout

namespace detail {

// Helpers that compile to single instructions on every target. std::fmax / std::fmin /
// std::nearbyint become library calls on baseline x86-64 (NaN rules, no SSE4.1 round),
// which made loading a q4 model take minutes. Results are identical for the finite
// inputs quantization sees; a NaN in b is ignored, as std::fmax / std::fmin do.
inline float max_f(float a, float b) { return b > a ? b : a; }
inline float min_f(float a, float b) { return b < a ? b : a; }
inline float abs_f(float a) { return a < 0.0f ? -a : a; }
// Round half to even, as nearbyint in the default rounding mode (integer steps only, so
// -ffast-math cannot change it). Inputs are clamped to +-2^22 first (NaN -> -2^22): the
// callers clamp the result to far less, and int(x) never overflows.
inline float round_even(float x) {
    constexpr float lim = 4194304.0f;
    x = x > -lim ? x : -lim;
    x = x < lim ? x : lim;
    int i = int(x);                   // toward zero
    const float f = x - float(i);     // exact: |x| < 2^23 or already integral
    if (f > 0.5f || (f == 0.5f && (i & 1))) ++i;
    else if (f < -0.5f || (f == -0.5f && (i & 1))) --i;
    return float(i);
}

}  // namespace detail

// q8 block: d = f16 scale, value[i] = d * qs[i], qs in [-127, 127].
struct block_q8 {
    std::uint16_t d;        // f16
    std::int8_t qs[k_group];
};
static_assert(sizeof(block_q8) == 34, "block_q8 must be 2 + 32 bytes");

// q4 block: d = f16 scale, value[i] = d * (q[i] - 8), q in 0..15.
// qs[j] holds element j in its low nibble and element j + 16 in its high nibble.
struct block_q4 {
    std::uint16_t d;        // f16
    std::uint8_t qs[k_group / 2];
};
static_assert(sizeof(block_q4) == 18, "block_q4 must be 2 + 16 bytes");

// ---- weight quantization (scalar; done once at load) ------------------------------

// x: [k] -> y: [k/32]; k must be a multiple of 32.
inline void quantize_row_q8(const float* x, block_q8* y, std::int64_t k) {
    for (std::int64_t b = 0; b < k / k_group; ++b) {
        const float* g = x + b * k_group;
        float amax = 0.0f;
        for (int i = 0; i < k_group; ++i) amax = detail::max_f(amax, detail::abs_f(g[i]));
        const std::uint16_t dh = f32_to_f16(amax / 127.0f);
        const float d = f16_to_f32(dh);
        const float id = d > 0.0f ? 1.0f / d : 0.0f;
        y[b].d = dh;
        for (int i = 0; i < k_group; ++i) {
            float q = detail::round_even(g[i] * id);
            q = detail::min_f(127.0f, detail::max_f(-127.0f, q));
            y[b].qs[i] = std::int8_t(q);
        }
    }
}

inline void dequantize_row_q8(const block_q8* x, float* y, std::int64_t k) {
    for (std::int64_t b = 0; b < k / k_group; ++b) {
        const float d = f16_to_f32(x[b].d);
        for (int i = 0; i < k_group; ++i) y[b * k_group + i] = d * float(x[b].qs[i]);
    }
}

namespace detail {

// Codes q in 0..15 for scale d (value = d*(q-8)) and the squared error they leave.
inline float q4_codes(const float* g, float d, std::uint8_t* q) {
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    float err = 0.0f;
    for (int i = 0; i < k_group; ++i) {
        float c = round_even(g[i] * id) + 8.0f;
        c = min_f(15.0f, max_f(0.0f, c));
        q[i] = std::uint8_t(c);
        const float e = g[i] - d * (c - 8.0f);
        err += e * e;
    }
    return err;
}

}  // namespace detail

// x: [k] -> y: [k/32]; k must be a multiple of 32. Scale search described at the top.
inline void quantize_row_q4(const float* x, block_q4* y, std::int64_t k) {
    for (std::int64_t b = 0; b < k / k_group; ++b) {
        const float* g = x + b * k_group;
        float mx = 0.0f;  // signed element of largest magnitude
        for (int i = 0; i < k_group; ++i)
            if (detail::abs_f(g[i]) > detail::abs_f(mx)) mx = g[i];
        std::uint8_t best_q[k_group] = {0};
        std::uint8_t q[k_group];
        float best_err = INFINITY;
        std::uint16_t best_d = 0;
        if (mx != 0.0f) {
            // Divisors -8 (the Q4_0 rule) .. -9.5 and 7: clipping the largest element a
            // little buys finer steps for the other 31.
            for (int s = 0; s <= 12; ++s) {
                const float div = s <= 10 ? -8.0f - 0.15f * float(s) : (s == 11 ? 7.0f : 7.5f);
                for (int refit = 0; refit < 2; ++refit) {
                    std::uint16_t dh = f32_to_f16(mx / div);
                    if (refit) {  // least-squares d for the codes just chosen
                        float num = 0.0f, den = 0.0f;
                        for (int i = 0; i < k_group; ++i) {
                            const float c = float(q[i]) - 8.0f;
                            num += c * g[i];
                            den += c * c;
                        }
                        if (den <= 0.0f) continue;
                        dh = f32_to_f16(num / den);
                    }
                    const float err = detail::q4_codes(g, f16_to_f32(dh), q);
                    if (err < best_err) {
                        best_err = err;
                        best_d = dh;
                        std::memcpy(best_q, q, sizeof(q));
                    }
                }
            }
        } else {
            std::memset(best_q, 8, sizeof(best_q));
        }
        y[b].d = best_d;
        for (int j = 0; j < k_group / 2; ++j) y[b].qs[j] = std::uint8_t(best_q[j] | (best_q[j + 16] << 4));
    }
}

inline void dequantize_row_q4(const block_q4* x, float* y, std::int64_t k) {
    for (std::int64_t b = 0; b < k / k_group; ++b) {
        const float d = f16_to_f32(x[b].d);
        for (int j = 0; j < k_group / 2; ++j) {
            y[b * k_group + j] = d * float(int(x[b].qs[j] & 0x0f) - 8);
            y[b * k_group + j + 16] = d * float(int(x[b].qs[j] >> 4) - 8);
        }
    }
}

// Row quantizers: quantize_row_q4 / _q8 or a SIMD twin (avx512::quantize_row_q4 / _q8).
using q4_row_fn = void (*)(const float* x, block_q4* y, std::int64_t k);
using q8_row_fn = void (*)(const float* x, block_q8* y, std::int64_t k);

// Same, from a stored f32/bf16/f16 row (src points at k elements of type t). Converts
// and quantizes 16 groups at a time (the AVX-512 q4 twin works on 16 groups at once).
template <class Block>
inline bool quantize_row(dtype t, const void* src, Block* y, std::int64_t k, q4_row_fn q4 = &quantize_row_q4,
                         q8_row_fn q8 = &quantize_row_q8) {
    constexpr std::int64_t k_chunk = 16;  // groups per step
    float tmp[k_chunk * k_group];
    const auto* s = static_cast<const unsigned char*>(src);
    const std::size_t es = dtype_size(t);
    const std::int64_t nb = k / k_group;
    for (std::int64_t b = 0; b < nb; b += k_chunk) {
        const std::int64_t m = nb - b < k_chunk ? nb - b : k_chunk;
        if (!convert_to_f32(t, s + std::size_t(b) * k_group * es, tmp, std::size_t(m * k_group))) return false;
        if constexpr (sizeof(Block) == sizeof(block_q8))
            q8(tmp, reinterpret_cast<block_q8*>(y + b), m * k_group);
        else
            q4(tmp, reinterpret_cast<block_q4*>(y + b), m * k_group);
    }
    return true;
}

// ---- panel layout (what the matmul kernels read) ----------------------------------
//
// rows are grouped into panels of 16 (the last panel zero-padded; padded rows have
// scale 0), columns into nb = cols/32 groups. For panel p and group b:
//
//   scales: f16 [panels, nb, 16]            scale of row 16p+r, group b at [p][b][r]
//   q4:     u8  [panels, nb, 256]           byte i*64 + r*4 + e  (i 0..3, r 0..15, e 0..3):
//             low nibble  = code of (row 16p+r, col 32b + 4i + e)       codes 0..15
//             high nibble = code of (row 16p+r, col 32b + 16 + 4i + e)
//   q8:     u8  [panels, nb, 512]           byte j*64 + r*4 + e  (j 0..7):
//             qs(row 16p+r, col 32b + 4j + e) + 128                   biased to 0..255
//
// So one 64-byte load gives 16 rows x 4 columns: one 32-bit lane per row, as
// vpdpbusd (u8 x s8, 4 products per lane) wants. q8 is stored +128 (unsigned) for the
// same reason; kernels that want it signed flip the top bit.

inline std::int64_t panel_count(std::int64_t rows) { return (rows + k_panel - 1) / k_panel; }
inline std::size_t panel_q4_bytes(std::int64_t rows, std::int64_t cols) {
    return std::size_t(panel_count(rows)) * std::size_t(cols / k_group) * 256;
}
inline std::size_t panel_q8_bytes(std::int64_t rows, std::int64_t cols) {
    return std::size_t(panel_count(rows)) * std::size_t(cols / k_group) * 512;
}
inline std::size_t panel_scale_count(std::int64_t rows, std::int64_t cols) {
    return std::size_t(panel_count(rows)) * std::size_t(cols / k_group) * k_panel;
}

// Scatter one row (nb blocks) into panel storage at row r of its panel.
inline void put_panel_row_q4(const block_q4* row, std::int64_t nb, int r, std::uint8_t* panel_q,
                             std::uint16_t* panel_d) {
    for (std::int64_t b = 0; b < nb; ++b) {
        std::uint8_t* dst = panel_q + b * 256;
        for (int i = 0; i < 4; ++i)
            for (int e = 0; e < 4; ++e) {
                const int j = 4 * i + e;  // 0..15: low nibble = col j, high = col j + 16
                dst[i * 64 + r * 4 + e] = row[b].qs[j];
            }
        panel_d[b * k_panel + r] = row[b].d;
    }
}

inline void put_panel_row_q8(const block_q8* row, std::int64_t nb, int r, std::uint8_t* panel_q,
                             std::uint16_t* panel_d) {
    for (std::int64_t b = 0; b < nb; ++b) {
        std::uint8_t* dst = panel_q + b * 512;
        for (int j = 0; j < 8; ++j)
            for (int e = 0; e < 4; ++e)
                dst[j * 64 + r * 4 + e] = std::uint8_t(int(row[b].qs[4 * j + e]) + 128);
        panel_d[b * k_panel + r] = row[b].d;
    }
}

// Code (0..15) / signed int8 of element (row, col) read back from panel storage.
inline int panel_q4_code(const std::uint8_t* q, std::int64_t nb, std::int64_t row, std::int64_t col) {
    const std::int64_t p = row / k_panel, r = row % k_panel, b = col / k_group, c = col % k_group;
    const std::int64_t j = c % 16;
    const std::uint8_t byte = q[(p * nb + b) * 256 + (j / 4) * 64 + r * 4 + j % 4];
    return c < 16 ? (byte & 0x0f) : (byte >> 4);
}
inline int panel_q8_value(const std::uint8_t* q, std::int64_t nb, std::int64_t row, std::int64_t col) {
    const std::int64_t p = row / k_panel, r = row % k_panel, b = col / k_group, c = col % k_group;
    return int(q[(p * nb + b) * 512 + (c / 4) * 64 + r * 4 + c % 4]) - 128;
}
inline float panel_scale(const std::uint16_t* d, std::int64_t nb, std::int64_t row, std::int64_t col) {
    return f16_to_f32(d[((row / k_panel) * nb + col / k_group) * k_panel + row % k_panel]);
}

// ---- activation quantization (per call, used by the int kernels) --------------------
//
// Each token's row x[cols] is cut into the same 32-groups: q = round(x / dx) in
// [-127, 127] with dx = max|x| / 127 (f32), and per group a correction term
// xs = -offset * dx * sum(q). A kernel whose weight codes carry a bias (`offset`: 8 for
// q4 codes, 128 for the +128 q8 storage when used unsigned) computes
//   sum_i w_i x_i  =  dw * (dx * sum_i code_i q_i + xs)
// with one integer dot product per group.

// x: [k] -> q: [k], d: [k/32], s: [k/32]. k a multiple of 32.
inline void quantize_act_row(const float* x, std::int64_t k, int offset, std::int8_t* q, float* d, float* s) {
    for (std::int64_t b = 0; b < k / k_group; ++b) {
        const float* g = x + b * k_group;
        float amax = 0.0f;
        for (int i = 0; i < k_group; ++i) amax = detail::max_f(amax, detail::abs_f(g[i]));
        const float dx = amax / 127.0f;
        const float id = amax > 0.0f ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int i = 0; i < k_group; ++i) {
            const int v = int(detail::round_even(g[i] * id));
            const int c = v > 127 ? 127 : (v < -127 ? -127 : v);
            q[b * k_group + i] = std::int8_t(c);
            sum += c;
        }
        d[b] = dx;
        s[b] = -float(offset) * dx * float(sum);
    }
}

}  // namespace smolvlm::kernels
