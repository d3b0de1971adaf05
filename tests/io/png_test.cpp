#include <smolvlm/io/png.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../test_util.hpp"
#include "test_png_encoder.hpp"

namespace smolvlm_test_io_png_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;
using smolvlm_test::bytes;
using smolvlm_test::png_spec;

namespace {

std::uint32_t lcg(std::uint32_t& s) {
    s = s * 1664525u + 1013904223u;
    return s >> 8;
}

png_spec make_spec(int w, int h, int ct, int depth, std::uint32_t seed) {
    png_spec s;
    s.width = w;
    s.height = h;
    s.color_type = ct;
    s.depth = depth;
    int spp = smolvlm_test::png_spp(ct);
    std::uint32_t maxv = (1u << depth) - 1;
    s.samples.resize(std::size_t(w) * std::size_t(h) * std::size_t(spp));
    for (auto& v : s.samples) v = std::uint16_t(lcg(seed) % (maxv + 1));
    if (ct == 3) {
        int n = 1 << depth;
        if (n > 200) n = 200;  // fewer entries than indices: out-of-range indices decode black
        for (int i = 0; i < n * 3; ++i) s.plte.push_back(std::uint8_t(lcg(seed)));
    }
    return s;
}

// Pillow's stored 8-bit value of a gray sample ("1", "L" scaled, "I;16" clipped by convert()).
int gray8(unsigned v, int depth) {
    switch (depth) {
        case 1: return v ? 255 : 0;
        case 2: return int(v * 85);
        case 4: return int(v * 17);
        case 16: return v > 255 ? 255 : int(v);
        default: return int(v);
    }
}

// What the decoder must produce, from the documented rules in png.hpp.
bytes expected(const png_spec& s) {
    int spp = smolvlm_test::png_spp(s.color_type);
    auto to8 = [&](unsigned v) -> std::uint8_t {
        if (s.color_type == 0) return std::uint8_t(gray8(v, s.depth));
        return std::uint8_t(s.depth == 16 ? v >> 8 : v);
    };
    bytes out;
    std::size_t n = std::size_t(s.width) * std::size_t(s.height);
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint16_t* px = &s.samples[i * std::size_t(spp)];
        if (s.color_type == 3) {
            std::size_t idx = px[0];
            bool in = idx * 3 < s.plte.size();
            for (int c = 0; c < 3; ++c) out.push_back(in ? s.plte[idx * 3 + std::size_t(c)] : 0);
            if (!s.trns.empty()) out.push_back(idx < s.trns.size() ? s.trns[idx] : 255);
            continue;
        }
        for (int c = 0; c < spp; ++c) out.push_back(to8(px[c]));
        if (!s.trns.empty() && (s.color_type == 0 || s.color_type == 2)) {
            // Pillow compares the key with the value it stores (a 1-bit key means white).
            bool match = true;
            for (int c = 0; c < spp; ++c) {
                int key = s.trns[2 * std::size_t(c)] << 8 | s.trns[2 * std::size_t(c) + 1];
                if (s.color_type == 0 && s.depth == 1) key = key ? 255 : 0;
                match = match && to8(px[c]) == key;
            }
            out.push_back(match ? 0 : 255);
        }
    }
    return out;
}

int expected_channels(const png_spec& s) {
    switch (s.color_type) {
        case 0: return s.trns.empty() ? 1 : 2;
        case 2: return s.trns.empty() ? 3 : 4;
        case 3: return s.trns.empty() ? 3 : 4;
        case 4: return 2;
        default: return 4;
    }
}

std::string decode_error(const bytes& b, const image_limits& lim = {}) {
    auto r = decode_png(b.data(), b.size(), lim);
    return r ? std::string("ok") : std::string(r.error().message());
}

bool contains(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

}  // namespace

