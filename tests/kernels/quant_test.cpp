#include <smolvlm/kernels/pack.hpp>
#include <smolvlm/kernels/quant.hpp>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "../test_util.hpp"
#include <smolvlm/kernels/dispatch.hpp>

namespace smolvlm_test_kernels_quant_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;
using namespace smolvlm::kernels;

namespace {

std::vector<float> gaussian(std::size_t n, unsigned seed, float sigma = 1.0f) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, sigma);
    std::vector<float> v(n);
    for (auto& x : v) x = nd(rng);
    return v;
}

// llama.cpp's Q4_0 rule, reimplemented from its description: d = max / -8 where max is
// the element of largest magnitude (with sign), q = min(15, trunc(x/d + 8.5)).
void q4_0_rule(const float* g, float* out) {
    float mx = 0.0f;
    for (int i = 0; i < 32; ++i)
        if (std::fabs(g[i]) > std::fabs(mx)) mx = g[i];
    const float d = f16_to_f32(f32_to_f16(mx / -8.0f));
    const float id = mx != 0.0f ? -8.0f / mx : 0.0f;
    for (int i = 0; i < 32; ++i) {
        int q = int(g[i] * id + 8.5f);
        q = q > 15 ? 15 : (q < 0 ? 0 : q);
        out[i] = d * float(q - 8);
    }
}

// The asymmetric candidate: value = d*q + m, d = (max-min)/15, m = min (f16 each).
void q4_min_rule(const float* g, float* out) {
    float mn = g[0], mx = g[0];
    for (int i = 1; i < 32; ++i) {
        mn = std::fmin(mn, g[i]);
        mx = std::fmax(mx, g[i]);
    }
    const float d = f16_to_f32(f32_to_f16((mx - mn) / 15.0f));
    const float m = f16_to_f32(f32_to_f16(mn));
    const float id = d > 0.0f ? 1.0f / d : 0.0f;
    for (int i = 0; i < 32; ++i) {
        float q = std::nearbyint((g[i] - m) * id);
        q = std::fmin(15.0f, std::fmax(0.0f, q));
        out[i] = d * q + m;
    }
}

double rel_rmse(const std::vector<float>& a, const std::vector<float>& b) {
    double e = 0.0, s = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        e += double(a[i] - b[i]) * double(a[i] - b[i]);
        s += double(a[i]) * double(a[i]);
    }
    return std::sqrt(e / s);
}

}  // namespace

TEST_CASE("q4 variant choice: searched symmetric vs Q4_0 vs asymmetric", "[kernels][quant]") {
    const std::size_t n = 4096 * 32;
    const auto w = gaussian(n, 42, 0.02f);
    std::vector<float> r0(n), rmin(n), rours(n);
    for (std::size_t g = 0; g < n; g += 32) {
        q4_0_rule(&w[g], &r0[g]);
        q4_min_rule(&w[g], &rmin[g]);
    }
    std::vector<block_q4> blocks(n / 32);
    quantize_row_q4(w.data(), blocks.data(), std::int64_t(n));
    dequantize_row_q4(blocks.data(), rours.data(), std::int64_t(n));
    const double e0 = rel_rmse(w, r0), emin = rel_rmse(w, rmin), ours = rel_rmse(w, rours);
    WARN("q4 RMSE / weight RMS on Gaussian: Q4_0 rule " << e0 << ", asymmetric d,min (5.0 bpw) " << emin
                                                         << ", searched symmetric (4.5 bpw, chosen) " << ours);
    // The requirement: never worse than Q4_0. We also expect a clear gain (measured 5.7%; >= 3% asserted).
    CHECK(ours <= e0);
    CHECK(ours < 0.97 * e0);
    // The asymmetric form may be a little better, but not by the 11% its extra bytes cost
    // in decode bandwidth; if it ever is, this choice should be revisited.
    CHECK(ours < 1.11 * emin);
}

