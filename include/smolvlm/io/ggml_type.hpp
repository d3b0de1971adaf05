// smolvlm/io/ggml_type.hpp — ggml's tensor element types, numbered as GGUF files store them.
//
// A GGUF tensor names its element type with ggml's enum value. Most types are *block*
// formats: `block_size` consecutive elements of a row (along ne[0], the innermost dim)
// are stored together in `block_bytes` bytes, so a row of n elements takes
// n / block_size * block_bytes bytes and n must be a multiple of block_size. Plain types
// (F32, F16, I8...) are blocks of one element.
//
// The table lists every type ggml defines, so a reader can size and skip tensors of any
// type; which of them the engine can *decode* is kernels/ggml_blocks.hpp's business (the
// block layouts are described there). The numbers 4, 5, 31-33 and 36-38 belong to types
// ggml removed; they, and anything past the table, are unknown.
#pragma once

#include <cstdint>

#include "../core/dtype.hpp"

namespace smolvlm {

enum class ggml_type : std::uint32_t {
    f32 = 0,
    f16 = 1,
    q4_0 = 2,
    q4_1 = 3,
    q5_0 = 6,
    q5_1 = 7,
    q8_0 = 8,
    q8_1 = 9,
    q2_k = 10,
    q3_k = 11,
    q4_k = 12,
    q5_k = 13,
    q6_k = 14,
    q8_k = 15,
    iq2_xxs = 16,
    iq2_xs = 17,
    iq3_xxs = 18,
    iq1_s = 19,
    iq4_nl = 20,
    iq3_s = 21,
    iq2_s = 22,
    iq4_xs = 23,
    i8 = 24,
    i16 = 25,
    i32 = 26,
    i64 = 27,
    f64 = 28,
    iq1_m = 29,
    bf16 = 30,
    tq1_0 = 34,
    tq2_0 = 35,
    mxfp4 = 39,
    nvfp4 = 40,
    q1_0 = 41,
};

struct ggml_type_traits {
    const char* name = nullptr;     // as ggml spells it ("Q4_K", "F16"); nullptr: unknown type
    std::uint32_t block_size = 0;   // elements per block (1 for plain types)
    std::uint32_t block_bytes = 0;  // bytes per block
    bool known() const { return name != nullptr; }
};

// Traits of type number v (as read from a file, so any u32). Sizes are ggml's
// sizeof(block_*) (kernels/ggml_blocks.hpp static_asserts the ones it decodes against them).
constexpr ggml_type_traits ggml_traits(std::uint32_t v) {
    switch (v) {
        case 0: return {"F32", 1, 4};
        case 1: return {"F16", 1, 2};
        case 2: return {"Q4_0", 32, 18};
        case 3: return {"Q4_1", 32, 20};
        case 6: return {"Q5_0", 32, 22};
        case 7: return {"Q5_1", 32, 24};
        case 8: return {"Q8_0", 32, 34};
        case 9: return {"Q8_1", 32, 36};
        case 10: return {"Q2_K", 256, 84};
        case 11: return {"Q3_K", 256, 110};
        case 12: return {"Q4_K", 256, 144};
        case 13: return {"Q5_K", 256, 176};
        case 14: return {"Q6_K", 256, 210};
        case 15: return {"Q8_K", 256, 292};
        case 16: return {"IQ2_XXS", 256, 66};
        case 17: return {"IQ2_XS", 256, 74};
        case 18: return {"IQ3_XXS", 256, 98};
        case 19: return {"IQ1_S", 256, 50};
        case 20: return {"IQ4_NL", 32, 18};
        case 21: return {"IQ3_S", 256, 110};
        case 22: return {"IQ2_S", 256, 82};
        case 23: return {"IQ4_XS", 256, 136};
        case 24: return {"I8", 1, 1};
        case 25: return {"I16", 1, 2};
        case 26: return {"I32", 1, 4};
        case 27: return {"I64", 1, 8};
        case 28: return {"F64", 1, 8};
        case 29: return {"IQ1_M", 256, 56};
        case 30: return {"BF16", 1, 2};
        case 34: return {"TQ1_0", 256, 54};
        case 35: return {"TQ2_0", 256, 66};
        case 39: return {"MXFP4", 32, 17};
        case 40: return {"NVFP4", 64, 36};
        case 41: return {"Q1_0", 128, 18};
        default: return {};
    }
}
constexpr ggml_type_traits ggml_traits(ggml_type t) { return ggml_traits(static_cast<std::uint32_t>(t)); }

// "Q4_K", or "?" for an unknown number.
constexpr const char* ggml_type_name(ggml_type t) {
    const ggml_type_traits tr = ggml_traits(t);
    return tr.name ? tr.name : "?";
}

// Bytes of a row of n elements; false when n is negative, not a multiple of the block
// size, the type is unknown, or the byte count would not fit in 63 bits.
inline bool ggml_row_bytes(ggml_type t, std::int64_t n, std::uint64_t& bytes) {
    const ggml_type_traits tr = ggml_traits(t);
    if (!tr.known() || n < 0 || std::uint64_t(n) % tr.block_size != 0) return false;
    const std::uint64_t blocks = std::uint64_t(n) / tr.block_size;
    if (blocks > (std::uint64_t(INT64_MAX) / tr.block_bytes)) return false;
    bytes = blocks * tr.block_bytes;
    return true;
}

// The engine dtype with the same element encoding (plain types only: F32, F16, BF16,
// F64, I8..I64); false for block formats, whose bytes no engine dtype reads as they are
// (kernels/ggml_repack.hpp converts them).
inline bool ggml_type_to_dtype(ggml_type t, dtype& out) {
    switch (t) {
        case ggml_type::f32: out = dtype::f32; return true;
        case ggml_type::f16: out = dtype::f16; return true;
        case ggml_type::bf16: out = dtype::bf16; return true;
        case ggml_type::f64: out = dtype::f64; return true;
        case ggml_type::i8: out = dtype::i8; return true;
        case ggml_type::i16: out = dtype::i16; return true;
        case ggml_type::i32: out = dtype::i32; return true;
        case ggml_type::i64: out = dtype::i64; return true;
        default: return false;
    }
}

}  // namespace smolvlm