TEST_CASE("png decodes every colour type, bit depth, filter and interlace", "[io][png]") {
    struct combo { int ct, depth; };
    const combo combos[] = {{0, 1}, {0, 2}, {0, 4}, {0, 8}, {0, 16}, {2, 8}, {2, 16}, {3, 1},
                            {3, 2}, {3, 4}, {3, 8}, {4, 8}, {4, 16}, {6, 8}, {6, 16}};
    const int sizes[][2] = {{1, 1}, {13, 7}, {3, 9}, {9, 2}};
    int decoded = 0;
    std::uint32_t seed = 1;
    for (const auto& cb : combos) {
        for (const auto& sz : sizes) {
            for (int interlaced = 0; interlaced < 2; ++interlaced) {
                for (int filter = 0; filter <= 5; ++filter) {
                    for (auto mode : {smolvlm_test::deflate_mode::stored, smolvlm_test::deflate_mode::fixed}) {
                        png_spec s = make_spec(sz[0], sz[1], cb.ct, cb.depth, seed++);
                        s.interlaced = interlaced != 0;
                        s.filter = filter;
                        s.mode = mode;
                        bytes file = smolvlm_test::encode_png(s);
                        auto r = decode_png(file.data(), file.size());
                        INFO("ct " << cb.ct << " depth " << cb.depth << " " << sz[0] << "x" << sz[1] << " interlaced "
                                   << interlaced << " filter " << filter);
                        INFO((r ? "ok" : r.error().message()));
                        REQUIRE(r.is_ok());
                        CHECK(r->width == sz[0]);
                        CHECK(r->height == sz[1]);
                        CHECK(r->channels == expected_channels(s));
                        CHECK(r->pixels == expected(s));
                        ++decoded;
                    }
                }
            }
        }
    }
    CHECK(decoded == 15 * 4 * 2 * 6 * 2);
}

TEST_CASE("png transparency: tRNS key on gray and RGB, palette alpha", "[io][png]") {
    std::uint32_t seed = 99;
    for (int depth : {1, 2, 4, 8, 16}) {
        png_spec s = make_spec(11, 5, 0, depth, seed++);
        if (depth == 16) s.samples[3] = 200;  // 16-bit gray matches after clipping to 8 bits
        // The key as Pillow stores the pixel (scaled for 2/4-bit): make sure some pixels match.
        std::uint16_t key = std::uint16_t(depth == 1 ? s.samples[3] : gray8(s.samples[3], depth));
        s.trns = {std::uint8_t(key >> 8), std::uint8_t(key)};
        s.interlaced = depth == 4;
        bytes file = smolvlm_test::encode_png(s);
        auto r = decode_png(file.data(), file.size());
        REQUIRE(r.is_ok());
        CHECK(r->channels == 2);
        CHECK(r->pixels == expected(s));
        CHECK(r->pixels[3 * 2 + 1] == 0);
    }
    for (int depth : {8, 16}) {
        png_spec s = make_spec(6, 6, 2, depth, seed++);
        s.samples[7 * 3 + 0] = s.samples[0];
        s.samples[7 * 3 + 1] = s.samples[1];
        s.samples[7 * 3 + 2] = s.samples[2];
        // Pillow compares the key with the stored 8-bit values (the high bytes of 16-bit samples).
        const int sh = depth == 16 ? 8 : 0;
        s.trns = {0, std::uint8_t(s.samples[0] >> sh), 0, std::uint8_t(s.samples[1] >> sh), 0,
                  std::uint8_t(s.samples[2] >> sh)};
        bytes file = smolvlm_test::encode_png(s);
        auto r = decode_png(file.data(), file.size());
        REQUIRE(r.is_ok());
        CHECK(r->channels == 4);
        CHECK(r->pixels == expected(s));
        CHECK(r->pixels[3] == 0);
        CHECK(r->pixels[7 * 4 + 3] == 0);
    }
    {
        png_spec s = make_spec(10, 10, 3, 8, seed++);
        s.trns = {0, 10, 20, 30, 40};  // 5 entries; the rest are opaque
        bytes file = smolvlm_test::encode_png(s);
        auto r = decode_png(file.data(), file.size());
        REQUIRE(r.is_ok());
        CHECK(r->channels == 4);
        CHECK(r->pixels == expected(s));
    }
}

