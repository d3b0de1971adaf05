#include <smolvlm/io/ppm.hpp>

#include <string>
#include <vector>

#include "../test_util.hpp"

namespace smolvlm_test_io_ppm_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;
using bytes = std::vector<std::uint8_t>;

namespace {
bytes make(const std::string& header, const bytes& raster) {
    bytes b(header.begin(), header.end());
    b.insert(b.end(), raster.begin(), raster.end());
    return b;
}
std::string err(const bytes& b, const image_limits& lim = {}) {
    auto r = decode_ppm(b.data(), b.size(), lim);
    return r ? std::string("ok") : std::string(r.error().message());
}
bool contains(const std::string& s, const char* w) { return s.find(w) != std::string::npos; }
}  // namespace

TEST_CASE("ppm P6 and P5 with maxval 255, comments and odd whitespace", "[io][ppm]") {
    bytes rgb = {1, 2, 3, 4, 5, 6, 7, 8, 9, 250, 251, 252};
    bytes file = make("P6\n# a comment\n2 # width\n 2\n255\n", rgb);
    auto r = decode_ppm(file.data(), file.size());
    REQUIRE(r.is_ok());
    CHECK(r->width == 2);
    CHECK(r->height == 2);
    CHECK(r->channels == 3);
    CHECK(r->pixels == rgb);
    bytes f = make("P5\t3\r\n1 255 ", {9, 8, 7, 99});  // trailing byte ignored
    auto g = decode_ppm(f.data(), f.size());
    REQUIRE(g.is_ok());
    CHECK(g->channels == 1);
    CHECK(g->pixels == bytes({9, 8, 7}));
}

TEST_CASE("ppm 16-bit and scaled maxvals", "[io][ppm]") {
    {   // maxval 65535: high byte of big-endian samples.
        bytes f = make("P5 2 1 65535\n", {0x12, 0x34, 0xFF, 0x01});
        auto r = decode_ppm(f.data(), f.size());
        REQUIRE(r.is_ok());
        CHECK(r->pixels == bytes({0x12, 0xFF}));
    }
    {   // maxval 1000 (16-bit): round(min(v, 1000) * 255 / 1000).
        bytes f = make("P6 1 1 1000\n", {0x01, 0xF4, 0x03, 0xE8, 0x07, 0xD0});  // 500, 1000, 2000 (> maxval)
        auto r = decode_ppm(f.data(), f.size());
        REQUIRE(r.is_ok());
        CHECK(r->pixels == bytes({128, 255, 255}));  // 127.5 rounds up
    }
    {   // maxval 15 (8-bit): v * 17.
        bytes f = make("P5 4 1 15\n", {0, 1, 15, 7});
        auto r = decode_ppm(f.data(), f.size());
        REQUIRE(r.is_ok());
        CHECK(r->pixels == bytes({0, 17, 255, 119}));
    }
}

TEST_CASE("ppm rejects bad headers and truncated rasters", "[io][ppm]") {
    CHECK(contains(err(make("P3 1 1 255\n", {})), "not a binary"));
    CHECK(contains(err(make("P6 1 1 0\n", {1, 2, 3})), "maxval 0"));
    CHECK(contains(err(make("P6 1 1 70000\n", {1, 2, 3})), "maxval"));
    CHECK(contains(err(make("P6 x 1 255\n", {1, 2, 3})), "expected the width"));
    CHECK(contains(err(make("P6 0 1 255\n", {})), "invalid dimensions"));
    CHECK(contains(err(make("P6 99999999999 1 255\n", {})), "too large"));
    CHECK(contains(err(make("P6 2 2 255\n", {1, 2, 3})), "truncated"));
    CHECK(contains(err(make("P6 2 2 255", {})), "before the raster"));
    image_limits lim;
    lim.max_width = 10;
    CHECK(contains(err(make("P5 11 1 255\n", bytes(11)), lim), "limit"));
    // Every truncation of a valid file fails cleanly.
    bytes good = make("P6\n#c\n3 2\n255\n", bytes(18, 7));
    REQUIRE(err(good) == "ok");
    for (std::size_t cut = 0; cut < good.size(); ++cut) CHECK(!decode_ppm(good.data(), cut).is_ok());
}

}  // namespace smolvlm_test_io_ppm_cases
