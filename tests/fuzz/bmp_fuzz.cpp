// libFuzzer target for the BMP decoder (PIL-compatible header, palette, bit-field and RLE paths).
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I include tests/fuzz/bmp_fuzz.cpp
#include <smolvlm/io/bmp.hpp>

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    smolvlm::image_limits lim;
    lim.max_width = 4096;
    lim.max_height = 4096;
    lim.max_pixels = 1 << 22;
    lim.max_bytes = std::size_t(64) << 20;
    auto r = smolvlm::decode_bmp(data, size, lim);
    if (r.is_ok()) {
        if (r->channels < 1 || r->channels > 4) __builtin_trap();
        if (r->pixels.size() != r->row_bytes() * std::size_t(r->height)) __builtin_trap();
    }
    return 0;
}
