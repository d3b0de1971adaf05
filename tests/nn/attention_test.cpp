#include <smolvlm/kernels/dispatch.hpp>
#include <smolvlm/nn/attention.hpp>

#include <cmath>
#include <random>
#include <vector>

#include "../test_util.hpp"

namespace smolvlm_test_nn_attention_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

namespace {

std::vector<float> gaussian(std::size_t n, unsigned seed, float sigma) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> nd(0.0f, sigma);
    std::vector<float> v(n);
    for (auto& x : v) x = nd(rng);
    return v;
}

}  // namespace

TEST_CASE("attention: every host ISA's per-query kernel matches the double reference", "[nn][attention]") {
    const cpu_features f = detect_cpu();
    thread_pool pool(2);
    int checked = 0;
    for (kernels::isa i : {kernels::isa::scalar, kernels::isa::avx2, kernels::isa::avx512, kernels::isa::avx512_vnni,
                           kernels::isa::neon, kernels::isa::neon_dotprod}) {
        if (!kernels::isa_supported(f, i)) continue;
        const kernels::kernel_table kt = kernels::select_kernels(f, i);
        nn::context ctx{&pool, kt};
        // head dims: SIMD ones (64, 128) and one that falls back to scalar (40).
        for (std::int64_t hd : {64, 128, 40})
            for (bool causal : {false, true})
                for (std::int64_t n_kv : {1, 17, 100}) {
                    nn::attention_shape a;
                    a.n_heads = 6;
                    a.n_kv_heads = 2;  // grouped-query: heads 0-2 read kv head 0
                    a.head_dim = hd;
                    a.causal = causal;
                    a.n_q = causal ? std::min<std::int64_t>(n_kv, 5) : 3;
                    a.n_kv = n_kv;
                    a.q_pos0 = causal ? n_kv - a.n_q : 0;
                    a.q_stride = a.out_stride = a.n_heads * hd;
                    a.kv_stride = a.n_kv_heads * hd;
                    // sigma 2 for q and k: scores of several units, so the softmax is far from
                    // uniform and the running-max rescaling is exercised.
                    const auto q = gaussian(std::size_t(a.n_q * a.q_stride), unsigned(hd + n_kv), 2.0f);
                    const auto k = gaussian(std::size_t(n_kv * a.kv_stride), unsigned(hd * 3 + n_kv), 2.0f);
                    const auto v = gaussian(std::size_t(n_kv * a.kv_stride), unsigned(hd * 5 + n_kv), 1.0f);
                    std::vector<float> out(std::size_t(a.n_q * a.out_stride), -1.0f), ref(out.size());
                    nn::attention(ctx, a, q.data(), k.data(), v.data(), out.data());
                    nn::attention_reference(a, q.data(), k.data(), v.data(), ref.data());
                    // Outputs are convex combinations of N(0,1) values (|out| <~ 3): f32
                    // scores (hd <= 128 terms, |score| ~ 30, rel 2^-24 each) shift the
                    // weights by < 1e-5 relative; exp_f32 adds 2e-7. Bound: 2e-5 absolute.
                    for (std::size_t j = 0; j < out.size(); ++j) {
                        INFO(kernels::isa_name(i) << " hd " << hd << " causal " << causal << " n_kv " << n_kv << " j " << j);
                        REQUIRE(std::fabs(out[j] - ref[j]) <= 2e-5f);
                    }
                    ++checked;
                }
    }
    CHECK(checked >= 18);
}

TEST_CASE("scalar::attend: zero keys give zeros, one key gives its value", "[nn][attention]") {
    const float q[64] = {1.0f}, k[64] = {0.5f};
    float v[64], out[64];
    for (int i = 0; i < 64; ++i) v[i] = float(i);
    kernels::scalar::attend(q, k, v, 64, 1, 64, 0.125f, out);
    for (int i = 0; i < 64; ++i) REQUIRE(out[i] == float(i));
    kernels::scalar::attend(q, k, v, 64, 0, 64, 0.125f, out);
    for (int i = 0; i < 64; ++i) REQUIRE(out[i] == 0.0f);
}