TEST_CASE("q8 round trip error bound", "[kernels][quant]") {
    const std::size_t n = 64 * 32;
    auto w = gaussian(n, 7);
    w[5] = 0.0f;
    for (int i = 32; i < 64; ++i) w[std::size_t(i)] = 0.0f;  // an all-zero group
    std::vector<block_q8> b(n / 32);
    std::vector<float> r(n);
    quantize_row_q8(w.data(), b.data(), std::int64_t(n));
    dequantize_row_q8(b.data(), r.data(), std::int64_t(n));
    for (std::size_t g = 0; g < n; g += 32) {
        float amax = 0.0f;
        for (int i = 0; i < 32; ++i) amax = std::fmax(amax, std::fabs(w[g + std::size_t(i)]));
        // Step is amax/127 (f16-rounded, rel. error 2^-11); rounding error <= half a step,
        // plus the clamp when f16 rounding made d a bit small: bound 0.5 step + 0.1%.
        const float step = amax / 127.0f;
        for (int i = 0; i < 32; ++i) REQUIRE(std::fabs(r[g + std::size_t(i)] - w[g + std::size_t(i)]) <= 0.5f * step + 1e-3f * amax);
    }
    for (int i = 32; i < 64; ++i) CHECK(r[std::size_t(i)] == 0.0f);
}

TEST_CASE("q4 round trip error bound and exact codes", "[kernels][quant]") {
    const std::size_t n = 64 * 32;
    auto w = gaussian(n, 9);
    for (int i = 0; i < 32; ++i) w[std::size_t(i)] = 0.0f;
    // A group that is exactly representable: d = 0.25, codes -8..7.
    for (int i = 0; i < 32; ++i) w[32 + std::size_t(i)] = 0.25f * float((i % 16) - 8);
    std::vector<block_q4> b(n / 32);
    std::vector<float> r(n);
    quantize_row_q4(w.data(), b.data(), std::int64_t(n));
    dequantize_row_q4(b.data(), r.data(), std::int64_t(n));
    for (int i = 0; i < 32; ++i) CHECK(r[std::size_t(i)] == 0.0f);
    for (int i = 32; i < 64; ++i) CHECK(r[std::size_t(i)] == w[std::size_t(i)]);
    for (std::size_t g = 64; g < n; g += 32) {
        float amax = 0.0f;
        for (int i = 0; i < 32; ++i) amax = std::fmax(amax, std::fabs(w[g + std::size_t(i)]));
        // The chosen scale is at most amax/7 (divisor 7 candidate); elements inside the
        // grid are off by <= half a step, clipped ones by at most 2 steps. Bound: amax/3.5.
        for (int i = 0; i < 32; ++i) REQUIRE(std::fabs(r[g + std::size_t(i)] - w[g + std::size_t(i)]) <= amax / 3.5f);
    }
}

TEST_CASE("quantize from bf16 and f16 rows equals quantize from their f32 values", "[kernels][quant]") {
    const auto w = gaussian(96, 3);
    std::vector<std::uint16_t> hb(96), hh(96);
    std::vector<float> fb(96), fh(96);
    for (int i = 0; i < 96; ++i) {
        hb[std::size_t(i)] = f32_to_bf16(w[std::size_t(i)]);
        hh[std::size_t(i)] = f32_to_f16(w[std::size_t(i)]);
        fb[std::size_t(i)] = bf16_to_f32(hb[std::size_t(i)]);
        fh[std::size_t(i)] = f16_to_f32(hh[std::size_t(i)]);
    }
    std::vector<block_q4> a(3), b(3);
    quantize_row_q4(fb.data(), a.data(), 96);
    REQUIRE(quantize_row<block_q4>(dtype::bf16, hb.data(), b.data(), 96));
    CHECK(std::memcmp(a.data(), b.data(), sizeof(block_q4) * 3) == 0);
    std::vector<block_q8> c(3), d(3);
    quantize_row_q8(fh.data(), c.data(), 96);
    REQUIRE(quantize_row<block_q8>(dtype::f16, hh.data(), d.data(), 96));
    CHECK(std::memcmp(c.data(), d.data(), sizeof(block_q8) * 3) == 0);
    CHECK_FALSE(quantize_row<block_q8>(dtype::i32, hh.data(), d.data(), 96));
}

