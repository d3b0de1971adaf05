// Tests for pipeline/preprocess_pixtral.hpp: the Pixtral size rule, caps, the prompt layout,
// and (with ../shared) the resized uint8 images and pixel_values of both mistral3 fixtures,
// bit for bit.
#include <catch2/catch.hpp>

#include "../test_util.hpp"

#include <smolvlm/io/decode.hpp>
#include <smolvlm/io/json.hpp>
#include <smolvlm/io/safetensors.hpp>
#include <smolvlm/pipeline/preprocess_pixtral.hpp>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace smolvlm_test_pipeline_preprocess_pixtral_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

namespace {

pixtral_processor_config mistral_small_cfg(int longest_edge = 1540) {
    pixtral_processor_config c;
    c.max_height = c.max_width = longest_edge;
    c.patch_size = 14;
    c.spatial_merge_size = 2;
    return c;
}

// The reference's rule in plain Python terms (float64 division, floor, round up to u).
void python_rule(int w, int h, int le, int u, int& oh, int& ow) {
    const double ratio = std::max(double(h) / le, double(w) / le);
    if (ratio > 1) {
        h = int(std::floor(double(h) / ratio));
        w = int(std::floor(double(w) / ratio));
    }
    // Python's floor division: ((0 - 1) // u + 1) * u == 0
    oh = h <= 0 ? 0 : ((h - 1) / u + 1) * u;
    ow = w <= 0 ? 0 : ((w - 1) / u + 1) * u;
}

}  // namespace

TEST_CASE("pixtral processor: size rule", "[pipeline][pixtral]") {
    const pixtral_processor_config c = mistral_small_cfg();
    struct { int w, h, rw, rh; } cases[] = {
        {1540, 1540, 1540, 1540}, {4000, 3000, 1540, 1176}, {300, 200, 308, 224}, {1, 1, 28, 28},
        {28, 28, 28, 28}, {29, 28, 56, 28}, {3000, 10, 1540, 28}, {1541, 100, 1540, 112},
    };
    for (const auto& k : cases) {
        auto p = plan_pixtral_image(k.w, k.h, c);
        REQUIRE(p.is_ok());
        INFO(k.w << "x" << k.h);
        CHECK(p->resized_width == k.rw);
        CHECK(p->resized_height == k.rh);
        CHECK(p->rows == k.rh / 28);
        CHECK(p->cols == k.rw / 28);
        CHECK(p->n_prompt_tokens() == p->rows * (p->cols + 1));
    }
    // Against the formula on many sizes (fixture longest edges 140, 126 and the real 1540).
    for (int le : {140, 126, 1540, 1024})
        for (int w = 1; w < 5000; w += 37)
            for (int h = 1; h < 5000; h += 53) {
                auto p = plan_pixtral_image(w, h, mistral_small_cfg(le));
                int oh = 0, ow = 0;
                python_rule(w, h, le, 28, oh, ow);
                if (oh <= 0 || ow <= 0) {  // a side fits to 0 px: an error here, a failure there
                    CHECK(!p.is_ok());
                    continue;
                }
                REQUIRE(p.is_ok());
                CHECK(p->resized_height == oh);
                CHECK(p->resized_width == ow);
            }
    // Fixture sizes (golden.json images[]).
    auto a = plan_pixtral_image(300, 200, mistral_small_cfg(140));
    CHECK((a->fit_height == 93 && a->fit_width == 140 && a->resized_height == 112 && a->resized_width == 140));
    auto b = plan_pixtral_image(260, 120, mistral_small_cfg(126));
    CHECK((b->fit_height == 58 && b->fit_width == 125 && b->resized_height == 84 && b->resized_width == 140));
}

TEST_CASE("pixtral processor: caps and bad input", "[pipeline][pixtral]") {
    const pixtral_processor_config c = mistral_small_cfg();
    CHECK(plan_pixtral_image(0, 10, c).error().code() == errc::invalid_argument);
    CHECK(plan_pixtral_image(70000, 10, c).error().code() == errc::unsupported);       // side over the cap
    CHECK(plan_pixtral_image(20000, 20000, c).error().code() == errc::unsupported);    // pixels over the cap
    CHECK(plan_pixtral_image(60000, 1, c).error().code() == errc::invalid_argument);   // height fits to 0 px
    // A plan that does not match the image is refused before anything is written.
    image im;
    im.width = 10;
    im.height = 10;
    im.channels = 3;
    im.pixels.assign(300, 7);
    auto p = plan_pixtral_image(20, 10, c);
    REQUIRE(p.is_ok());
    tensor<float> out;
    CHECK(!preprocess_pixtral_image(im.view(), p.value(), c, {}, out).is_ok());
    CHECK(out.numel() == 0);
}

