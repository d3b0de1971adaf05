// smolvlm/core/dtype.hpp — element types and exact bf16/f16 <-> f32 conversion.
#pragma once

#include <cstdint>
#include <cstring>

#include "../config.hpp"

namespace smolvlm {

enum class dtype : std::uint8_t { f32, f16, bf16, f64, i64, i32, i16, i8, u8, boolean, q8, q4 };

// Size in bytes of one element (for q8/q4 the packed formats are described in kernels/quant.hpp
// and sized per 32-element group; this returns 0 for them).
inline std::size_t dtype_size(dtype t) {
    switch (t) {
        case dtype::f32: return 4;
        case dtype::f16: return 2;
        case dtype::bf16: return 2;
        case dtype::f64: return 8;
        case dtype::i64: return 8;
        case dtype::i32: return 4;
        case dtype::i16: return 2;
        case dtype::i8: return 1;
        case dtype::u8: return 1;
        case dtype::boolean: return 1;
        case dtype::q8: return 0;
        case dtype::q4: return 0;
    }
    return 0;
}

// Names as the safetensors header spells them.
inline const char* dtype_name(dtype t) {
    switch (t) {
        case dtype::f32: return "F32";
        case dtype::f16: return "F16";
        case dtype::bf16: return "BF16";
        case dtype::f64: return "F64";
        case dtype::i64: return "I64";
        case dtype::i32: return "I32";
        case dtype::i16: return "I16";
        case dtype::i8: return "I8";
        case dtype::u8: return "U8";
        case dtype::boolean: return "BOOL";
        case dtype::q8: return "Q8";
        case dtype::q4: return "Q4";
    }
    return "?";
}

inline float f32_from_bits(std::uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
inline std::uint32_t f32_to_bits(float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

// bf16 -> f32 is exact (bf16 is the top half of an f32).
inline float bf16_to_f32(std::uint16_t h) { return f32_from_bits(std::uint32_t(h) << 16); }

// f32 -> bf16, round to nearest even; NaN stays a (quiet) NaN.
inline std::uint16_t f32_to_bf16(float f) {
    std::uint32_t u = f32_to_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return std::uint16_t((u >> 16) | 0x40u);
    u += 0x7fffu + ((u >> 16) & 1u);
    return std::uint16_t(u >> 16);
}

// f16 -> f32, exact for every input (normals, subnormals, inf, NaN).
inline float f16_to_f32(std::uint16_t h) {
    const std::uint32_t sign = std::uint32_t(h & 0x8000u) << 16;
    std::uint32_t exp = (h >> 10) & 0x1fu;
    std::uint32_t mant = h & 0x3ffu;
    std::uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {  // subnormal: normalise
            exp = 127 - 15 + 1;
            while ((mant & 0x400u) == 0) {
                mant <<= 1;
                --exp;
            }
            mant &= 0x3ffu;
            bits = sign | (exp << 23) | (mant << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    return f32_from_bits(bits);
}

// f32 -> f16, round to nearest even, overflow to inf, subnormals handled.
inline std::uint16_t f32_to_f16(float f) {
    std::uint32_t u = f32_to_bits(f);
    const std::uint16_t sign = std::uint16_t((u >> 16) & 0x8000u);
    u &= 0x7fffffffu;
    if (u > 0x7f800000u) return std::uint16_t(sign | 0x7e00u);  // NaN
    if (u >= 0x477ff000u) return std::uint16_t(sign | 0x7c00u);  // >= 65520 rounds to inf
    if (u < 0x38800000u) {                                      // below the smallest f16 normal
        if (u < 0x33000000u) return sign;                       // rounds to zero
        const std::uint32_t e = u >> 23;
        const std::uint32_t m = (u & 0x7fffffu) | 0x800000u;
        const std::uint32_t shift = 126 - e;  // 14..24 with the implicit bit
        std::uint32_t r = m >> (shift - 0);
        // m has 24 significant bits; f16 subnormal unit = 2^-24. value = m * 2^(e-150).
        // result mantissa = m * 2^(e-150+24) = m >> (126 - e)
        const std::uint32_t rem = m & ((1u << shift) - 1u);
        const std::uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1u))) ++r;
        return std::uint16_t(sign | r);
    }
    // normal
    std::uint32_t r = ((u >> 13) - ((127 - 15) << 10));
    const std::uint32_t rem = u & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;
    return std::uint16_t(sign | r);
}

template <class T>
struct dtype_of;
template <>
struct dtype_of<float> {
    static constexpr dtype value = dtype::f32;
};
template <>
struct dtype_of<double> {
    static constexpr dtype value = dtype::f64;
};
template <>
struct dtype_of<std::int64_t> {
    static constexpr dtype value = dtype::i64;
};
template <>
struct dtype_of<std::int32_t> {
    static constexpr dtype value = dtype::i32;
};
template <>
struct dtype_of<std::uint8_t> {
    static constexpr dtype value = dtype::u8;
};
template <>
struct dtype_of<std::int8_t> {
    static constexpr dtype value = dtype::i8;
};

// Convert n stored elements of type t (f32/f16/bf16) to f32.
inline bool convert_to_f32(dtype t, const void* src, float* dst, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(src);
    switch (t) {
        case dtype::f32: std::memcpy(dst, src, n * 4); return true;
        case dtype::bf16:
            for (std::size_t i = 0; i < n; ++i) {
                std::uint16_t h;
                std::memcpy(&h, b + 2 * i, 2);
                dst[i] = bf16_to_f32(h);
            }
            return true;
        case dtype::f16:
            for (std::size_t i = 0; i < n; ++i) {
                std::uint16_t h;
                std::memcpy(&h, b + 2 * i, 2);
                dst[i] = f16_to_f32(h);
            }
            return true;
        default: return false;
    }
}

}  // namespace smolvlm
