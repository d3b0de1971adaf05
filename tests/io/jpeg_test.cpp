#include <smolvlm/io/jpeg.hpp>
#include <smolvlm/io/png.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../test_util.hpp"
#include "jpeg_cases.inc"

namespace smolvlm_test_io_jpeg_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;
using bytes = std::vector<std::uint8_t>;

namespace {

int max_diff(const std::vector<std::uint8_t>& a, const std::uint8_t* b, std::size_t n) {
    int m = 0;
    for (std::size_t i = 0; i < n; ++i) {
        int d = a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
        if (d > m) m = d;
    }
    return m;
}

bool contains(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

std::string error_of(const bytes& b) {
    auto r = decode_jpeg(b.data(), b.size());
    return r ? std::string("ok") : std::string(r.error().message());
}

// Sampling factors from the SOF marker: "h0xv0 h1xv1 ...".
std::string sampling(const bytes& b) {
    std::size_t p = 2;
    while (p + 4 <= b.size() && b[p] == 0xFF) {
        int m = b[p + 1];
        std::size_t len = std::size_t(b[p + 2]) << 8 | b[p + 3];
        if (m == 0xC0 || m == 0xC1 || m == 0xC2) {
            std::string s;
            for (int i = 0; i < b[p + 9]; ++i) {
                int hv = b[p + 11 + 3 * i];
                s += (i ? " " : "") + std::to_string(hv >> 4) + "x" + std::to_string(hv & 15);
            }
            return s;
        }
        p += 2 + len;
    }
    return "?";
}

struct jpeg_case {
    const char* name;
    const std::uint8_t* jpg;
    std::size_t jpg_size;
    const std::uint8_t* ref;
    std::size_t ref_size;
};

#define SMOLVLM_JPEG_CASE(n) \
    jpeg_case { #n, jpeg_cases::k_##n##_jpg, sizeof(jpeg_cases::k_##n##_jpg), jpeg_cases::k_##n##_ref, sizeof(jpeg_cases::k_##n##_ref) }

const jpeg_case k_cases[] = {SMOLVLM_JPEG_CASE(s444),      SMOLVLM_JPEG_CASE(s422),          SMOLVLM_JPEG_CASE(s420),
                             SMOLVLM_JPEG_CASE(s440),      SMOLVLM_JPEG_CASE(s411),          SMOLVLM_JPEG_CASE(gray),
                             SMOLVLM_JPEG_CASE(gray22),    SMOLVLM_JPEG_CASE(s420_prog),     SMOLVLM_JPEG_CASE(s422_prog_rst),
                             SMOLVLM_JPEG_CASE(s420_rst),  SMOLVLM_JPEG_CASE(s420_narrow),   SMOLVLM_JPEG_CASE(s422_narrow)};

}  // namespace

TEST_CASE("jpeg fixtures decode exactly like PIL (libjpeg-turbo)", "[io][jpeg][fixtures]") {
    SMOLVLM_REQUIRE_SHARED(smolvlm_test::fixtures_dir());
    const char* files[] = {"smolvlm_bf16_multi_image/inputs/baseline_1000x300",
                           "smolvlm_bf16_multi_image/inputs/progressive_123x77",
                           "smolvlm_bf16_nosplit/inputs/baseline_77x123"};
    for (const char* f : files) {
        std::string base = smolvlm_test::fixtures_dir() + "/" + f;
        bytes j = smolvlm_test::read_bytes(base + ".jpg");
        bytes p = smolvlm_test::read_bytes(base + ".decoded.png");
        INFO(f);
        CHECK(sampling(j) == "2x2 1x1 1x1");  // all three fixtures are 4:2:0 (h2v2 fancy upsampling)
        auto a = decode_jpeg(j.data(), j.size());
        auto b = decode_png(p.data(), p.size());
        REQUIRE(a.is_ok());
        REQUIRE(b.is_ok());
        CHECK(a->width == b->width);
        CHECK(a->height == b->height);
        REQUIRE(a->channels == 3);
        REQUIRE(a->pixels.size() == b->pixels.size());
        // Target: bit-exact (max per-channel difference 0) against PIL's decode.
        CHECK(max_diff(a->pixels, b->pixels.data(), b->pixels.size()) == 0);
    }
}

TEST_CASE("jpeg sampling modes, progressive and restarts match libjpeg-turbo exactly", "[io][jpeg]") {
    for (const auto& c : k_cases) {
        INFO(c.name);
        auto r = decode_jpeg(c.jpg, c.jpg_size);
        if (!r) INFO(r.error().message());
        REQUIRE(r.is_ok());
        REQUIRE(r->pixels.size() == c.ref_size);
        CHECK(r->channels == (std::string(c.name).rfind("gray", 0) == 0 ? 1 : 3));
        CHECK(max_diff(r->pixels, c.ref, c.ref_size) == 0);
    }
}

TEST_CASE("jpeg truncated at every offset or corrupted never crashes", "[io][jpeg]") {
    std::vector<bytes> files;
    for (const auto& c : k_cases) files.emplace_back(c.jpg, c.jpg + c.jpg_size);
    std::string dir = smolvlm_test::fixtures_dir();
    for (const char* f : {"/smolvlm_bf16_multi_image/inputs/progressive_123x77.jpg",
                          "/smolvlm_bf16_nosplit/inputs/baseline_77x123.jpg"})
        if (smolvlm_test::path_exists(dir + f)) files.push_back(smolvlm_test::read_bytes(dir + f));
    int truncations = 0, corruptions = 0;
    for (const bytes& f : files) {
        // Every proper prefix lacks EOI: always an error.
        for (std::size_t cut = 0; cut < f.size(); ++cut) {
            bytes t(f.begin(), f.begin() + long(cut));
            CHECK(!decode_jpeg(t.data(), t.size()).is_ok());
            ++truncations;
        }
        // Single-byte corruptions: any result is fine as long as it is consistent.
        std::uint32_t seed = 12345;
        for (int k = 0; k < 300; ++k) {
            seed = seed * 1664525u + 1013904223u;
            bytes t = f;
            std::size_t at = 2 + (seed >> 8) % (t.size() - 2);
            t[at] = std::uint8_t(seed >> 3);
            auto r = decode_jpeg(t.data(), t.size());
            if (r) CHECK(r->pixels.size() == r->row_bytes() * std::size_t(r->height));
            ++corruptions;
        }
    }
    CHECK(truncations > 5000);
    CHECK(corruptions >= 300 * 12);
}

TEST_CASE("jpeg rejects unsupported and malformed streams with clear messages", "[io][jpeg]") {
    auto sof = [](int marker, int precision, int n_comp) {
        bytes b = {0xFF, 0xD8, 0xFF, std::uint8_t(marker), 0, std::uint8_t(8 + 3 * n_comp), std::uint8_t(precision), 0, 8, 0, 8,
                   std::uint8_t(n_comp)};
        for (int i = 0; i < n_comp; ++i) b.insert(b.end(), {std::uint8_t(i + 1), 0x11, 0});
        b.insert(b.end(), {0xFF, 0xD9});
        return b;
    };
    // What Pillow refuses.
    CHECK(contains(error_of(sof(0xC0, 12, 3)), "12-bit samples are not supported"));
    CHECK(contains(error_of(sof(0xC3, 12, 1)), "12-bit samples are not supported"));
    CHECK(contains(error_of(sof(0xCB, 8, 1)), "lossless arithmetic"));
    CHECK(contains(error_of(sof(0xC5, 8, 3)), "hierarchical"));
    CHECK(contains(error_of(sof(0xCE, 8, 3)), "hierarchical"));
    CHECK(contains(error_of(sof(0xC0, 8, 2)), "2-component"));
    // Accepted frame types, but no scan before EOI.
    for (int m : {0xC0, 0xC1, 0xC2, 0xC3, 0xC9, 0xCA}) CHECK(contains(error_of(sof(m, 8, 3)), "EOI before any scan"));
    CHECK(contains(error_of(sof(0xC0, 8, 4)), "EOI before any scan"));
    CHECK(contains(error_of(bytes{0xFF, 0xD8}), "missing SOI"));
    CHECK(contains(error_of(bytes{0xFF, 0xD8, 0xFF}), "ends"));
    CHECK(contains(error_of(bytes{}), "empty"));
    {
        bytes b = sof(0xC0, 8, 1);
        b[7] = 0; b[8] = 0;  // height 0: DNL
        CHECK(contains(error_of(b), "DNL"));
    }
    {   // Limits: the caller's, and Pillow's decompression-bomb rule.
        bytes b = sof(0xC0, 8, 3);
        b[7] = 0x7F; b[8] = 0xFF; b[9] = 0x7F; b[10] = 0xFF;
        auto r = decode_jpeg(b.data(), b.size());
        REQUIRE(!r.is_ok());
        CHECK(contains(r.error().message(), "decompression-bomb"));
        b[7] = 0x4F; b[9] = 0x1F;
        r = decode_jpeg(b.data(), b.size());
        REQUIRE(!r.is_ok());
        CHECK(contains(r.error().message(), "limit"));
    }
    {   // An over-subscribed Huffman table (three 1-bit codes), used by the scan.
        const auto& c = k_cases[5];  // gray
        bytes b(c.jpg, c.jpg + c.jpg_size);
        for (std::size_t i = 2; i + 1 < b.size(); ++i)
            if (b[i] == 0xFF && b[i + 1] == 0xDA) {
                bytes dht = {0xFF, 0xC4, 0, 22, 0x00, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2};
                b.insert(b.begin() + long(i), dht.begin(), dht.end());
                break;
            }
        CHECK(contains(error_of(b), "over-subscribed"));
    }
    {   // Tables left out of a sequential file: the Annex K defaults (motion JPEG). These files
        // were made with the standard tables, so the pixels do not change.
        const auto& c = k_cases[0];
        bytes b(c.jpg, c.jpg + c.jpg_size);
        for (std::size_t i = 2; i + 1 < b.size();) {
            if (b[i] == 0xFF && b[i + 1] == 0xC4) {
                std::size_t len = std::size_t(b[i + 2]) << 8 | b[i + 3];
                b.erase(b.begin() + long(i), b.begin() + long(i + 2 + len));
                continue;
            }
            if (b[i] == 0xFF && b[i + 1] == 0xDA) break;
            ++i;
        }
        auto r = decode_jpeg(b.data(), b.size());
        REQUIRE(r.is_ok());
        CHECK(max_diff(r->pixels, c.ref, c.ref_size) == 0);
    }
    {   // ...but not for progressive files: no table, an error.
        const auto& c = k_cases[7];  // s420_prog
        bytes b(c.jpg, c.jpg + c.jpg_size);
        for (std::size_t i = 2; i + 1 < b.size(); ++i)
            if (b[i] == 0xFF && b[i + 1] == 0xC4) { b[i + 1] = 0xFE; break; }  // first DHT -> COM
        CHECK(contains(error_of(b), "Huffman table"));
    }
    {   // Entropy data cut short by a premature EOI: libjpeg's zero fill, not an error.
        const auto& c = k_cases[2];
        bytes b(c.jpg, c.jpg + c.jpg_size);
        b.resize(b.size() - 40);
        b.insert(b.end(), {0xFF, 0xD9});
        auto r = decode_jpeg(b.data(), b.size());
        REQUIRE(r.is_ok());
        CHECK(r->pixels.size() == c.ref_size);
    }
}

TEST_CASE("jpeg SSE2 IDCT is bit-identical to the scalar reference", "[io][jpeg]") {
    std::uint32_t seed = 7;
    auto rnd = [&]() { return seed = seed * 1664525u + 1013904223u; };
    int blocks = 0;
    for (int trial = 0; trial < 20000; ++trial) {
        std::int16_t coef[64], qt[64];
        const int kind = trial % 5;
        for (int i = 0; i < 64; ++i) {
            std::uint32_t r = rnd() >> 8;
            switch (kind) {
                case 0: coef[i] = std::int16_t(i < 10 ? int(r % 201) - 100 : 0); qt[i] = std::int16_t(1 + r % 40); break;
                case 1: coef[i] = std::int16_t(int(r % 4001) - 2000); qt[i] = std::int16_t(1 + (r >> 12) % 255); break;
                case 2: coef[i] = std::int16_t(r); qt[i] = std::int16_t(r >> 5); break;  // anything: wraps, saturates
                case 3: coef[i] = std::int16_t(i == 0 || i < 8 ? int(r) : 0); qt[i] = std::int16_t(r >> 3); break;
                default: coef[i] = std::int16_t(r % 3 == 0 ? (r & 1 ? 32767 : -32768) : 0); qt[i] = std::int16_t(r >> 7); break;
            }
        }
        std::uint8_t a[8 * 11], b[8 * 11];
        std::memset(a, 0xAA, sizeof(a));
        std::memset(b, 0xAA, sizeof(b));
        detail::jpeg_idct_islow(coef, qt, a, 11);
        detail::jpeg_idct_islow_scalar(coef, qt, b, 11);
        CHECK(std::memcmp(a, b, sizeof(a)) == 0);
#if SMOLVLM_SIMD_X86
        if (detect_cpu().avx2) {  // two blocks per AVX2 pass: this one and a reversed copy
            std::int16_t rev[64];
            for (int i = 0; i < 64; ++i) rev[i] = coef[63 - i];
            std::uint8_t x[8 * 11], y[8 * 11], ry[8 * 11];
            std::memset(x, 0xAA, sizeof(x));
            std::memset(y, 0xAA, sizeof(y));
            std::memset(ry, 0xAA, sizeof(ry));
            detail::jpeg_idct_islow_x2_avx2(coef, rev, qt, x, y, 11);
            CHECK(std::memcmp(x, b, sizeof(x)) == 0);
            detail::jpeg_idct_islow_scalar(rev, qt, ry, 11);
            CHECK(std::memcmp(y, ry, sizeof(y)) == 0);
        }
#endif
        // The DC-only shortcut equals the full transform of the block with its AC zeroed.
        for (int i = 1; i < 64; ++i) coef[i] = 0;
        detail::jpeg_idct_dc_only(coef[0], qt[0], a, 11);
        detail::jpeg_idct_islow_scalar(coef, qt, b, 11);
        CHECK(std::memcmp(a, b, sizeof(a)) == 0);
        ++blocks;
    }
    CHECK(blocks == 20000);
}

TEST_CASE("jpeg reads the EXIF orientation, and XMP's when EXIF has none (exif_transpose)", "[io][jpeg]") {
    const auto& c = k_cases[0];
    bytes b(c.jpg, c.jpg + c.jpg_size);
    // APP1 "Exif\0\0" + little-endian TIFF, IFD0 with Orientation = 8.
    bytes app1 = {0xFF, 0xE1, 0, 34, 'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0,
                  0x12, 0x01, 3, 0, 1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0};
    b.insert(b.begin() + 2, app1.begin(), app1.end());
    CHECK(jpeg_orientation(b.data(), b.size()) == 8);
    auto r = decode_jpeg(b.data(), b.size());
    REQUIRE(r.is_ok());
    CHECK(r->orientation == 8);
    CHECK(max_diff(r->pixels, c.ref, c.ref_size) == 0);  // not applied to the pixels
    auto plain = decode_jpeg(c.jpg, c.jpg_size);
    REQUIRE(plain.is_ok());
    CHECK(plain->orientation == 1);
    // XMP APP1: used only when the EXIF block has no orientation tag.
    const char xmp[] = "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta><rdf:Description tiff:Orientation=\"6\"/></x:xmpmeta>";
    bytes app1x = {0xFF, 0xE1, 0, std::uint8_t(sizeof(xmp) - 1 + 2)};
    app1x.insert(app1x.end(), xmp, xmp + sizeof(xmp) - 1);
    bytes x(c.jpg, c.jpg + c.jpg_size);
    x.insert(x.begin() + 2, app1x.begin(), app1x.end());
    CHECK(jpeg_orientation(x.data(), x.size()) == 6);
    bytes both = b;
    both.insert(both.begin() + 2, app1x.begin(), app1x.end());
    CHECK(jpeg_orientation(both.data(), both.size()) == 8);
}

TEST_CASE("jpeg SIMD upsampling and colour conversion equal the scalar versions", "[io][jpeg]") {
    std::uint32_t seed = 3;
    auto rnd = [&]() { return std::uint8_t((seed = seed * 1664525u + 1013904223u) >> 24); };
    for (int dw : {3, 4, 7, 8, 9, 15, 16, 17, 31, 33, 64, 100}) {
        bytes s0(static_cast<std::size_t>(dw)), s1(static_cast<std::size_t>(dw));
        for (int t = 0; t < 50; ++t) {
            for (int i = 0; i < dw; ++i) {
                s0[std::size_t(i)] = t < 2 ? std::uint8_t(t * 255) : rnd();
                s1[std::size_t(i)] = t == 1 ? 0 : rnd();
            }
            bytes a(std::size_t(dw) * 2 + 32, 0xAA), b(std::size_t(dw) * 2 + 32, 0xAA);
            std::vector<std::int16_t> scratch(std::size_t(dw) + 16);
            detail::jpeg_h2v1_fancy(s0.data(), dw, a.data(), scratch.data());
            detail::jpeg_h2v1_fancy_scalar(s0.data(), dw, b.data());
            CHECK(std::memcmp(a.data(), b.data(), std::size_t(dw) * 2) == 0);
            detail::jpeg_h2v2_fancy(s0.data(), s1.data(), dw, a.data(), scratch.data());
            detail::jpeg_h2v2_fancy_scalar(s0.data(), s1.data(), dw, b.data());
            CHECK(std::memcmp(a.data(), b.data(), std::size_t(dw) * 2) == 0);
        }
    }
    // Every (Y, Cb, Cr) triple, in runs of odd lengths so that the vector loop and its tail both run.
    std::vector<std::uint8_t> y(1 << 16), cb(1 << 16), cr(1 << 16);
    for (int yy = 0; yy < 256; yy += 1) {
        for (int i = 0; i < (1 << 16); ++i) y[std::size_t(i)] = std::uint8_t(yy), cb[std::size_t(i)] = std::uint8_t(i >> 8),
                                             cr[std::size_t(i)] = std::uint8_t(i);
        for (std::size_t n : {std::size_t(1) << 16, std::size_t(65535 - 16 * yy)}) {
            std::vector<std::uint8_t> a(n * 3 + 8, 0x55), b(n * 3 + 8, 0x55);
            detail::jpeg_ycc_rgb(y.data(), cb.data(), cr.data(), a.data(), n);
            detail::jpeg_ycc_rgb_scalar(y.data(), cb.data(), cr.data(), b.data(), n);
            CHECK((a == b));
#if SMOLVLM_SIMD_X86
            if (detect_cpu().avx2) {
                std::fill(a.begin(), a.end(), std::uint8_t(0x55));
                detail::jpeg_ycc_rgb_avx2(y.data(), cb.data(), cr.data(), a.data(), n);
                CHECK((a == b));
            }
#endif
        }
    }
}

}  // namespace smolvlm_test_io_jpeg_cases
#undef SMOLVLM_JPEG_CASE
