// Image decoding speed: MB/s of *decoded* pixels (SetBytesProcessed = output bytes).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <smolvlm/core/cpu.hpp>
#include <smolvlm/io/decode.hpp>
#include <smolvlm/kernels/dispatch.hpp>
#include <smolvlm/pipeline/preprocess.hpp>

#ifndef SMOLVLM_SHARED_DIR
#define SMOLVLM_SHARED_DIR "../shared"
#endif

namespace {

std::vector<std::uint8_t> read_all(const std::string& path) {
    std::vector<std::uint8_t> b;
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return b;
    std::uint8_t buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) b.insert(b.end(), buf, buf + n);
    std::fclose(f);
    return b;
}

void decode_file(benchmark::State& state, const char* rel) {
    std::string path = std::string(SMOLVLM_SHARED_DIR) + "/fixtures/" + rel;
    std::vector<std::uint8_t> data = read_all(path);
    if (data.empty()) {
        state.SkipWithError(("missing " + path).c_str());
        return;
    }
    std::size_t out_bytes = 0;
    for (auto _ : state) {
        auto r = smolvlm::decode_image(data.data(), data.size());
        if (!r) {
            state.SkipWithError(r.error().message());
            return;
        }
        out_bytes = r->pixels.size();
        benchmark::DoNotOptimize(r->pixels.data());
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(out_bytes));
    state.counters["file_KB"] = double(data.size()) / 1024.0;
}

// A 2048x1536 RGB PNG made here: zlib stored blocks would be trivial, so build a
// fixed-Huffman stream with literal bytes and frequent length-3 distance-3 matches.
std::vector<std::uint8_t> make_large_png(int w, int h) {
    struct bits {
        std::vector<std::uint8_t> out;
        std::uint32_t acc = 0;
        int n = 0;
        void put(std::uint32_t v, int k) {
            for (int i = 0; i < k; ++i) {
                acc |= ((v >> i) & 1u) << n;
                if (++n == 8) { out.push_back(std::uint8_t(acc)); acc = 0; n = 0; }
            }
        }
        void code(std::uint32_t c, int len) { for (int i = len - 1; i >= 0; --i) put((c >> i) & 1u, 1); }
        void lit(int v) {
            if (v < 144) code(0x30u + unsigned(v), 8);
            else if (v < 256) code(0x190u + unsigned(v - 144), 9);
            else if (v < 280) code(unsigned(v - 256), 7);
            else code(0xC0u + unsigned(v - 280), 8);
        }
    } bw;
    std::vector<std::uint8_t> raw;
    raw.reserve(std::size_t(h) * (1 + std::size_t(w) * 3));
    for (int y = 0; y < h; ++y) {
        raw.push_back(1);  // Sub filter
        for (int x = 0; x < w * 3; ++x) raw.push_back(std::uint8_t((x * 7 + y * 13) % 5 == 0 ? (x ^ y) : 0));
    }
    bw.put(1, 1);
    bw.put(1, 2);
    for (std::size_t i = 0; i < raw.size();) {
        if (i >= 3 && i + 3 <= raw.size() && raw[i] == raw[i - 3] && raw[i + 1] == raw[i - 2] && raw[i + 2] == raw[i - 1]) {
            bw.lit(257);       // length 3
            bw.code(2, 5);     // distance 3
            i += 3;
        } else {
            bw.lit(raw[i++]);
        }
    }
    bw.lit(256);
    if (bw.n) bw.out.push_back(std::uint8_t(bw.acc));
    std::vector<std::uint8_t> z = {0x78, 0x01};
    z.insert(z.end(), bw.out.begin(), bw.out.end());
    std::uint32_t a = smolvlm::adler32(1, raw.data(), raw.size());
    for (int s = 24; s >= 0; s -= 8) z.push_back(std::uint8_t(a >> s));
    std::vector<std::uint8_t> png = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    auto chunk = [&](const char* type, const std::vector<std::uint8_t>& body) {
        for (int s = 24; s >= 0; s -= 8) png.push_back(std::uint8_t(body.size() >> s));
        std::size_t at = png.size();
        png.insert(png.end(), type, type + 4);
        png.insert(png.end(), body.begin(), body.end());
        std::uint32_t c = smolvlm::crc32(0, png.data() + at, body.size() + 4);
        for (int s = 24; s >= 0; s -= 8) png.push_back(std::uint8_t(c >> s));
    };
    std::vector<std::uint8_t> ihdr;
    for (int v : {w, h})
        for (int s = 24; s >= 0; s -= 8) ihdr.push_back(std::uint8_t(std::uint32_t(v) >> s));
    ihdr.insert(ihdr.end(), {8, 2, 0, 0, 0});
    chunk("IHDR", ihdr);
    chunk("IDAT", z);
    chunk("IEND", {});
    return png;
}

