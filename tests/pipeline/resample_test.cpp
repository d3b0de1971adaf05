#include <smolvlm/io/json.hpp>
#include <smolvlm/io/safetensors.hpp>
#include <smolvlm/pipeline/resample.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "../test_util.hpp"

namespace smolvlm_test_pipeline_resample_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

namespace {

image make_image(int w, int h, int c, std::uint32_t seed) {
    image im;
    im.width = w;
    im.height = h;
    im.channels = c;
    im.pixels.resize(std::size_t(w) * std::size_t(h) * std::size_t(c));
    std::uint32_t s = seed;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x)
            for (int k = 0; k < c; ++k) {
                s = s * 1664525u + 1013904223u;
                // Smooth gradient plus noise, so both flat and busy regions are exercised.
                int v = (x * 255) / (w > 1 ? w - 1 : 1) / 2 + (y * 255) / (h > 1 ? h - 1 : 1) / 2;
                v = (v + int(s >> 28) * 8 - 60 + k * 40) & 0xff;
                im.pixels[(std::size_t(y) * std::size_t(w) + std::size_t(x)) * std::size_t(c) + std::size_t(k)] =
                    std::uint8_t(v);
            }
    return im;
}

image tensor_to_image(const st_tensor& t) {
    image im;
    im.height = int(t.shape[0]);
    im.width = int(t.shape[1]);
    im.channels = int(t.shape[2]);
    im.pixels.assign(t.data, t.data + t.nbytes);
    return im;
}

// The scalar passes and this CPU's best ones (every case runs through both).
std::vector<kernels::kernel_table> test_tables() {
    return {kernels::table_for(kernels::isa::scalar), kernels::select_kernels(detect_cpu())};
}

int count_diff(const std::vector<std::uint8_t>& a, const std::uint8_t* b, std::size_t n, int* max_diff) {
    int bad = 0;
    *max_diff = 0;
    for (std::size_t i = 0; i < n; ++i) {
        int d = int(a[i]) - int(b[i]);
        if (d < 0) d = -d;
        if (d) ++bad;
        if (d > *max_diff) *max_diff = d;
    }
    return bad;
}

}  // namespace

TEST_CASE("PIL resample: every case of _unit/pil_resample_cases is bit-exact", "[pipeline][resample]") {
    const std::string dir = smolvlm_test::fixtures_dir() + "/_unit/";
    SMOLVLM_REQUIRE_SHARED(dir + "pil_resample_cases.json");
    auto js = parse_json(smolvlm_test::read_file(dir + "pil_resample_cases.json"));
    REQUIRE(js.is_ok());
    auto st = safetensors_file::open((dir + "pil_resample_cases.safetensors").c_str());
    REQUIRE(st.is_ok());
    const json_value* cases = js->find("cases");
    REQUIRE(cases);
    REQUIRE(cases->size() == 24);
    int checked = 0;
    for (std::size_t i = 0; i < cases->size(); ++i) {
        const json_value& c = (*cases)[i];
        const std::string kind = c.find("kind")->as_string();
        char name[64];
        std::snprintf(name, sizeof name, "case%02zu_input", i);
        const st_tensor* tin = st->find(name);
        std::snprintf(name, sizeof name, "case%02zu_output", i);
        const st_tensor* tout = st->find(name);
        REQUIRE(tin);
        REQUIRE(tout);
        const image in = tensor_to_image(*tin);
        const int ow = int(tout->shape[1]), oh = int(tout->shape[0]);
        INFO("case " << i << " " << kind << " " << in.width << "x" << in.height << "x" << in.channels << " -> " << ow
                     << "x" << oh);
        for (const kernels::kernel_table& kt : test_tables()) {
            resample_options opt;
            opt.kernels = &kt;
            // These cases were made by a Pillow <= 12.3 (horizontal pass always first): the one
            // shape here whose order matters (7x13 -> 11x5, height shrinks, width grows) only
            // matches that order. Pillow 13's order is checked on tests/data/resize_cases.json.
            opt.order = pillow_pass_order::horizontal;
            std::vector<std::uint8_t> got;
            if (kind == "convert_to_rgb_rgba_on_white") {
                got.resize(std::size_t(in.width) * std::size_t(in.height) * 3);
                composite_on_white(in.view(), got.data());
            } else {
                resample_filter f = resample_filter::lanczos;
                if (kind == "bicubic_rgb") f = resample_filter::bicubic;
                if (kind == "gray_as_P_mode_nearest") f = resample_filter::nearest;
                auto r = pil_resize(in.view(), ow, oh, f, opt);
                REQUIRE(r.is_ok());
                got = r->pixels;
            }
            REQUIRE(got.size() == tout->nbytes);
            int max_diff = 0;
            CHECK(count_diff(got, tout->data, tout->nbytes, &max_diff) == 0);
            CHECK(max_diff == 0);
        }
        ++checked;
    }
    CHECK(checked == 24);
}