TEST_CASE("png image data split over many IDAT chunks", "[io][png]") {
    png_spec s = make_spec(40, 30, 6, 8, 5);
    s.filter = 5;
    for (std::size_t split : {1u, 2u, 7u, 1000u}) {
        s.idat_split = split;
        bytes file = smolvlm_test::encode_png(s);
        auto r = decode_png(file.data(), file.size());
        REQUIRE(r.is_ok());
        CHECK(r->pixels == expected(s));
    }
}

TEST_CASE("png rejects corrupt and truncated files with clear messages", "[io][png]") {
    png_spec s = make_spec(7, 5, 2, 8, 3);
    s.filter = 5;
    s.mode = smolvlm_test::deflate_mode::fixed;
    const bytes good = smolvlm_test::encode_png(s);
    REQUIRE(decode_error(good) == "ok");
    std::size_t idat = 0;
    for (std::size_t i = 8; i + 4 < good.size(); ++i)
        if (std::memcmp(&good[i], "IDAT", 4) == 0) { idat = i - 4; break; }
    REQUIRE(idat > 0);
    const std::size_t idat_len = std::size_t(good[idat]) << 24 | std::size_t(good[idat + 1]) << 16 |
                                 std::size_t(good[idat + 2]) << 8 | good[idat + 3];
    const std::size_t data_end = idat + 8 + idat_len;

    // Truncation: an error whenever image data is missing (Pillow: "image file is truncated");
    // the Adler-32, the IDAT CRC and IEND are not needed. Never a crash.
    for (std::size_t cut = 0; cut < good.size(); ++cut) {
        bytes t(good.begin(), good.begin() + long(cut));
        auto r = decode_png(t.data(), t.size());
        if (cut + 6 < data_end) CHECK(!r.is_ok());
        if (cut >= data_end) CHECK(r.is_ok());
        if (r) CHECK(r->pixels == expected(s));
    }
    // Before the image data every chunk byte is covered by a CRC Pillow checks.
    for (std::size_t i = 8; i < idat; ++i) {
        bytes t = good;
        t[i] ^= 0x41;
        CHECK(!decode_png(t.data(), t.size()).is_ok());
    }
    // After it, corruption is whatever zlib and the rows make of it: consistent, never a crash.
    for (std::size_t i = idat; i < good.size(); ++i) {
        bytes t = good;
        t[i] ^= 0x41;
        auto r = decode_png(t.data(), t.size());
        if (r) CHECK(r->pixels.size() == r->row_bytes() * std::size_t(r->height));
    }
    {   // The IDAT CRC is not checked (as in Pillow); an IHDR CRC is, and the message says where.
        bytes t = good;
        t[data_end] ^= 1;
        CHECK(decode_error(t) == "ok");
        t = good;
        t[8 + 8 + 12] ^= 1;
        CHECK(decode_error(t) == "png: IHDR CRC mismatch at byte 8");
    }
    CHECK(contains(decode_error(bytes{1, 2, 3}), "signature"));

    auto file_with = [](std::uint32_t w, std::uint32_t h, int depth, int ct, int interlace, const bytes& raw) {
        bytes f = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
        bytes ihdr;
        smolvlm_test::put_be32(ihdr, w);
        smolvlm_test::put_be32(ihdr, h);
        ihdr.insert(ihdr.end(), {std::uint8_t(depth), std::uint8_t(ct), 0, 0, std::uint8_t(interlace)});
        smolvlm_test::png_chunk(f, "IHDR", ihdr);
        smolvlm_test::png_chunk(f, "IDAT", smolvlm_test::zlib_wrap(raw, smolvlm_test::deflate_mode::stored));
        smolvlm_test::png_chunk(f, "IEND", {});
        return f;
    };
    // A filter byte of 7.
    CHECK(contains(decode_error(file_with(2, 2, 8, 0, 0, {0, 1, 2, 7, 3, 4})), "invalid filter type 7 on row 1"));
    {   // A zlib stream that ends at a row boundary: the missing rows stay zero (Pillow's ZipDecode);
        // one that ends inside a row: truncated.
        bytes f = file_with(2, 2, 8, 0, 0, {0, 1, 2});
        auto r = decode_png(f.data(), f.size());
        REQUIRE(r.is_ok());
        CHECK(r->pixels == bytes({1, 2, 0, 0}));
        CHECK(contains(decode_error(file_with(2, 2, 8, 0, 0, {0, 1, 2, 0})), "ends inside a row"));
        // More data than the image needs: ignored.
        CHECK(decode_error(file_with(2, 2, 8, 0, 0, bytes(9, 0))) == "ok");
    }
    {   // IHDR fields.
        CHECK(decode_error(file_with(1, 1, 8, 0, 0, {0, 0})) == "ok");
        CHECK(contains(decode_error(file_with(0, 1, 8, 0, 0, {0, 0})), "invalid dimensions"));
        CHECK(contains(decode_error(file_with(1, 1, 3, 0, 0, {0, 0})), "no IHDR with a valid bit depth"));
        CHECK(contains(decode_error(file_with(1, 1, 16, 3, 0, {0, 0})), "no IHDR with a valid bit depth"));
        CHECK(contains(decode_error(file_with(1, 1, 8, 5, 0, {0, 0})), "no IHDR with a valid bit depth"));
        CHECK(decode_error(file_with(1, 1, 8, 0, 2, {0, 0})) == "ok");  // any non-zero interlace method: Adam7
        CHECK(contains(decode_error(file_with(100000, 100000, 8, 0, 0, {0, 0})), "decompression-bomb"));
        CHECK(contains(decode_error(file_with(20000, 100, 8, 0, 0, {0, 0})), "exceeds"));
        const bytes pal = file_with(1, 1, 8, 3, 0, {0, 0});
        auto r = decode_png(pal.data(), pal.size());
        REQUIRE(r.is_ok());  // a palette image without PLTE: black, as Pillow's empty palette
        CHECK(r->pixels == bytes({0, 0, 0}));
    }
    {   // Caller limits.
        png_spec t = make_spec(64, 32, 2, 8, 1);
        bytes f = smolvlm_test::encode_png(t);
        image_limits lim;
        lim.max_width = 63;
        CHECK(contains(decode_error(f, lim), "exceeds the 63x16384 limit"));
        lim = image_limits{};
        lim.max_pixels = 2047;
        CHECK(contains(decode_error(f, lim), "pixel limit"));
        lim = image_limits{};
        lim.max_bytes = 6000;
        CHECK(contains(decode_error(f, lim), "limit"));
    }
    {   // Unknown critical chunks are skipped and IEND may be missing (Pillow).
        bytes f = good;
        f.resize(f.size() - 12);
        CHECK(decode_error(f) == "ok");
        bytes g(good.begin(), good.begin() + long(idat));
        smolvlm_test::png_chunk(g, "ZZZZ", {1, 2});
        g.insert(g.end(), good.begin() + long(idat), good.end());
        CHECK(decode_error(g) == "ok");
        bytes h(good.begin(), good.begin() + long(idat));
        smolvlm_test::png_chunk(h, "Z-ZZ", {});
        h.insert(h.end(), good.begin() + long(idat), good.end());
        CHECK(contains(decode_error(h), "broken chunk name"));
    }
}

