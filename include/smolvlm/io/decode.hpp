// smolvlm/io/decode.hpp — one entry point for image files, plus raw frames.
//
//   result<image> decode_image(const uint8_t* data, size_t size, const image_limits& = {});
//   result<image> load_image_file(const char* path, const image_limits& = {});
//   image         apply_orientation(const image& img, int orientation);   // EXIF 1..8
//
// The format is detected from the first bytes (PNG signature, JPEG SOI + marker, "BM",
// "GIF87a"/"GIF89a", "RIFF....WEBP", "P5"/"P6"), never from a file name. Decoded images keep
// their native channel count (see png.hpp) and equal Pillow's pixels (see jpeg.hpp, png.hpp);
// an empty file is an error that says so. The orientation (EXIF, else XMP for JPEG / PNG) is
// read into image::orientation but not applied: the Hugging Face
// processor given a PIL image does not transpose, while transformers' load_image() does
// (ImageOps.exif_transpose) — call apply_orientation() to get the latter.
//
// Raw frames (games, cameras, firmware): a non-owning frame_view over caller memory.
// RGB8 / RGBA8 / GRAY8 frames become an image_view without copying (as_image_view);
// preprocessing takes image_view, so a game can hand its framebuffer over directly.
// BGR8 / BGRA8 need a channel swap: frame_to_image() copies into an RGB / RGBA image.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <utility>
#include <vector>

#include "../core/status.hpp"
#include "bmp.hpp"
#include "gif.hpp"
#include "image.hpp"
#include "jpeg.hpp"
#include "png.hpp"
#include "ppm.hpp"
#include "webp.hpp"

