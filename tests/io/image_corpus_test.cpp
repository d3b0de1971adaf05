// The BMP / GIF / WebP conformance corpus: every file in tests/data/images/ decodes to
// exactly Pillow's pixels, or is refused when Pillow refuses it. manifest.json (written by
// scripts/gen_image_corpus.py with Pillow) holds, per file, the SHA-256 of Pillow's
// convert("RGB") and convert("RGBA") bytes; we build the same two buffers from our decoded
// image (1 channel -> v,v,v; 2 -> v,v,v,a; alpha dropped for RGB, 255 added for RGBA).
#include <smolvlm/io/decode.hpp>
#include <smolvlm/io/json.hpp>

#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "../test_util.hpp"

namespace smolvlm_test_io_image_corpus_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

namespace {

// SHA-256 (FIPS 180-4), enough for test fingerprints.
std::string sha256_hex(const std::vector<std::uint8_t>& msg) {
    static const std::uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    std::uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                          0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    std::vector<std::uint8_t> m(msg);
    const std::uint64_t bits = std::uint64_t(msg.size()) * 8;
    m.push_back(0x80);
    while (m.size() % 64 != 56) m.push_back(0);
    for (int i = 7; i >= 0; --i) m.push_back(std::uint8_t(bits >> (8 * i)));
    auto rotr = [](std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
    for (std::size_t off = 0; off < m.size(); off += 64) {
        std::uint32_t w[64];
        for (int i = 0; i < 16; ++i)
            w[i] = std::uint32_t(m[off + 4 * i]) << 24 | std::uint32_t(m[off + 4 * i + 1]) << 16 |
                   std::uint32_t(m[off + 4 * i + 2]) << 8 | m[off + 4 * i + 3];
        for (int i = 16; i < 64; ++i) {
            const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int i = 0; i < 64; ++i) {
            const std::uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
            const std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
        }
        h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
    }
    char out[65];
    for (int i = 0; i < 8; ++i) std::snprintf(out + 8 * i, 9, "%08x", h[i]);
    return std::string(out, 64);
}

// Pillow's convert("RGB") / convert("RGBA") bytes, from our decoded image.
std::vector<std::uint8_t> as_pil(const image& img, bool rgba) {
    std::vector<std::uint8_t> o;
    const std::size_t n = std::size_t(img.width) * std::size_t(img.height);
    o.reserve(n * (rgba ? 4 : 3));
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t* p = img.pixels.data() + i * std::size_t(img.channels);
        const bool gray = img.channels <= 2;
        o.push_back(p[0]);
        o.push_back(gray ? p[0] : p[1]);
        o.push_back(gray ? p[0] : p[2]);
        if (rgba) o.push_back(img.channels == 2 ? p[1] : img.channels == 4 ? p[3] : 255);
    }
    return o;
}

std::string corpus_dir() {
#ifdef SMOLVLM_SOURCE_DIR
    return std::string(SMOLVLM_SOURCE_DIR) + "/tests/data/images";
#else
    return "tests/data/images";
#endif
}

}  // namespace

TEST_CASE("BMP / GIF / WebP corpus decodes to Pillow's pixels", "[io][corpus]") {
    const std::string dir = corpus_dir();
    const std::string text = smolvlm_test::read_file(dir + "/manifest.json");
    REQUIRE(!text.empty());
    auto doc = parse_json(text);
    REQUIRE(doc.is_ok());
    const json_value* files = doc->find("files");
    REQUIRE(files);
    std::map<std::string, int> exact, refused, total;
    for (const json_value& e : files->items()) {
        const std::string name = e.find("file")->as_string();
        const std::string cls = e.find("class")->as_string();
        INFO(name);
        const std::string data = smolvlm_test::read_file(dir + "/" + name);
        REQUIRE(!data.empty());
        auto r = decode_image(reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
        ++total[cls];
        if (e.find("error")) {
            INFO("Pillow: " << e.find("error")->as_string());
            CHECK(!r.is_ok());
            if (!r.is_ok()) ++refused[cls];
            continue;
        }
        if (!r.is_ok()) INFO("our error: " << r.error().message());
        REQUIRE(r.is_ok());
        CHECK(r->width == e.find("width")->as_int());
        CHECK(r->height == e.find("height")->as_int());
        // EXIF orientation: what transformers' load_image (ImageOps.exif_transpose) applies.
        if (const json_value* o = e.find("orientation")) CHECK(r->orientation == o->as_int());
        const bool rgb_ok = sha256_hex(as_pil(*r, false)) == e.find("rgb")->as_string();
        const bool rgba_ok = sha256_hex(as_pil(*r, true)) == e.find("rgba")->as_string();
        CHECK(rgb_ok);
        CHECK(rgba_ok);
        if (rgb_ok && rgba_ok) ++exact[cls];
    }
    for (const auto& t : total)
        std::printf("image corpus: %-4s %d files, %d decoded exactly, %d refused as Pillow refuses them\n",
                    t.first.c_str(), t.second, exact[t.first], refused[t.first]);
}

}  // namespace smolvlm_test_io_image_corpus_cases
