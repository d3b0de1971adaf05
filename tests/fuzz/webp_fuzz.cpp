// libFuzzer target for the WebP decoder (RIFF chunks, VP8 lossy, VP8L lossless, ALPH, ANMF).
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I include tests/fuzz/webp_fuzz.cpp
//
// Each input is decoded as given, then with the RIFF size and the size of the chunk that
// ends at the end of the input set to fit, so that mutations of the bitstreams get past
// the container checks.
#include <smolvlm/io/webp.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

namespace {

void wr32(std::uint8_t* p, std::size_t v) {
    p[0] = std::uint8_t(v); p[1] = std::uint8_t(v >> 8); p[2] = std::uint8_t(v >> 16); p[3] = std::uint8_t(v >> 24);
}

void check(const std::uint8_t* data, std::size_t size) {
    smolvlm::image_limits lim;
    lim.max_width = 4096;
    lim.max_height = 4096;
    lim.max_pixels = 1 << 22;
    lim.max_bytes = std::size_t(64) << 20;
    auto r = smolvlm::decode_webp(data, size, lim);
    if (r.is_ok()) {
        if (r->channels != 3 && r->channels != 4) __builtin_trap();
        if (r->pixels.size() != r->row_bytes() * std::size_t(r->height)) __builtin_trap();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    check(data, size);
    if (size < 20) return 0;
    std::vector<std::uint8_t> f(data, data + size);
    wr32(&f[4], size - 8);
    // Walk the chunks; the last one is resized to end at the end of the input.
    std::size_t pos = 12, last = 0;
    while (pos + 8 <= size) {
        last = pos;
        std::size_t len = std::size_t(f[pos + 4]) | std::size_t(f[pos + 5]) << 8 | std::size_t(f[pos + 6]) << 16 |
                          std::size_t(f[pos + 7]) << 24;
        if (len > size - pos - 8) break;
        pos += 8 + len + (len & 1);
    }
    if (last) wr32(&f[last + 4], size - last - 8);
    check(f.data(), f.size());
    return 0;
}
