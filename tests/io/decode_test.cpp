#include <smolvlm/io/decode.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "../test_util.hpp"
#include "test_png_encoder.hpp"

namespace smolvlm_test_io_decode_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;
using bytes = std::vector<std::uint8_t>;

namespace {
image make_image(int w, int h, int ch) {
    image img;
    img.width = w;
    img.height = h;
    img.channels = ch;
    img.pixels.resize(std::size_t(w) * std::size_t(h) * std::size_t(ch));
    for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = std::uint8_t(i * 7 + 1);
    return img;
}
const std::uint8_t* px(const image& im, int x, int y) { return im.row(y) + std::size_t(x) * std::size_t(im.channels); }
}  // namespace

TEST_CASE("decode_image detects the format from the bytes", "[io][decode]") {
    smolvlm_test::png_spec s;
    s.width = 3;
    s.height = 2;
    s.color_type = 0;
    s.depth = 8;
    s.samples = {1, 2, 3, 4, 5, 6};
    bytes png = smolvlm_test::encode_png(s);
    CHECK(detect_image_format(png.data(), png.size()) == image_format::png);
    auto r = decode_image(png.data(), png.size());
    REQUIRE(r.is_ok());
    CHECK(r->channels == 1);
    CHECK(r->pixels == bytes({1, 2, 3, 4, 5, 6}));

    std::string ppm = "P5 2 1 255\n\x05\x06";
    auto p = decode_image(reinterpret_cast<const std::uint8_t*>(ppm.data()), ppm.size());
    REQUIRE(p.is_ok());
    CHECK(p->pixels == bytes({5, 6}));

    auto msg = [](const std::string& s) {
        auto q = decode_image(reinterpret_cast<const std::uint8_t*>(s.data()), s.size());
        return q ? std::string("ok") : std::string(q.error().message());
    };
    // BMP / GIF / WebP are detected and handed to their decoders (bmp_test, gif_test, webp_test).
    CHECK(msg("GIF89a....") == "gif: file ends inside the screen descriptor");
    CHECK(msg("BM......") == "bmp: file ends inside the file header");
    CHECK(msg(std::string("RIFF\x10\0\0\0WEBPVP8 ", 16)) == "webp: file is shorter than its RIFF size");
    CHECK(msg("P3 1 1 255 0 0 0") == "image: only binary Netpbm P5/P6 is supported");
    CHECK(msg("hello") == "image: unknown format (expected PNG, JPEG, BMP, GIF, WebP or PGM/PPM)");
    CHECK(msg("") == "image: the file is empty");
    CHECK(!decode_image(nullptr, 0).is_ok());
}

TEST_CASE("load_image_file reads fixtures and reports missing files", "[io][decode]") {
    auto missing = load_image_file("/nonexistent/x.png");
    REQUIRE(!missing.is_ok());
    CHECK(missing.error().code() == errc::io);
    CHECK(std::string(missing.error().message()).find("/nonexistent/x.png") != std::string::npos);

    std::string tmp = smolvlm_test::temp_dir() + "/decode_test.ppm";
    {
        std::FILE* f = std::fopen(tmp.c_str(), "wb");
        REQUIRE(f);
        std::fputs("P6 1 1 255\n", f);
        std::fputc(10, f); std::fputc(20, f); std::fputc(30, f);
        std::fclose(f);
    }
    auto t = load_image_file(tmp.c_str());
    REQUIRE(t.is_ok());
    CHECK(t->pixels == bytes({10, 20, 30}));
    image_limits lim;
    lim.max_bytes = 8;
    auto capped = load_image_file(tmp.c_str(), lim);
    REQUIRE(!capped.is_ok());
    CHECK(capped.error().code() == errc::no_memory);

    std::string jpg = smolvlm_test::fixtures_dir() + "/smolvlm_bf16_multi_image/inputs/baseline_1000x300.jpg";
    SMOLVLM_REQUIRE_SHARED(jpg);
    auto j = load_image_file(jpg.c_str());
    REQUIRE(j.is_ok());
    CHECK(j->width == 1000);
    CHECK(j->height == 300);
    CHECK(j->channels == 3);
    auto g = load_image_file((smolvlm_test::fixtures_dir() + "/smolvlm_bf16_multi_image/inputs/gray_250x190.png").c_str());
    REQUIRE(g.is_ok());
    CHECK(g->channels == 1);
}

