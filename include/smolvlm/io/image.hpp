// smolvlm/io/image.hpp — decoded images and raw frames.
//
// An `image` is 8-bit, interleaved (HWC), row-major, with 1 (gray), 2 (gray+alpha),
// 3 (RGB) or 4 (RGBA) channels: the native channel count of the file is kept,
// because the Hugging Face processor resizes before it converts to RGB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "../core/status.hpp"
#include "exif.hpp"

namespace smolvlm {

// A non-owning view of 8-bit interleaved pixels: what preprocessing takes. Both a
// decoded `image` (image::view()) and a raw RGB8 / RGBA8 / GRAY8 frame from a game or a
// camera (see io/decode.hpp, as_image_view) convert to it without copying; rows may be
// padded (`stride` bytes apart, stride >= width * channels).
struct image_view {
    const std::uint8_t* data = nullptr;
    int width = 0;
    int height = 0;
    int channels = 0;        // 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA)
    std::size_t stride = 0;  // bytes from one row to the next

    const std::uint8_t* row(int y) const { return data + std::size_t(y) * stride; }
};

struct image {
    int width = 0;
    int height = 0;
    int channels = 0;                   // 1, 2, 3 or 4
    std::vector<std::uint8_t> pixels;   // [height, width, channels]
    // Orientation (1..8) read from the file as PIL's ImageOps.exif_transpose reads it (EXIF tag,
    // else XMP tiff:Orientation), NOT applied to `pixels`; 1 = upright. apply_orientation() in
    // io/decode.hpp does the transpose.
    int orientation = 1;

    std::size_t row_bytes() const { return std::size_t(width) * std::size_t(channels); }
    const std::uint8_t* row(int y) const { return pixels.data() + std::size_t(y) * row_bytes(); }
    std::uint8_t* row(int y) { return pixels.data() + std::size_t(y) * row_bytes(); }
    image_view view() const { return image_view{pixels.data(), width, height, channels, row_bytes()}; }
};

// Limits a caller sets before decoding untrusted files.
struct image_limits {
    std::int64_t max_width = 16384;
    std::int64_t max_height = 16384;
    std::int64_t max_pixels = std::int64_t(64) << 20;  // 64 Mpx
    std::size_t max_bytes = std::size_t(512) << 20;    // decoded-buffer and working-memory cap
};

namespace detail {
// PIL's decompression-bomb rule (Image.MAX_IMAGE_PIXELS = 1024 * 1024 * 1024 // 4 // 3):
// Image.open warns above k_pil_max_image_pixels and raises DecompressionBombError above
// twice that. Decoders that follow PIL call this on the header's size, before
// check_image_limits and before anything is allocated (check_image_limits applies it too).
constexpr std::int64_t k_pil_max_image_pixels = 89478485;

inline status check_pil_bomb(std::int64_t width, std::int64_t height, const char* what) {
    if (width > 0 && height > 0 && width > 2 * k_pil_max_image_pixels / height)
        return status::fmt(errc::unsupported,
                           "%s: %lldx%lld is more than %lld pixels (PIL's decompression-bomb limit)", what,
                           (long long)width, (long long)height, (long long)(2 * k_pil_max_image_pixels));
    return status::ok();
}

// Check decoded dimensions against the caller's caps before anything is allocated.
// `what` prefixes the message ("png", "jpeg", ...).
inline status check_image_limits(std::int64_t width, std::int64_t height, int channels, const image_limits& lim,
                                 const char* what) {
    if (width <= 0 || height <= 0)
        return status::fmt(errc::bad_format, "%s: invalid dimensions %lldx%lld", what, (long long)width,
                           (long long)height);
    SMOLVLM_TRY(check_pil_bomb(width, height, what));
    if (width > lim.max_width || height > lim.max_height)
        return status::fmt(errc::unsupported, "%s: %lldx%lld exceeds the %lldx%lld limit", what, (long long)width,
                           (long long)height, (long long)lim.max_width, (long long)lim.max_height);
    if (width > lim.max_pixels / height)
        return status::fmt(errc::unsupported, "%s: %lldx%lld exceeds the %lld-pixel limit", what, (long long)width,
                           (long long)height, (long long)lim.max_pixels);
    std::uint64_t bytes = std::uint64_t(width) * std::uint64_t(height) * std::uint64_t(channels);
    if (bytes > lim.max_bytes)
        return status::fmt(errc::no_memory, "%s: %llu decoded bytes exceed the %zu-byte limit", what,
                           (unsigned long long)bytes, lim.max_bytes);
    return status::ok();
}

// EXIF orientation (tag 0x0112) from a TIFF-structured EXIF block (what follows "Exif\0\0" in
// a JPEG APP1 segment, or a PNG eXIf chunk), read as Pillow reads it (io/exif.hpp): 2..8, or 1
// when the tag is absent, not 2..8 or the block is malformed (never an error for the image).
inline int exif_orientation(const std::uint8_t* p, std::size_t n) {
    return pil_orientation(exif_orientation_tag(p, n), orientation_tag{});
}
}  // namespace detail

}  // namespace smolvlm