TEST_CASE("attention over an f16 KV cache: every host ISA equals f32 attention on the same (rounded) values",
          "[nn][attention]") {
    const cpu_features f = detect_cpu();
    thread_pool pool(2);
    int checked = 0;
    for (kernels::isa i : {kernels::isa::scalar, kernels::isa::avx2, kernels::isa::avx512, kernels::isa::avx512_vnni,
                           kernels::isa::neon, kernels::isa::neon_dotprod}) {
        if (!kernels::isa_supported(f, i)) continue;
        const kernels::kernel_table kt = kernels::select_kernels(f, i);
        nn::context ctx{&pool, kt};
        for (std::int64_t hd : {64, 128, 40, 32})
            for (std::int64_t n_kv : {1, 17, 100}) {
                nn::attention_shape a;
                a.n_heads = 6;
                a.n_kv_heads = 2;
                a.head_dim = hd;
                a.causal = true;
                a.n_q = std::min<std::int64_t>(n_kv, 5);
                a.n_kv = n_kv;
                a.q_pos0 = n_kv - a.n_q;
                a.q_stride = a.out_stride = a.n_heads * hd;
                a.kv_stride = a.n_kv_heads * hd;
                const auto q = gaussian(std::size_t(a.n_q * a.q_stride), unsigned(hd + n_kv), 2.0f);
                const auto k = gaussian(std::size_t(n_kv * a.kv_stride), unsigned(hd * 3 + n_kv), 2.0f);
                const auto v = gaussian(std::size_t(n_kv * a.kv_stride), unsigned(hd * 5 + n_kv), 1.0f);
                // Store K and V as f16; the f32 kernels run on the values those bits hold.
                std::vector<std::uint16_t> k16(k.size()), v16(v.size());
                std::vector<float> kr(k.size()), vr(v.size());
                for (std::size_t j = 0; j < k.size(); ++j) kr[j] = f16_to_f32(k16[j] = f32_to_f16(k[j]));
                for (std::size_t j = 0; j < v.size(); ++j) vr[j] = f16_to_f32(v16[j] = f32_to_f16(v[j]));
                std::vector<float> out16(std::size_t(a.n_q * a.out_stride)), out32(out16.size()), exact(out16.size());
                nn::attention_f16(ctx, a, q.data(), k16.data(), v16.data(), out16.data());
                nn::attention(ctx, a, q.data(), kr.data(), vr.data(), out32.data());
                nn::attention(ctx, a, q.data(), k.data(), v.data(), exact.data());
                INFO(kernels::isa_name(i) << " hd " << hd << " n_kv " << n_kv);
                // The same arithmetic after the exact f16 -> f32 conversion: equal up to how
                // the compiler contracts / vectorises the scalar loops (clang fuses a*b+c where
                // GCC does not): a few float ulps of |out| <~ 3, bound 1e-5.
                float diff = 0.0f;
                for (std::size_t j = 0; j < out16.size(); ++j) diff = std::max(diff, std::fabs(out16[j] - out32[j]));
                CHECK(diff <= 1e-5f);
                // And the f16 rounding itself (2^-12 relative on each stored value; scores
                // of ~30 move by ~4e-3, weights by ~0.4%) stays small on |out| <~ 3: 0.05.
                float worst = 0.0f;
                for (std::size_t j = 0; j < out16.size(); ++j) worst = std::max(worst, std::fabs(out16[j] - exact[j]));
                CHECK(worst < 0.05f);
                ++checked;
            }
    }
    CHECK(checked >= 12);
}

