#include <smolvlm/kernels/dispatch.hpp>
#include <smolvlm/nn/activation.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "../test_util.hpp"

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
        const nn::context ctx{&pool, kernels::select_kernels(f, i).matmul};
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
