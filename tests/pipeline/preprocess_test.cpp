#include <smolvlm/io/json.hpp>
#include <smolvlm/io/decode.hpp>
#include <smolvlm/io/png.hpp>
#include <smolvlm/io/safetensors.hpp>
#include <smolvlm/pipeline/preprocess.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../test_util.hpp"

namespace smolvlm_test_pipeline_preprocess_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

namespace {

json_value load_json(const std::string& path) {
    auto r = parse_json(smolvlm_test::read_file(path));
    REQUIRE(r.is_ok());
    return std::move(r).value();
}

image load_png(const std::string& path) {
    std::vector<unsigned char> bytes = smolvlm_test::read_bytes(path);
    auto r = decode_png(bytes.data(), bytes.size());
    INFO(path);
    REQUIRE(r.is_ok());
    return std::move(r).value();
}

image_processor_config load_config(const std::string& case_dir) {
    json_value pre = load_json(case_dir + "/model/preprocessor_config.json");
    json_value proc = load_json(case_dir + "/model/processor_config.json");
    json_value model = load_json(case_dir + "/model/config.json");
    auto c = parse_image_processor_config(pre, &proc, &model);
    REQUIRE(c.is_ok());
    return c.value();
}

image tensor_to_image(const st_tensor& t) {
    image im;
    im.height = int(t.shape[0]);
    im.width = int(t.shape[1]);
    im.channels = int(t.shape[2]);
    im.pixels.assign(t.data, t.data + t.nbytes);
    return im;
}

// Number of floats whose bit patterns differ.
std::size_t count_bit_diffs(const float* a, const float* b, std::size_t n) {
    std::size_t bad = 0;
    for (std::size_t i = 0; i < n; ++i)
        if (std::memcmp(&a[i], &b[i], 4) != 0) ++bad;
    return bad;
}

const st_tensor& need(const safetensors_file& f, const std::string& name) {
    const st_tensor* t = f.find(name);
    INFO(name);
    REQUIRE(t);
    return *t;
}

image synth(int w, int h, int c, int seed) {
    image im;
    im.width = w;
    im.height = h;
    im.channels = c;
    im.pixels.resize(std::size_t(w) * std::size_t(h) * std::size_t(c));
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int k = 0; k < c; ++k)
                im.pixels[(std::size_t(y) * std::size_t(w) + std::size_t(x)) * std::size_t(c) + std::size_t(k)] =
                    std::uint8_t((x * 7 + y * 3 + k * 50 + seed) & 0xff);
    return im;
}

}  // namespace

TEST_CASE("preprocess: output sizes of every case of _unit/resize_sizes.json", "[pipeline][preprocess]") {
    const std::string path = smolvlm_test::fixtures_dir() + "/_unit/resize_sizes.json";
    SMOLVLM_REQUIRE_SHARED(path);
    json_value js = load_json(path);
    const json_value* images = js.find("images");
    REQUIRE(images);
    std::size_t bad = 0, n = 0;
    for (const json_value& c : images->items()) {
        image_processor_config cfg;
        cfg.longest_edge = int(c.find("size_longest_edge")->as_int());
        cfg.max_image_size = int(c.find("max_image_size")->as_int());
        const int h = int((*c.find("in_hw"))[0].as_int()), w = int((*c.find("in_hw"))[1].as_int());
        auto p = plan_image(w, h, cfg);
        REQUIRE(p.is_ok());
        const json_value& r1 = *c.find("resized_longest_edge_hw");
        const json_value& r2 = *c.find("resized_for_encoder_hw");
        const bool ok = p->resized_height == r1[0].as_int() && p->resized_width == r1[1].as_int() &&
                        p->encoder_height == r2[0].as_int() && p->encoder_width == r2[1].as_int() &&
                        p->rows == c.find("rows")->as_int() && p->cols == c.find("cols")->as_int() &&
                        p->n_tiles == c.find("num_images")->as_int();
        if (!ok) {
            ++bad;
            WARN("mismatch for " << w << "x" << h << " le " << cfg.longest_edge << " max " << cfg.max_image_size);
        }
        ++n;
    }
    CHECK(n == 875);
    CHECK(bad == 0);

    const json_value* video = js.find("video");
    REQUIRE(video);
    std::size_t vbad = 0, vn = 0;
    for (const json_value& c : video->items()) {
        image_processor_config cfg;
        cfg.video_longest_edge = int(c.find("video_longest_edge")->as_int());
        const int h = int((*c.find("in_hw"))[0].as_int()), w = int((*c.find("in_hw"))[1].as_int());
        auto p = plan_video_frame(w, h, cfg);
        REQUIRE(p.is_ok());
        const json_value& r = *c.find("resized_hw");
        if (p->resized_height != r[0].as_int() || p->resized_width != r[1].as_int()) ++vbad;
        ++vn;
    }
    CHECK(vn == 240);
    CHECK(vbad == 0);
}