TEST_CASE("f32 -> f16 conversion kernels of every host ISA are bit-identical to f32_to_f16", "[nn][attention][kernels]") {
    const cpu_features f = detect_cpu();
    // Normal values of every magnitude, f16 subnormals, overflow to inf, ties, signed zeros.
    std::vector<float> x = gaussian(1000, 7, 3.0f);
    for (float e : {0.0f, -0.0f, 65504.0f, 65520.0f, 1e6f, -1e6f, 6.1e-5f, 3e-8f, 2.9802322e-8f, 1e-30f, 1.00048828125f,
                    1.00146484375f, INFINITY, -INFINITY})
        x.push_back(e);
    for (int i = 0; i < 300; ++i) x.push_back(std::ldexp(float(i % 7) - 3.0f, -i % 40));
    for (kernels::isa i : {kernels::isa::scalar, kernels::isa::avx2, kernels::isa::avx512, kernels::isa::avx512_vnni,
                           kernels::isa::neon, kernels::isa::neon_dotprod}) {
        if (!kernels::isa_supported(f, i)) continue;
        for (std::size_t n : {x.size(), std::size_t(7), std::size_t(8), std::size_t(9)}) {
            std::vector<std::uint16_t> got(n), want(n);
            kernels::select_kernels(f, i).to_f16(x.data(), got.data(), std::int64_t(n));
            for (std::size_t j = 0; j < n; ++j) want[j] = f32_to_f16(x[j]);
            INFO(kernels::isa_name(i) << " n " << n);
            CHECK(got == want);
        }
    }
}

TEST_CASE("pv kernels of every host ISA match the scalar twin", "[nn][attention][kernels]") {
    const cpu_features f = detect_cpu();
    for (kernels::isa i : {kernels::isa::scalar, kernels::isa::avx2, kernels::isa::avx512, kernels::isa::avx512_vnni,
                           kernels::isa::neon, kernels::isa::neon_dotprod}) {
        if (!kernels::isa_supported(f, i)) continue;
        const kernels::kernel_table kt = kernels::select_kernels(f, i);
        for (std::int64_t hd : {16, 32, 64, 128, 40})
            for (std::int64_t m : {1, 3, 4, 5, 64})
                for (std::int64_t nk : {1, 7, 130}) {
                    const std::int64_t p_stride = nk + 3, v_stride = hd * 3;  // strided rows, as in the cache
                    const auto p = gaussian(std::size_t(m * p_stride), unsigned(hd + m + nk), 0.3f);
                    const auto v = gaussian(std::size_t(nk * v_stride), unsigned(hd * 7 + nk), 1.0f);
                    std::vector<std::uint16_t> v16(v.size());
                    for (std::size_t j = 0; j < v.size(); ++j) v16[j] = f32_to_f16(v[j]);
                    std::vector<float> a(std::size_t(m * hd)), b(a.size()), a16(a.size()), b16(a.size());
                    kt.pv(p.data(), p_stride, m, nk, v.data(), v_stride, hd, a.data());
                    kernels::scalar::pv(p.data(), p_stride, m, nk, v.data(), v_stride, hd, b.data());
                    kt.pv_f16(p.data(), p_stride, m, nk, v16.data(), v_stride, hd, a16.data());
                    kernels::scalar::pv_f16(p.data(), p_stride, m, nk, v16.data(), v_stride, hd, b16.data());
                    INFO(kernels::isa_name(i) << " hd " << hd << " m " << m << " nk " << nk);
                    // Sums of nk <= 130 products of ~0.3 x ~1: FMA vs separate rounding, 1e-5.
                    for (std::size_t j = 0; j < a.size(); ++j) {
                        REQUIRE(std::fabs(a[j] - b[j]) <= 1e-5f);
                        REQUIRE(std::fabs(a16[j] - b16[j]) <= 1e-5f);
                    }
                }
    }
}