TEST_CASE("png text chunks: Pillow's 1 MiB and 64 MiB limits; APNG sequence rules", "[io][png]") {
    png_spec s = make_spec(4, 3, 0, 8, 11);
    const bytes good = smolvlm_test::encode_png(s);
    const std::size_t ihdr_end = 8 + 25;
    auto with_chunk = [&](const char* type, const bytes& body) {
        bytes f(good.begin(), good.begin() + long(ihdr_end));
        smolvlm_test::png_chunk(f, type, body);
        f.insert(f.end(), good.begin() + long(ihdr_end), good.end());
        return f;
    };
    auto text = [](const char* key, bytes head, const bytes& z) {
        bytes b(key, key + std::strlen(key));
        b.insert(b.end(), head.begin(), head.end());
        b.insert(b.end(), z.begin(), z.end());
        return b;
    };
    const bytes big = smolvlm_test::zlib_wrap(bytes((1u << 20) + 1, 'A'), smolvlm_test::deflate_mode::fixed);
    const bytes fits = smolvlm_test::zlib_wrap(bytes((1u << 20) - 1, 'A'), smolvlm_test::deflate_mode::fixed);
    CHECK(contains(decode_error(with_chunk("zTXt", text("Comment", {0, 0}, big))), "MAX_TEXT_CHUNK"));
    CHECK(contains(decode_error(with_chunk("iTXt", text("Comment", {0, 1, 0, 0, 0}, big))), "MAX_TEXT_CHUNK"));
    CHECK(contains(decode_error(with_chunk("iCCP", text("icc", {0, 0}, big))), "MAX_TEXT_CHUNK"));
    CHECK(decode_error(with_chunk("zTXt", text("Comment", {0, 0}, fits))) == "ok");
    CHECK(decode_error(with_chunk("zTXt", text("Comment", {0, 0}, {0x78, 0x9c, 1, 2, 3}))) == "ok");  // corrupt: ignored
    CHECK(contains(decode_error(with_chunk("zTXt", text("Comment", {0, 5}, fits))), "compression method 5"));
    CHECK(contains(decode_error(with_chunk("gAMA", {0, 1})), "truncated gAMA"));
    {
        bytes f(good.begin(), good.begin() + long(ihdr_end));
        for (int i = 0; i < 65; ++i) smolvlm_test::png_chunk(f, "zTXt", text("k", {0, 0}, fits));
        f.insert(f.end(), good.begin() + long(ihdr_end), good.end());
        CHECK(contains(decode_error(f), "MAX_TEXT_MEMORY"));
    }
    // APNG: acTL alone is fine (the IDAT is the default image); an fdAT without a preceding
    // fcTL breaks the frame sequence.
    bytes actl;
    smolvlm_test::put_be32(actl, 2);
    smolvlm_test::put_be32(actl, 0);
    CHECK(decode_error(with_chunk("acTL", actl)) == "ok");
    bytes f = with_chunk("acTL", actl);
    f.resize(f.size() - 12);
    bytes fdat;
    smolvlm_test::put_be32(fdat, 0);
    smolvlm_test::png_chunk(f, "fdAT", fdat);
    smolvlm_test::png_chunk(f, "IEND", {});
    CHECK(contains(decode_error(f), "frame sequence"));
}

