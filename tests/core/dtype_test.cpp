#include <smolvlm/core/dtype.hpp>

#include <cmath>
#include <limits>

#include "../test_util.hpp"

namespace smolvlm_test_core_dtype_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

TEST_CASE("bf16 round trip is exact for every bf16 value", "[core][dtype]") {
    for (std::uint32_t h = 0; h < 0x10000u; ++h) {
        float f = bf16_to_f32(std::uint16_t(h));
        if (std::isnan(f)) {
            CHECK(std::isnan(bf16_to_f32(f32_to_bf16(f))));
            continue;
        }
        REQUIRE(f32_to_bf16(f) == h);
    }
}

TEST_CASE("bf16 rounds to nearest even", "[core][dtype]") {
    // 1 + 2^-8 is exactly half way between two bf16 values: ties to even (1.0).
    CHECK(bf16_to_f32(f32_to_bf16(1.0f + std::ldexp(1.0f, -8))) == 1.0f);
    // 1 + 3*2^-8 rounds up to 1 + 2^-6 (even).
    CHECK(bf16_to_f32(f32_to_bf16(1.0f + 3 * std::ldexp(1.0f, -8))) == 1.0f + std::ldexp(1.0f, -6));
}

TEST_CASE("f16 round trip is exact for every f16 value", "[core][dtype]") {
    for (std::uint32_t h = 0; h < 0x10000u; ++h) {
        float f = f16_to_f32(std::uint16_t(h));
        if (std::isnan(f)) continue;
        REQUIRE(f32_to_f16(f) == h);
    }
    CHECK(f16_to_f32(0x3c00) == 1.0f);
    CHECK(f16_to_f32(0x0001) == std::ldexp(1.0f, -24));
    CHECK(f16_to_f32(0x7bff) == 65504.0f);
    CHECK(std::isinf(f16_to_f32(0x7c00)));
}

TEST_CASE("f32 -> f16 rounding matches a double-precision reference", "[core][dtype]") {
    // For values between f16 neighbours, the result must be the nearest (ties to even).
    std::uint32_t state = 12345;
    for (int i = 0; i < 200000; ++i) {
        state = state * 1664525u + 1013904223u;
        float f = f32_from_bits(state);
        if (!std::isfinite(f) || std::fabs(f) > 65504.0f) continue;
        std::uint16_t h = f32_to_f16(f);
        double got = f16_to_f32(h);
        // neighbours
        double lo = f16_to_f32(std::uint16_t(h - ((h & 0x7fff) ? 1 : 0)));
        double hi = f16_to_f32(std::uint16_t(h + 1));
        double err = std::fabs(got - double(f));
        REQUIRE(err <= std::fabs(lo - double(f)));
        if ((h & 0x7fff) < 0x7bff) REQUIRE(err <= std::fabs(hi - double(f)));
    }
    CHECK(f32_to_f16(65520.0f) == 0x7c00);  // rounds to inf
    CHECK(f32_to_f16(-0.0f) == 0x8000);
}

}  // namespace smolvlm_test_core_dtype_cases
