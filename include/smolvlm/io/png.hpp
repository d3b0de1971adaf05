// smolvlm/io/png.hpp — PNG decoder (W3C PNG specification, 2nd edition).
//
//   result<image> decode_png(const uint8_t* data, size_t size, const image_limits& = {});
//
// Every colour type and bit depth, Adam7 interlacing, all five filters, PLTE + tRNS,
// CRC-32 checked on every chunk, Adler-32 on the image data (io/inflate.hpp), eXIf
// orientation read (not applied). Hostile files: every length is checked before use,
// the caller's image_limits cap dimensions and memory before anything is allocated.
//
// Output channels follow what PIL hands the Hugging Face image processor (which
// resizes in the image's *native* mode, so the channel count matters):
//   colour type 0  gray              -> 1 channel ("L")
//   colour type 4  gray + alpha      -> 2 channels ("LA")
//   colour type 2  RGB               -> 3 channels ("RGB")
//   colour type 6  RGBA              -> 4 channels ("RGBA")
//   colour type 3  palette           -> 3 channels, or 4 when a tRNS chunk is present
//                                       (PIL opens "P"; convert("RGB"/"RGBA") expands it)
//   tRNS colour key on gray / RGB    -> an alpha channel is added (2 / 4 channels): 0 where
//                                       the raw sample equals the key, else 255, which is
//                                       what PIL's convert("LA"/"RGBA") does with
//                                       info["transparency"].
// Sample depths:
//   1/2/4-bit gray is scaled to 0..255 (x255, x85, x17), as PIL's "1", "L;2", "L;4" unpackers.
//   16-bit RGB, RGBA, gray+alpha: the high byte of each sample, as PIL's "RGB;16B",
//     "RGBA;16B", "LA;16B" unpackers.
//   16-bit gray: PIL opens it as mode "I;16" and its convert("L") *clamps* (any value >= 255
//     becomes 255), which turns most 16-bit gray photos white. We deliberately take the high
//     byte instead (the same rule as the other 16-bit modes): decision documented here.
//   Palette indices beyond the PLTE size decode as black (PIL pads the palette with zeros),
//     opaque unless tRNS says otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../core/status.hpp"
#include "image.hpp"
#include "inflate.hpp"