TEST_CASE("preprocess: uint8 -> float tables equal _unit/pixel_lut.json bit for bit", "[pipeline][preprocess]") {
    const std::string path = smolvlm_test::fixtures_dir() + "/_unit/pixel_lut.json";
    SMOLVLM_REQUIRE_SHARED(path);
    json_value js = load_json(path);
    image_processor_config cfg;
    cfg.rescale_factor = 0.00392156862745098;
    const pixel_lut li = make_image_lut(cfg), lv = make_video_lut(cfg);
    int diffs_image_video = 0;
    for (int i = 0; i < 256; ++i) {
        std::uint32_t bi = std::uint32_t(std::stoul((*js.find("image_bits"))[std::size_t(i)].as_string(), nullptr, 16));
        std::uint32_t bv = std::uint32_t(std::stoul((*js.find("video_bits"))[std::size_t(i)].as_string(), nullptr, 16));
        for (int c = 0; c < 3; ++c) {
            std::uint32_t gi, gv;
            std::memcpy(&gi, &li.v[c][i], 4);
            std::memcpy(&gv, &lv.v[c][i], 4);
            CHECK(gi == bi);
            CHECK(gv == bv);
        }
        if (li.v[0][i] != lv.v[0][i]) ++diffs_image_video;
    }
    CHECK(diffs_image_video == js.find("num_differences_image_vs_video")->as_int());
}

