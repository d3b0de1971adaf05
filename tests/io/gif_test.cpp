#include <smolvlm/io/gif.hpp>

#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace smolvlm_test_io_gif_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;
using bytes = std::vector<std::uint8_t>;

namespace {

// GIF89a, logical screen sw x sh, 4-entry global palette, one w x h frame at (x, y).
// The image data is the 2x2 pixels 0 1 / 1 0 in LZW, minimum code size 2:
//   codes clear(4), 0, 1, 1 in 3 bits, then 0 in 4 bits (the table reached 8 entries), end(5):
//   bits 001 000 100 100 0000 1010 (LSB first) -> 0x44 0x02 0x05.
bytes gif(int sw, int sh, int x, int y, int w, int h, int trans = -1, bool interlace = false, bool global = true,
          const bytes& lzw = {0x03, 0x44, 0x02, 0x05, 0x00}) {
    bytes b = {'G', 'I', 'F', '8', '9', 'a', std::uint8_t(sw), std::uint8_t(sw >> 8), std::uint8_t(sh),
               std::uint8_t(sh >> 8), std::uint8_t(global ? 0x81 : 0), 0, 0};
    if (global) {
        const bytes pal = {255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9};
        b.insert(b.end(), pal.begin(), pal.end());
    }
    if (trans >= 0) {
        const bytes gce = {'!', 0xF9, 4, 1, 0, 0, std::uint8_t(trans), 0};
        b.insert(b.end(), gce.begin(), gce.end());
    }
    const bytes desc = {',', std::uint8_t(x), 0, std::uint8_t(y), 0, std::uint8_t(w), 0, std::uint8_t(h), 0,
                        std::uint8_t(interlace ? 0x40 : 0), 2};
    b.insert(b.end(), desc.begin(), desc.end());
    b.insert(b.end(), lzw.begin(), lzw.end());
    b.push_back(';');
    return b;
}

result<image> dec(const bytes& b) { return decode_gif(b.data(), b.size()); }

}  // namespace

TEST_CASE("gif: a 2x2 frame through the global palette", "[io][gif]") {
    auto r = dec(gif(2, 2, 0, 0, 2, 2));
    REQUIRE(r.is_ok());
    CHECK(r->channels == 3);
    CHECK(r->pixels == bytes({255, 0, 0, 0, 255, 0, 0, 255, 0, 255, 0, 0}));
}

TEST_CASE("gif: transparency gives RGBA with the palette colour kept under alpha 0", "[io][gif]") {
    auto r = dec(gif(2, 2, 0, 0, 2, 2, 1));
    REQUIRE(r.is_ok());
    CHECK(r->channels == 4);
    CHECK(r->pixels == bytes({255, 0, 0, 255, 0, 255, 0, 0, 0, 255, 0, 0, 255, 0, 0, 255}));
}

TEST_CASE("gif: the frame sits in the logical screen; outside is index 0 or the transparent index", "[io][gif]") {
    auto r = dec(gif(3, 2, 1, 0, 2, 2));
    REQUIRE(r.is_ok());
    CHECK(r->width == 3);
    CHECK(r->pixels == bytes({255, 0, 0, 255, 0, 0, 0, 255, 0, 255, 0, 0, 0, 255, 0, 255, 0, 0}));
    auto t = dec(gif(3, 2, 1, 0, 2, 2, 3));
    REQUIRE(t.is_ok());
    CHECK(t->channels == 4);
    CHECK(bytes(t->pixels.begin(), t->pixels.begin() + 4) == bytes({9, 9, 9, 0}));
    // A frame reaching past the screen grows the image (PIL).
    auto g = dec(gif(1, 1, 1, 1, 2, 2));
    REQUIRE(g.is_ok());
    CHECK(g->width == 3);
    CHECK(g->height == 3);
}

TEST_CASE("gif: no colour table opens as gray (the index is the value)", "[io][gif]") {
    auto r = dec(gif(2, 2, 0, 0, 2, 2, -1, false, false));
    REQUIRE(r.is_ok());
    CHECK(r->channels == 1);
    CHECK(r->pixels == bytes({0, 1, 1, 0}));
    auto t = dec(gif(2, 2, 0, 0, 2, 2, 0, false, false));
    REQUIRE(t.is_ok());
    CHECK(t->channels == 2);
    CHECK(t->pixels == bytes({0, 0, 1, 255, 1, 255, 0, 0}));
}

TEST_CASE("gif: interlaced rows follow the four passes", "[io][gif]") {
    // Height 2: pass 1 writes row 0, pass 4 row 1: the same order as a plain frame here.
    auto r = dec(gif(2, 2, 0, 0, 2, 2, -1, true));
    REQUIRE(r.is_ok());
    CHECK(r->pixels == bytes({255, 0, 0, 0, 255, 0, 0, 255, 0, 255, 0, 0}));
}

TEST_CASE("gif: refusals are clear errors", "[io][gif]") {
    CHECK(std::string(decode_gif(nullptr, 0).error().message()) == "gif: the file is empty");
    const bytes bad = {'G', 'I', 'F', '8', '8', 'a'};
    CHECK(dec(bad).error().code() == errc::bad_format);
    // The LZW data ends (end code) before the frame is complete: PIL's "image file is truncated".
    auto early = dec(gif(2, 3, 0, 0, 2, 3));
    CHECK(early.error().code() == errc::truncated);
    // A code size above 12.
    bytes big = gif(2, 2, 0, 0, 2, 2);
    big[13 + 12 + 10] = 13;
    CHECK(dec(big).error().code() == errc::bad_format);
    // No image before the trailer.
    const bytes none = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0, ';'};
    CHECK(dec(none).error().code() == errc::bad_format);
    // A 65535 x 65535 screen is a decompression bomb for PIL.
    auto bomb = dec(gif(255, 255, 0, 0, 2, 2));
    CHECK(bomb.is_ok());
    bytes huge = gif(2, 2, 0, 0, 2, 2);
    huge[6] = huge[7] = huge[8] = huge[9] = 0xFF;
    CHECK(std::string(dec(huge).error().message()).find("decompression-bomb") != std::string::npos);
    // An empty frame.
    CHECK(dec(gif(2, 2, 0, 0, 0, 2)).error().code() == errc::bad_format);
}

TEST_CASE("gif: every truncation is an error or a whole image, never a crash", "[io][gif]") {
    for (const bytes& f : {gif(2, 2, 0, 0, 2, 2), gif(4, 4, 1, 1, 2, 2, 2, true)}) {
        for (std::size_t n = 0; n < f.size(); ++n) {
            auto r = decode_gif(f.data(), n);
            if (r.is_ok()) CHECK(r->pixels.size() == r->row_bytes() * std::size_t(r->height));
        }
        // Cut inside the image data: an error.
        CHECK(!decode_gif(f.data(), f.size() - 4).is_ok());
    }
}

}  // namespace smolvlm_test_io_gif_cases
