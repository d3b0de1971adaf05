// smolvlm/kernels/ggml_blocks.hpp — ggml's block formats (as GGUF stores them) and their
// scalar dequantizers, bit-exact with ggml's own (`ggml_get_type_traits(t)->to_float`).
//
//   ggml::dequantize_row(type, src, dst, n)   n values of `type` at src -> f32 dst (status)
//   ggml::can_dequantize(type)                F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0
//                                             Q2_K Q3_K Q4_K Q5_K Q6_K IQ4_NL
//   ggml::quantize_row_q8_0 / _q4_0           ggml's reference quantizers (for writing GGUFs)
//   ggml_traits(type)                         block size, bytes per block, name (io/ggml_type.hpp)
//
// Blocks cut a row (ne[0]) into runs of 32 values (the "_0"/"_1" formats, IQ4_NL) or 256-value
// super-blocks (the K-quants). Scales are f16 ("d", "dmin", "m"), converted exactly. A block
// is read with memcpy, so src needs no alignment; multi-byte fields are little-endian (the
// engine, like ggml, assumes a little-endian host).
//
// Bit-exactness means ggml's f32 arithmetic in ggml's order, each product rounded on its own:
// `(d * sc) * q - (dmin * m)`, never a fused multiply-add. The functions that compute
// `a * b + c` carry SMOLVLM_NO_CONTRACT so no compiler flag (-mfma with GCC's default
// -ffp-contract=fast, clang's -ffp-contract=on) turns them into FMAs.
//
// These dequantizers are the reference the engine checks against; they are not fast paths.
// Formats the engine's kernels read directly without loss (Q4_0 -> q4, Q8_0/Q5_0/IQ4_NL/Q4_0
// -> q8) are repacked by kernels/ggml_repack.hpp.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "../core/dtype.hpp"
#include "../core/status.hpp"
#include "../io/ggml_type.hpp"

// Keep `a * b + c` as two roundings inside a function (see the top of this file). The
// attribute / pragma stop the default contraction of GCC and clang; detail::mul_rounded adds
// an empty asm barrier on x86-64 and AArch64 that holds even under clang -ffp-contract=fast.
#if defined(__clang__)
#define SMOLVLM_NO_CONTRACT_ATTR
#define SMOLVLM_NO_CONTRACT_BODY _Pragma("clang fp contract(off)")
#elif defined(__GNUC__)
#define SMOLVLM_NO_CONTRACT_ATTR __attribute__((optimize("fp-contract=off")))
#define SMOLVLM_NO_CONTRACT_BODY
#else
#define SMOLVLM_NO_CONTRACT_ATTR
#define SMOLVLM_NO_CONTRACT_BODY
#endif

