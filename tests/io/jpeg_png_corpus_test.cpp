// The JPEG / PNG conformance corpus (tests/data/jpeg_png, made by scripts/gen_jpeg_png_corpus.py):
// every file decodes to exactly Pillow's pixels, or fails where Pillow refuses it.
#include <smolvlm/io/decode.hpp>
#include <smolvlm/io/jpeg.hpp>
#include <smolvlm/io/json.hpp>
#include <smolvlm/io/png.hpp>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "../sha256.hpp"
#include "../test_util.hpp"

namespace smolvlm_test_io_jpeg_png_corpus_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

namespace {

std::string corpus_dir() {
#ifdef SMOLVLM_SOURCE_DIR
    return std::string(SMOLVLM_SOURCE_DIR) + "/tests/data/jpeg_png";
#else
    return "tests/data/jpeg_png";
#endif
}

// Pillow's convert("RGB") / convert("RGBA") of our decoded channels.
std::string rgb_sha(const image& img, bool alpha) {
    const std::size_t n = std::size_t(img.width) * std::size_t(img.height);
    const int out_ch = alpha ? 4 : 3;
    std::vector<std::uint8_t> out(n * std::size_t(out_ch));
    const std::uint8_t* p = img.pixels.data();
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint8_t* s = p + i * std::size_t(img.channels);
        std::uint8_t* d = out.data() + i * std::size_t(out_ch);
        switch (img.channels) {
            case 1: d[0] = d[1] = d[2] = s[0]; if (alpha) d[3] = 255; break;
            case 2: d[0] = d[1] = d[2] = s[0]; if (alpha) d[3] = s[1]; break;
            case 3: d[0] = s[0], d[1] = s[1], d[2] = s[2]; if (alpha) d[3] = 255; break;
            default: d[0] = s[0], d[1] = s[1], d[2] = s[2]; if (alpha) d[3] = s[3]; break;
        }
    }
    return smolvlm_test::sha256_hex(out.data(), out.size());
}

int expected_channels(const std::string& mode, bool transparency, const std::vector<std::uint8_t>& file) {
    if (mode == "L" || mode == "1" || mode == "I;16") return transparency ? 2 : 1;
    if (mode == "LA") return 2;
    if (mode == "P") return transparency ? 4 : 3;
    if (mode == "RGB") return transparency ? 4 : 3;
    if (mode == "CMYK") return 3;
    if (mode == "RGBA") {
        // A 16-bit gray+alpha PNG opens as "RGBA" in Pillow (its "LA;16B" unpacker); we keep LA.
        if (file.size() > 25 && file[0] == 0x89 && file[25] == 4) return 2;
        return 4;
    }
    return -1;
}

}  // namespace

TEST_CASE("jpeg/png corpus decodes exactly like Pillow", "[io][jpeg][png][corpus]") {
    const std::string dir = corpus_dir();
    const std::string manifest_path = dir + "/manifest.json";
    if (!smolvlm_test::path_exists(manifest_path)) {
        WARN("skipped: no corpus at " << dir);
        return;
    }
    auto parsed = parse_json(smolvlm_test::read_file(manifest_path));
    REQUIRE(parsed.is_ok());
    const json_value* files = parsed->find("files");
    REQUIRE(files);
    REQUIRE(files->is_array());
    struct tally { int ok = 0, refused = 0, failed = 0; };
    std::map<std::string, tally> by_class;
    for (const json_value& e : files->items()) {
        const std::string name = e.find("file")->as_string();
        const std::string cls = e.find("class")->as_string();
        const bool pil_ok = e.find("ok")->as_bool();
        std::vector<std::uint8_t> bytes = smolvlm_test::read_bytes(dir + "/" + name);
        INFO(name << " (" << cls << ")");
        const bool is_png_file = name.size() > 4 && name.compare(name.size() - 4, 4, ".png") == 0;
        auto r = is_png_file ? decode_png(bytes.data(), bytes.size()) : decode_jpeg(bytes.data(), bytes.size());
        tally& t = by_class[cls];
        if (!pil_ok) {
            INFO("Pillow: " << e.find("error")->as_string());
            if (r) INFO("we decoded it");
            CHECK(!r.is_ok());
            if (!r.is_ok()) ++t.refused;
            else ++t.failed;
            continue;
        }
        if (!r) INFO("our error: " << r.error().message());
        CHECK(r.is_ok());
        if (!r) {
            ++t.failed;
            continue;
        }
        bool good = true;
        const std::string mode = e.find("mode")->as_string();
        const bool transparency = e.find("transparency")->as_bool();
        good &= r->width == int(e.find("width")->as_int()) && r->height == int(e.find("height")->as_int());
        CHECK(r->width == int(e.find("width")->as_int()));
        CHECK(r->height == int(e.find("height")->as_int()));
        CHECK(r->channels == expected_channels(mode, transparency, bytes));
        good &= r->channels == expected_channels(mode, transparency, bytes);
        const std::string rgb = rgb_sha(*r, false);
        CHECK(rgb == e.find("rgb")->as_string());
        good &= rgb == e.find("rgb")->as_string();
        if (const json_value* rgba = e.find("rgba")) {
            const std::string ours = rgb_sha(*r, true);
            CHECK(ours == rgba->as_string());
            good &= ours == rgba->as_string();
        }
        if (const json_value* oriented = e.find("oriented")) {
            image o = apply_orientation(*r, r->orientation);
            const std::string ours = rgb_sha(o, false);
            INFO("orientation " << r->orientation);
            CHECK(ours == oriented->as_string());
            good &= ours == oriented->as_string();
            CHECK((is_png_file ? r->orientation : jpeg_orientation(bytes.data(), bytes.size())) == r->orientation);
        }
        if (good) ++t.ok;
        else ++t.failed;
    }
    int total = 0;
    for (const auto& kv : by_class) {
        std::printf("corpus %-20s %3d exact, %3d refused as Pillow does, %d different\n", kv.first.c_str(), kv.second.ok,
                    kv.second.refused, kv.second.failed);
        total += kv.second.ok + kv.second.refused + kv.second.failed;
        CHECK(kv.second.failed == 0);
    }
    CHECK(total == int(files->size()));
}

}  // namespace smolvlm_test_io_jpeg_png_corpus_cases