TEST_CASE("preprocess: every fixture image reproduces the goldens exactly", "[pipeline][preprocess][golden]") {
    const char* cases[] = {"idefics3_f32_rgb_split", "idefics3_bf16_rgba_tall", "smolvlm_bf16_multi_image",
                           "smolvlm_bf16_nosplit"};
    for (const char* name : cases) {
        const std::string dir = smolvlm_test::fixtures_dir() + "/" + name;
        SMOLVLM_REQUIRE_SHARED(dir + "/golden.json");
        INFO(name);
        json_value g = load_json(dir + "/golden.json");
        auto st = safetensors_file::open((dir + "/golden.safetensors").c_str());
        REQUIRE(st.is_ok());
        const image_processor_config cfg = load_config(dir);
        CHECK(cfg.image_seq_len == g.find("image_seq_len")->as_int());

        // Inputs: PNGs as they are, JPEGs through PIL's decode (inputs/*.decoded.png).
        const json_value& inputs = *g.find("inputs");
        const json_value& gimages = *g.find("images");
        REQUIRE(inputs.size() == gimages.size());
        std::vector<image> imgs;
        for (const json_value& in : inputs.items()) {
            const json_value* dec = in.find("decoded_png");
            imgs.push_back(load_png(dir + "/" + (dec ? dec->as_string() : in.find("file")->as_string())));
        }
        preprocess_options opt;
        opt.keep_intermediates = true;
        thread_pool pool(2);
        opt.pool = &pool;
        auto r = preprocess_images(imgs.data(), imgs.size(), cfg, opt);
        REQUIRE(r.is_ok());

        std::size_t tile_offset = 0;
        const std::size_t m = std::size_t(cfg.max_image_size);
        const std::size_t tile_floats = 3 * m * m;
        for (std::size_t k = 0; k < imgs.size(); ++k) {
            INFO("image " << k);
            const json_value& gi = gimages[k];
            const image_plan& p = r->plans[k];
            CHECK(p.resized_height == gi.find("resized_longest_edge_hw")->items()[0].as_int());
            CHECK(p.resized_width == gi.find("resized_longest_edge_hw")->items()[1].as_int());
            CHECK(p.encoder_height == gi.find("resized_for_encoder_hw")->items()[0].as_int());
            CHECK(p.encoder_width == gi.find("resized_for_encoder_hw")->items()[1].as_int());
            CHECK(p.rows == gi.find("rows")->as_int());
            CHECK(p.cols == gi.find("cols")->as_int());
            CHECK(p.n_tiles == gi.find("num_tiles")->as_int());
            const std::string pre = "image" + std::to_string(k) + "_";
            const st_tensor& t1 = need(*st, pre + "resized_longest_edge");
            const st_tensor& t2 = need(*st, pre + "resized_for_encoder");
            const image& i1 = r->intermediates[k].resized_longest_edge;
            const image& i2 = r->intermediates[k].resized_for_encoder;
            REQUIRE(i1.pixels.size() == t1.nbytes);
            REQUIRE(i2.pixels.size() == t2.nbytes);
            CHECK(std::memcmp(i1.pixels.data(), t1.data, t1.nbytes) == 0);
            CHECK(std::memcmp(i2.pixels.data(), t2.data, t2.nbytes) == 0);

            // Second stage alone, from the golden first intermediate (do_resize off).
            {
                image_processor_config c2 = cfg;
                c2.do_resize = false;
                image first = tensor_to_image(t1);
                auto r2 = preprocess_images(&first, 1, c2, preprocess_options{});
                REQUIRE(r2.is_ok());
                std::vector<float> want;
                REQUIRE(read_as_f32(need(*st, "pixel_values"), want).is_ok());
                REQUIRE(std::size_t(r2->pixel_values.numel()) == std::size_t(p.n_tiles) * tile_floats);
                CHECK(count_bit_diffs(r2->pixel_values.data(), want.data() + tile_offset * tile_floats,
                                      std::size_t(p.n_tiles) * tile_floats) == 0);
            }

            // load_image convention (convert("RGB") first), when the fixture has it.
            if (const st_tensor* tl = st->find(pre + "loadimage_pixel_values")) {
                preprocess_options lo;
                lo.load_image_convention = true;
                auto rl = preprocess_images(&imgs[k], 1, cfg, lo);
                REQUIRE(rl.is_ok());
                const json_value& rc = *gi.find("loadimage_rows_cols");
                CHECK(rl->plans[0].rows == rc[0].as_int());
                CHECK(rl->plans[0].cols == rc[1].as_int());
                std::vector<float> want;
                REQUIRE(read_as_f32(*tl, want).is_ok());
                REQUIRE(want.size() == std::size_t(rl->pixel_values.numel()));
                CHECK(count_bit_diffs(rl->pixel_values.data(), want.data(), want.size()) == 0);
            }
            tile_offset += std::size_t(p.n_tiles);
        }

        const st_tensor& pv = need(*st, "pixel_values");
        REQUIRE(pv.shape == r->pixel_values.shape());
        std::vector<float> want;
        REQUIRE(read_as_f32(pv, want).is_ok());
        CHECK(count_bit_diffs(r->pixel_values.data(), want.data(), want.size()) == 0);
        const st_tensor& pm = need(*st, "pixel_attention_mask");
        REQUIRE(pm.shape == r->pixel_attention_mask.shape());
        CHECK(std::memcmp(pm.data, r->pixel_attention_mask.data(), pm.nbytes) == 0);
        CHECK(r->total_tiles() == int(tile_offset));
    }
}