TEST_CASE("png reads the EXIF orientation from eXIf", "[io][png]") {
    png_spec s = make_spec(3, 2, 2, 8, 8);
    bytes f = smolvlm_test::encode_png(s);
    // Big-endian TIFF header, IFD0 with one entry: Orientation (0x0112), SHORT, 1, value 6.
    bytes exif = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0};
    bytes g(f.begin(), f.begin() + 33);  // signature + IHDR
    smolvlm_test::png_chunk(g, "eXIf", exif);
    g.insert(g.end(), f.begin() + 33, f.end());
    auto r = decode_png(g.data(), g.size());
    REQUIRE(r.is_ok());
    CHECK(r->orientation == 6);
    CHECK(r->pixels == expected(s));
}

// Parse "decoded_hwc" for one file out of golden.json without a JSON library.
static bool golden_hwc(const std::string& json, const std::string& file, int hwc[3]) {
    // The file name also appears in the "messages" section: take the occurrence whose
    // "decoded_hwc" comes before the next "file" key.
    const std::string key = "\"file\": \"inputs/" + file + "\"";
    for (std::size_t at = json.find(key); at != std::string::npos; at = json.find(key, at + 1)) {
        std::size_t hwc_at = json.find("\"decoded_hwc\"", at);
        std::size_t next_file = json.find("\"file\"", at + 1);
        if (hwc_at == std::string::npos || hwc_at > next_file) continue;
        std::size_t open = json.find('[', hwc_at);
        return std::sscanf(json.c_str() + open, "[ %d , %d , %d ]", &hwc[0], &hwc[1], &hwc[2]) == 3;
    }
    return false;
}

