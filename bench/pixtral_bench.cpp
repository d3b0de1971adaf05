// Pixtral vision encoder + Mistral 3 projector at the real Mistral Small 3.1 shape (hidden
// 1024, 24 layers, 16 heads of 64, MLP 4096, patch 14; patch merger 2 x 2, projection to
// 5120), random q4 or q8 weights drawn directly as panels (no files), kernels chosen for
// this CPU. One iteration = one image; the Time column is ms per image (wall clock),
// cpu_ms_all_threads the CPU time of all threads (for a shared machine), GOP the multiply-
// adds x 2 of the image (matmuls + attention), GOP/s the rate.
//
// Args: {image side in px, threads, 4 = q4 / 8 = q8}. 448 px = 32 x 32 = 1024 patches;
// 1540 px = 110 x 110 = 12,100 patches, Mistral Small 3.1's largest image (attention is
// then 60% of the work). scripts/bench_mistral3.sh times the same 1540 px image through
// smolvlm-cli and llama.cpp's libmtmd (projector type pixtral) side by side.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bench_util.hpp"

#include "smolvlm/core/cpu.hpp"
#include "smolvlm/core/dtype.hpp"
#include "smolvlm/kernels/dispatch.hpp"
#include "smolvlm/kernels/pack.hpp"
#include "smolvlm/model/patch_merger.hpp"
#include "smolvlm/model/pixtral.hpp"
#include "smolvlm/model/smolvlm.hpp"

namespace {

using namespace smolvlm;

struct tower {
    vision_config v;
    std::unique_ptr<pixtral_encoder> enc;
    std::unique_ptr<patch_merger_projector> proj;
    std::vector<std::vector<std::uint8_t>> q;
    std::vector<std::vector<std::uint16_t>> d;
    std::vector<weight_slot> slots;
    std::uint64_t s = 0x9E3779B97F4A7C15ull;

    std::uint64_t next() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        return s;
    }
    // Random panels: codes uniform, f16 scales giving values of std ~1/sqrt(cols).
    kernels::weight_matrix matrix(std::int64_t rows, std::int64_t cols, dtype t) {
        const std::size_t qb = t == dtype::q4 ? kernels::panel_q4_bytes(rows, cols) : kernels::panel_q8_bytes(rows, cols);
        q.emplace_back(qb);
        for (std::size_t i = 0; i < qb; i += 8) {
            const std::uint64_t r = next();
            std::memcpy(q.back().data() + i, &r, std::min<std::size_t>(8, qb - i));
        }
        d.emplace_back(kernels::panel_scale_count(rows, cols),
                       f32_to_f16(1.0f / ((t == dtype::q4 ? 4.6f : 73.0f) * std::sqrt(float(cols)))));
        return kernels::weight_matrix{t, q.back().data(), d.back().data(), rows, cols};
    }

    std::vector<std::vector<std::uint16_t>> bf;
    kernels::weight_matrix dense(std::int64_t rows, std::int64_t cols) {
        bf.emplace_back(std::size_t(rows * cols));
        for (std::uint16_t& x : bf.back())
            x = f32_to_bf16(float(std::int64_t(next() >> 40) - (std::int64_t(1) << 23)) / float(1 << 23) / std::sqrt(float(cols)));
        return kernels::weight_matrix{dtype::bf16, bf.back().data(), nullptr, rows, cols};
    }

    explicit tower(dtype t) {
        v.hidden_size = 1024;
        v.intermediate_size = 4096;
        v.num_hidden_layers = 24;
        v.num_attention_heads = 16;
        v.patch_size = 14;
        v.image_size = 1540;
        v.hidden_act = "silu";
        enc.reset(new pixtral_encoder(v, 10000.0, -1, "vision_tower.", 2));
        proj.reset(new patch_merger_projector(1024, 2, 5120, 1e-5f, projector_act::gelu_erf, false));
        enc->weight_slots(slots);
        proj->weight_slots(slots);
        q.reserve(slots.size());
        d.reserve(slots.size());
        for (const weight_slot& sl : slots) {
            if (sl.matrix) {
                if (sl.linear) *sl.matrix = matrix(sl.shape[0], sl.shape[1], t);
                else *sl.matrix = dense(sl.shape[0], sl.shape[1]);  // patch conv: bf16, as the files keep it
            } else if (sl.vector) {
                sl.vector->assign(std::size_t(sl.shape.numel()), 1.0f);
            }
        }
    }
};

tower& get(dtype t) {
    static tower q4(dtype::q4), q8(dtype::q8);
    return t == dtype::q4 ? q4 : q8;
}

void BM_pixtral_encode(benchmark::State& state) {
    const std::int64_t side = state.range(0);
    const int threads = int(state.range(1));
    const dtype t = state.range(2) == 4 ? dtype::q4 : dtype::q8;
    tower& m = get(t);
    if (!m.enc->check().is_ok()) {
        state.SkipWithError("bad weights");
        return;
    }
    thread_pool pool(threads);
    nn::context ctx;
    ctx.pool = &pool;
    ctx.kt = kernels::select_kernels(detect_cpu());
    std::vector<float> pixels(std::size_t(3 * side * side));
    for (float& x : pixels) x = float(std::int64_t(m.next() >> 40) - (std::int64_t(1) << 23)) / float(1 << 23);
    const std::int64_t n = (side / 14) * (side / 14), tokens = n / 4;
    std::vector<float> out(std::size_t(tokens * 5120));
    vision_workspace ws;
    auto bytes = tile_workspace_bytes(*m.enc, *m.proj, side, side, threads);
    if (!bytes.is_ok() || !ws.reserve(bytes.value()).is_ok()) {
        state.SkipWithError("cannot allocate the workspace");
        return;
    }
    const double c0 = smolvlm_bench::process_cpu_seconds();
    for (auto _ : state) {
        status s = encode_tile(ctx, *m.enc, *m.proj, vision_image{pixels.data(), side, side, nullptr}, out.data(), ws);
        if (!s.is_ok()) {
            state.SkipWithError(s.message());
            return;
        }
        benchmark::DoNotOptimize(out.data());
    }
    // 2 x multiply-adds: per layer 4 D^2 + 3 D F per patch, attention 2 n^2 D; + conv, merger, MLP.
    const double D = 1024, F = 4096;
    const double gop = 2.0 * (24.0 * (double(n) * (4 * D * D + 3 * D * F) + 2.0 * double(n) * double(n) * D) +
                              double(n) * 588 * D + double(tokens) * (4 * D * D + D * 5120 + 5120.0 * 5120)) / 1e9;
    state.counters["GOP"] = gop;
    state.counters["GOP/s"] = benchmark::Counter(gop * double(state.iterations()), benchmark::Counter::kIsRate);
    state.counters["cpu_ms_all_threads"] = (smolvlm_bench::process_cpu_seconds() - c0) * 1e3 / double(state.iterations());
    state.SetLabel(std::string(kernels::isa_name(ctx.kt.chosen)) + (t == dtype::q4 ? " q4" : " q8") + ", workspace " +
                   std::to_string(ws.size_bytes() >> 20) + " MiB");
}

}  // namespace

BENCHMARK(BM_pixtral_encode)
    ->Args({448, 1, 4})
    ->Args({448, 2, 4})
    ->Args({448, 2, 8})
    ->Args({1540, 2, 4})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);