TEST_CASE("PIL resample: AVX2 kernels equal the scalar ones", "[pipeline][resample]") {
    // Odd sizes, every channel count, up and down, every filter: integer arithmetic must match exactly.
    const int sizes[][4] = {{37, 211, 44, 256}, {640, 480, 2048, 1536}, {123, 77, 128, 80}, {1000, 300, 128, 38},
                            {250, 190, 64, 64},  {5, 1, 2, 3},           {301, 17, 300, 17}, {64, 64, 64, 31}};
    const resample_filter filters[] = {resample_filter::lanczos, resample_filter::bicubic, resample_filter::bilinear,
                                       resample_filter::box, resample_filter::hamming};
    thread_pool pool(2);
    for (const auto& s : sizes)
        for (int c = 1; c <= 4; ++c)
            for (resample_filter f : filters) {
                image in = make_image(s[0], s[1], c, std::uint32_t(s[0] * 31 + c));
                resample_options a, b;
                const kernels::kernel_table scalar_kt = kernels::table_for(kernels::isa::scalar);
                const kernels::kernel_table simd_kt = kernels::select_kernels(detect_cpu());
                a.kernels = &scalar_kt;
                b.kernels = &simd_kt;
                b.pool = &pool;
                auto ra = pil_resize(in.view(), s[2], s[3], f, a);
                auto rb = pil_resize(in.view(), s[2], s[3], f, b);
                REQUIRE(ra.is_ok());
                REQUIRE(rb.is_ok());
                INFO(s[0] << "x" << s[1] << "x" << c << " -> " << s[2] << "x" << s[3] << " " << resample_filter_name(f));
                CHECK(ra->pixels == rb->pixels);
            }
}