TEST_CASE("png decodes every fixture PNG with the golden size and channels", "[io][png][fixtures]") {
    SMOLVLM_REQUIRE_SHARED(smolvlm_test::fixtures_dir());
    int checked = 0;
    for (const auto& c : smolvlm_test::fixture_cases()) {
        std::string dir = smolvlm_test::fixtures_dir() + "/" + c;
        std::string json = smolvlm_test::read_file(dir + "/golden.json");
        for (const char* name : {"rgb_640x480.png", "rgba_37x211.png", "gray_250x190.png", "rgba_90x60.png",
                                 "frame_000.png", "frame_001.png", "frame_002.png", "frame_003.png", "frame_004.png",
                                 "baseline_1000x300.decoded.png", "progressive_123x77.decoded.png",
                                 "baseline_77x123.decoded.png"}) {
            std::string path = dir + "/inputs/" + name;
            if (!smolvlm_test::path_exists(path)) continue;
            bytes b = smolvlm_test::read_bytes(path);
            auto r = decode_png(b.data(), b.size());
            INFO(path);
            REQUIRE(r.is_ok());
            int hwc[3];
            std::string golden_name = name;  // a decoded.png has the size of its JPEG
            std::size_t dec = golden_name.find(".decoded.png");
            if (dec != std::string::npos) golden_name = golden_name.substr(0, dec) + ".jpg";
            if (golden_hwc(json, golden_name, hwc)) {
                CHECK(r->height == hwc[0]);
                CHECK(r->width == hwc[1]);
                CHECK(r->channels == hwc[2]);
                ++checked;
            }
            // Truncations of a real (dynamic-Huffman, zlib level 6+) file, every 97th offset: an
            // error while image data is missing (the last IDAT ends 12+ bytes before the end:
            // its CRC and IEND), the same pixels once it is all there.
            std::size_t last_idat_end = 0;
            for (std::size_t at = 8; at + 8 <= b.size();) {
                std::size_t len = std::size_t(b[at]) << 24 | std::size_t(b[at + 1]) << 16 | std::size_t(b[at + 2]) << 8 | b[at + 3];
                if (std::memcmp(&b[at + 4], "IDAT", 4) == 0) last_idat_end = at + 8 + len;
                at += len + 12;
            }
            for (std::size_t cut = 0; cut < b.size(); cut += 97) {
                auto t = decode_png(b.data(), cut);
                if (cut + 8 < last_idat_end) CHECK(!t.is_ok());
                if (t) CHECK(t->pixels == r->pixels);
            }
        }
    }
    CHECK(checked >= 8);
}

TEST_CASE("png fixture pixels match an independent checksum", "[io][png][fixtures]") {
    // Sum of all decoded bytes and FNV-1a of the pixels, computed offline with CPython's
    // zlib + a pure-Python unfilter (an implementation independent of ours).
    std::string path = smolvlm_test::fixtures_dir() + "/idefics3_f32_rgb_split/inputs/rgb_640x480.png";
    SMOLVLM_REQUIRE_SHARED(path);
    bytes b = smolvlm_test::read_bytes(path);
    auto r = decode_png(b.data(), b.size());
    REQUIRE(r.is_ok());
    std::uint64_t sum = 0;
    std::uint32_t fnv = 2166136261u;
    for (std::uint8_t v : r->pixels) {
        sum += v;
        fnv = (fnv ^ v) * 16777619u;
    }
    CHECK(sum == 117274610u);
    CHECK(fnv == 0xf9fb8db3u);
}

}  // namespace smolvlm_test_io_png_cases