namespace smolvlm::kernels::ggml {

inline constexpr int qk = 32;     // values per block of the _0 / _1 formats and IQ4_NL
inline constexpr int qk_k = 256;  // values per K-quant super-block

// ---- plain types ----------------------------------------------------------------------
// F32, F16 (IEEE half) and BF16 (the top half of an f32) are "blocks" of one value.

struct block_f32 {
    float v;
};
static_assert(sizeof(block_f32) == 4, "block_f32 must be 4 bytes");

struct block_f16 {
    std::uint16_t bits;
};
static_assert(sizeof(block_f16) == 2, "block_f16 must be 2 bytes");

struct block_bf16 {
    std::uint16_t bits;
};
static_assert(sizeof(block_bf16) == 2, "block_bf16 must be 2 bytes");

// ---- 32-value blocks ----------------------------------------------------------------------

// Q4_0: 4-bit codes q in 0..15, value = (q - 8) * d. qs[j] holds value j in its low nibble and
// value j + 16 in its high nibble. 4.5 bits per value. (Same bytes as the engine's block_q4.)
struct block_q4_0 {
    std::uint16_t d;  // f16 scale
    std::uint8_t qs[qk / 2];
};
static_assert(sizeof(block_q4_0) == 18, "block_q4_0 must be 2 + 16 bytes");

// Q4_1: like Q4_0 without the offset, plus a minimum: value = q * d + m. 5 bits per value.
struct block_q4_1 {
    std::uint16_t d;  // f16 scale
    std::uint16_t m;  // f16 minimum
    std::uint8_t qs[qk / 2];
};
static_assert(sizeof(block_q4_1) == 20, "block_q4_1 must be 2 + 2 + 16 bytes");

// Q5_0: 5-bit codes q in 0..31, value = (q - 16) * d. The low 4 bits are nibbles as in Q4_0;
// the 5th bit of value j is bit j of qh (a little-endian u32). 5.5 bits per value.
struct block_q5_0 {
    std::uint16_t d;        // f16 scale
    std::uint8_t qh[4];     // 5th bits, value j -> bit j
    std::uint8_t qs[qk / 2];
};
static_assert(sizeof(block_q5_0) == 22, "block_q5_0 must be 2 + 4 + 16 bytes");

// Q5_1: Q5_0's codes without the offset, plus a minimum: value = q * d + m. 6 bits per value.
struct block_q5_1 {
    std::uint16_t d;  // f16 scale
    std::uint16_t m;  // f16 minimum
    std::uint8_t qh[4];
    std::uint8_t qs[qk / 2];
};
static_assert(sizeof(block_q5_1) == 24, "block_q5_1 must be 2 + 2 + 4 + 16 bytes");

// Q8_0: int8 codes, value = qs[j] * d. 8.5 bits per value. (Same bytes as the engine's
// block_q8; ggml's quantizer stays in -127..127 but -128 is a valid code.)
struct block_q8_0 {
    std::uint16_t d;  // f16 scale
    std::int8_t qs[qk];
};
static_assert(sizeof(block_q8_0) == 34, "block_q8_0 must be 2 + 32 bytes");

// IQ4_NL: 4-bit codes (nibbles as in Q4_0) index a fixed non-linear table of 16 int8 levels,
// value = k_iq4nl_values[q] * d. 4.5 bits per value.
struct block_iq4_nl {
    std::uint16_t d;  // f16 scale
    std::uint8_t qs[qk / 2];
};
static_assert(sizeof(block_iq4_nl) == 18, "block_iq4_nl must be 2 + 16 bytes");

inline constexpr std::int8_t k_iq4nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                                   1,    13,   25,  38,  53,  69,  89,  113};

// ---- 256-value super-blocks (K-quants) ------------------------------------------------------

// Q2_K: 16 sub-blocks of 16 values. scales[i]: low nibble = scale, high nibble = min of
// sub-block i; value = (d * scale) * q - (dmin * min), q in 0..3. The 2-bit codes: each run of
// 128 values uses 32 bytes of qs; byte l holds four codes at bit shifts 0, 2, 4, 6, which are
// values l, 32 + l, 64 + l, 96 + l of the run (l < 32; sub-block = value / 16). 2.625 bits.
struct block_q2_k {
    std::uint8_t scales[qk_k / 16];
    std::uint8_t qs[qk_k / 4];
    std::uint16_t d;     // f16 scale of the scales
    std::uint16_t dmin;  // f16 scale of the mins
};
static_assert(sizeof(block_q2_k) == 84, "block_q2_k must be 16 + 64 + 2 + 2 bytes");

// Q3_K: 16 sub-blocks of 16 values, symmetric: value = (d * (scale - 32)) * q, q in -4..3.
// The low 2 bits of each code are laid out as Q2_K's; the 3rd bit is in hmask: value
// 32 * s + l (s = 0..7, l < 32) has its bit in hmask[l] bit s, and a *clear* bit subtracts 4.
// The sixteen 6-bit scales are packed in 12 bytes: scale i has its low 4 bits in the low
// (i < 8) or high (i >= 8) nibble of byte i % 8, and its top 2 bits in byte 8 + i % 4 at bit
// shift 2 * (i / 4). 3.4375 bits.
struct block_q3_k {
    std::uint8_t hmask[qk_k / 8];
    std::uint8_t qs[qk_k / 4];
    std::uint8_t scales[12];
    std::uint16_t d;  // f16 scale of the scales
};
static_assert(sizeof(block_q3_k) == 110, "block_q3_k must be 32 + 64 + 12 + 2 bytes");

// Q4_K: 8 sub-blocks of 32 values, value = (d * scale) * q - (dmin * min), q in 0..15, with
// 6-bit scale and min per sub-block packed in 12 bytes (k4_scale_min below). Each run of 64
// values uses 32 bytes of qs: low nibbles are values 0..31, high nibbles 32..63. 4.5 bits.
struct block_q4_k {
    std::uint16_t d;     // f16 scale of the scales
    std::uint16_t dmin;  // f16 scale of the mins
    std::uint8_t scales[12];
    std::uint8_t qs[qk_k / 2];
};
static_assert(sizeof(block_q4_k) == 144, "block_q4_k must be 2 + 2 + 12 + 128 bytes");

