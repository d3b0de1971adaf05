#include <smolvlm/io/bmp.hpp>
#include <smolvlm/io/decode.hpp>

#include <cstring>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace smolvlm_test_io_bmp_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;
using bytes = std::vector<std::uint8_t>;

namespace {

void put16(bytes& b, std::uint32_t v) { b.push_back(std::uint8_t(v)); b.push_back(std::uint8_t(v >> 8)); }
void put32(bytes& b, std::uint32_t v) { put16(b, v & 0xffff); put16(b, v >> 16); }

// BITMAPFILEHEADER + BITMAPINFOHEADER (+ extra header bytes) + palette/masks + pixels.
bytes bmp(std::int32_t w, std::int32_t h, int bits, std::uint32_t comp, const bytes& between, const bytes& pixels,
          std::uint32_t colors = 0, int header = 40, const bytes& header_tail = {}) {
    bytes b = {'B', 'M'};
    put32(b, 0);
    put32(b, 0);
    put32(b, std::uint32_t(14 + header + between.size()));
    put32(b, std::uint32_t(header));
    put32(b, std::uint32_t(w));
    put32(b, std::uint32_t(h));
    put16(b, 1);
    put16(b, std::uint32_t(bits));
    put32(b, comp);
    put32(b, 0);
    put32(b, 2835);
    put32(b, 2835);
    put32(b, colors);
    put32(b, 0);
    b.insert(b.end(), header_tail.begin(), header_tail.end());
    while (b.size() < std::size_t(14 + header)) b.push_back(0);
    b.insert(b.end(), between.begin(), between.end());
    b.insert(b.end(), pixels.begin(), pixels.end());
    return b;
}

result<image> dec(const bytes& b, const image_limits& lim = {}) { return decode_bmp(b.data(), b.size(), lim); }

std::string msg(const result<image>& r) { return r.is_ok() ? "ok" : r.error().message(); }

}  // namespace

TEST_CASE("bmp: 24-bit rows are bottom-up BGR, padded to 4 bytes", "[io][bmp]") {
    // 2x2: bottom row (blue, green), top row (red, white); 2 pad bytes per row.
    const bytes px = {255, 0, 0, 0, 255, 0, 0, 0, 0, 0, 255, 255, 255, 255, 0, 0};
    auto r = dec(bmp(2, 2, 24, 0, {}, px));
    REQUIRE(r.is_ok());
    CHECK(r->channels == 3);
    CHECK(r->pixels == bytes({255, 0, 0, 255, 255, 255, 0, 0, 255, 0, 255, 0}));
    // The last row's padding may be missing (PIL reads only the pixels of the last row).
    bytes cut = bmp(2, 2, 24, 0, {}, px);
    cut.resize(cut.size() - 2);
    CHECK(dec(cut).is_ok());
    cut.resize(cut.size() - 1);
    CHECK(dec(cut).error().code() == errc::truncated);
}

TEST_CASE("bmp: negative height is top-down", "[io][bmp]") {
    const bytes px = {255, 0, 0, 0, 255, 0, 0, 0, 0, 0, 255, 255, 255, 255, 0, 0};
    auto r = dec(bmp(2, -2, 24, 0, {}, px));
    REQUIRE(r.is_ok());
    CHECK(r->pixels == bytes({0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255}));
}