TEST_CASE("activation quantization", "[kernels][quant]") {
    auto x = gaussian(64, 11);
    for (int i = 32; i < 64; ++i) x[std::size_t(i)] = 0.0f;
    std::int8_t q[64];
    float d[2], s[2];
    quantize_act_row(x.data(), 64, 8, q, d, s);
    int sum = 0;
    for (int i = 0; i < 32; ++i) {
        CHECK(std::fabs(float(q[i]) * d[0] - x[std::size_t(i)]) <= 0.5f * d[0] * 1.0001f);
        sum += q[i];
    }
    CHECK(s[0] == Approx(-8.0f * d[0] * float(sum)));
    CHECK(d[1] == 0.0f);
    CHECK(s[1] == 0.0f);
    for (int i = 32; i < 64; ++i) CHECK(q[i] == 0);
}

TEST_CASE("panel packing round trip", "[kernels][quant][pack]") {
    for (std::int64_t rows : {1, 3, 17, 33}) {
        const std::int64_t cols = 96;
        const auto w = gaussian(std::size_t(rows * cols), unsigned(rows));
        for (dtype t : {dtype::q8, dtype::q4}) {
            auto p = pack_weight(w.data(), dtype::f32, rows, cols, t);
            REQUIRE(p.is_ok());
            const weight_matrix& m = p->matrix();
            CHECK(m.type == t);
            const auto* q = static_cast<const std::uint8_t*>(m.data);
            const auto* sc = static_cast<const std::uint16_t*>(m.scales);
            for (std::int64_t r = 0; r < rows; ++r) {
                std::vector<float> ref(static_cast<std::size_t>(cols));
                if (t == dtype::q8) {
                    std::vector<block_q8> b(3);
                    quantize_row_q8(&w[std::size_t(r * cols)], b.data(), cols);
                    dequantize_row_q8(b.data(), ref.data(), cols);
                } else {
                    std::vector<block_q4> b(3);
                    quantize_row_q4(&w[std::size_t(r * cols)], b.data(), cols);
                    dequantize_row_q4(b.data(), ref.data(), cols);
                }
                for (std::int64_t c = 0; c < cols; ++c) {
                    const float v = t == dtype::q8 ? float(panel_q8_value(q, 3, r, c))
                                                   : float(panel_q4_code(q, 3, r, c) - 8);
                    REQUIRE(v * panel_scale(sc, 3, r, c) == ref[std::size_t(c)]);
                }
            }
        }
    }
}

TEST_CASE("pack_weight validates its input", "[kernels][pack]") {
    float w[64] = {0};
    CHECK(pack_weight(nullptr, dtype::f32, 1, 32, dtype::q4).error().code() == errc::invalid_argument);
    CHECK(pack_weight(w, dtype::f32, 0, 32, dtype::q4).error().code() == errc::bad_shape);
    CHECK(pack_weight(w, dtype::f32, 2, 31, dtype::q4).error().code() == errc::bad_shape);
    CHECK(pack_weight(w, dtype::i32, 2, 32, dtype::q4).error().code() == errc::unsupported);
    CHECK(pack_weight(w, dtype::f32, 2, 32, dtype::i8).error().code() == errc::unsupported);
    auto v = pack_weight(w, dtype::f32, 2, 32, dtype::f32);
    REQUIRE(v.is_ok());
    CHECK_FALSE(v->owns_memory());
    CHECK(v->matrix().data == w);
    auto b = pack_weight(w, dtype::f32, 2, 31, dtype::bf16);
    REQUIRE(b.is_ok());
    CHECK(b->owns_memory());
    CHECK(b->matrix().type == dtype::bf16);
}

TEST_CASE("round_even matches nearbyint, ties to even, and stays defined on huge or NaN input", "[kernels][quant]") {
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> u(-300.0f, 300.0f);
    for (int i = 0; i < 100000; ++i) {
        const float x = u(rng);
        REQUIRE(kernels::detail::round_even(x) == std::nearbyint(x));
    }
    for (int k = -300; k <= 300; ++k) {  // exact halves: ties go to the even neighbour
        const float x = float(k) + 0.5f;
        REQUIRE(kernels::detail::round_even(x) == std::nearbyint(x));
    }
    CHECK(kernels::detail::round_even(1e30f) == 4194304.0f);
    CHECK(kernels::detail::round_even(-1e30f) == -4194304.0f);
    CHECK(kernels::detail::round_even(NAN) == -4194304.0f);
    CHECK(kernels::detail::max_f(1.0f, NAN) == 1.0f);
    CHECK(kernels::detail::min_f(1.0f, NAN) == 1.0f);
}