// Q5_K: Q4_K plus a 5th bit per code: value 64 * r + l (r = run 0..3, l < 32) takes bit 2r of
// qh[l], value 64 * r + 32 + l bit 2r + 1; q in 0..31. 5.5 bits.
struct block_q5_k {
    std::uint16_t d;
    std::uint16_t dmin;
    std::uint8_t scales[12];
    std::uint8_t qh[qk_k / 8];
    std::uint8_t qs[qk_k / 2];
};
static_assert(sizeof(block_q5_k) == 176, "block_q5_k must be 2 + 2 + 12 + 32 + 128 bytes");

// Q6_K: 16 sub-blocks of 16 values, value = (d * scale) * (q - 32), q in 0..63, int8 scales.
// Per run of 128 values (64 bytes of ql, 32 of qh, 8 scales), for l < 32:
//   value l      : low nibble of ql[l]      | bits 0-1 of qh[l] << 4
//   value l + 32 : low nibble of ql[l + 32] | bits 2-3 of qh[l] << 4
//   value l + 64 : high nibble of ql[l]     | bits 4-5 of qh[l] << 4
//   value l + 96 : high nibble of ql[l + 32]| bits 6-7 of qh[l] << 4
// and value v of the run uses scale v / 16. 6.5625 bits.
struct block_q6_k {
    std::uint8_t ql[qk_k / 2];
    std::uint8_t qh[qk_k / 4];
    std::int8_t scales[qk_k / 16];
    std::uint16_t d;  // f16 scale of the scales
};
static_assert(sizeof(block_q6_k) == 210, "block_q6_k must be 128 + 64 + 16 + 2 bytes");

// The block sizes io/ggml_type.hpp sizes tensors with are these structs'.
static_assert(ggml_traits(ggml_type::f32).block_bytes == sizeof(block_f32), "F32");
static_assert(ggml_traits(ggml_type::f16).block_bytes == sizeof(block_f16), "F16");
static_assert(ggml_traits(ggml_type::bf16).block_bytes == sizeof(block_bf16), "BF16");
static_assert(ggml_traits(ggml_type::q4_0).block_bytes == sizeof(block_q4_0) && ggml_traits(ggml_type::q4_0).block_size == qk, "Q4_0");
static_assert(ggml_traits(ggml_type::q4_1).block_bytes == sizeof(block_q4_1) && ggml_traits(ggml_type::q4_1).block_size == qk, "Q4_1");
static_assert(ggml_traits(ggml_type::q5_0).block_bytes == sizeof(block_q5_0) && ggml_traits(ggml_type::q5_0).block_size == qk, "Q5_0");
static_assert(ggml_traits(ggml_type::q5_1).block_bytes == sizeof(block_q5_1) && ggml_traits(ggml_type::q5_1).block_size == qk, "Q5_1");
static_assert(ggml_traits(ggml_type::q8_0).block_bytes == sizeof(block_q8_0) && ggml_traits(ggml_type::q8_0).block_size == qk, "Q8_0");
static_assert(ggml_traits(ggml_type::iq4_nl).block_bytes == sizeof(block_iq4_nl) && ggml_traits(ggml_type::iq4_nl).block_size == qk, "IQ4_NL");
static_assert(ggml_traits(ggml_type::q2_k).block_bytes == sizeof(block_q2_k) && ggml_traits(ggml_type::q2_k).block_size == qk_k, "Q2_K");
static_assert(ggml_traits(ggml_type::q3_k).block_bytes == sizeof(block_q3_k) && ggml_traits(ggml_type::q3_k).block_size == qk_k, "Q3_K");
static_assert(ggml_traits(ggml_type::q4_k).block_bytes == sizeof(block_q4_k) && ggml_traits(ggml_type::q4_k).block_size == qk_k, "Q4_K");
static_assert(ggml_traits(ggml_type::q5_k).block_bytes == sizeof(block_q5_k) && ggml_traits(ggml_type::q5_k).block_size == qk_k, "Q5_K");
static_assert(ggml_traits(ggml_type::q6_k).block_bytes == sizeof(block_q6_k) && ggml_traits(ggml_type::q6_k).block_size == qk_k, "Q6_K");

