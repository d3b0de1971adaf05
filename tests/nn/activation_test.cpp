#include <smolvlm/kernels/dispatch.hpp>
#include <smolvlm/nn/activation.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "../test_util.hpp"

namespace smolvlm_test_nn_activation_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

TEST_CASE("swiglu / gelu_tanh kernels of every host ISA match the scalar twins", "[nn][activation]") {
    const cpu_features f = detect_cpu();
    std::mt19937 rng(3);
    std::normal_distribution<float> nd(0.0f, 3.0f);
    constexpr std::int64_t n = 1007;  // not a multiple of 16: a masked tail
    std::vector<float> g(n), u(n);
    for (auto& x : g) x = nd(rng);
    for (auto& x : u) x = nd(rng);
    g[0] = -200.0f;  // exp overflow / underflow ends
    g[1] = 200.0f;
    g[2] = 0.0f;
    thread_pool pool(2);
    for (kernels::isa i : {kernels::isa::scalar, kernels::isa::avx2, kernels::isa::avx512, kernels::isa::avx512_vnni,
                           kernels::isa::neon, kernels::isa::neon_dotprod}) {
        if (!kernels::isa_supported(f, i)) continue;
        const nn::context ctx{&pool, kernels::select_kernels(f, i)};
        std::vector<float> a = g, b = g;
        nn::swiglu(ctx, a.data(), u.data(), n);
        kernels::scalar::swiglu(b.data(), u.data(), n);
        // The vector exp is within 2e-7 relative of std::exp, plus one rounding in the
        // division: 1e-6 relative (and 1e-30 absolute for the exact zeros).
        for (std::size_t j = 0; j < a.size(); ++j) {
            INFO(kernels::isa_name(i) << " swiglu j " << j << " x " << g[j]);
            REQUIRE(std::fabs(a[j] - b[j]) <= 1e-6f * std::fabs(b[j]) + 1e-30f);
        }
        a = g;
        b = g;
        nn::gelu_tanh_inplace(ctx, a.data(), n);
        kernels::scalar::gelu_tanh(b.data(), n);
        // tanh as 1 - 2/(e^{2u}+1) loses relative accuracy where tanh ~ -1 (x << 0,
        // gelu ~ 0): bound 1e-6 absolute + 1e-5 relative.
        for (std::size_t j = 0; j < a.size(); ++j) {
            INFO(kernels::isa_name(i) << " gelu j " << j << " x " << g[j]);
            REQUIRE(std::fabs(a[j] - b[j]) <= 1e-5f * std::fabs(b[j]) + 1e-6f);
        }
    }
}

TEST_CASE("softmax kernels of every host ISA match the scalar twin", "[nn][activation][kernels]") {
    const cpu_features f = detect_cpu();
    std::mt19937 rng(5);
    std::normal_distribution<float> nd(0.0f, 4.0f);
    for (kernels::isa i : {kernels::isa::scalar, kernels::isa::avx2, kernels::isa::avx512, kernels::isa::avx512_vnni,
                           kernels::isa::neon, kernels::isa::neon_dotprod}) {
        if (!kernels::isa_supported(f, i)) continue;
        const kernels::softmax_fn sm = kernels::select_kernels(f, i).softmax;
        // Lengths around every vector width and unroll (8, 16, 32) and the vision rows (1024).
        for (std::int64_t n : {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 100, 1024, 1031}) {
            std::vector<float> row(static_cast<std::size_t>(n));
            for (float& x : row) x = nd(rng);
            row[std::size_t(n / 2)] = 25.0f;  // a dominant score: most numerators far below it
            if (n > 3) row[std::size_t(n - 1)] = -1e30f;  // a masked-like score: its numerator is 0
            std::vector<float> a = row, b = row;
            const float sa = sm(a.data(), n, 0.61f);
            const float sb = kernels::scalar::softmax(b.data(), n, 0.61f);
            INFO(kernels::isa_name(i) << " n " << n);
            // Both exps are within ~2e-7 relative of e^x; the sums differ only in order.
            CHECK(std::fabs(sa - sb) <= 2e-6f * sb);
            for (std::size_t j = 0; j < a.size(); ++j) REQUIRE(std::fabs(a[j] - b[j]) <= 1e-6f * b[j] + 1e-30f);
            CHECK(a[std::size_t(n / 2)] == 1.0f);  // e^0 at the max, exactly
            if (n > 3) CHECK(a[std::size_t(n - 1)] < 1e-37f);  // e^-87 or below: nothing next to the 1
        }
    }
}

}  // namespace smolvlm_test_nn_activation_cases
