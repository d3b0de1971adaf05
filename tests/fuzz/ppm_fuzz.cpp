// libFuzzer target for the PGM/PPM decoder and the format dispatcher.
//   clang++ -std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -I include tests/fuzz/ppm_fuzz.cpp
#include <smolvlm/io/decode.hpp>

#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    smolvlm::image_limits lim;
    lim.max_width = 4096;
    lim.max_height = 4096;
    lim.max_pixels = 1 << 22;
    lim.max_bytes = std::size_t(64) << 20;
    auto r = smolvlm::decode_ppm(data, size, lim);
    if (r.is_ok()) {
        if (r->channels != 1 && r->channels != 3) __builtin_trap();
        if (r->pixels.size() != r->row_bytes() * std::size_t(r->height)) __builtin_trap();
        // Orientation transforms must keep the pixel count.
        smolvlm::image t = smolvlm::apply_orientation(*r, int(size % 9));
        if (t.pixels.size() != r->pixels.size()) __builtin_trap();
    }
    auto d = smolvlm::decode_image(data, size, lim);  // dispatch on magic (PNG/JPEG/PPM)
    (void)d;
    return 0;
}
