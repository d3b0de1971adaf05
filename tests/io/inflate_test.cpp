#include <smolvlm/io/inflate.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "../test_util.hpp"
#include "test_png_encoder.hpp"

namespace smolvlm_test_io_inflate_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;
using smolvlm_test::bytes;

namespace {

// zlib.compress(text, 9) from CPython: one dynamic-Huffman block (BTYPE = 2).
const std::uint8_t k_dynamic[] = {0x78,0xda,0x7d,0x94,0x59,0x72,0x02,0x31,0x0c,0x05,0xaf,0xa2,0x23,0x58,0x92,0xed,0xb1,0x2b,0xa7,0x49,0x80,0x6c,0x40,0x26,0x61,0x27,0xa7,0x0f,0xf0,0x99,0x72,0xeb,0x93,0x2a,0xba,0x34,0xd2,0x6b,0xbf,0xc3,0xfb,0x4a,0x7e,0x8e,0x1f,0x8b,0xb5,0xbc,0xec,0xe6,0xf3,0x97,0xbc,0xce,0x17,0x49,0xf2,0x79,0xdc,0x7e,0xef,0x65,0x3e,0xad,0x76,0x72,0xb8,0xfd,0x61,0xf3,0xfc,0x7b,0x95,0xe5,0xfc,0x26,0xe9,0xe9,0xf1,0xfb,0x3f,0xa0,0x08,0xe8,0x18,0x30,0x04,0xf2,0x18,0x70,0x04,0xfa,0x18,0xc8,0xfc,0x49,0x75,0x4c,0x14,0x24,0xac,0x8c,0x89,0x8a,0x84,0xc3,0x8c,0x89,0xf7,0x86,0x3d,0x1a,0x12,0x15,0x4e,0xd5,0x91,0x68,0x90,0x86,0x72,0xe0,0x9a,0x28,0xf2,0x20,0x73,0xa3,0x39,0x1c,0xbb,0x66,0xd8,0x46,0x3d,0x08,0x12,0x6e,0xa6,0x41,0xf8,0x1d,0x92,0xd1,0x20,0x7e,0xca,0x5f,0x6b,0xa0,0x0c,0xcd,0x61,0x05,0xac,0xd1,0x3e,0x2c,0x81,0x1b,0xdd,0xad,0x07,0x72,0xd2,0xab,0x64,0x0f,0x32,0x79,0x60,0xec,0x41,0xce,0x34,0x27,0x78,0xfe,0x0d,0xf6,0x31,0xf6,0xa0,0x18,0xdc,0xcd,0xd8,0x83,0x32,0x41,0x3e,0xc6,0x1e,0x54,0xf2,0xc0,0xd8,0x83,0x8a,0x73,0xd8,0x83,0x09,0xf7,0x61,0x0f,0x26,0xbc,0x5b,0x50,0x07,0x94,0x8f,0xb3,0x07,0x9d,0x3c,0x70,0xf6,0xa0,0x93,0x6f,0x1e,0xf4,0x41,0x22,0xb1,0x3d,0x28,0x84,0x44,0x2f,0xc8,0x83,0x46,0x50,0x7a,0xaa,0x5e,0x82,0x8a,0x23,0x17,0xbc,0x06,0x10,0x95,0x8f,0xb3,0x0c,0xea,0xd4,0x72,0xde,0xa2,0x36,0xa5,0xeb,0xb1,0x0e,0x5a,0xee,0xbd,0xfd,0x07,0x98,0xc8,0xbc,0x73};

std::string dynamic_text() {
    std::string s;
    char buf[96];
    for (int i = 0; i < 40; ++i) {
        std::snprintf(buf, sizeof(buf), "the quick brown fox %d jumps over the lazy dog %d; ", i, i * i);
        s += buf;
    }
    return s;
}

bytes pseudo_random(std::size_t n, std::uint32_t seed) {
    bytes b(n);
    for (auto& v : b) {
        seed = seed * 1664525u + 1013904223u;
        v = std::uint8_t(seed >> 24);
    }
    return b;
}

}  // namespace

TEST_CASE("checksums match known values", "[io][inflate]") {
    const char* s = "123456789";
    // The "check" values of the two algorithms for "123456789".
    CHECK(crc32(0, reinterpret_cast<const std::uint8_t*>(s), 9) == 0xCBF43926u);
    CHECK(adler32(1, reinterpret_cast<const std::uint8_t*>(s), 9) == 0x091E01DEu);
    // Chaining gives the same result as one call, across the 4-byte and 5552-byte steps.
    bytes big = pseudo_random(20000, 7);
    std::uint32_t c1 = crc32(0, big.data(), big.size());
    std::uint32_t c2 = crc32(crc32(0, big.data(), 12345), big.data() + 12345, big.size() - 12345);
    CHECK(c1 == c2);
    std::uint32_t a1 = adler32(1, big.data(), big.size());
    std::uint32_t a2 = adler32(adler32(1, big.data(), 9999), big.data() + 9999, big.size() - 9999);
    CHECK(a1 == a2);
    // Adler-32 of 20000 bytes of 0xFF computed by hand: a = 1 + 255n, b = sum_i (1 + 255 i).
    bytes ff(20000, 0xFF);
    std::uint64_t a = 1, b = 0;
    for (int i = 0; i < 20000; ++i) { a = (a + 255) % 65521; b = (b + a) % 65521; }
    CHECK(adler32(1, ff.data(), ff.size()) == std::uint32_t(b << 16 | a));
}