TEST_CASE("preprocess: JPEG inputs through our own decoder give the same pixel_values", "[pipeline][preprocess][golden]") {
    // The goldens were made from PIL's JPEG decode (inputs/*.decoded.png); this checks the
    // whole path from the .jpg file with io/decode.hpp.
    int jpegs = 0;
    for (const char* name : {"smolvlm_bf16_multi_image", "smolvlm_bf16_nosplit"}) {
        const std::string dir = smolvlm_test::fixtures_dir() + "/" + name;
        SMOLVLM_REQUIRE_SHARED(dir + "/golden.json");
        json_value g = load_json(dir + "/golden.json");
        const image_processor_config cfg = load_config(dir);
        const json_value& inputs = *g.find("inputs");
        for (const json_value& in : inputs.items()) {
            const json_value* dec = in.find("decoded_png");
            if (!dec) continue;
            INFO(name << " " << in.find("file")->as_string());
            auto ours = load_image_file((dir + "/" + in.find("file")->as_string()).c_str());
            REQUIRE(ours.is_ok());
            image pil = load_png(dir + "/" + dec->as_string());
            CHECK(ours->pixels == pil.pixels);  // the decoder itself
            auto a = preprocess_images(&ours.value(), 1, cfg);
            auto b = preprocess_images(&pil, 1, cfg);
            REQUIRE(a.is_ok());
            REQUIRE(b.is_ok());
            CHECK(count_bit_diffs(a->pixel_values.data(), b->pixel_values.data(), std::size_t(a->pixel_values.numel())) == 0);
            ++jpegs;
        }
    }
    CHECK(jpegs == 3);
}

TEST_CASE("preprocess: SmolVLM2 video frames and sampling match the video fixture", "[pipeline][preprocess][golden]") {
    const std::string dir = smolvlm_test::fixtures_dir() + "/smolvlm_bf16_video";
    SMOLVLM_REQUIRE_SHARED(dir + "/golden.json");
    json_value g = load_json(dir + "/golden.json");
    auto st = safetensors_file::open((dir + "/golden.safetensors").c_str());
    REQUIRE(st.is_ok());
    const image_processor_config cfg = load_config(dir);
    REQUIRE(cfg.has_video_sampling);
    CHECK(cfg.video_fps == 1.0);
    CHECK(cfg.video_max_frames == 64);
    // size.longest_edge overrides video_sampling.video_size (32) when both are present.
    CHECK(cfg.video_longest_edge == 128);

    // 5 s at 25 fps (125 frames): linspace(0, 124, 5).
    auto sel = sample_video_frames(125, 25.0, cfg);
    REQUIRE(sel.is_ok());
    CHECK(sel->indices == std::vector<int>{0, 31, 62, 93, 124});
    const json_value& ts = *g.find("video")->find("timestamps_s");
    REQUIRE(sel->timestamps.size() == ts.size());
    for (std::size_t i = 0; i < ts.size(); ++i) CHECK(sel->timestamps[i] == Approx(ts[i].as_number()).margin(1e-12));
    CHECK(sel->duration == 5.0);

    std::vector<image> frames;
    for (const json_value& in : g.find("inputs")->items()) frames.push_back(load_png(dir + "/" + in.find("file")->as_string()));
    std::vector<image_view> views;
    for (const image& f : frames) views.push_back(f.view());
    preprocess_options opt;
    opt.keep_intermediates = true;
    auto r = preprocess_video_frames(views.data(), views.size(), cfg, opt);
    REQUIRE(r.is_ok());
    for (std::size_t k = 0; k < frames.size(); ++k) {
        INFO("frame " << k);
        const std::string pre = "image" + std::to_string(k) + "_";
        const st_tensor& t1 = need(*st, pre + "resized_longest_edge");
        const st_tensor& t2 = need(*st, pre + "resized_for_encoder");
        REQUIRE(r->intermediates[k].resized_longest_edge.pixels.size() == t1.nbytes);
        CHECK(std::memcmp(r->intermediates[k].resized_longest_edge.pixels.data(), t1.data, t1.nbytes) == 0);
        REQUIRE(r->intermediates[k].resized_for_encoder.pixels.size() == t2.nbytes);
        CHECK(std::memcmp(r->intermediates[k].resized_for_encoder.pixels.data(), t2.data, t2.nbytes) == 0);
    }
    const st_tensor& pv = need(*st, "pixel_values");
    REQUIRE(pv.shape == r->pixel_values.shape());
    std::vector<float> want;
    REQUIRE(read_as_f32(pv, want).is_ok());
    CHECK(count_bit_diffs(r->pixel_values.data(), want.data(), want.size()) == 0);
    const st_tensor& pm = need(*st, "pixel_attention_mask");
    CHECK(std::memcmp(pm.data, r->pixel_attention_mask.data(), pm.nbytes) == 0);

    // torch's uint8 kernel is not PIL's: the same frames through PIL's LANCZOS arithmetic
    // differ (the fixture README: by 1 on 0.06% / 0.6% of the values of the two resizes).
    resample_options pil;
    auto p1 = pil_resize(frames[0].view(), 128, 72, resample_filter::lanczos, pil);
    REQUIRE(p1.is_ok());
    const st_tensor& t1 = need(*st, "image0_resized_longest_edge");
    int max_step = 0, differ = 0;
    for (std::size_t i = 0; i < t1.nbytes; ++i) {
        const int d = std::abs(int(p1->pixels[i]) - int(t1.data[i]));
        max_step = std::max(max_step, d);
        differ += d != 0;
    }
    CHECK(max_step == 1);
    CHECK(differ > 0);
}