TEST_CASE("PIL resample: invariants", "[pipeline][resample]") {
    SECTION("unchanged size is an exact copy, also for RGBA (no premultiply round trip)") {
        for (int c = 1; c <= 4; ++c) {
            image in = make_image(33, 21, c, 7u + std::uint32_t(c));
            for (resample_filter f : {resample_filter::lanczos, resample_filter::nearest, resample_filter::bicubic}) {
                auto r = pil_resize(in.view(), 33, 21, f);
                REQUIRE(r.is_ok());
                CHECK(r->pixels == in.pixels);
            }
        }
    }
    SECTION("a constant image stays constant (weights sum to 1 in fixed point)") {
        for (int v : {0, 1, 77, 128, 254, 255}) {
            image in;
            in.width = 97;
            in.height = 41;
            in.channels = 3;
            in.pixels.assign(97 * 41 * 3, std::uint8_t(v));
            for (resample_filter f : {resample_filter::lanczos, resample_filter::bicubic}) {
                for (int ow : {1, 13, 97, 512}) {
                    auto r = pil_resize(in.view(), ow, 64, f);
                    REQUIRE(r.is_ok());
                    bool all = true;
                    for (std::uint8_t p : r->pixels) all = all && p == v;
                    CHECK(all);
                }
            }
        }
    }
    SECTION("a padded stride gives the same result as a packed image") {
        image in = make_image(50, 30, 3, 99);
        std::vector<std::uint8_t> padded(std::size_t(50 * 3 + 7) * 30, 0xAB);
        for (int y = 0; y < 30; ++y) std::memcpy(&padded[std::size_t(y) * (50 * 3 + 7)], in.row(y), 150);
        image_view pv{padded.data(), 50, 30, 3, 50 * 3 + 7};
        auto a = pil_resize(in.view(), 17, 45, resample_filter::lanczos);
        auto b = pil_resize(pv, 17, 45, resample_filter::lanczos);
        REQUIRE(a.is_ok());
        REQUIRE(b.is_ok());
        CHECK(a->pixels == b->pixels);
    }
    SECTION("computing only the rows the vertical pass reads changes nothing") {
        // Reference: horizontal pass over ALL input rows, then the vertical pass with unshifted bounds.
        image in = make_image(40, 100, 3, 5);
        const int ow = 20, oh = 10;
        resample_options hfirst;  // this shape runs vertical first under Pillow 13's order
        hfirst.order = pillow_pass_order::horizontal;
        auto fast = pil_resize(in.view(), ow, oh, resample_filter::lanczos, hfirst);
        REQUIRE(fast.is_ok());
        kernels::resample_coeffs ch, cv;
        REQUIRE(detail::compute_resample_coeffs(40, ow, resample_filter::lanczos, ch).is_ok());
        REQUIRE(detail::compute_resample_coeffs(100, oh, resample_filter::lanczos, cv).is_ok());
        CHECK(cv.ksize == 61);  // support 3 * 10 -> 2 * ceil(30) + 1
        std::vector<std::uint8_t> mid(std::size_t(ow) * 3 * 100), out(std::size_t(ow) * 3 * oh);
        for (int y = 0; y < 100; ++y) kernels::scalar::resample_row_h<3>(in.row(y), &mid[std::size_t(y) * ow * 3], ow, ch);
        for (int yy = 0; yy < oh; ++yy)
            kernels::scalar::resample_v(&mid[std::size_t(cv.first[std::size_t(yy)]) * ow * 3], std::size_t(ow) * 3,
                                          &out[std::size_t(yy) * ow * 3], std::size_t(ow) * 3,
                                          &cv.k[std::size_t(yy) * std::size_t(cv.ksize)], cv.count[std::size_t(yy)],
                                          cv.precision);
        CHECK(out == fast->pixels);
        // And the window really is smaller than the image for an upscale of a tall image.
        REQUIRE(detail::compute_resample_coeffs(100, 300, resample_filter::lanczos, cv).is_ok());
        CHECK(cv.first[0] == 0);
        CHECK(cv.first[299] + cv.count[299] == 100);
    }
    SECTION("bad input is an error, not a crash") {
        image in = make_image(4, 4, 3, 1);
        CHECK_FALSE(pil_resize(in.view(), 0, 4, resample_filter::lanczos).is_ok());
        CHECK_FALSE(pil_resize(in.view(), 4, -1, resample_filter::lanczos).is_ok());
        CHECK_FALSE(pil_resize(image_view{}, 4, 4, resample_filter::lanczos).is_ok());
        image_view v = in.view();
        v.channels = 5;
        CHECK_FALSE(pil_resize(v, 4, 4, resample_filter::lanczos).is_ok());
        resample_options small;
        small.max_bytes = 1000;
        auto r = pil_resize(in.view(), 100, 100, resample_filter::lanczos, small);
        REQUIRE_FALSE(r.is_ok());
        CHECK(r.error().code() == errc::no_memory);
    }
}

TEST_CASE("PIL alpha composite on white: opaque pixels keep their colour", "[pipeline][resample]") {
    image in = make_image(64, 4, 4, 3);
    for (std::size_t i = 3; i < in.pixels.size(); i += 4) in.pixels[i] = 255;
    std::vector<std::uint8_t> out(64 * 4 * 3);
    composite_on_white(in.view(), out.data());
    for (std::size_t p = 0; p < 64 * 4; ++p)
        for (int c = 0; c < 3; ++c) CHECK(out[p * 3 + std::size_t(c)] == in.pixels[p * 4 + std::size_t(c)]);
    // Fully transparent -> white; gray expands.
    for (std::size_t i = 3; i < in.pixels.size(); i += 4) in.pixels[i] = 0;
    composite_on_white(in.view(), out.data());
    for (std::uint8_t v : out) CHECK(v == 255);
}

