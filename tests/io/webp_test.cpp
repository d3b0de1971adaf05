#include <smolvlm/io/decode.hpp>
#include <smolvlm/io/webp.hpp>

#include <string>
#include <vector>

#include "../test_util.hpp"

namespace smolvlm_test_io_webp_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;
using bytes = std::vector<std::uint8_t>;

namespace {

void put32(bytes& b, std::size_t v) {
    for (int i = 0; i < 4; ++i) b.push_back(std::uint8_t(v >> (8 * i)));
}
void put24(bytes& b, std::size_t v) {
    for (int i = 0; i < 3; ++i) b.push_back(std::uint8_t(v >> (8 * i)));
}

bytes chunk(const char* tag, const bytes& payload) {
    bytes b(tag, tag + 4);
    put32(b, payload.size());
    b.insert(b.end(), payload.begin(), payload.end());
    if (payload.size() & 1) b.push_back(0);
    return b;
}

bytes riff(const std::vector<bytes>& chunks) {
    bytes body = {'W', 'E', 'B', 'P'};
    for (const auto& c : chunks) body.insert(body.end(), c.begin(), c.end());
    bytes b = {'R', 'I', 'F', 'F'};
    put32(b, body.size());
    b.insert(b.end(), body.begin(), body.end());
    return b;
}

// LSB-first bit writer for VP8L.
struct bit_writer {
    bytes out;
    int n = 0;
    void put(std::uint32_t v, int bits) {
        for (int i = 0; i < bits; ++i, ++n) {
            if (n % 8 == 0) out.push_back(0);
            if (v >> i & 1) out.back() = std::uint8_t(out.back() | 1 << (n % 8));
        }
    }
};

// Boolean entropy encoder (RFC 6386 section 7), the counterpart of the VP8 decoder.
struct bool_writer {
    bytes out;
    std::uint32_t range = 255, bottom = 0;
    int count = 24;
    void carry() {
        for (std::size_t i = out.size(); i-- > 0;) {
            if (out[i] != 255) { ++out[i]; return; }
            out[i] = 0;
        }
    }
    void put(int bit, int prob) {
        const std::uint32_t split = 1 + (((range - 1) * std::uint32_t(prob)) >> 8);
        if (bit) { bottom += split; range -= split; } else { range = split; }
        while (range < 128) {
            range <<= 1;
            if (bottom & (1u << 31)) carry();
            bottom <<= 1;
            if (!--count) {
                out.push_back(std::uint8_t(bottom >> 24));
                bottom &= (1u << 24) - 1;
                count = 8;
            }
        }
    }
    void value(int v, int bits) {
        for (int i = bits - 1; i >= 0; --i) put(v >> i & 1, 128);
    }
    bytes finish() {
        for (int i = 0; i < 32; ++i) put(0, 128);
        return out;
    }
};

// A 32x16 key frame: two skipped macroblocks, luma V / H prediction, chroma TM / DC.
// Luma is 127 (the border above the first row, carried right by H); chroma is 129
// (TM of the 127 / 129 borders; DC of the left column).
bytes vp8_frame() {
    bool_writer p0;
    p0.put(0, 128);  // colour space
    p0.put(0, 128);  // clamping
    p0.put(0, 128);  // no segmentation
    p0.put(0, 128);  // normal filter
    p0.value(0, 6);  // level 0
    p0.value(0, 3);  // sharpness
    p0.put(0, 128);  // no filter deltas
    p0.value(0, 2);  // one token partition
    p0.value(10, 7);  // base quantiser
    for (int i = 0; i < 5; ++i) p0.put(0, 128);
    p0.put(0, 128);  // refresh entropy probabilities
    for (int i = 0; i < 4 * 8 * 3 * 11; ++i) p0.put(0, detail::k_vp8_coeff_update_probs[i]);
    p0.put(1, 128);  // use skip probability
    p0.value(200, 8);
    // MB 0: skip, 16x16, V_PRED, chroma TM_PRED
    p0.put(1, 200); p0.put(1, 145); p0.put(0, 156); p0.put(1, 163);
    p0.put(1, 142); p0.put(1, 114); p0.put(1, 183);
    // MB 1: skip, 16x16, H_PRED, chroma DC_PRED
    p0.put(1, 200); p0.put(1, 145); p0.put(1, 156); p0.put(0, 128);
    p0.put(0, 142);
    const bytes part0 = p0.finish();
    bool_writer p1;
    const bytes tokens = p1.finish();
    const std::uint32_t tag = 0u | 0u << 1 | 1u << 4 | std::uint32_t(part0.size()) << 5;
    bytes f = {std::uint8_t(tag), std::uint8_t(tag >> 8), std::uint8_t(tag >> 16), 0x9d, 0x01, 0x2a, 32, 0, 16, 0};
    f.insert(f.end(), part0.begin(), part0.end());
    f.insert(f.end(), tokens.begin(), tokens.end());
    return f;
}

// A 2x1 lossless image with the alpha bit set: green from a two-symbol code, red / blue /
// alpha from one-symbol codes (which take no bits per pixel).
bytes vp8l_2x1() {
    bit_writer w;
    w.put(0x2f, 8);
    w.put(1, 14);  // width - 1
    w.put(0, 14);  // height - 1
    w.put(1, 1);   // alpha used
    w.put(0, 3);   // version
    w.put(0, 1);   // no transform
    w.put(0, 1);   // no colour cache
    w.put(0, 1);   // no meta codes
    w.put(1, 1); w.put(1, 1); w.put(1, 1); w.put(10, 8); w.put(200, 8);  // green: {10, 200}
    w.put(1, 1); w.put(0, 1); w.put(0, 1); w.put(1, 1);                   // red: {1}
    w.put(1, 1); w.put(0, 1); w.put(1, 1); w.put(77, 8);                  // blue: {77}
    w.put(1, 1); w.put(0, 1); w.put(1, 1); w.put(255, 8);                 // alpha: {255}
    w.put(1, 1); w.put(0, 1); w.put(0, 1); w.put(0, 1);                   // distance: {0}
    w.put(1, 1);  // pixel 0: green 200
    w.put(0, 1);  // pixel 1: green 10
    return w.out;
}

result<image> dec(const bytes& b) { return decode_webp(b.data(), b.size()); }

}  // namespace