TEST_CASE("blocked attention (prefill) equals the double reference: causal, GQA, head-major planes, f32 and f16",
          "[nn][attention]") {
    const cpu_features f = detect_cpu();
    thread_pool pool(2);
    int checked = 0;
    for (kernels::isa i : {kernels::isa::scalar, kernels::isa::avx512_vnni, kernels::isa::avx2, kernels::isa::neon}) {
        if (!kernels::isa_supported(f, i)) continue;
        const kernels::kernel_table kt = kernels::select_kernels(f, i);
        nn::context ctx{&pool, kt};
        for (std::int64_t hd : {64, 40, 128})
            for (std::int64_t n_q : {16, 63, 130})
                for (std::int64_t past : {0, 37}) {
                    nn::attention_shape a;
                    a.n_heads = 6;
                    a.n_kv_heads = 2;
                    a.head_dim = hd;
                    a.causal = true;
                    a.n_q = n_q;
                    a.n_kv = past + n_q;
                    a.q_pos0 = past;
                    a.q_stride = a.out_stride = a.n_heads * hd;
                    const std::int64_t cap = a.n_kv + 5;  // planes of `cap` positions, as in kv_cache
                    a.kv_stride = hd;
                    a.kv_head_stride = cap * hd;
                    const auto q = gaussian(std::size_t(n_q * a.q_stride), unsigned(hd + n_q + past), 2.0f);
                    const auto k = gaussian(std::size_t(a.n_kv_heads * cap * hd), unsigned(hd * 3 + n_q), 2.0f);
                    const auto v = gaussian(std::size_t(a.n_kv_heads * cap * hd), unsigned(hd * 5 + n_q), 1.0f);
                    std::vector<float> buf(nn::attention_scratch::floats_needed(a.n_kv, hd, 2));
                    nn::attention_scratch sc;
                    sc.base = buf.data();
                    sc.max_kv = a.n_kv;
                    sc.head_dim = hd;
                    sc.slots = 2;
                    std::vector<float> out(std::size_t(n_q * a.out_stride)), ref(out.size()), per_query(out.size());
                    nn::attention_blocked(ctx, a, q.data(), k.data(), v.data(), out.data(), sc);
                    nn::attention_reference(a, q.data(), k.data(), v.data(), ref.data());
                    nn::attention(ctx, a, q.data(), k.data(), v.data(), per_query.data());
                    INFO(kernels::isa_name(i) << " hd " << hd << " n_q " << n_q << " past " << past);
                    // As for the per-query kernel: f32 scores and exp, convex combinations of
                    // N(0,1) values: 2e-5 absolute.
                    float worst = 0.0f, worst_pq = 0.0f;
                    for (std::size_t j = 0; j < out.size(); ++j) {
                        worst = std::max(worst, std::fabs(out[j] - ref[j]));
                        worst_pq = std::max(worst_pq, std::fabs(per_query[j] - ref[j]));
                    }
                    CHECK(worst <= 2e-5f);
                    CHECK(worst_pq <= 2e-5f);  // the per-query kernel reads head-major planes too
                    // f16 planes: equal to the f32 path on the rounded values up to summation
                    // order (the GEMM reads f16 through its own conversion): 2e-5.
                    std::vector<std::uint16_t> k16(k.size()), v16(v.size());
                    std::vector<float> kr(k.size()), vr(v.size());
                    for (std::size_t j = 0; j < k.size(); ++j) kr[j] = f16_to_f32(k16[j] = f32_to_f16(k[j]));
                    for (std::size_t j = 0; j < v.size(); ++j) vr[j] = f16_to_f32(v16[j] = f32_to_f16(v[j]));
                    std::vector<float> out16(out.size()), ref16(out.size());
                    nn::attention_blocked_f16(ctx, a, q.data(), k16.data(), v16.data(), out16.data(), sc);
                    nn::attention_reference(a, q.data(), kr.data(), vr.data(), ref16.data());
                    float worst16 = 0.0f;
                    for (std::size_t j = 0; j < out.size(); ++j) worst16 = std::max(worst16, std::fabs(out16[j] - ref16[j]));
                    CHECK(worst16 <= 2e-5f);
                    // A scratch with fewer slots than threads runs on one thread: same result.
                    nn::attention_scratch one = sc;
                    one.slots = 1;
                    std::vector<float> out1(out.size());
                    nn::attention_blocked(ctx, a, q.data(), k.data(), v.data(), out1.data(), one);
                    CHECK(out1 == out);
                    ++checked;
                }
    }
    CHECK(checked >= 18);
}

}  // namespace smolvlm_test_nn_attention_cases
