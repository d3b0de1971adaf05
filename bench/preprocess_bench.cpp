// Image preprocessing speed: a phone photo and a VGA frame through the exact HF pipeline
// (PIL LANCZOS resizes, tiling, normalisation) at SmolVLM's real sizes (2048 / 512).
//
// Note on tile counts: 4032x3024 (4:3) becomes 2048x1536 -> 4 x 3 tiles + global = 13;
// a square 3024x3024 photo gives 4 x 4 + global = 17.
#include <benchmark/benchmark.h>

#include <smolvlm/pipeline/preprocess.hpp>

#include <cstdint>

using namespace smolvlm;

namespace {

image synthetic_photo(int w, int h) {
    image im;
    im.width = w;
    im.height = h;
    im.channels = 3;
    im.pixels.resize(std::size_t(w) * std::size_t(h) * 3);
    std::uint32_t s = 12345;
    for (int y = 0; y < h; ++y) {
        std::uint8_t* row = im.row(y);
        for (int x = 0; x < w; ++x) {
            s = s * 1664525u + 1013904223u;
            const int noise = int(s >> 29);
            row[3 * x + 0] = std::uint8_t((x * 255 / w + noise) & 0xff);
            row[3 * x + 1] = std::uint8_t((y * 255 / h + noise) & 0xff);
            row[3 * x + 2] = std::uint8_t(((x + y) * 127 / (w + h) + 64 + noise) & 0xff);
        }
    }
    return im;
}

image_processor_config smolvlm_config() {
    image_processor_config c;
    c.longest_edge = 2048;
    c.max_image_size = 512;
    return c;
}

void run(benchmark::State& state, int w, int h, int threads, kernels::isa isa) {
    const image im = synthetic_photo(w, h);
    const image_processor_config cfg = smolvlm_config();
    thread_pool pool(threads);
    preprocess_options opt;
    opt.pool = threads > 1 ? &pool : nullptr;
    const kernels::kernel_table kt = kernels::select_kernels(detect_cpu(), isa);
    opt.kernels = &kt;
    int tiles = 0;
    for (auto _ : state) {
        auto r = preprocess_images(&im, 1, cfg, opt);
        if (!r.is_ok()) {
            state.SkipWithError(r.error().message());
            return;
        }
        tiles = r->total_tiles();
        benchmark::DoNotOptimize(r->pixel_values.data());
    }
    state.counters["tiles"] = tiles;
    state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(im.pixels.size()));
}

void BM_preprocess_4032x3024(benchmark::State& s) { run(s, 4032, 3024, int(s.range(0)), kernels::isa::best); }
void BM_preprocess_4032x3024_scalar(benchmark::State& s) { run(s, 4032, 3024, 1, kernels::isa::scalar); }
void BM_preprocess_3024x3024(benchmark::State& s) { run(s, 3024, 3024, int(s.range(0)), kernels::isa::best); }
void BM_preprocess_640x480(benchmark::State& s) { run(s, 640, 480, int(s.range(0)), kernels::isa::best); }

void BM_lanczos_4032x3024_to_2048x1536(benchmark::State& state) {
    const image im = synthetic_photo(4032, 3024);
    resample_options opt;
    const kernels::kernel_table kt = kernels::select_kernels(detect_cpu(), state.range(0) ? kernels::isa::avx2 : kernels::isa::scalar);
    opt.kernels = &kt;
    for (auto _ : state) {
        auto r = pil_resize(im.view(), 2048, 1536, resample_filter::lanczos, opt);
        benchmark::DoNotOptimize(r.is_ok());
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(im.pixels.size()));
}

}  // namespace

BENCHMARK(BM_preprocess_4032x3024)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_preprocess_4032x3024_scalar)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_preprocess_3024x3024)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_preprocess_640x480)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_lanczos_4032x3024_to_2048x1536)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();