TEST_CASE("webp: a hand-built lossy frame decodes through libwebp's YUV -> RGB", "[io][webp]") {
    auto r = dec(riff({chunk("VP8 ", vp8_frame())}));
    if (!r.is_ok()) INFO(r.error().message());
    REQUIRE(r.is_ok());
    CHECK(r->width == 32);
    CHECK(r->height == 16);
    CHECK(r->channels == 3);
    // Y 127, U = V = 129 -> (131, 128, 131) in libwebp's fixed point.
    for (std::size_t i = 0; i < r->pixels.size(); i += 3)
        REQUIRE(bytes(r->pixels.begin() + long(i), r->pixels.begin() + long(i) + 3) == bytes({131, 128, 131}));
}

TEST_CASE("webp: VP8X + ALPH (raw, horizontal filter) gives RGBA", "[io][webp]") {
    bytes vp8x = {0x10, 0, 0, 0};
    put24(vp8x, 31);
    put24(vp8x, 15);
    bytes alph = {0x04};  // method 0 (raw), filter 1 (horizontal)
    for (int i = 0; i < 32 * 16; ++i) alph.push_back(1);
    auto r = dec(riff({chunk("VP8X", vp8x), chunk("ALPH", alph), chunk("VP8 ", vp8_frame())}));
    REQUIRE(r.is_ok());
    REQUIRE(r->channels == 4);
    for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 32; ++x) REQUIRE(int(r->pixels[std::size_t(y * 32 + x) * 4 + 3]) == x + y + 1);
    CHECK(bytes(r->pixels.begin(), r->pixels.begin() + 3) == bytes({131, 128, 131}));
}

TEST_CASE("webp: a hand-built lossless image", "[io][webp]") {
    auto r = dec(riff({chunk("VP8L", vp8l_2x1())}));
    if (!r.is_ok()) INFO(r.error().message());
    REQUIRE(r.is_ok());
    CHECK(r->channels == 4);
    CHECK(r->pixels == bytes({1, 200, 77, 255, 1, 10, 77, 255}));
    // Without the alpha bit PIL opens "RGB".
    bytes noalpha = vp8l_2x1();
    noalpha[4] = std::uint8_t(noalpha[4] & ~0x10);
    auto n = dec(riff({chunk("VP8L", noalpha)}));
    REQUIRE(n.is_ok());
    CHECK(n->channels == 3);
    CHECK(n->pixels == bytes({1, 200, 77, 1, 10, 77}));
}