TEST_CASE("inflate decodes a dynamic-Huffman zlib stream", "[io][inflate]") {
    std::string want = dynamic_text();
    std::vector<std::uint8_t> out(want.size());
    std::size_t n = 0;
    REQUIRE(zlib_decompress(k_dynamic, sizeof(k_dynamic), out.data(), out.size(), &n).is_ok());
    CHECK(n == want.size());
    CHECK(std::string(out.begin(), out.end()) == want);

    // One byte less of capacity: reported, not overflowed.
    std::vector<std::uint8_t> small(want.size() - 1);
    status s = zlib_decompress(k_dynamic, sizeof(k_dynamic), small.data(), small.size(), &n);
    CHECK(!s);
    CHECK(std::string(s.message()).find("exceeds") != std::string::npos);

    // Every truncation fails cleanly; every single-bit flip either fails or (rarely)
    // yields the right length with a checksum error caught: never a success with wrong data.
    for (std::size_t cut = 0; cut < sizeof(k_dynamic); ++cut) {
        status t = zlib_decompress(k_dynamic, cut, out.data(), out.size(), &n);
        CHECK(!t);
    }
    int flips_ok = 0;
    for (std::size_t i = 0; i < sizeof(k_dynamic); ++i) {
        for (int bit = 0; bit < 8; ++bit) {
            bytes c(k_dynamic, k_dynamic + sizeof(k_dynamic));
            c[i] ^= std::uint8_t(1 << bit);
            status t = zlib_decompress(c.data(), c.size(), out.data(), out.size(), &n);
            // Flips in the padding bits after the final block are legitimately ignored.
            if (t) {
                ++flips_ok;
                CHECK(std::string(out.begin(), out.end()) == want);
            }
        }
    }
    CHECK(flips_ok <= 8);  // at most the 7 padding bits of the last deflate byte
}

TEST_CASE("inflate decodes stored and fixed-Huffman streams from the test encoder", "[io][inflate]") {
    for (std::size_t size : {0u, 1u, 7u, 100u, 65535u, 65536u, 200000u}) {
        bytes data = pseudo_random(size, std::uint32_t(size));
        // Make half of it repetitive so the fixed encoder emits long matches and overlaps.
        for (std::size_t i = size / 2; i < size; ++i) data[i] = std::uint8_t(i % 7 == 0 ? 3 : data[i - 1]);
        for (auto mode : {smolvlm_test::deflate_mode::stored, smolvlm_test::deflate_mode::fixed}) {
            if (mode == smolvlm_test::deflate_mode::fixed && size > 70000) continue;  // naive matcher is slow
            bytes z = smolvlm_test::zlib_wrap(data, mode, 1000);
            bytes out(size);
            std::size_t n = 999;
            status st = zlib_decompress(z.data(), z.size(), out.data(), out.size(), &n);
            INFO("size " << size << " mode " << int(mode) << ": " << st.message());
            REQUIRE(st.is_ok());
            CHECK(n == size);
            CHECK(out == data);
        }
    }
}

TEST_CASE("inflate rejects malformed streams with clear messages", "[io][inflate]") {
    bytes out(64);
    std::size_t n = 0;
    auto msg = [&](const bytes& z) {
        status s = zlib_decompress(z.data(), z.size(), out.data(), out.size(), &n);
        return s ? std::string("ok") : std::string(s.message());
    };
    CHECK(msg({0x78}).find("shorter") != std::string::npos);
    CHECK(msg({0x79, 0x01, 0x03, 0x00}).find("compression method") != std::string::npos);
    CHECK(msg({0x78, 0x02, 0x03, 0x00}).find("header check") != std::string::npos);
    CHECK(msg({0x78, 0x20}).find("dictionar") != std::string::npos);  // 0x78 0x3B: FDICT set, check ok
    // Block type 3.
    CHECK(msg({0x78, 0x01, 0x07, 0, 0, 0, 0}).find("block type") != std::string::npos);
    // Stored block with a bad complement.
    CHECK(msg({0x78, 0x01, 0x01, 0x05, 0x00, 0x00, 0x00}).find("complement") != std::string::npos);
    // Fixed block: a distance before the start of the output (first symbol is a match).
    {
        smolvlm_test::bit_writer bw;
        bw.put(1, 1); bw.put(1, 2);
        smolvlm_test::fixed_literal(bw, 257);  // length 3
        bw.put_code(0, 5);                      // distance 1
        smolvlm_test::fixed_literal(bw, 256);
        bw.flush();
        bytes z = {0x78, 0x01};
        z.insert(z.end(), bw.out.begin(), bw.out.end());
        z.insert(z.end(), {0, 0, 0, 1});
        INFO(msg(z));
        CHECK(msg(z).find("before the start") != std::string::npos);
    }
    // Good stream, wrong Adler-32.
    {
        bytes data = {1, 2, 3};
        bytes z = smolvlm_test::zlib_wrap(data, smolvlm_test::deflate_mode::fixed);
        z.back() ^= 1;
        CHECK(msg(z).find("Adler-32 mismatch") != std::string::npos);
    }
    // Dynamic block whose code-length code is over-subscribed: HCLEN=19 all lengths 1.
    {
        smolvlm_test::bit_writer bw;
        bw.put(1, 1); bw.put(2, 2);
        bw.put(0, 5); bw.put(0, 5); bw.put(15, 4);
        for (int i = 0; i < 19; ++i) bw.put(1, 3);
        bw.flush();
        bytes z = {0x78, 0x01};
        z.insert(z.end(), bw.out.begin(), bw.out.end());
        z.insert(z.end(), {0, 0, 0, 0, 0, 0, 0, 0});
        CHECK(msg(z).find("over-subscribed") != std::string::npos);
    }
}

}  // namespace smolvlm_test_io_inflate_cases