namespace smolvlm {

inline bool is_png(const std::uint8_t* data, std::size_t size) {
    static constexpr std::uint8_t sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    return size >= 8 && std::memcmp(data, sig, 8) == 0;
}

namespace detail {

inline std::uint32_t png_be32(const std::uint8_t* p) {
    return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | std::uint32_t(p[3]);
}

// Adam7 passes: first column/row and column/row step (PNG spec 8.2). Pass 7 of a
// non-interlaced image is the whole image, so index 0 here is "no interlace".
struct png_pass { int x0, y0, dx, dy; };
constexpr png_pass k_png_passes[8] = {{0, 0, 1, 1}, {0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8},
                                      {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};

struct png_header {
    int width = 0, height = 0;
    int bit_depth = 0, color_type = 0;
    bool interlaced = false;
    int samples = 0;         // samples per pixel in the file: 1, 2, 3 or 4
    int bits_per_pixel = 0;  // samples * bit_depth
    int out_channels = 0;    // decoded channels (see the table at the top)
};

// Reverse one scanline's filter in place (PNG spec 9.2). `prev` is the previous
// unfiltered row of the same pass, or nullptr for the first row (treated as zeros).
inline status png_unfilter_row(int filter, std::uint8_t* row, const std::uint8_t* prev, std::size_t n, std::size_t bpp) {
    switch (filter) {
        case 0: return status::ok();
        case 1:  // Sub
            for (std::size_t i = bpp; i < n; ++i) row[i] = std::uint8_t(row[i] + row[i - bpp]);
            return status::ok();
        case 2:  // Up
            if (prev)
                for (std::size_t i = 0; i < n; ++i) row[i] = std::uint8_t(row[i] + prev[i]);
            return status::ok();
        case 3:  // Average
            if (prev) {
                for (std::size_t i = 0; i < bpp && i < n; ++i) row[i] = std::uint8_t(row[i] + (prev[i] >> 1));
                for (std::size_t i = bpp; i < n; ++i) row[i] = std::uint8_t(row[i] + ((row[i - bpp] + prev[i]) >> 1));
            } else {
                for (std::size_t i = bpp; i < n; ++i) row[i] = std::uint8_t(row[i] + (row[i - bpp] >> 1));
            }
            return status::ok();
        case 4:  // Paeth
            if (prev) {
                for (std::size_t i = 0; i < bpp && i < n; ++i) row[i] = std::uint8_t(row[i] + prev[i]);  // a = c = 0
                for (std::size_t i = bpp; i < n; ++i) {
                    int a = row[i - bpp], b = prev[i], c = prev[i - bpp];
                    int p = a + b - c;
                    int pa = p > a ? p - a : a - p, pb = p > b ? p - b : b - p, pc = p > c ? p - c : c - p;
                    int pred = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
                    row[i] = std::uint8_t(row[i] + pred);
                }
            } else {
                // b = c = 0: Paeth picks a, i.e. Sub.
                for (std::size_t i = bpp; i < n; ++i) row[i] = std::uint8_t(row[i] + row[i - bpp]);
            }
            return status::ok();
        default:
            return status::fmt(errc::bad_format, "png: invalid filter type %d", filter);
    }
}

// Per-image conversion state: palette (as RGBA) and transparency key.
struct png_palette {
    std::uint8_t rgba[256][4];
    int size = 0;
    bool has_trns = false;
    std::uint16_t key[3] = {0, 0, 0};  // tRNS colour key for gray (key[0]) or RGB
};

// Convert one unfiltered scanline of `w` pixels to 8-bit output pixels.
inline void png_convert_row(const png_header& h, const png_palette& pal, const std::uint8_t* src, int w,
                            std::uint8_t* dst) {
    const int d = h.bit_depth;
    const int oc = h.out_channels;
    // Fast paths: the file layout already is the output layout.
    if (d == 8 && h.color_type != 3 && oc == h.samples) {
        std::memcpy(dst, src, std::size_t(w) * std::size_t(oc));
        return;
    }
    if (d == 16 && oc == h.samples) {
        std::size_t n = std::size_t(w) * std::size_t(oc);
        for (std::size_t i = 0; i < n; ++i) dst[i] = src[2 * i];  // high byte
        return;
    }
    // Sample `i` of the row (d < 8: packed MSB first; 8: byte; 16: big-endian).
    auto sample = [&](std::size_t i) -> unsigned {
        if (d == 8) return src[i];
        if (d == 16) return unsigned(src[2 * i]) << 8 | src[2 * i + 1];
        std::size_t bit = i * std::size_t(d);
        return (src[bit >> 3] >> (8 - d - int(bit & 7))) & ((1u << d) - 1);
    };
    auto to8 = [&](unsigned v) -> std::uint8_t {
        switch (d) {
            case 1: return std::uint8_t(v * 255);
            case 2: return std::uint8_t(v * 85);
            case 4: return std::uint8_t(v * 17);
            case 16: return std::uint8_t(v >> 8);
            default: return std::uint8_t(v);
        }
    };
    switch (h.color_type) {
        case 0:  // gray (+ alpha from a tRNS key)
            for (int x = 0; x < w; ++x) {
                unsigned v = sample(std::size_t(x));
                dst[x * oc] = to8(v);
                if (oc == 2) dst[x * 2 + 1] = v == pal.key[0] ? 0 : 255;
            }
            return;
        case 2:  // RGB + alpha from a tRNS key (oc == 4 here; oc == 3 took a fast path)
            for (int x = 0; x < w; ++x) {
                unsigned r = sample(std::size_t(x) * 3), g = sample(std::size_t(x) * 3 + 1),
                         b = sample(std::size_t(x) * 3 + 2);
                std::uint8_t* o = dst + x * 4;
                o[0] = to8(r);
                o[1] = to8(g);
                o[2] = to8(b);
                o[3] = (r == pal.key[0] && g == pal.key[1] && b == pal.key[2]) ? 0 : 255;
            }
            return;
        case 3:  // palette
            for (int x = 0; x < w; ++x) {
                const std::uint8_t* e = pal.rgba[sample(std::size_t(x))];
                std::uint8_t* o = dst + x * oc;
                o[0] = e[0];
                o[1] = e[1];
                o[2] = e[2];
                if (oc == 4) o[3] = e[3];
            }
            return;
        default:  // 4 and 6 always take a fast path
            return;
    }
}

}  // namespace detail

inline result<image> decode_png(const std::uint8_t* data, std::size_t size, const image_limits& lim = {}) {
    using detail::png_be32;
    if (!data || !is_png(data, size)) return status(errc::bad_format, "png: missing PNG signature");

    detail::png_header h;
    detail::png_palette pal;
    std::memset(pal.rgba, 0, sizeof(pal.rgba));
    for (auto& e : pal.rgba) e[3] = 255;
    std::vector<std::uint8_t> idat;  // concatenated IDAT payloads (the zlib stream)
    int orientation = 1;
    bool seen_ihdr = false, seen_plte = false, seen_idat = false, seen_iend = false, idat_done = false;

    std::size_t pos = 8;
    while (!seen_iend) {
        if (size - pos < 12)
            return status::fmt(errc::truncated, "png: file ends inside the chunk header at byte %zu (missing IEND)",
                               pos);
        std::uint32_t len = png_be32(data + pos);
        const std::uint8_t* type = data + pos + 4;
        char name[5] = {char(type[0]), char(type[1]), char(type[2]), char(type[3]), 0};
        for (int i = 0; i < 4; ++i) {
            bool letter = (type[i] >= 'A' && type[i] <= 'Z') || (type[i] >= 'a' && type[i] <= 'z');
            if (!letter) return status::fmt(errc::bad_format, "png: invalid chunk type at byte %zu", pos);
        }
        if (len > 0x7FFFFFFFu) return status::fmt(errc::bad_format, "png: %s chunk length too large at byte %zu", name, pos);
        if (len > size - pos - 12)
            return status::fmt(errc::truncated, "png: %s chunk at byte %zu runs past the end of the file", name, pos);
        const std::uint8_t* body = data + pos + 8;
        std::uint32_t want_crc = png_be32(body + len);
        if (crc32(0, type, std::size_t(len) + 4) != want_crc)
            return status::fmt(errc::bad_format, "png: %s CRC mismatch at byte %zu", name, pos);
        const std::size_t chunk_at = pos;
        pos += std::size_t(len) + 12;

        auto is = [&](const char* t) { return std::memcmp(type, t, 4) == 0; };
        if (!seen_ihdr && !is("IHDR")) return status(errc::bad_format, "png: first chunk is not IHDR");
        if (seen_idat && !is("IDAT")) idat_done = true;

        if (is("IHDR")) {
            if (seen_ihdr) return status(errc::bad_format, "png: more than one IHDR");
            if (len != 13) return status::fmt(errc::bad_format, "png: IHDR has length %u, expected 13", unsigned(len));
            seen_ihdr = true;
            std::uint32_t w = png_be32(body), ht = png_be32(body + 4);
            if (w == 0 || ht == 0 || w > 0x7FFFFFFFu || ht > 0x7FFFFFFFu)
                return status::fmt(errc::bad_format, "png: invalid dimensions %ux%u", unsigned(w), unsigned(ht));
            h.bit_depth = body[8];
            h.color_type = body[9];
            if (body[10] != 0) return status::fmt(errc::bad_format, "png: unknown compression method %d", body[10]);
            if (body[11] != 0) return status::fmt(errc::bad_format, "png: unknown filter method %d", body[11]);
            if (body[12] > 1) return status::fmt(errc::bad_format, "png: unknown interlace method %d", body[12]);
            h.interlaced = body[12] == 1;
            const int d = h.bit_depth;
            bool ok_depth = false;
            switch (h.color_type) {
                case 0: h.samples = 1; ok_depth = d == 1 || d == 2 || d == 4 || d == 8 || d == 16; break;
                case 2: h.samples = 3; ok_depth = d == 8 || d == 16; break;
                case 3: h.samples = 1; ok_depth = d == 1 || d == 2 || d == 4 || d == 8; break;
                case 4: h.samples = 2; ok_depth = d == 8 || d == 16; break;
                case 6: h.samples = 4; ok_depth = d == 8 || d == 16; break;
                default: return status::fmt(errc::bad_format, "png: invalid colour type %d", h.color_type);
            }
            if (!ok_depth)
                return status::fmt(errc::bad_format, "png: bit depth %d is invalid for colour type %d", d, h.color_type);
            h.bits_per_pixel = h.samples * d;
            SMOLVLM_TRY(detail::check_image_limits(w, ht, 1, lim, "png"));
            h.width = int(w);
            h.height = int(ht);
        } else if (is("PLTE")) {
            if (seen_idat) return status(errc::bad_format, "png: PLTE after IDAT");
            if (seen_plte) return status(errc::bad_format, "png: more than one PLTE");
            if (len % 3 != 0 || len == 0 || len > 768)
                return status::fmt(errc::bad_format, "png: PLTE length %u is not 3..768 and a multiple of 3",
                                   unsigned(len));
            seen_plte = true;
            if (h.color_type == 3 && (int(len) / 3) > (1 << h.bit_depth))
                return status::fmt(errc::bad_format, "png: PLTE has %u entries, more than %d-bit indices allow",
                                   unsigned(len / 3), h.bit_depth);
            pal.size = int(len / 3);
            for (int i = 0; i < pal.size; ++i)
                for (int c = 0; c < 3; ++c) pal.rgba[i][c] = body[i * 3 + c];
        } else if (is("tRNS")) {
            if (seen_idat) return status(errc::bad_format, "png: tRNS after IDAT");
            if (h.color_type == 3) {
                if (!seen_plte) return status(errc::bad_format, "png: tRNS before PLTE");
                if (int(len) > pal.size)
                    return status::fmt(errc::bad_format, "png: tRNS has %u entries but PLTE only %d", unsigned(len),
                                       pal.size);
                for (std::uint32_t i = 0; i < len; ++i) pal.rgba[i][3] = body[i];
                pal.has_trns = true;
            } else if (h.color_type == 0) {
                if (len != 2) return status(errc::bad_format, "png: gray tRNS must be 2 bytes");
                pal.key[0] = std::uint16_t(body[0] << 8 | body[1]);
                pal.has_trns = true;
            } else if (h.color_type == 2) {
                if (len != 6) return status(errc::bad_format, "png: RGB tRNS must be 6 bytes");
                for (int c = 0; c < 3; ++c) pal.key[c] = std::uint16_t(body[2 * c] << 8 | body[2 * c + 1]);
                pal.has_trns = true;
            }
            // Colour types 4 and 6 already carry alpha; a tRNS there is ignored.
        } else if (is("IDAT")) {
            if (idat_done) return status::fmt(errc::bad_format, "png: IDAT chunks are not consecutive (byte %zu)", chunk_at);
            if (h.color_type == 3 && !seen_plte) return status(errc::bad_format, "png: palette image without PLTE");
            if (std::size_t(len) > lim.max_bytes - idat.size())
                return status::fmt(errc::no_memory, "png: compressed data exceeds the %zu-byte limit", lim.max_bytes);
            seen_idat = true;
            idat.insert(idat.end(), body, body + len);
        } else if (is("IEND")) {
            seen_iend = true;
        } else if (is("eXIf")) {
            orientation = detail::exif_orientation(body, len);
        } else if (type[0] >= 'A' && type[0] <= 'Z') {
            return status::fmt(errc::unsupported, "png: unknown critical chunk %s at byte %zu", name, chunk_at);
        }
        // Other ancillary chunks (gAMA, iCCP, tEXt, ...) are skipped, as PIL does for pixels.
    }
    if (!seen_idat) return status(errc::bad_format, "png: no IDAT chunk");

    // Output layout.
    h.out_channels = h.samples;
    if (h.color_type == 3) h.out_channels = pal.has_trns ? 4 : 3;
    if ((h.color_type == 0 || h.color_type == 2) && pal.has_trns) h.out_channels = h.samples + 1;
    SMOLVLM_TRY(detail::check_image_limits(h.width, h.height, h.out_channels, lim, "png"));

    // Size of the filtered image data: per pass, rows of (1 filter byte + packed pixels).
    const int first_pass = h.interlaced ? 1 : 0, last_pass = h.interlaced ? 7 : 0;
    std::uint64_t raw_size = 0;
    for (int p = first_pass; p <= last_pass; ++p) {
        const auto& ps = detail::k_png_passes[p];
        std::uint64_t pw = h.width > ps.x0 ? std::uint64_t(h.width - ps.x0 + ps.dx - 1) / std::uint64_t(ps.dx) : 0;
        std::uint64_t ph = h.height > ps.y0 ? std::uint64_t(h.height - ps.y0 + ps.dy - 1) / std::uint64_t(ps.dy) : 0;
        if (pw == 0 || ph == 0) continue;
        raw_size += ph * (1 + (pw * std::uint64_t(h.bits_per_pixel) + 7) / 8);
    }
    std::uint64_t out_size = std::uint64_t(h.width) * std::uint64_t(h.height) * std::uint64_t(h.out_channels);
    if (raw_size > lim.max_bytes || out_size > lim.max_bytes - raw_size)
        return status::fmt(errc::no_memory, "png: %llu bytes of working memory exceed the %zu-byte limit",
                           (unsigned long long)(raw_size + out_size), lim.max_bytes);

    std::vector<std::uint8_t> raw(static_cast<std::size_t>(raw_size));
    std::size_t produced = 0;
    status zs = zlib_decompress(idat.data(), idat.size(), raw.data(), raw.size(), &produced);
    if (!zs) return zs.prepend("png: image data: ");
    if (produced != raw.size())
        return status::fmt(errc::truncated, "png: image data is truncated (%zu of %zu bytes)", produced, raw.size());
    idat.clear();
    idat.shrink_to_fit();

    image img;
    img.width = h.width;
    img.height = h.height;
    img.channels = h.out_channels;
    img.orientation = orientation;
    img.pixels.resize(static_cast<std::size_t>(out_size));

    const std::size_t bpp = std::size_t(h.bits_per_pixel + 7) / 8;  // filter distance in bytes, >= 1
    std::vector<std::uint8_t> tmp;  // converted pass row (interlaced only)
    if (h.interlaced) tmp.resize(std::size_t(h.width) * std::size_t(h.out_channels));
    std::uint8_t* in = raw.data();
    for (int p = first_pass; p <= last_pass; ++p) {
        const auto& ps = detail::k_png_passes[p];
        int pw = h.width > ps.x0 ? (h.width - ps.x0 + ps.dx - 1) / ps.dx : 0;
        int ph = h.height > ps.y0 ? (h.height - ps.y0 + ps.dy - 1) / ps.dy : 0;
        if (pw == 0 || ph == 0) continue;
        const std::size_t row_bytes = (std::size_t(pw) * std::size_t(h.bits_per_pixel) + 7) / 8;
        const std::uint8_t* prev = nullptr;
        for (int r = 0; r < ph; ++r) {
            int filter = in[0];
            std::uint8_t* row = in + 1;
            status fs = detail::png_unfilter_row(filter, row, prev, row_bytes, bpp);
            if (!fs)
                return status::fmt(errc::bad_format, "png: invalid filter type %d on row %d%s", filter, r,
                                   h.interlaced ? " of an Adam7 pass" : "");
            int y = ps.y0 + r * ps.dy;
            if (!h.interlaced) {
                detail::png_convert_row(h, pal, row, pw, img.row(y));
            } else {
                detail::png_convert_row(h, pal, row, pw, tmp.data());
                const std::size_t oc = std::size_t(h.out_channels);
                std::uint8_t* out_row = img.row(y);
                for (int c = 0; c < pw; ++c)
                    std::memcpy(out_row + std::size_t(ps.x0 + c * ps.dx) * oc, tmp.data() + std::size_t(c) * oc, oc);
            }
            prev = row;
            in += 1 + row_bytes;
        }
    }
    return img;
}

}  // namespace smolvlm