TEST_CASE("webp: refusals are clear errors", "[io][webp]") {
    CHECK(std::string(decode_webp(nullptr, 0).error().message()) == "webp: the file is empty");
    bytes ok = riff({chunk("VP8L", vp8l_2x1())});
    bytes cut(ok.begin(), ok.end() - 1);
    CHECK(dec(cut).error().code() == errc::truncated);
    // An ALPH chunk next to a lossless image.
    bytes vp8x = {0x10, 0, 0, 0};
    put24(vp8x, 1);
    put24(vp8x, 0);
    CHECK(dec(riff({chunk("VP8X", vp8x), chunk("ALPH", {0, 1, 2}), chunk("VP8L", vp8l_2x1())})).error().code() ==
          errc::bad_format);
    // A canvas that does not match the image.
    bytes big = {0, 0, 0, 0};
    put24(big, 2);
    put24(big, 0);
    CHECK(dec(riff({chunk("VP8X", big), chunk("VP8L", vp8l_2x1())})).error().code() == errc::bad_format);
    // Decompression bomb: a 16384 x 16384 lossless header.
    bytes huge = vp8l_2x1();
    huge[1] = huge[2] = 0xFF;
    huge[3] = 0xFF;
    huge[4] = std::uint8_t((huge[4] & 0xF0) | 0x0F);
    auto b = dec(riff({chunk("VP8L", huge)}));
    CHECK(std::string(b.error().message()).find("decompression-bomb") != std::string::npos);
    // Not a key frame.
    bytes inter = vp8_frame();
    inter[0] |= 1;
    CHECK(dec(riff({chunk("VP8 ", inter)})).error().code() == errc::bad_format);
}

TEST_CASE("webp: truncated and corrupted files are errors, never crashes", "[io][webp]") {
    const std::string dir =
#ifdef SMOLVLM_SOURCE_DIR
        std::string(SMOLVLM_SOURCE_DIR) + "/tests/data/images/webp/";
#else
        "tests/data/images/webp/";
#endif
    for (const char* name : {"lossy_q75.webp", "lossless_z6.webp", "lossy_alpha_m1_best.webp", "pil_anim_lossy.webp"}) {
        const std::string s = smolvlm_test::read_file(dir + name);
        REQUIRE(!s.empty());
        const bytes f(s.begin(), s.end());
        REQUIRE(dec(f).is_ok());
        for (std::size_t n = 0; n < f.size(); n += 1 + n / 64) {
            CHECK(!decode_webp(f.data(), n).is_ok());
            // The same cut with the RIFF and last chunk sizes made to fit: the bitstream
            // decoders see the cut. They must not crash; a whole image may come out when
            // only the final padding was lost.
            bytes g(f.begin(), f.begin() + long(n));
            if (n < 20) continue;
            const std::size_t riff_size = n - 8;
            for (int i = 0; i < 4; ++i) g[4 + std::size_t(i)] = std::uint8_t(riff_size >> (8 * i));
            auto r = decode_webp(g.data(), g.size());
            if (r.is_ok()) CHECK(r->pixels.size() == r->row_bytes() * std::size_t(r->height));
        }
        // Flip every byte in turn (bounded work): no crash.
        for (std::size_t i = 12; i < f.size(); i += 1 + i / 32) {
            bytes g = f;
            g[i] ^= 0x5A;
            auto r = decode_webp(g.data(), g.size());
            if (r.is_ok()) CHECK(r->pixels.size() == r->row_bytes() * std::size_t(r->height));
        }
    }
}

TEST_CASE("webp: decode_image dispatches on RIFF....WEBP", "[io][webp]") {
    const bytes f = riff({chunk("VP8L", vp8l_2x1())});
    auto r = decode_image(f.data(), f.size());
    REQUIRE(r.is_ok());
    CHECK(r->width == 2);
}

TEST_CASE("webp: EXIF orientation is read from the EXIF chunk, not applied", "[io][webp]") {
    // TIFF header (big-endian), one IFD entry: 0x0112 SHORT 1 = 6.
    const bytes tiff = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0};
    bytes exif = {'E', 'x', 'i', 'f', 0, 0};
    exif.insert(exif.end(), tiff.begin(), tiff.end());
    bytes vp8x = {0x08, 0, 0, 0};  // EXIF flag
    put24(vp8x, 1);
    put24(vp8x, 0);
    auto r = dec(riff({chunk("VP8X", vp8x), chunk("VP8L", vp8l_2x1()), chunk("EXIF", exif)}));
    REQUIRE(r.is_ok());
    CHECK(r->orientation == 6);
    CHECK(r->width == 2);
    auto raw = dec(riff({chunk("VP8X", vp8x), chunk("VP8L", vp8l_2x1()), chunk("EXIF", tiff)}));
    REQUIRE(raw.is_ok());
    CHECK(raw->orientation == 6);
    vp8x[0] = 0;  // without the flag libwebp's demuxer drops the chunk
    auto off = dec(riff({chunk("VP8X", vp8x), chunk("VP8L", vp8l_2x1()), chunk("EXIF", exif)}));
    REQUIRE(off.is_ok());
    CHECK(off->orientation == 1);
}

}  // namespace smolvlm_test_io_webp_cases
