// Kernel benchmarks: GEMV (decode, n = 1) in GB/s of weights streamed, GEMM (prefill /
// vision) in GOP/s (2 * rows * cols * n per call).
//
// GEMV cycles over enough copies of the matrix (>= 400 MB) that every call streams its
// weights from DRAM, not from the large L3 of server parts: that is what decoding a real
// model (all layers, once per token) does. Compare with /work/shared/bench/ANCHORS.md.
//
//   smolvlm-bench --benchmark_filter=gemv   (or gemm)
#include <benchmark/benchmark.h>

#include <smolvlm/kernels/dispatch.hpp>
#include <smolvlm/kernels/pack.hpp>
#include <smolvlm/nn/attention.hpp>

#include <cstring>
#include <memory>
#include <random>
#include <vector>

using namespace smolvlm;
using namespace smolvlm::kernels;

namespace {

const dtype k_types[] = {dtype::q4, dtype::q8, dtype::bf16, dtype::f32};

std::vector<float> random_weights(std::int64_t n) {
    std::mt19937 rng(1);
    std::normal_distribution<float> nd(0.0f, 0.02f);
    std::vector<float> v(static_cast<std::size_t>(n));
    for (auto& x : v) x = nd(rng);
    return v;
}

// Bytes the kernel reads for one pass over the matrix.
std::size_t weight_bytes(const weight_matrix& m) {
    switch (m.type) {
        case dtype::q4: return panel_q4_bytes(m.rows, m.cols) + 2 * panel_scale_count(m.rows, m.cols);
        case dtype::q8: return panel_q8_bytes(m.rows, m.cols) + 2 * panel_scale_count(m.rows, m.cols);
        default: return std::size_t(m.rows * m.cols) * dtype_size(m.type);
    }
}

struct copies {
    std::vector<unsigned char> storage;
    std::vector<weight_matrix> mats;
};

// k copies of a packed matrix in one buffer, each with its own weight_matrix.
copies replicate(const weight_matrix& m, std::size_t min_total) {
    copies c;
    const std::size_t b = weight_bytes(m);
    const std::size_t qb = m.type == dtype::q4 ? panel_q4_bytes(m.rows, m.cols)
                           : m.type == dtype::q8 ? panel_q8_bytes(m.rows, m.cols) : b;
    std::size_t k = (min_total + b - 1) / b;
    if (k < 1) k = 1;
    const std::size_t stride = (b + 4095) / 4096 * 4096;
    c.storage.resize(k * stride + 64);
    unsigned char* base = c.storage.data() + (64 - reinterpret_cast<std::uintptr_t>(c.storage.data()) % 64);
    for (std::size_t i = 0; i < k; ++i) {
        unsigned char* p = base + i * stride;
        weight_matrix w = m;
        std::memcpy(p, m.data, qb);
        w.data = p;
        if (m.scales) {
            std::memcpy(p + qb, m.scales, b - qb);
            w.scales = p + qb;
        }
        c.mats.push_back(w);
    }
    return c;
}

void run_matmul(benchmark::State& st, dtype t, std::int64_t rows, std::int64_t cols, std::int64_t n, int threads,
                isa force) {
    const kernel_table k = select_kernels(detect_cpu(), force);
    if (k.forced_unavailable) {
        st.SkipWithError("ISA not available on this CPU");
        return;
    }
    thread_pool pool(threads);
    const auto w = random_weights(rows * cols);
    auto pw = pack_weight(w.data(), dtype::f32, rows, cols, t, &pool);
    if (!pw.is_ok()) {
        st.SkipWithError(pw.error().message());
        return;
    }
    // Dense views point into `w`; the copies below own their bytes either way.
    const copies c = replicate(pw->matrix(), n == 1 ? (std::size_t(400) << 20) : 0);
    std::vector<float> x(std::size_t(n * cols), 0.5f), y(std::size_t(n * rows));
    std::mt19937 rng(2);
    std::normal_distribution<float> nd(0.0f, 1.0f);
    for (auto& v : x) v = nd(rng);
    std::size_t i = 0;
    for (auto _ : st) {
        k.matmul(c.mats[i], x.data(), n, y.data(), nullptr, &pool);
        benchmark::DoNotOptimize(y.data());
        i = (i + 1) % c.mats.size();
    }
    st.SetBytesProcessed(std::int64_t(st.iterations()) * std::int64_t(weight_bytes(pw->matrix())));
    st.counters["GOP/s"] =
        benchmark::Counter(2.0 * double(rows) * double(cols) * double(n) * double(st.iterations()),
                           benchmark::Counter::kIsRate, benchmark::Counter::OneK::kIs1000);
    st.SetLabel(std::string(dtype_name(t)) + " " + isa_name(k.chosen));
}

// GEMV at the decoder shapes: args (dtype index, rows, cols, threads).
void BM_gemv(benchmark::State& st) {
    run_matmul(st, k_types[st.range(0)], st.range(1), st.range(2), 1, int(st.range(3)), isa::best);
}

// GEMM: args (dtype index, rows, cols, tokens, threads).
void BM_gemm(benchmark::State& st) {
    run_matmul(st, k_types[st.range(0)], st.range(1), st.range(2), st.range(3), int(st.range(4)), isa::best);
}

// Same GEMM on a forced ISA (index into the list below), q8 only: how much VNNI buys.
const isa k_isas[] = {isa::scalar, isa::avx2, isa::avx_vnni, isa::avx512, isa::avx512_vnni};
void BM_gemm_isa(benchmark::State& st) {
    run_matmul(st, k_types[st.range(0)], st.range(1), st.range(2), st.range(3), int(st.range(4)), k_isas[st.range(5)]);
}

void gemv_args(benchmark::internal::Benchmark* b) {
    const std::int64_t shapes[][2] = {{1536, 576}, {2560, 960}, {8192, 2048}, {49280, 576}};
    for (int t = 0; t < 4; ++t)
        for (const auto& s : shapes)
            for (int th : {1, 2}) b->Args({t, s[0], s[1], th});
}

void gemm_args(benchmark::internal::Benchmark* b) {
    for (int t = 0; t < 4; ++t)
        for (int th : {1, 2}) {
            b->Args({t, 3072, 768, 1024, th});  // SigLIP MLP fc1 over one 512x512 tile
            b->Args({t, 1536, 576, 512, th});   // SmolLM2-135M MLP up, 512-token prefill
        }
}

void gemm_isa_args(benchmark::internal::Benchmark* b) {
    for (int i = 1; i < 5; ++i) b->Args({1, 3072, 768, 1024, 2, i});
}

// One attention query (decode) over n_kv cached keys, hd 64, on a forced ISA (index into
// k_attend_isas): keys per second. args (isa index, n_kv).
const isa k_attend_isas[] = {isa::scalar, isa::avx2, isa::avx512};
void BM_attend(benchmark::State& st) {
    const kernel_table k = select_kernels(detect_cpu(), k_attend_isas[st.range(0)]);
    if (k.forced_unavailable) {
        st.SkipWithError("ISA not available");
        return;
    }
    const std::int64_t n_kv = st.range(1), hd = 64, stride = 3 * hd;  // 3 kv heads, as SmolVLM-256M
    const auto q = random_weights(hd);
    const auto kv = random_weights(n_kv * stride);
    std::vector<float> out(static_cast<std::size_t>(hd));
    for (auto _ : st) {
        k.attend(q.data(), kv.data(), kv.data(), stride, n_kv, hd, 0.125f, out.data());
        benchmark::DoNotOptimize(out.data());
    }
    st.counters["keys/s"] = benchmark::Counter(double(n_kv) * double(st.iterations()), benchmark::Counter::kIsRate);
    st.SetLabel(isa_name(k.chosen));
}

// Attention over a 512-token prompt chunk (causal, SmolVLM-256M heads: 9 query / 3 kv heads
// of 64, head-major planes as in kv_cache), one thread: arg 0 = the per-query kernel
// (nn::attention), 1 = blocks of 64 queries on the GEMM + pv kernels (nn::attention_blocked).
// GFLOP/s counts the causal work: 4 * hd * heads * n (n + 1) / 2.
void BM_prefill_attention(benchmark::State& st) {
    const kernel_table k = select_kernels(detect_cpu());
    const std::int64_t n = 512, hd = 64, heads = 9, kv_heads = 3;
    nn::attention_shape a;
    a.n_q = a.n_kv = n;
    a.n_heads = heads;
    a.n_kv_heads = kv_heads;
    a.head_dim = hd;
    a.q_stride = a.out_stride = heads * hd;
    a.kv_stride = hd;
    a.kv_head_stride = n * hd;
    a.causal = true;
    const auto q = random_weights(n * heads * hd);
    auto kv = random_weights(n * kv_heads * hd);
    for (auto& x : kv) x *= 50.0f;  // scores of a few units, as in a real model
    std::vector<float> out(static_cast<std::size_t>(n * heads * hd));
    std::vector<float> buf(nn::attention_scratch::floats_needed(n, hd, 1));
    nn::attention_scratch sc;
    sc.base = buf.data();
    sc.max_kv = n;
    sc.head_dim = hd;
    sc.slots = 1;
    const nn::context ctx{nullptr, k};
    for (auto _ : st) {
        if (st.range(0) == 0)
            nn::attention(ctx, a, q.data(), kv.data(), kv.data(), out.data());
        else
            nn::attention_blocked(ctx, a, q.data(), kv.data(), kv.data(), out.data(), sc);
        benchmark::DoNotOptimize(out.data());
    }
    const double flops = 4.0 * double(hd * heads) * double(n) * double(n + 1) / 2.0;
    st.counters["GFLOP/s"] = benchmark::Counter(flops * double(st.iterations()) / 1e9, benchmark::Counter::kIsRate);
    st.SetLabel(st.range(0) == 0 ? "per-query" : "blocked");
}

}  // namespace

BENCHMARK(BM_prefill_attention)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->MinTime(0.3);
BENCHMARK(BM_attend)->ArgsProduct({{0, 1, 2}, {512}})->Unit(benchmark::kMicrosecond)->MinTime(0.2);
BENCHMARK(BM_gemv)->Apply(gemv_args)->Unit(benchmark::kMicrosecond)->MinTime(0.3)->UseRealTime();
BENCHMARK(BM_gemm)->Apply(gemm_args)->Unit(benchmark::kMillisecond)->MinTime(0.3)->UseRealTime();
BENCHMARK(BM_gemm_isa)->Apply(gemm_isa_args)->Unit(benchmark::kMillisecond)->MinTime(0.3)->UseRealTime();