TEST_CASE("preprocess: video frame sampling rules", "[pipeline][preprocess]") {
    image_processor_config cfg;
    cfg.video_fps = 1.0;
    cfg.video_max_frames = 64;
    SECTION("short clip: round(fps * duration) frames, half to even") {
        auto s = sample_video_frames(62, 25.0, cfg);  // 2.48 s -> round(2.48) = 2
        REQUIRE(s.is_ok());
        CHECK(s->indices == std::vector<int>{0, 61});
        auto h = sample_video_frames(50, 20.0, cfg);  // 2.5 s -> round(2.5) = 2 (banker's)
        REQUIRE(h.is_ok());
        CHECK(h->indices.size() == 2);
    }
    SECTION("long clip: capped at max_frames, 1 s skipped at both ends") {
        auto s = sample_video_frames(30 * 600, 30.0, cfg);  // 10 min
        REQUIRE(s.is_ok());
        CHECK(s->indices.size() == 64);
        CHECK(s->indices.front() == 30);
        CHECK(s->indices.back() == 17970);  // int(18000 - 1 * 30), below the last index 17999
        for (std::size_t i = 1; i < s->indices.size(); ++i) CHECK(s->indices[i] > s->indices[i - 1]);
    }
    SECTION("one-frame video and bad input") {
        auto s = sample_video_frames(1, 30.0, cfg);
        REQUIRE(s.is_ok());
        CHECK(s->indices == std::vector<int>{0});
        CHECK_FALSE(sample_video_frames(0, 30.0, cfg).is_ok());
        CHECK_FALSE(sample_video_frames(10, 0.0, cfg).is_ok());
    }
}

