// smolvlm/io/image.hpp — decoded images and raw frames.
//
// An `image` is 8-bit, interleaved (HWC), row-major, with 1 (gray), 2 (gray+alpha),
// 3 (RGB) or 4 (RGBA) channels: the native channel count of the file is kept,
// because the Hugging Face processor resizes before it converts to RGB.
#pragma once

#include <cstdint>
#include <vector>

#include "../core/status.hpp"

namespace smolvlm {

struct image {
    int width = 0;
    int height = 0;
    int channels = 0;                   // 1, 2, 3 or 4
    std::vector<std::uint8_t> pixels;   // [height, width, channels]

    std::size_t row_bytes() const { return std::size_t(width) * std::size_t(channels); }
    const std::uint8_t* row(int y) const { return pixels.data() + std::size_t(y) * row_bytes(); }
    std::uint8_t* row(int y) { return pixels.data() + std::size_t(y) * row_bytes(); }
};

// Limits a caller sets before decoding untrusted files.
struct image_limits {
    std::int64_t max_width = 16384;
    std::int64_t max_height = 16384;
    std::int64_t max_pixels = std::int64_t(64) << 20;  // 64 Mpx
    std::size_t max_bytes = std::size_t(512) << 20;    // decoded-buffer and working-memory cap
};

}  // namespace smolvlm
