// smolvlm/io/ppm.hpp — binary Netpbm decoder: P5 (PGM, gray) and P6 (PPM, RGB).
//
//   result<image> decode_ppm(const uint8_t* data, size_t size, const image_limits& = {});
//
// Header (Netpbm spec): magic, width, height, maxval as ASCII decimals separated by
// whitespace, '#' comments to end of line allowed anywhere between tokens, then exactly
// one whitespace byte before the raster. maxval 1..65535; above 255 each sample is two
// bytes, big-endian.
//
// Conversion to 8 bits (what PIL gives the processor):
//   maxval == 255   samples as they are;
//   maxval == 65535 the high byte (PIL's "RGB;16B" / "I;16B" raw modes then 8-bit);
//   otherwise       round(min(v, maxval) * 255 / maxval), as Pillow's PPM decoder scales.
// Only the first image of a multi-image file is read; trailing bytes are ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "../core/status.hpp"
#include "image.hpp"

namespace smolvlm {

inline bool is_ppm(const std::uint8_t* data, std::size_t size) {
    return size >= 3 && data[0] == 'P' && (data[1] == '5' || data[1] == '6') &&
           (data[2] == ' ' || data[2] == '\t' || data[2] == '\n' || data[2] == '\r' || data[2] == '\v' ||
            data[2] == '\f' || data[2] == '#');
}

inline result<image> decode_ppm(const std::uint8_t* data, std::size_t size, const image_limits& lim = {}) {
    if (!data || !is_ppm(data, size)) return status(errc::bad_format, "ppm: not a binary PGM/PPM (P5/P6) file");
    const int channels = data[1] == '5' ? 1 : 3;
    std::size_t pos = 2;
    auto is_space = [](std::uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; };
    // Read one header number (skipping whitespace and comments).
    auto number = [&](const char* what, std::uint32_t* out) -> status {
        for (;;) {
            if (pos >= size) return status::fmt(errc::truncated, "ppm: file ends before the %s", what);
            if (is_space(data[pos])) { ++pos; continue; }
            if (data[pos] == '#') {
                while (pos < size && data[pos] != '\n' && data[pos] != '\r') ++pos;
                continue;
            }
            break;
        }
        if (data[pos] < '0' || data[pos] > '9')
            return status::fmt(errc::bad_format, "ppm: expected the %s at byte %zu", what, pos);
        std::uint64_t v = 0;
        while (pos < size && data[pos] >= '0' && data[pos] <= '9') {
            v = v * 10 + std::uint64_t(data[pos++] - '0');
            if (v > 0x7FFFFFFF) return status::fmt(errc::bad_format, "ppm: %s is too large", what);
        }
        *out = std::uint32_t(v);
        return status::ok();
    };
    std::uint32_t w = 0, h = 0, maxval = 0;
    SMOLVLM_TRY(number("width", &w));
    SMOLVLM_TRY(number("height", &h));
    SMOLVLM_TRY(number("maxval", &maxval));
    if (maxval == 0 || maxval > 65535) return status::fmt(errc::bad_format, "ppm: maxval %u is not in 1..65535", unsigned(maxval));
    if (pos >= size) return status(errc::truncated, "ppm: file ends before the raster");
    if (!is_space(data[pos])) return status(errc::bad_format, "ppm: no whitespace after maxval");
    ++pos;
    SMOLVLM_TRY(detail::check_image_limits(w, h, channels, lim, "ppm"));
    const std::size_t bytes_per_sample = maxval > 255 ? 2 : 1;
    const std::size_t n = std::size_t(w) * std::size_t(h) * std::size_t(channels);
    if ((size - pos) / bytes_per_sample < n)
        return status::fmt(errc::truncated, "ppm: raster is truncated (%zu of %zu bytes)", size - pos, n * bytes_per_sample);
    image img;
    img.width = int(w);
    img.height = int(h);
    img.channels = channels;
    img.pixels.resize(n);
    const std::uint8_t* src = data + pos;
    std::uint8_t* dst = img.pixels.data();
    if (maxval == 255) {
        for (std::size_t i = 0; i < n; ++i) dst[i] = src[i];
    } else if (maxval == 65535) {
        for (std::size_t i = 0; i < n; ++i) dst[i] = src[2 * i];
    } else {
        for (std::size_t i = 0; i < n; ++i) {
            std::uint32_t v = bytes_per_sample == 2 ? (std::uint32_t(src[2 * i]) << 8 | src[2 * i + 1]) : src[i];
            if (v > maxval) v = maxval;
            dst[i] = std::uint8_t((v * 255 * 2 + maxval) / (2 * maxval));  // round half up
        }
    }
    return img;
}

}  // namespace smolvlm