TEST_CASE("bmp: 32-bit BI_RGB ignores the fourth byte; bit fields with alpha give RGBA", "[io][bmp]") {
    const bytes px = {10, 20, 30, 40};
    auto r = dec(bmp(1, 1, 32, 0, {}, px));
    REQUIRE(r.is_ok());
    CHECK(r->channels == 3);
    CHECK(r->pixels == bytes({30, 20, 10}));
    bytes masks;  // V3 header: R, G, B, A masks right after the 40-byte part
    put32(masks, 0xFF0000);
    put32(masks, 0xFF00);
    put32(masks, 0xFF);
    put32(masks, 0xFF000000);
    auto a = dec(bmp(1, 1, 32, 3, {}, px, 0, 56, masks));
    REQUIRE(a.is_ok());
    CHECK(a->channels == 4);
    CHECK(a->pixels == bytes({30, 20, 10, 40}));
    // A layout PIL does not know is refused.
    bytes odd;
    put32(odd, 0x3FF00000);
    put32(odd, 0xFFC00);
    put32(odd, 0x3FF);
    put32(odd, 0);
    CHECK(msg(dec(bmp(1, 1, 32, 3, {}, px, 0, 56, odd))) == "bmp: unsupported bit-field layout");
}

TEST_CASE("bmp: 16-bit 5-5-5 and 5-6-5 scale as PIL (v * 255 / 31)", "[io][bmp]") {
    const bytes px = {0x1F, 0x7C, 0, 0};  // 0x7C1F: r = 31, g = 0, b = 31 in 5-5-5
    auto r = dec(bmp(1, 1, 16, 0, {}, px));
    REQUIRE(r.is_ok());
    CHECK(r->pixels == bytes({255, 0, 255}));
    bytes m;
    put32(m, 0xF800);
    put32(m, 0x7E0);
    put32(m, 0x1F);
    const bytes px565 = {0x20, 0x00, 0, 0};  // g = 1 of 63 -> 4
    auto g = dec(bmp(1, 1, 16, 3, m, px565));
    REQUIRE(g.is_ok());
    CHECK(g->pixels == bytes({0, 4, 0}));
}

TEST_CASE("bmp: palettes, short palettes and gray ramps", "[io][bmp]") {
    const bytes pal = {0, 0, 255, 0, 0, 255, 0, 0};  // red, green (BGRX)
    // 1-bit, 3 pixels: 1 0 1; 4 bytes per row.
    auto r = dec(bmp(3, 1, 1, 0, pal, {0xA0, 0, 0, 0}, 2));
    REQUIRE(r.is_ok());
    CHECK(r->channels == 3);
    CHECK(r->pixels == bytes({0, 255, 0, 255, 0, 0, 0, 255, 0}));
    // 8-bit, index 7 past a 2-colour palette: black.
    auto s = dec(bmp(2, 1, 8, 0, pal, {1, 7, 0, 0}, 2));
    REQUIRE(s.is_ok());
    CHECK(s->pixels == bytes({0, 255, 0, 0, 0, 0}));
    // Black/white palette: PIL opens mode "1", one channel of 0 / 255.
    const bytes bw = {0, 0, 0, 0, 255, 255, 255, 0};
    auto m = dec(bmp(3, 1, 1, 0, bw, {0x40, 0, 0, 0}, 2));
    REQUIRE(m.is_ok());
    CHECK(m->channels == 1);
    CHECK(m->pixels == bytes({0, 255, 0}));
}

TEST_CASE("bmp: RLE8 runs, absolute runs, delta and end of line, as PIL's decoder", "[io][bmp]") {
    bytes pal;
    for (int i = 0; i < 4; ++i) {
        pal.push_back(std::uint8_t(10 * i));
        pal.push_back(std::uint8_t(20 * i));
        pal.push_back(std::uint8_t(30 * i));
        pal.push_back(0);
    }
    // 4x2; data starts at offset 14 + 40 + 16 = 70 (even).
    // Row 0 (bottom): run of 3 x index 1, then end of line (fills 1 pixel with index 0).
    // Row 1 (top): absolute run 1 2 3 (3 bytes + 1 pad byte), then run of 1 x index 2.
    const bytes rle = {3, 1, 0, 0, 0, 3, 1, 2, 3, 0, 1, 2, 0, 1};
    auto r = dec(bmp(4, 2, 8, 1, pal, rle, 4));
    REQUIRE(r.is_ok());
    auto c = [&](int i) { return bytes({std::uint8_t(30 * i), std::uint8_t(20 * i), std::uint8_t(10 * i)}); };  // BGRX palette
    bytes want;
    for (int i : {1, 2, 3, 2, 1, 1, 1, 0}) {
        bytes p = c(i);
        want.insert(want.end(), p.begin(), p.end());
    }
    CHECK(r->pixels == want);
    // End of bitmap before the last pixel: PIL says "not enough image data".
    const bytes short_rle = {3, 1, 0, 1};
    CHECK(dec(bmp(4, 2, 8, 1, pal, short_rle, 4)).error().code() == errc::truncated);
}

