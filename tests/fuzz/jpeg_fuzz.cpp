// libFuzzer target for the JPEG decoder.
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I include tests/fuzz/jpeg_fuzz.cpp
// Seed with tests/data/jpeg_png/*.jpg (every coding mode, corrupt and truncated files), the
// fixture JPEGs and the ones in tests/io/jpeg_cases.inc.
#include <smolvlm/io/jpeg.hpp>

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    smolvlm::image_limits lim;
    lim.max_width = 4096;
    lim.max_height = 4096;
    lim.max_pixels = 1 << 22;
    lim.max_bytes = std::size_t(64) << 20;
    auto r = smolvlm::decode_jpeg(data, size, lim);
    if (r.is_ok()) {
        if (r->channels != 1 && r->channels != 3) __builtin_trap();
        if (r->pixels.size() != r->row_bytes() * std::size_t(r->height)) __builtin_trap();
    }
    (void)smolvlm::jpeg_orientation(data, size);
    return 0;
}