void BM_decode_png_large_generated(benchmark::State& state) {
    std::vector<std::uint8_t> png = make_large_png(2048, 1536);
    std::size_t out_bytes = 0;
    for (auto _ : state) {
        auto r = smolvlm::decode_png(png.data(), png.size());
        if (!r) {
            state.SkipWithError(r.error().message());
            return;
        }
        out_bytes = r->pixels.size();
        benchmark::DoNotOptimize(r->pixels.data());
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(out_bytes));
    state.counters["file_KB"] = double(png.size()) / 1024.0;
}

}  // namespace

BENCHMARK_CAPTURE(decode_file, png_rgb_640x480, "idefics3_f32_rgb_split/inputs/rgb_640x480.png")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(decode_file, jpeg_baseline_1000x300, "smolvlm_bf16_multi_image/inputs/baseline_1000x300.jpg")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(decode_file, jpeg_progressive_123x77, "smolvlm_bf16_multi_image/inputs/progressive_123x77.jpg")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(decode_file, jpeg_baseline_77x123, "smolvlm_bf16_nosplit/inputs/baseline_77x123.jpg")->Unit(benchmark::kMillisecond);
BENCHMARK(BM_decode_png_large_generated)->Unit(benchmark::kMillisecond);

// Any JPEG given in $SMOLVLM_BENCH_JPEG, e.g. a 12-megapixel photo, to compare with
// `perf stat -e task-clock djpeg -outfile /dev/null photo.jpg` (the target: within
// 1.3x of libjpeg-turbo's djpeg on one thread):
//   convert -size 4000x3000 plasma:fractal -sampling-factor 2x2 -quality 90 photo.jpg
void BM_decode_env_jpeg(benchmark::State& state) {
    const char* path = std::getenv("SMOLVLM_BENCH_JPEG");
    std::vector<std::uint8_t> data = path ? read_all(path) : std::vector<std::uint8_t>();
    if (data.empty()) {
        state.SkipWithError("set SMOLVLM_BENCH_JPEG to a JPEG file");
        return;
    }
    smolvlm::image_limits lim;
    lim.max_pixels = std::int64_t(1) << 28;
    lim.max_width = lim.max_height = 65500;
    std::size_t out_bytes = 0;
    for (auto _ : state) {
        auto r = smolvlm::decode_image(data.data(), data.size(), lim);
        if (!r) {
            state.SkipWithError(r.error().message());
            return;
        }
        out_bytes = r->pixels.size();
        benchmark::DoNotOptimize(r->pixels.data());
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(out_bytes));
    state.counters["Mpx"] = double(out_bytes) / 3e6;
}
BENCHMARK(BM_decode_env_jpeg)->Unit(benchmark::kMillisecond);

// Decode + SmolVLM preprocessing (the SmolVLM-256M processor: longest edge 2048, 512 px
// tiles -> 13 tiles for a 4:3 photo) of the file in $SMOLVLM_BENCH_JPEG / $SMOLVLM_BENCH_PNG,
// on one thread: what a picture costs before the vision tower. scripts/bench_images.sh runs
// it beside djpeg and Pillow on the same files.
void decode_preprocess_env(benchmark::State& state, const char* var) {
    const char* path = std::getenv(var);
    std::vector<std::uint8_t> data = path ? read_all(path) : std::vector<std::uint8_t>();
    if (data.empty()) {
        state.SkipWithError((std::string("set ") + var + " to an image file").c_str());
        return;
    }
    smolvlm::image_limits lim;
    lim.max_pixels = std::int64_t(1) << 28;
    lim.max_width = lim.max_height = 65500;
    smolvlm::image_processor_config cfg;
    cfg.longest_edge = 2048;
    cfg.max_image_size = 512;
    smolvlm::preprocess_options opt;
    const smolvlm::kernels::kernel_table kt = smolvlm::kernels::select_kernels(smolvlm::detect_cpu());
    opt.kernels = &kt;
    int tiles = 0;
    for (auto _ : state) {
        auto r = smolvlm::decode_image(data.data(), data.size(), lim);
        if (!r) {
            state.SkipWithError(r.error().message());
            return;
        }
        auto p = smolvlm::preprocess_images(&r.value(), 1, cfg, opt);
        if (!p) {
            state.SkipWithError(p.error().message());
            return;
        }
        tiles = p->total_tiles();
        benchmark::DoNotOptimize(p->pixel_values.data());
    }
    state.counters["tiles"] = tiles;
}
BENCHMARK_CAPTURE(decode_preprocess_env, jpeg, "SMOLVLM_BENCH_JPEG")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(decode_preprocess_env, png, "SMOLVLM_BENCH_PNG")->Unit(benchmark::kMillisecond);