TEST_CASE("preprocess: tile counts and invariants on synthetic images", "[pipeline][preprocess]") {
    image_processor_config cfg;
    cfg.longest_edge = 2048;
    cfg.max_image_size = 512;
    SECTION("a 4032x3024 photo gives 4x3 tiles + global; 640x480 the same grid (upscaled)") {
        auto p = plan_image(4032, 3024, cfg);
        REQUIRE(p.is_ok());
        CHECK(p->resized_width == 2048);
        CHECK(p->resized_height == 1536);
        CHECK(p->rows == 3);
        CHECK(p->cols == 4);
        CHECK(p->n_tiles == 13);
        auto q = plan_image(640, 480, cfg);
        REQUIRE(q.is_ok());
        CHECK(q->n_tiles == 13);
        auto sq = plan_image(3024, 3024, cfg);
        REQUIRE(sq.is_ok());
        CHECK(sq->n_tiles == 17);  // 4 x 4 + global
    }
    SECTION("token budget mode never upscales first") {
        auto q = plan_image(640, 480, cfg, resize_mode::token_budget);
        REQUIRE(q.is_ok());
        CHECK(q->resized_width == 640);
        CHECK(q->resized_height == 480);
        CHECK(q->encoder_width == 1024);
        CHECK(q->encoder_height == 1024);
        CHECK(q->n_tiles == 5);
        auto big = plan_image(4032, 3024, cfg, resize_mode::token_budget);
        auto ref = plan_image(4032, 3024, cfg);
        REQUIRE(big.is_ok());
        CHECK(big->n_tiles == ref->n_tiles);  // large images: same as exact
        auto tiny = plan_image(100, 80, cfg, resize_mode::token_budget);
        REQUIRE(tiny.is_ok());
        CHECK(tiny->n_tiles == 1);  // fits one 512 tile: unsplit
    }
    SECTION("tile counts over many sizes: grid covers the encoder image, tiles are max x max") {
        for (int w = 1; w <= 5000; w += 137)
            for (int h = 1; h <= 5000; h += 211) {
                auto p = plan_image(w, h, cfg);
                REQUIRE(p.is_ok());
                CHECK(std::max(p->resized_width, p->resized_height) == 2048);
                CHECK(p->encoder_width % 512 == 0);
                CHECK(p->encoder_height % 512 == 0);
                if (p->rows) {
                    CHECK(p->rows * 512 == p->encoder_height);
                    CHECK(p->cols * 512 == p->encoder_width);
                }
                CHECK(p->n_tiles == p->rows * p->cols + 1);
            }
    }
    SECTION("a constant image gives constant pixel values in every tile") {
        for (int c = 1; c <= 4; ++c) {
            image im;
            im.width = 300;
            im.height = 170;
            im.channels = c;
            im.pixels.assign(std::size_t(300 * 170 * c), 200);
            if (c == 2 || c == 4)
                for (std::size_t i = std::size_t(c - 1); i < im.pixels.size(); i += std::size_t(c)) im.pixels[i] = 255;
            image_processor_config small = cfg;
            small.longest_edge = 256;
            small.max_image_size = 64;
            auto r = preprocess_images(&im, 1, small);
            REQUIRE(r.is_ok());
            const float want = (float(200 * 0.00392156862745098) - 0.5f) / 0.5f;
            bool all = true;
            for (std::int64_t i = 0; i < r->pixel_values.numel(); ++i) all = all && r->pixel_values[i] == want;
            CHECK(all);
            CHECK(r->plans[0].n_tiles == 13);  // 300x170 -> 256x146 -> 256x192: 3 x 4 tiles + global
        }
    }
    SECTION("batches pad to the largest tile count with zero images and zero masks") {
        image_processor_config small = cfg;
        small.longest_edge = 128;
        small.max_image_size = 32;
        image a = synth(200, 50, 3, 1), b = synth(50, 50, 3, 2);
        image_input s0[] = {{a.view(), 1}};
        image_input s1[] = {{b.view(), 1}, {b.view(), 1}};
        const image_input* samples[] = {s0, s1};
        const std::size_t counts[] = {1, 2};
        auto r = preprocess_batch(samples, counts, 2, small);
        REQUIRE(r.is_ok());
        const int ta = r->plans[0].n_tiles, tb = r->plans[1].n_tiles;
        CHECK(r->tiles_per_sample == std::vector<int>{ta, 2 * tb});
        const int max_t = std::max(ta, 2 * tb);
        CHECK(r->pixel_values.dim(1) == max_t);
        const std::size_t plane = 32 * 32;
        // Sample 0 padding: zeros in values and mask.
        for (int t = ta; t < max_t; ++t) {
            bool zero = true;
            for (std::size_t i = 0; i < 3 * plane; ++i) zero = zero && r->pixel_values.data()[(std::size_t(t)) * 3 * plane + i] == 0.0f;
            for (std::size_t i = 0; i < plane; ++i) zero = zero && r->pixel_attention_mask.data()[std::size_t(t) * plane + i] == 0;
            CHECK(zero);
        }
        CHECK(r->pixel_attention_mask.data()[0] == 1);
        // The same image alone gives the same tiles as inside the batch.
        auto alone = preprocess_images(&b, 1, small);
        REQUIRE(alone.is_ok());
        CHECK(count_bit_diffs(alone->pixel_values.data(),
                              r->pixel_values.data() + std::size_t(max_t) * 3 * plane, std::size_t(tb) * 3 * plane) == 0);
    }
    SECTION("EXIF orientation with the load_image convention rotates before planning") {
        image im = synth(40, 20, 3, 3);
        im.orientation = 6;
        preprocess_options lo;
        lo.load_image_convention = true;
        image_processor_config small = cfg;
        small.longest_edge = 64;
        small.max_image_size = 32;
        auto r = preprocess_images(&im, 1, small, lo);
        REQUIRE(r.is_ok());
        CHECK(r->plans[0].width == 20);
        CHECK(r->plans[0].height == 40);
        // Same tiles as rotating first (io/decode.hpp) and preprocessing without the orientation.
        image rot = apply_orientation(im, 6);
        rot.orientation = 1;
        auto r2 = preprocess_images(&rot, 1, small, lo);
        REQUIRE(r2.is_ok());
        CHECK(count_bit_diffs(r->pixel_values.data(), r2->pixel_values.data(), std::size_t(r->pixel_values.numel())) == 0);
        // Without the load_image convention the orientation is ignored (HF processors do not read EXIF).
        auto r3 = preprocess_images(&im, 1, small);
        REQUIRE(r3.is_ok());
        CHECK(r3->plans[0].width == 40);
    }
    SECTION("bad input is a status") {
        CHECK_FALSE(plan_image(0, 10, cfg).is_ok());
        CHECK_FALSE(plan_image(10, -1, cfg).is_ok());
        image_processor_config bad = cfg;
        bad.max_image_size = 0;
        CHECK_FALSE(plan_image(10, 10, bad).is_ok());
        image_input none{};
        CHECK_FALSE(preprocess_images(&none, 1, cfg).is_ok());
        preprocess_options tiny;
        tiny.max_bytes = 1000;
        image im = synth(64, 64, 3, 0);
        auto r = preprocess_images(&im, 1, cfg, tiny);
        REQUIRE_FALSE(r.is_ok());
        CHECK(r.error().code() == errc::no_memory);
    }
}