TEST_CASE("pixtral processor: prompt layout", "[pipeline][pixtral]") {
    pixtral_processor_config c = mistral_small_cfg();
    pixtral_plan a;
    a.rows = 2;
    a.cols = 3;
    pixtral_plan b;
    b.rows = 1;
    b.cols = 1;
    CHECK(pixtral_image_tokens(a, c) == "[IMG][IMG][IMG][IMG_BREAK][IMG][IMG][IMG][IMG_END]");
    CHECK(pixtral_image_tokens(b, c) == "[IMG][IMG_END]");
    const pixtral_plan both[2] = {a, b};
    auto r = expand_pixtral_prompt("x[IMG]y[IMG]", both, 2, c);
    REQUIRE(r.is_ok());
    CHECK(r.value() == "x[IMG][IMG][IMG][IMG_BREAK][IMG][IMG][IMG][IMG_END]y[IMG][IMG_END]");
    CHECK(!expand_pixtral_prompt("x[IMG]y", both, 2, c).is_ok());       // fewer placeholders than images
    CHECK(!expand_pixtral_prompt("[IMG][IMG][IMG]", both, 2, c).is_ok());  // more
    CHECK(expand_pixtral_prompt("no image", both, 0, c).value() == "no image");
}

TEST_CASE("pixtral processor: fixtures bit for bit", "[pipeline][pixtral][golden]") {
    for (const char* name : {"mistral3_bf16_one_image", "mistral3_f32_two_images"}) {
        const std::string dir = smolvlm_test::fixtures_dir() + "/" + name;
        SMOLVLM_REQUIRE_SHARED(dir + "/golden.json");
        INFO(name);
        auto meta = parse_json(smolvlm_test::read_file(dir + "/golden.json"));
        REQUIRE(meta.is_ok());
        auto pre = parse_json(smolvlm_test::read_file(dir + "/model/preprocessor_config.json"));
        auto proc = parse_json(smolvlm_test::read_file(dir + "/model/processor_config.json"));
        REQUIRE(pre.is_ok());
        REQUIRE(proc.is_ok());
        auto cfg = parse_pixtral_processor_config(pre.value(), &proc.value());
        REQUIRE(cfg.is_ok());
        CHECK(cfg->unit() == 28);
        auto g = safetensors_file::open((dir + "/golden.safetensors").c_str());
        REQUIRE(g.is_ok());
        const json_value& inputs = *meta->find("inputs");
        for (std::size_t k = 0; k < inputs.size(); ++k) {
            const std::string file = dir + "/" + inputs[k].find("file")->as_string();
            auto img = load_image_file(file.c_str());
            REQUIRE(img.is_ok());
            auto plan = plan_pixtral_image(img->width, img->height, cfg.value());
            REQUIRE(plan.is_ok());
            const json_value& im = (*meta->find("images"))[k];
            CHECK(plan->resized_height == (*im.find("resized_size_hw"))[0].as_int());
            CHECK(plan->resized_width == (*im.find("resized_size_hw"))[1].as_int());
            CHECK(plan->rows == (*im.find("token_grid_rows_cols"))[0].as_int());
            CHECK(plan->cols == (*im.find("token_grid_rows_cols"))[1].as_int());
            tensor<float> px;
            image resized;
            REQUIRE(preprocess_pixtral_image(img->view(), plan.value(), cfg.value(), {}, px, &resized).is_ok());
            const st_tensor* gr = g->find("image" + std::to_string(k) + "_resized");
            REQUIRE(gr);
            REQUIRE(gr->nbytes == resized.pixels.size());
            std::size_t diff = 0;
            for (std::size_t i = 0; i < gr->nbytes; ++i) diff += gr->data[i] != resized.pixels[i];
            CHECK(diff == 0);
            const st_tensor* gp = g->find("pixel_values_" + std::to_string(k));
            REQUIRE(gp);
            REQUIRE(gp->nbytes == px.nbytes());
            CHECK(std::memcmp(gp->data, px.data(), gp->nbytes) == 0);
        }
    }
}

}  // namespace smolvlm_test_pipeline_preprocess_pixtral_cases