TEST_CASE("apply_orientation matches PIL exif_transpose", "[io][decode]") {
    image im = make_image(3, 2, 2);
    const int W = 3, H = 2;
    for (int o = 1; o <= 8; ++o) {
        image t = apply_orientation(im, o);
        INFO("orientation " << o);
        bool swap = o >= 5;
        CHECK(t.width == (swap ? H : W));
        CHECK(t.height == (swap ? W : H));
        CHECK(t.orientation == 1);
        // Check the output's top-left and top-right corners against PIL's transposes.
        const std::uint8_t* tl = px(t, 0, 0);
        const std::uint8_t* tr = px(t, t.width - 1, 0);
        int tl_x[9] = {0, 0, W - 1, W - 1, 0, 0, 0, W - 1, W - 1}, tl_y[9] = {0, 0, 0, H - 1, H - 1, 0, H - 1, H - 1, 0};
        int tr_x[9] = {0, W - 1, 0, 0, W - 1, 0, 0, W - 1, W - 1}, tr_y[9] = {0, 0, 0, H - 1, H - 1, H - 1, 0, 0, H - 1};
        CHECK(tl[0] == px(im, tl_x[o], tl_y[o])[0]);
        CHECK(tl[1] == px(im, tl_x[o], tl_y[o])[1]);
        CHECK(tr[0] == px(im, tr_x[o], tr_y[o])[0]);
    }
    // 6 (rotate 90 clockwise) then 8 (counter-clockwise) is the identity; 3 twice too.
    CHECK(apply_orientation(apply_orientation(im, 6), 8).pixels == im.pixels);
    CHECK(apply_orientation(apply_orientation(im, 3), 3).pixels == im.pixels);
    CHECK(apply_orientation(apply_orientation(im, 5), 5).pixels == im.pixels);
    CHECK(apply_orientation(apply_orientation(im, 7), 7).pixels == im.pixels);
    image m = im;
    m.orientation = 6;
    apply_exif_orientation(m);
    CHECK(m.width == 2);
    CHECK(m.orientation == 1);
}

TEST_CASE("raw frames: validation, zero-copy views and BGR conversion", "[io][decode]") {
    // 3x2 BGRA frame with a padded stride of 16 bytes.
    std::vector<std::uint8_t> mem(32, 0);
    for (int y = 0; y < 2; ++y)
        for (int x = 0; x < 3; ++x) {
            std::uint8_t* p = &mem[std::size_t(y) * 16 + std::size_t(x) * 4];
            p[0] = std::uint8_t(10 * x);       // B
            p[1] = std::uint8_t(100 + y);      // G
            p[2] = std::uint8_t(200 + x);      // R
            p[3] = 255;
        }
    frame_view bgra{mem.data(), 3, 2, 16, pixel_format::bgra8};
    CHECK(validate_frame(bgra).is_ok());
    CHECK(!as_image_view(bgra).is_ok());
    auto img = frame_to_image(bgra);
    REQUIRE(img.is_ok());
    CHECK(img->channels == 4);
    CHECK(img->row(1)[2 * 4 + 0] == 202);  // R
    CHECK(img->row(1)[2 * 4 + 1] == 101);
    CHECK(img->row(1)[2 * 4 + 2] == 20);   // B

    frame_view rgba{mem.data(), 3, 2, 16, pixel_format::rgba8};
    auto v = as_image_view(rgba);
    REQUIRE(v.is_ok());
    CHECK(v->data == mem.data());  // no copy
    CHECK(v->stride == 16);
    CHECK(v->channels == 4);
    CHECK(v->row(1) == mem.data() + 16);

    frame_view gray{mem.data(), 32, 1, 0, pixel_format::gray8};
    auto gv = as_image_view(gray);
    REQUIRE(gv.is_ok());
    CHECK(gv->stride == 32);

    image decoded = make_image(4, 3, 3);
    image_view dv = decoded.view();
    CHECK(dv.data == decoded.pixels.data());
    CHECK(dv.stride == 12);

    CHECK(!validate_frame(frame_view{nullptr, 3, 2, 0, pixel_format::rgb8}).is_ok());
    CHECK(!validate_frame(frame_view{mem.data(), 0, 2, 0, pixel_format::rgb8}).is_ok());
    CHECK(!validate_frame(frame_view{mem.data(), -3, 2, 0, pixel_format::rgb8}).is_ok());
    status s = validate_frame(frame_view{mem.data(), 3, 2, 8, pixel_format::rgb8});
    CHECK(!s);
    CHECK(std::string(s.message()).find("stride 8 is smaller than a row (9 bytes)") != std::string::npos);
    image_limits lim;
    lim.max_pixels = 5;
    CHECK(!validate_frame(bgra, lim).is_ok());
}

}  // namespace smolvlm_test_io_decode_cases