namespace smolvlm {

enum class image_format { unknown, png, jpeg, ppm };

inline image_format detect_image_format(const std::uint8_t* data, std::size_t size) {
    if (!data) return image_format::unknown;
    if (is_png(data, size)) return image_format::png;
    if (is_jpeg(data, size)) return image_format::jpeg;
    if (is_ppm(data, size)) return image_format::ppm;
    return image_format::unknown;
}

inline result<image> decode_image(const std::uint8_t* data, std::size_t size, const image_limits& lim = {}) {
    switch (detect_image_format(data, size)) {
        case image_format::png: return decode_png(data, size, lim);
        case image_format::jpeg: return decode_jpeg(data, size, lim);
        case image_format::ppm: return decode_ppm(data, size, lim);
        default: break;
    }
    if (size == 0) return status(errc::truncated, "image: the file is empty");
    if (is_bmp(data, size)) return decode_bmp(data, size, lim);
    if (is_gif(data, size)) return decode_gif(data, size, lim);
    if (is_webp(data, size)) return decode_webp(data, size, lim);
    if (size >= 2 && data[0] == 'P' && data[1] >= '1' && data[1] <= '7')
        return status(errc::unsupported, "image: only binary Netpbm P5/P6 is supported");
    return status(errc::bad_format, "image: unknown format (expected PNG, JPEG, BMP, GIF, WebP or PGM/PPM)");
}

// Read a whole file (at most lim.max_bytes) and decode it.
inline result<image> load_image_file(const char* path, const image_limits& lim = {}) {
    if (!path) return status(errc::invalid_argument, "image: null path");
    std::FILE* f = std::fopen(path, "rb");
    if (!f) return status::fmt(errc::io, "image: cannot open '%s'", path);
    std::vector<std::uint8_t> bytes;
    std::uint8_t buf[65536];
    for (;;) {
        std::size_t n = std::fread(buf, 1, sizeof(buf), f);
        if (n > lim.max_bytes - bytes.size()) {
            std::fclose(f);
            return status::fmt(errc::no_memory, "image: '%s' is larger than the %zu-byte limit", path, lim.max_bytes);
        }
        bytes.insert(bytes.end(), buf, buf + n);
        if (n < sizeof(buf)) break;
    }
    bool failed = std::ferror(f) != 0;
    std::fclose(f);
    if (failed) return status::fmt(errc::io, "image: error reading '%s'", path);
    auto r = decode_image(bytes.data(), bytes.size(), lim);
    if (!r) {
        // The one place the file name is added: callers print the message as it is.
        status s = r.error();
        char ctx[160];
        std::snprintf(ctx, sizeof(ctx), "%s: ", path);
        return s.prepend(ctx);
    }
    return r;
}

// PIL's ImageOps.exif_transpose for EXIF orientation 1..8 (anything else: unchanged copy).
//   2 mirror left-right, 3 rotate 180, 4 mirror top-bottom, 5 transpose,
//   6 rotate 90 clockwise, 7 transverse, 8 rotate 90 counter-clockwise.
inline image apply_orientation(const image& in, int orientation) {
    image out;
    out.channels = in.channels;
    out.orientation = 1;
    const bool swap = orientation >= 5 && orientation <= 8;
    out.width = swap ? in.height : in.width;
    out.height = swap ? in.width : in.height;
    out.pixels.resize(in.pixels.size());
    const int W = in.width, H = in.height;
    const std::size_t ch = std::size_t(in.channels);
    for (int y = 0; y < out.height; ++y) {
        for (int x = 0; x < out.width; ++x) {
            int sx = x, sy = y;  // source pixel of output (x, y)
            switch (orientation) {
                case 2: sx = W - 1 - x; break;
                case 3: sx = W - 1 - x; sy = H - 1 - y; break;
                case 4: sy = H - 1 - y; break;
                case 5: sx = y; sy = x; break;
                case 6: sx = y; sy = H - 1 - x; break;
                case 7: sx = W - 1 - y; sy = H - 1 - x; break;
                case 8: sx = W - 1 - y; sy = x; break;
                default: break;
            }
            const std::uint8_t* s = in.pixels.data() + (std::size_t(sy) * std::size_t(W) + std::size_t(sx)) * ch;
            std::uint8_t* d = out.pixels.data() + (std::size_t(y) * std::size_t(out.width) + std::size_t(x)) * ch;
            for (std::size_t c = 0; c < ch; ++c) d[c] = s[c];
        }
    }
    return out;
}

// Apply and clear image::orientation in place.
inline void apply_exif_orientation(image& img) {
    if (img.orientation >= 2 && img.orientation <= 8) img = apply_orientation(img, img.orientation);
    img.orientation = 1;
}

// ---------------------------------------------------------------------------
// Raw frames
// ---------------------------------------------------------------------------

enum class pixel_format { rgb8, rgba8, bgra8, bgr8, gray8 };

inline int pixel_format_channels(pixel_format f) {
    switch (f) {
        case pixel_format::rgb8: case pixel_format::bgr8: return 3;
        case pixel_format::rgba8: case pixel_format::bgra8: return 4;
        case pixel_format::gray8: return 1;
    }
    return 0;
}

// Caller-owned pixels: `height` rows of `width` pixels, rows `stride_bytes` apart
// (0 = tightly packed). The memory must outlive every view made from it.
struct frame_view {
    const std::uint8_t* data = nullptr;
    int width = 0;
    int height = 0;
    std::size_t stride_bytes = 0;
    pixel_format format = pixel_format::rgb8;
};

inline status validate_frame(const frame_view& f, const image_limits& lim = {}) {
    int ch = pixel_format_channels(f.format);
    if (ch == 0) return status(errc::invalid_argument, "frame: unknown pixel format");
    if (!f.data) return status(errc::invalid_argument, "frame: null data");
    SMOLVLM_TRY(detail::check_image_limits(f.width, f.height, ch, lim, "frame"));
    std::size_t row = std::size_t(f.width) * std::size_t(ch);
    if (f.stride_bytes != 0 && f.stride_bytes < row)
        return status::fmt(errc::invalid_argument, "frame: stride %zu is smaller than a row (%zu bytes)", f.stride_bytes, row);
    return status::ok();
}

// Zero-copy view of an RGB8 / RGBA8 / GRAY8 frame (BGR formats: use frame_to_image).
inline result<image_view> as_image_view(const frame_view& f, const image_limits& lim = {}) {
    SMOLVLM_TRY(validate_frame(f, lim));
    if (f.format == pixel_format::bgr8 || f.format == pixel_format::bgra8)
        return status(errc::unsupported, "frame: BGR/BGRA frames need frame_to_image() (channel swap)");
    int ch = pixel_format_channels(f.format);
    std::size_t stride = f.stride_bytes ? f.stride_bytes : std::size_t(f.width) * std::size_t(ch);
    return image_view{f.data, f.width, f.height, ch, stride};
}

// Copy a frame into an owning image: RGB / RGBA / gray, BGR(A) swapped to RGB(A).
inline result<image> frame_to_image(const frame_view& f, const image_limits& lim = {}) {
    SMOLVLM_TRY(validate_frame(f, lim));
    const int ch = pixel_format_channels(f.format);
    const std::size_t row = std::size_t(f.width) * std::size_t(ch);
    const std::size_t stride = f.stride_bytes ? f.stride_bytes : row;
    const bool swap = f.format == pixel_format::bgr8 || f.format == pixel_format::bgra8;
    image img;
    img.width = f.width;
    img.height = f.height;
    img.channels = ch;
    img.pixels.resize(row * std::size_t(f.height));
    for (int y = 0; y < f.height; ++y) {
        const std::uint8_t* s = f.data + std::size_t(y) * stride;
        std::uint8_t* d = img.row(y);
        if (!swap) {
            std::memcpy(d, s, row);
            continue;
        }
        for (int x = 0; x < f.width; ++x, s += ch, d += ch) {
            d[0] = s[2];
            d[1] = s[1];
            d[2] = s[0];
            if (ch == 4) d[3] = s[3];
        }
    }
    return img;
}

}  // namespace smolvlm
