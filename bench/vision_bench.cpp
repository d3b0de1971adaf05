// Vision encoder: one 512 x 512 tile through SigLIP-B/16 + connector at the real
// SmolVLM-256M shape (hidden 768, 12 layers, 12 heads, MLP 3072, patch 16 -> 1024
// patches, pixel shuffle 4 -> 64 tokens projected to 576), random bf16 weights made
// here (no files), kernels chosen for this CPU, 1 and 2 threads. The Time column is
// ms per tile (wall clock; one iteration = one tile); cpu_ms_all_threads is the CPU time
// of all threads per tile (useful when the machine is shared). Reference point: llama.cpp takes 2604 ms/tile at 2 threads on
// the project machine.
//
// Arg(1): q8 weights (kernels/pack.hpp, int8 per-row-group) instead of bf16, same shape.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bench_util.hpp"

#include "smolvlm/core/cpu.hpp"
#include "smolvlm/core/dtype.hpp"
#include "smolvlm/kernels/dispatch.hpp"
#include "smolvlm/kernels/pack.hpp"
#include "smolvlm/model/siglip.hpp"
#include "smolvlm/model/smolvlm.hpp"

namespace {

using namespace smolvlm;

// A SmolVLM-256M-shaped vision tower with random weights, kept alive for all runs.
struct bench_model {
    model_config cfg;
    siglip_weights w;
    kernels::weight_matrix connector;
    std::vector<std::vector<std::uint16_t>> bf16;  // owned bf16 storage
    std::vector<kernels::packed_weight> packed;    // owned q8 storage (quantized runs)
    std::uint64_t rng = 0x243F6A8885A308D3ull;

    float uniform() {  // in [-1, 1)
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return float(std::int64_t(rng >> 40) - (std::int64_t(1) << 23)) / float(std::int64_t(1) << 23);
    }
    kernels::weight_matrix matrix(std::int64_t rows, std::int64_t cols, bool q8) {
        const float scale = 1.0f / float(cols);  // keeps activations O(1) through the layers
        std::vector<std::uint16_t> data(std::size_t(rows * cols));
        for (auto& v : data) v = f32_to_bf16(uniform() * scale * 1.7f);
        kernels::weight_matrix m;
        m.type = dtype::bf16;
        m.rows = rows;
        m.cols = cols;
        if (q8) {
            auto p = kernels::pack_weight(data.data(), dtype::bf16, rows, cols, dtype::q8);
            if (p.is_ok()) {
                packed.push_back(std::move(p.value()));
                return packed.back().matrix();
            }
        }
        bf16.push_back(std::move(data));
        m.data = bf16.back().data();
        return m;
    }
    std::vector<float> vec(std::int64_t n, float mean, float scale) {
        std::vector<float> v(static_cast<std::size_t>(n));
        for (float& x : v) x = mean + scale * uniform();
        return v;
    }

    explicit bench_model(bool q8) {
        cfg.arch = model_arch::smolvlm;
        cfg.has_vision = true;
        cfg.scale_factor = 4;
        cfg.text.hidden_size = 576;
        vision_config& v = cfg.vision;
        v.hidden_size = 768;
        v.intermediate_size = 3072;
        v.num_hidden_layers = 12;
        v.num_attention_heads = 12;
        v.image_size = 512;
        v.patch_size = 16;
        v.layer_norm_eps = 1e-6;
        const std::int64_t D = 768, F = 3072, n = 1024;
        bf16.reserve(128);
        packed.reserve(128);
        w.patch_embed = matrix(D, 3 * 16 * 16, q8);
        w.patch_bias = vec(D, 0.0f, 0.1f);
        w.pos_embed = vec(n * D, 0.0f, 0.5f);
        w.post_ln_w = vec(D, 1.0f, 0.1f);
        w.post_ln_b = vec(D, 0.0f, 0.1f);
        w.layers.resize(12);
        for (auto& L : w.layers) {
            L.ln1_w = vec(D, 1.0f, 0.1f);
            L.ln1_b = vec(D, 0.0f, 0.1f);
            L.ln2_w = vec(D, 1.0f, 0.1f);
            L.ln2_b = vec(D, 0.0f, 0.1f);
            L.q = matrix(D, D, q8);
            L.k = matrix(D, D, q8);
            L.v = matrix(D, D, q8);
            L.o = matrix(D, D, q8);
            L.q_b = vec(D, 0.0f, 0.1f);
            L.k_b = vec(D, 0.0f, 0.1f);
            L.v_b = vec(D, 0.0f, 0.1f);
            L.o_b = vec(D, 0.0f, 0.1f);
            L.fc1 = matrix(F, D, q8);
            L.fc1_b = vec(F, 0.0f, 0.1f);
            L.fc2 = matrix(D, F, q8);
            L.fc2_b = vec(D, 0.0f, 0.1f);
        }
        connector = matrix(576, D * 16, q8);
    }
};

bench_model& model(bool q8) {
    static bench_model bf(false);
    if (!q8) return bf;
    static bench_model q(true);
    return q;
}

// range(0): threads; range(1): 0 = bf16 weights, 1 = q8 weights.
void BM_vision_encode_tile(benchmark::State& state) {
    const int threads = int(state.range(0));
    const bool q8 = state.range(1) != 0;
    bench_model& m = model(q8);
    thread_pool pool(threads);
    const kernels::kernel_table kt = kernels::select_kernels(detect_cpu());
    nn::context ctx;
    ctx.pool = &pool;
    ctx.kt = kt;
    std::vector<float> pixels(3 * 512 * 512);
    for (float& x : pixels) x = m.uniform();
    std::vector<float> features(64 * 576);
    const siglip_encoder enc(m.cfg.vision, m.w);
    const pixel_shuffle_projector proj(m.cfg.vision.hidden_size, m.cfg.scale_factor, m.connector);
    vision_workspace scratch;
    auto bytes = tile_workspace_bytes(enc, proj, 512, 512, threads);
    if (!bytes.is_ok() || !scratch.reserve(bytes.value()).is_ok()) {
        state.SkipWithError("cannot allocate the vision workspace");
        return;
    }
    const double cpu0 = smolvlm_bench::process_cpu_seconds();
    for (auto _ : state) {
        status s = encode_tile(ctx, enc, proj, vision_image{pixels.data(), 512, 512, nullptr}, features.data(), scratch);
        if (!s.is_ok()) {
            state.SkipWithError(s.message());
            return;
        }
        benchmark::DoNotOptimize(features.data());
    }
    // CPU ms per tile summed over all threads: on a shared (loaded) machine, the work
    // done, independent of how long the threads waited for a core.
    state.counters["cpu_ms_all_threads"] = (smolvlm_bench::process_cpu_seconds() - cpu0) * 1e3 / double(state.iterations());
    state.SetLabel(std::string(kernels::isa_name(kt.chosen)) + (q8 ? " q8" : " bf16") + ", scratch " +
                   std::to_string(scratch.size_bytes() >> 20) + " MiB");
}

}  // namespace

BENCHMARK(BM_vision_encode_tile)
    ->Args({1, 0})
    ->Args({2, 0})
    ->Args({1, 1})
    ->Args({2, 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(2);