TEST_CASE("resize: tests/data/resize_cases.json (torch uint8 antialiased, Pillow 13) is bit-exact", "[pipeline][resample]") {
    // Expected outputs of torch.nn.functional.interpolate(uint8, antialias=True) (torch's native
    // uint8 kernel, what torchvision runs for SmolVLM2's video frames) and of Pillow's
    // Image.resize (tall images: Pillow 13's vertical-first order), made by
    // scripts/gen_resize_cases.py; the inputs come from a formula, repeated here.
    const std::string path = std::string(SMOLVLM_SOURCE_DIR) + "/tests/data/resize_cases.json";
    const std::string text = smolvlm_test::read_file(path);
    REQUIRE_FALSE(text.empty());
    auto doc = parse_json(text);
    REQUIRE(doc.is_ok());
    const json_value& cases = *doc->find("cases");
    REQUIRE(cases.size() >= 60);
    int checked = 0, pillow = 0;
    for (const json_value& c : cases.items()) {
        const int h = c.find("h")->as_int(), w = c.find("w")->as_int(), ch = c.find("channels")->as_int();
        const int oh = c.find("out_h")->as_int(), ow = c.find("out_w")->as_int(), seed = c.find("seed")->as_int();
        const std::string fname = c.find("filter")->as_string();
        const bool is_torch = c.find("library")->as_string() == "torch";
        pillow += !is_torch;
        INFO(c.find("library")->as_string() << " " << h << "x" << w << " -> " << oh << "x" << ow << " " << fname << " c" << ch);
        image in;
        in.width = w;
        in.height = h;
        in.channels = ch;
        in.pixels.resize(std::size_t(w) * std::size_t(h) * std::size_t(ch));
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x)
                for (int k = 0; k < ch; ++k)
                    in.pixels[(std::size_t(y) * std::size_t(w) + std::size_t(x)) * std::size_t(ch) + std::size_t(k)] =
                        std::uint8_t((x * 7 + y * 13 + k * 50 + (((x * y * seed) ^ (x + y)) % 64)) & 255);
        const resample_filter f = fname == "lanczos" ? resample_filter::lanczos
                                  : fname == "bicubic" ? resample_filter::bicubic
                                                       : resample_filter::bilinear;
        for (const kernels::kernel_table& kt : test_tables()) {
            resample_options o;
            o.rule = is_torch ? resample_rule::torch_aa : resample_rule::pil;
            o.kernels = &kt;
            auto r = pil_resize(in.view(), ow, oh, f, o);
            REQUIRE(r.is_ok());
            std::uint64_t hsh = 0xCBF29CE484222325ull;
            for (std::uint8_t b : r->pixels) hsh = (hsh ^ b) * 0x100000001B3ull;
            char hex[17];
            std::snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)hsh);
            const json_value& first = *c.find("first_bytes");
            for (std::size_t i = 0; i < first.size() && i < r->pixels.size(); ++i)
                CHECK(int(r->pixels[i]) == first[i].as_int());
            CHECK(std::string(hex) == c.find("fnv1a64")->as_string());
        }
        ++checked;
    }
    CHECK(checked == int(cases.size()));
    CHECK(pillow >= 30);
}

TEST_CASE("torch uint8 antialiased resize differs from PIL's arithmetic", "[pipeline][resample]") {
    // Same weights, other fixed point: the two rules must not silently be the same code path.
    image in = make_image(320, 180, 3, 9);
    resample_options pil, torch_rule;
    torch_rule.rule = resample_rule::torch_aa;
    auto a = pil_resize(in.view(), 32, 18, resample_filter::lanczos, pil);
    auto b = pil_resize(in.view(), 32, 18, resample_filter::lanczos, torch_rule);
    REQUIRE(a.is_ok());
    REQUIRE(b.is_ok());
    int max_diff = 0;
    const int n = count_diff(a->pixels, b->pixels.data(), a->pixels.size(), &max_diff);
    CHECK(n > 0);
    CHECK(max_diff <= 2);
}

}  // namespace smolvlm_test_pipeline_resample_cases