namespace detail {

// a * b rounded to f32 on its own: the empty asm makes the product a value the compiler must
// materialize, so it cannot fuse it into the add or subtract that follows.
inline float mul_rounded(float a, float b) {
    float p = a * b;
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(_M_X64))
    __asm__("" : "+x"(p));
#elif (defined(__GNUC__) || defined(__clang__)) && defined(__aarch64__)
    __asm__("" : "+w"(p));
#endif
    return p;
}

// Block i of an unaligned array of blocks.
template <class Block>
inline Block load_block(const void* src, std::int64_t i) {
    Block b;
    std::memcpy(&b, static_cast<const unsigned char*>(src) + std::size_t(i) * sizeof(Block), sizeof(Block));
    return b;
}

// Sub-block j (0..7) of a Q4_K / Q5_K super-block: 6-bit scale and min from the 12 packed
// bytes. j < 4: low 6 bits of bytes j (scale) and j + 4 (min). j >= 4: low 4 bits from the
// nibbles of byte j + 4 (scale low, min high), top 2 bits from the top bits of bytes j - 4
// (scale) and j (min).
inline void k4_scale_min(int j, const std::uint8_t* q, std::uint8_t& sc, std::uint8_t& m) {
    if (j < 4) {
        sc = q[j] & 63;
        m = q[j + 4] & 63;
    } else {
        sc = std::uint8_t((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4));
        m = std::uint8_t((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

// Scale i (0..15) of a Q3_K super-block, 6 bits, minus 32.
inline int q3_k_scale(const std::uint8_t* s, int i) {
    const int lo = i < 8 ? (s[i] & 0x0f) : (s[i - 8] >> 4);
    const int hi = (s[8 + i % 4] >> (2 * (i / 4))) & 3;
    return (lo | (hi << 4)) - 32;
}

}  // namespace detail

// ---- dequantizers: x = blocks of n values (n a multiple of the block size) -> y[n] ---------

inline void dequantize_row_f32(const void* x, float* y, std::int64_t n) { std::memcpy(y, x, std::size_t(n) * 4); }

inline void dequantize_row_f16(const void* x, float* y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = f16_to_f32(detail::load_block<block_f16>(x, i).bits);
}

inline void dequantize_row_bf16(const void* x, float* y, std::int64_t n) {
    for (std::int64_t i = 0; i < n; ++i) y[i] = bf16_to_f32(detail::load_block<block_bf16>(x, i).bits);
}

inline void dequantize_row_q4_0(const void* x, float* y, std::int64_t n) {
    for (std::int64_t i = 0; i < n / qk; ++i, y += qk) {
        const block_q4_0 b = detail::load_block<block_q4_0>(x, i);
        const float d = f16_to_f32(b.d);
        for (int j = 0; j < qk / 2; ++j) {
            y[j] = float((b.qs[j] & 0x0f) - 8) * d;
            y[j + qk / 2] = float((b.qs[j] >> 4) - 8) * d;
        }
    }
}

SMOLVLM_NO_CONTRACT_ATTR
inline void dequantize_row_q4_1(const void* x, float* y, std::int64_t n) {
    SMOLVLM_NO_CONTRACT_BODY
    for (std::int64_t i = 0; i < n / qk; ++i, y += qk) {
        const block_q4_1 b = detail::load_block<block_q4_1>(x, i);
        const float d = f16_to_f32(b.d);
        const float m = f16_to_f32(b.m);
        for (int j = 0; j < qk / 2; ++j) {
            y[j] = detail::mul_rounded(float(b.qs[j] & 0x0f), d) + m;
            y[j + qk / 2] = detail::mul_rounded(float(b.qs[j] >> 4), d) + m;
        }
    }
}

inline void dequantize_row_q5_0(const void* x, float* y, std::int64_t n) {
    for (std::int64_t i = 0; i < n / qk; ++i, y += qk) {
        const block_q5_0 b = detail::load_block<block_q5_0>(x, i);
        const float d = f16_to_f32(b.d);
        const std::uint32_t qh = std::uint32_t(b.qh[0]) | (std::uint32_t(b.qh[1]) << 8) |
                                 (std::uint32_t(b.qh[2]) << 16) | (std::uint32_t(b.qh[3]) << 24);
        for (int j = 0; j < qk / 2; ++j) {
            const int h0 = int((qh >> j) & 1u) << 4;
            const int h1 = int((qh >> (j + qk / 2)) & 1u) << 4;
            y[j] = float(((b.qs[j] & 0x0f) | h0) - 16) * d;
            y[j + qk / 2] = float(((b.qs[j] >> 4) | h1) - 16) * d;
        }
    }
}

SMOLVLM_NO_CONTRACT_ATTR
inline void dequantize_row_q5_1(const void* x, float* y, std::int64_t n) {
    SMOLVLM_NO_CONTRACT_BODY
    for (std::int64_t i = 0; i < n / qk; ++i, y += qk) {
        const block_q5_1 b = detail::load_block<block_q5_1>(x, i);
        const float d = f16_to_f32(b.d);
        const float m = f16_to_f32(b.m);
        const std::uint32_t qh = std::uint32_t(b.qh[0]) | (std::uint32_t(b.qh[1]) << 8) |
                                 (std::uint32_t(b.qh[2]) << 16) | (std::uint32_t(b.qh[3]) << 24);
        for (int j = 0; j < qk / 2; ++j) {
            const int h0 = int((qh >> j) & 1u) << 4;
            const int h1 = int((qh >> (j + qk / 2)) & 1u) << 4;
            y[j] = detail::mul_rounded(float((b.qs[j] & 0x0f) | h0), d) + m;
            y[j + qk / 2] = detail::mul_rounded(float((b.qs[j] >> 4) | h1), d) + m;
        }
    }
}

inline void dequantize_row_q8_0(const void* x, float* y, std::int64_t n) {
    for (std::int64_t i = 0; i < n / qk; ++i, y += qk) {
        const block_q8_0 b = detail::load_block<block_q8_0>(x, i);
        const float d = f16_to_f32(b.d);
        for (int j = 0; j < qk; ++j) y[j] = float(b.qs[j]) * d;
    }
}

inline void dequantize_row_iq4_nl(const void* x, float* y, std::int64_t n) {
    for (std::int64_t i = 0; i < n / qk; ++i, y += qk) {
        const block_iq4_nl b = detail::load_block<block_iq4_nl>(x, i);
        const float d = f16_to_f32(b.d);
        for (int j = 0; j < qk / 2; ++j) {
            y[j] = d * float(k_iq4nl_values[b.qs[j] & 0x0f]);
            y[j + qk / 2] = d * float(k_iq4nl_values[b.qs[j] >> 4]);
        }
    }
}

SMOLVLM_NO_CONTRACT_ATTR
inline void dequantize_row_q2_k(const void* x, float* y, std::int64_t n) {
    SMOLVLM_NO_CONTRACT_BODY
    for (std::int64_t i = 0; i < n / qk_k; ++i) {
        const block_q2_k b = detail::load_block<block_q2_k>(x, i);
        const float d = f16_to_f32(b.d);
        const float dmin = f16_to_f32(b.dmin);
        int s = 0;  // sub-block, 0..15
        for (int run = 0; run < 2; ++run) {
            const std::uint8_t* q = b.qs + 32 * run;
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 2; ++half, ++s) {  // values l (half 0) and 16 + l (half 1)
                    const float dl = d * float(b.scales[s] & 0x0f);
                    const float ml = dmin * float(b.scales[s] >> 4);
                    for (int l = 0; l < 16; ++l) *y++ = detail::mul_rounded(dl, float((q[16 * half + l] >> shift) & 3)) - ml;
                }
            }
        }
    }
}

inline void dequantize_row_q3_k(const void* x, float* y, std::int64_t n) {
    for (std::int64_t i = 0; i < n / qk_k; ++i) {
        const block_q3_k b = detail::load_block<block_q3_k>(x, i);
        const float d = f16_to_f32(b.d);
        int s = 0;           // sub-block, 0..15
        std::uint8_t m = 1;  // hmask bit of the current 32-value slice
        for (int run = 0; run < 2; ++run) {
            const std::uint8_t* q = b.qs + 32 * run;
            for (int shift = 0; shift < 8; shift += 2, m = std::uint8_t(m << 1)) {
                for (int half = 0; half < 2; ++half, ++s) {
                    const float dl = d * float(detail::q3_k_scale(b.scales, s));
                    for (int l = 16 * half; l < 16 * half + 16; ++l) {
                        const int code = ((q[l] >> shift) & 3) - ((b.hmask[l] & m) ? 0 : 4);
                        *y++ = dl * float(code);
                    }
                }
            }
        }
    }
}

SMOLVLM_NO_CONTRACT_ATTR
inline void dequantize_row_q4_k(const void* x, float* y, std::int64_t n) {
    SMOLVLM_NO_CONTRACT_BODY
    for (std::int64_t i = 0; i < n / qk_k; ++i) {
        const block_q4_k b = detail::load_block<block_q4_k>(x, i);
        const float d = f16_to_f32(b.d);
        const float dmin = f16_to_f32(b.dmin);
        for (int run = 0; run < 4; ++run) {  // 64 values: sub-blocks 2 run and 2 run + 1
            const std::uint8_t* q = b.qs + 32 * run;
            std::uint8_t sc, m;
            detail::k4_scale_min(2 * run, b.scales, sc, m);
            const float d1 = d * float(sc), m1 = dmin * float(m);
            detail::k4_scale_min(2 * run + 1, b.scales, sc, m);
            const float d2 = d * float(sc), m2 = dmin * float(m);
            for (int l = 0; l < 32; ++l) *y++ = detail::mul_rounded(d1, float(q[l] & 0x0f)) - m1;
            for (int l = 0; l < 32; ++l) *y++ = detail::mul_rounded(d2, float(q[l] >> 4)) - m2;
        }
    }
}

SMOLVLM_NO_CONTRACT_ATTR
inline void dequantize_row_q5_k(const void* x, float* y, std::int64_t n) {
    SMOLVLM_NO_CONTRACT_BODY
    for (std::int64_t i = 0; i < n / qk_k; ++i) {
        const block_q5_k b = detail::load_block<block_q5_k>(x, i);
        const float d = f16_to_f32(b.d);
        const float dmin = f16_to_f32(b.dmin);
        for (int run = 0; run < 4; ++run) {
            const std::uint8_t* q = b.qs + 32 * run;
            const std::uint8_t u1 = std::uint8_t(1u << (2 * run)), u2 = std::uint8_t(2u << (2 * run));
            std::uint8_t sc, m;
            detail::k4_scale_min(2 * run, b.scales, sc, m);
            const float d1 = d * float(sc), m1 = dmin * float(m);
            detail::k4_scale_min(2 * run + 1, b.scales, sc, m);
            const float d2 = d * float(sc), m2 = dmin * float(m);
            for (int l = 0; l < 32; ++l) *y++ = detail::mul_rounded(d1, float((q[l] & 0x0f) + ((b.qh[l] & u1) ? 16 : 0))) - m1;
            for (int l = 0; l < 32; ++l) *y++ = detail::mul_rounded(d2, float((q[l] >> 4) + ((b.qh[l] & u2) ? 16 : 0))) - m2;
        }
    }
}

inline void dequantize_row_q6_k(const void* x, float* y, std::int64_t n) {
    for (std::int64_t i = 0; i < n / qk_k; ++i, y += qk_k) {
        const block_q6_k b = detail::load_block<block_q6_k>(x, i);
        const float d = f16_to_f32(b.d);
        for (int run = 0; run < 2; ++run) {
            const std::uint8_t* ql = b.ql + 64 * run;
            const std::uint8_t* qh = b.qh + 32 * run;
            const std::int8_t* sc = b.scales + 8 * run;
            float* yr = y + 128 * run;
            for (int l = 0; l < 32; ++l) {
                const int s = l / 16;
                const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                yr[l] = d * float(sc[s]) * float(q1);
                yr[l + 32] = d * float(sc[s + 2]) * float(q2);
                yr[l + 64] = d * float(sc[s + 4]) * float(q3);
                yr[l + 96] = d * float(sc[s + 6]) * float(q4);
            }
        }
    }
}

// ---- by type ------------------------------------------------------------------------------

using dequantize_fn = void (*)(const void* x, float* y, std::int64_t n);

// The dequantizer of t, or nullptr when the engine has none.
inline dequantize_fn dequantizer(ggml_type t) {
    switch (t) {
        case ggml_type::f32: return &dequantize_row_f32;
        case ggml_type::f16: return &dequantize_row_f16;
        case ggml_type::bf16: return &dequantize_row_bf16;
        case ggml_type::q4_0: return &dequantize_row_q4_0;
        case ggml_type::q4_1: return &dequantize_row_q4_1;
        case ggml_type::q5_0: return &dequantize_row_q5_0;
        case ggml_type::q5_1: return &dequantize_row_q5_1;
        case ggml_type::q8_0: return &dequantize_row_q8_0;
        case ggml_type::iq4_nl: return &dequantize_row_iq4_nl;
        case ggml_type::q2_k: return &dequantize_row_q2_k;
        case ggml_type::q3_k: return &dequantize_row_q3_k;
        case ggml_type::q4_k: return &dequantize_row_q4_k;
        case ggml_type::q5_k: return &dequantize_row_q5_k;
        case ggml_type::q6_k: return &dequantize_row_q6_k;
        default: return nullptr;
    }
}

inline bool can_dequantize(ggml_type t) { return dequantizer(t) != nullptr; }

// n values of type t at src (n a multiple of the block size: a row, or a whole tensor, whose
// rows are contiguous) -> dst[n] f32.
inline status dequantize_row(ggml_type t, const void* src, float* dst, std::int64_t n) {
    const dequantize_fn f = dequantizer(t);
    const ggml_type_traits tr = ggml_traits(t);
    if (!f)
        return status::fmt(errc::unsupported, "no dequantizer for ggml type %s (%u)", tr.known() ? tr.name : "?",
                           unsigned(t));
    if (n < 0 || n % std::int64_t(tr.block_size) != 0)
        return status::fmt(errc::bad_shape, "dequantize %s: %lld values is not a multiple of its block of %u", tr.name,
                           (long long)n, tr.block_size);
    f(src, dst, n);
    return status::ok();
}

// ---- ggml's reference quantizers (what llama-quantize writes without an importance matrix) ----

// x[n] -> Q8_0 blocks at y (n a multiple of 32): d = amax / 127 (stored f16), q = round(x / d)
// half away from zero, with 1/d taken from the f32 d.
inline void quantize_row_q8_0(const float* x, void* y, std::int64_t n) {
    for (std::int64_t i = 0; i < n / qk; ++i, x += qk) {
        float amax = 0.0f;
        for (int j = 0; j < qk; ++j) amax = std::fabs(x[j]) > amax ? std::fabs(x[j]) : amax;
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        block_q8_0 b;
        b.d = f32_to_f16(d);
        for (int j = 0; j < qk; ++j) {
            float q = std::round(x[j] * id);  // in -127..127 for finite x; clamped for NaN / inf
            q = q >= -128.0f ? q : -128.0f;
            b.qs[j] = std::int8_t(q <= 127.0f ? q : 127.0f);
        }
        std::memcpy(static_cast<unsigned char*>(y) + std::size_t(i) * sizeof b, &b, sizeof b);
    }
}

// x[n] -> Q4_0 blocks at y: d = max / -8 (max = the value of largest magnitude, first one on
// ties), q = min(15, trunc(x / d + 8.5)).
SMOLVLM_NO_CONTRACT_ATTR
inline void quantize_row_q4_0(const float* x, void* y, std::int64_t n) {
    SMOLVLM_NO_CONTRACT_BODY
    for (std::int64_t i = 0; i < n / qk; ++i, x += qk) {
        float amax = 0.0f, mx = 0.0f;
        for (int j = 0; j < qk; ++j)
            if (amax < std::fabs(x[j])) {
                amax = std::fabs(x[j]);
                mx = x[j];
            }
        const float d = mx / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        block_q4_0 b;
        b.d = f32_to_f16(d);
        for (int j = 0; j < qk / 2; ++j) {
            // x * id + 8.5 is in 0.5..16.5 for finite x (clamped first, so NaN / inf cannot
            // overflow the conversion), truncated, then capped at 15.
            float v0 = detail::mul_rounded(x[j], id) + 8.5f, v1 = detail::mul_rounded(x[j + qk / 2], id) + 8.5f;
            v0 = v0 >= 0.0f ? (v0 <= 15.0f ? v0 : 15.0f) : 0.0f;
            v1 = v1 >= 0.0f ? (v1 <= 15.0f ? v1 : 15.0f) : 0.0f;
            b.qs[j] = std::uint8_t(int(v0) | (int(v1) << 4));
        }
        std::memcpy(static_cast<unsigned char*>(y) + std::size_t(i) * sizeof b, &b, sizeof b);
    }
}

}  // namespace smolvlm::kernels::ggml