TEST_CASE("preprocess: config parsing", "[pipeline][preprocess]") {
    auto js = parse_json(R"({"do_image_splitting": false, "size": {"longest_edge": 1536},
        "max_image_size": {"longest_edge": 384}, "resample": 3, "image_mean": [0.1, 0.2, 0.3],
        "video_sampling": {"fps": 2, "max_frames": 32, "video_size": {"longest_edge": 384}}})");
    REQUIRE(js.is_ok());
    auto model = parse_json(R"({"scale_factor": 4, "vision_config": {"image_size": 512, "patch_size": 16}})");
    REQUIRE(model.is_ok());
    auto c = parse_image_processor_config(*js, nullptr, &model.value());
    REQUIRE(c.is_ok());
    CHECK_FALSE(c->do_image_splitting);
    CHECK(c->longest_edge == 1536);
    CHECK(c->max_image_size == 384);
    CHECK(c->resample == resample_filter::bicubic);
    CHECK(c->image_mean[2] == 0.3f);
    CHECK(c->image_std[0] == 0.5f);
    CHECK(c->has_video_sampling);
    CHECK(c->video_fps == 2.0);
    CHECK(c->video_max_frames == 32);
    CHECK(c->image_seq_len == 64);  // (512/16)^2 / 4^2: SmolVLM-256M
    for (const char* bad : {R"({"size": {"longest_edge": -3}})", R"({"resample": 9})", R"({"do_resize": 1})",
                            R"({"image_std": [0.5, 0, 0.5]})", R"({"max_image_size": {"height": 3, "width": 4}})",
                            R"([1, 2])"}) {
        auto j = parse_json(bad);
        REQUIRE(j.is_ok());
        CHECK_FALSE(parse_image_processor_config(*j).is_ok());
    }
}

}  // namespace smolvlm_test_pipeline_preprocess_cases