TEST_CASE("every host ISA's q4 weight quantizer is bit-identical to the scalar twin", "[kernels][quant]") {
#if SMOLVLM_SIMD_X86
    // The kernel table's q4_row for each ISA this CPU runs (AVX2: avx2::quantize_row_q4,
    // 8 groups per step; AVX-512: 16).
    std::vector<q4_row_fn> twins;
    for (isa i : {isa::avx2, isa::avx512})
        if (isa_supported(detect_cpu(), i)) twins.push_back(select_kernels(detect_cpu(), i).q4_row);
    REQUIRE(!twins.empty());
    for (q4_row_fn twin : twins) {
    REQUIRE(twin != &quantize_row_q4);  // a real twin, not the scalar one again
    // Gaussian weights of three magnitudes, and the ends: all-zero groups, a huge outlier,
    // infinities, NaN, values whose scales are f16 subnormals or round to f16 zero, ties
    // (exact multiples of a scale) and a row whose group count is not a multiple of 16.
    const std::size_t n = 8192 * 32 + 7 * 32;
    auto w = gaussian(n, 11, 0.02f);
    auto w2 = gaussian(n, 12, 3.0f);
    for (std::size_t i = n / 3; i < n / 2; ++i) w[i] = w2[i];
    for (std::size_t i = n / 2; i < n / 2 + 4096; ++i) w[i] *= 1e-4f;  // scales near f16 subnormals
    for (std::size_t i = n / 2 + 4096; i < n / 2 + 8192; ++i) w[i] *= 1e-8f;  // scales round to 0
    for (std::size_t i = 0; i < 64; ++i) w[i] = 0.0f;  // all-zero groups
    w[100] = 1e30f;                                    // a huge outlier
    w[200] = INFINITY;
    w[300] = -INFINITY;
    w[400] = std::numeric_limits<float>::quiet_NaN();
    for (std::size_t i = 512; i < 544; ++i) w[i] = float(int(i % 17) - 8) * 0.25f;  // exact code multiples
    for (std::size_t i = 544; i < 576; ++i) w[i] = -0.0f;
    for (const std::size_t len : {n, std::size_t(32), std::size_t(15 * 32), std::size_t(17 * 32)}) {
        std::vector<block_q4> a(len / 32), b(len / 32);
        quantize_row_q4(w.data(), a.data(), std::int64_t(len));
        twin(w.data(), b.data(), std::int64_t(len));
        std::size_t differ = 0;
        for (std::size_t g = 0; g < len / 32; ++g) {
            if (std::memcmp(&a[g], &b[g], sizeof(block_q4)) == 0) continue;
            ++differ;
            UNSCOPED_INFO("group " << g << " d " << a[g].d << " vs " << b[g].d << " first value " << w[g * 32]);
        }
        INFO("length " << len);
        CHECK(differ == 0);  // every block bit-identical
    }
    }
#endif
}

TEST_CASE("avx512 q8 weight quantizer is bit-identical to the scalar twin", "[kernels][quant]") {
#if SMOLVLM_SIMD_X86
    if (!isa_supported(detect_cpu(), isa::avx512)) {
        WARN("skipped: no AVX-512 on this CPU");
        return;
    }
    const std::size_t n = 4096 * 32;
    auto w = gaussian(n, 12, 0.02f);
    for (std::size_t i = 0; i < 32; ++i) w[i] = 0.0f;  // an all-zero group
    w[40] = NAN;                                       // NaN and infinities in other groups
    w[70] = INFINITY;
    w[100] = -1e-30f;
    for (std::size_t i = 128; i < 160; ++i) w[i] = 1e-6f * float(i);  // tiny scale (f16 subnormal)
    std::vector<block_q8> a(n / 32), b(n / 32);
    quantize_row_q8(w.data(), a.data(), std::int64_t(n));
    avx512::quantize_row_q8(w.data(), b.data(), std::int64_t(n));
    for (std::size_t g = 0; g < n / 32; ++g) {
        INFO("group " << g);
        REQUIRE(a[g].d == b[g].d);
        REQUIRE(std::memcmp(a[g].qs, b[g].qs, 32) == 0);
    }
#endif
}

}  // namespace smolvlm_test_kernels_quant_cases