TEST_CASE("bmp: refusals are clear errors", "[io][bmp]") {
    CHECK(msg(decode_bmp(nullptr, 0)) == "bmp: the file is empty");
    const std::uint8_t bm[] = {'B', 'M'};
    CHECK(decode_bmp(bm, 2).error().code() == errc::truncated);
    CHECK(msg(dec(bmp(1, 1, 24, 4, {}, {0, 0, 0, 0}))) == "bmp: unsupported compression 4 (JPEG in BMP)");
    CHECK(msg(dec(bmp(1, 1, 24, 5, {}, {0, 0, 0, 0}))) == "bmp: unsupported compression 5 (PNG in BMP)");
    CHECK(msg(dec(bmp(1, 1, 2, 0, {}, {0, 0, 0, 0}))) == "bmp: unsupported pixel depth 2");
    CHECK(msg(dec(bmp(1, 1, 24, 0, {}, {0, 0, 0, 0}, 0, 20))) == "bmp: unsupported header size 20");
    // Decompression bomb (PIL: more than 2 x 89,478,485 pixels), and the caller's caps.
    auto bomb = dec(bmp(20000, 20000, 24, 0, {}, {}));
    CHECK(bomb.error().code() == errc::unsupported);
    CHECK(std::string(bomb.error().message()).find("decompression-bomb") != std::string::npos);
    CHECK(dec(bmp(17000, 1, 24, 0, {}, {})).error().code() == errc::unsupported);
    CHECK(dec(bmp(0, 1, 24, 0, {}, {})).error().code() == errc::bad_format);
    // Pixel data offset past the end of the file.
    bytes far = bmp(1, 1, 24, 0, {}, {1, 2, 3, 0});
    far[10] = 0xFF;
    far[11] = 0xFF;
    CHECK(dec(far).error().code() == errc::truncated);
}

TEST_CASE("bmp: every truncation of a valid file is an error or a whole image, never a crash", "[io][bmp]") {
    bytes pal;
    for (int i = 0; i < 16; ++i) {
        pal.push_back(std::uint8_t(i * 16));
        pal.push_back(std::uint8_t(255 - i));
        pal.push_back(std::uint8_t(i * 3));
        pal.push_back(0);
    }
    const bytes rle = {2, 0x12, 0, 3, 0x34, 0x50, 0, 0, 5, 0x67, 0, 1};
    for (const bytes& f : {bmp(5, 3, 24, 0, {}, bytes(48, 7)), bmp(5, 2, 4, 2, pal, rle, 16),
                           bmp(7, 3, 1, 0, pal, bytes(12, 0x5A), 2)}) {
        for (std::size_t n = 0; n < f.size(); ++n) {
            auto r = decode_bmp(f.data(), n);
            if (r.is_ok()) CHECK(r->pixels.size() == r->row_bytes() * std::size_t(r->height));
        }
    }
}

TEST_CASE("bmp: decode_image dispatches on 'BM'", "[io][bmp]") {
    const bytes f = bmp(1, 1, 24, 0, {}, {1, 2, 3, 0});
    auto r = decode_image(f.data(), f.size());
    REQUIRE(r.is_ok());
    CHECK(r->pixels == bytes({3, 2, 1}));
}

}  // namespace smolvlm_test_io_bmp_cases
