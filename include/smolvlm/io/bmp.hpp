// smolvlm/io/bmp.hpp — Windows / OS/2 bitmap decoder, following what PIL opens.
//
//   bool          is_bmp(const uint8_t* data, size_t size);
//   result<image> decode_bmp(const uint8_t* data, size_t size, const image_limits& = {});
//
// The reference is Pillow's BmpImagePlugin (Image.open, then convert("RGB"/"RGBA")):
// files it opens decode to the same pixels, files it refuses are refused here too.
//
// Headers: BITMAPCOREHEADER / OS/2 1.x (12 bytes: 16-bit sizes, 3-byte palette entries),
// BITMAPINFOHEADER (40), V2 (52), V3 (56), OS/2 2.x (64), V4 (108), V5 (124). A height
// whose top byte is 0xFF means top-down rows (as PIL reads it).
// Pixels and output channels (PIL's mode in brackets):
//   1/4/8-bit palette          -> RGB, palette colour; indices past the palette are black [P]
//     palette that is the gray ramp (index i = (i,i,i); 2 colours: black, white)
//                              -> 1 channel, the pixel value is the index (0/255 for 1-bit) [L / 1];
//                                 RLE data into mode "1": any index > 0 is 255
//   16-bit BI_RGB              -> RGB from 5-5-5 (v * 255 / 31)
//   16-bit BI_BITFIELDS        -> only masks 5-6-5 and 5-5-5 (PIL refuses other layouts)
//   24-bit                     -> RGB
//   32-bit BI_RGB              -> RGB, the fourth byte ignored (PIL reads "BGRX")
//   32-bit BI_BITFIELDS        -> PIL's eight byte-aligned layouts only; RGBA when the
//                                 alpha mask is set (or all masks are zero: BGRA), else RGB.
//                                 A 40-byte header's alpha mask is always 0.
//   RLE8 / RLE4                -> PIL's own run decoder: runs clipped at the row end,
//                                 absolute runs may spill into the next row, delta and
//                                 end-of-line fill with index 0; a stream that ends before
//                                 every pixel is set is an error ("not enough image data").
// Refused as PIL does: JPEG/PNG-in-BMP and other compressions, depths other than
// 1/4/8/16/24/32, RLE on 16/24/32-bit files, palettes of more than 256 colours, and pixel
// data cut short (PIL: "image file is truncated").
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../core/status.hpp"
#include "image.hpp"

namespace smolvlm {

inline bool is_bmp(const std::uint8_t* data, std::size_t size) {
    return data && size >= 2 && data[0] == 'B' && data[1] == 'M';
}

namespace detail {

inline std::uint32_t bmp_u16(const std::uint8_t* p) { return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8; }
inline std::uint32_t bmp_u32(const std::uint8_t* p) { return bmp_u16(p) | bmp_u16(p + 2) << 16; }

// PIL's pixel layout for one file: how raw bytes become output channels.
enum class bmp_layout { gray1, gray8, pal1, pal4, pal8, rgb555, rgb565, bgr24, masks32 };

struct bmp_info {
    std::int64_t width = 0, height = 0;
    bool top_down = false;
    int bits = 0;
    std::uint32_t compression = 0;
    std::size_t offset = 0;        // pixel data, from the start of the file
    bmp_layout layout = bmp_layout::bgr24;
    int channels = 3;              // output
    std::uint32_t shift[4] = {16, 8, 0, 24};  // masks32: byte shift of R, G, B, A
    bool alpha = false;
    std::uint8_t palette[256][3] = {};       // RGB
};

// PIL's RLE decoder ("bmp_rle"): fills `out` (w*h indices, rows in file order) and
// returns an error when the stream ends before every pixel has been set.
inline status bmp_rle(const std::uint8_t* data, std::size_t size, std::size_t pos, bool rle4, std::size_t w,
                      std::size_t h, std::vector<std::uint8_t>& out) {
    const std::size_t total = w * h;
    out.assign(total, 0);
    std::size_t n = 0;  // pixels written so far (linear, file row order)
    std::size_t x = 0;
    while (n < total) {
        if (size - pos < 2) break;
        std::uint8_t count = data[pos], byte = data[pos + 1];
        pos += 2;
        if (count) {  // encoded run, clipped to the row
            std::size_t run = count;
            if (x + run > w) run = x < w ? w - x : 0;
            x += run;
            if (run > total - n) run = total - n;  // PIL appends past the end; the extra is dropped
            for (std::size_t i = 0; i < run; ++i)
                out[n + i] = rle4 ? std::uint8_t((i & 1) ? (byte & 15) : (byte >> 4)) : byte;
            n += run;
            continue;
        }
        if (byte == 0) {  // end of line: zero-fill to the next row boundary
            if (n % w) n += w - n % w;
            x = 0;
        } else if (byte == 1) {  // end of bitmap
            break;
        } else if (byte == 2) {  // delta: right, up (= further rows in file order)
            if (size - pos < 2) break;
            std::size_t skip = std::size_t(data[pos]) + std::size_t(data[pos + 1]) * w;
            pos += 2;
            n += skip < total - n ? skip : total - n;
            x = n % w;
        } else {  // absolute run of `byte` pixels, padded to a 16-bit file offset
            std::size_t count_px = byte < total - n ? byte : total - n;
            std::size_t want = rle4 ? (count_px + 1) / 2 : count_px;
            std::size_t got = want < size - pos ? want : size - pos;
            if (rle4) {
                for (std::size_t i = 0; i < got; ++i) {
                    out[n++] = std::uint8_t(data[pos + i] >> 4);
                    if (i * 2 + 1 < count_px) out[n++] = std::uint8_t(data[pos + i] & 15);
                }
            } else {
                std::memcpy(out.data() + n, data + pos, got);
                n += got;
            }
            pos += got;
            if (got < want || n == total) break;
            x += byte;
            if (pos % 2) {
                if (pos >= size) break;  // PIL seeks past the end; the next read finds nothing
                ++pos;
            }
        }
    }
    if (n < total) return status(errc::truncated, "bmp: RLE data ends before the last pixel (not enough image data)");
    return status::ok();
}

inline result<bmp_info> bmp_read_header(const std::uint8_t* data, std::size_t size) {
    bmp_info info;
    if (size == 0) return status(errc::truncated, "bmp: the file is empty");
    if (!is_bmp(data, size)) return status(errc::bad_format, "bmp: not a BMP file (no 'BM' signature)");
    if (size < 18) return status(errc::truncated, "bmp: file ends inside the file header");
    std::size_t offset = bmp_u32(data + 10);
    const std::uint32_t header_size = bmp_u32(data + 14);
    const std::uint8_t* h = data + 18;  // header after its size field
    std::uint32_t colors = 0, palette_padding = 4;
    std::uint32_t masks[4] = {0, 0, 0, 0};
    if (header_size == 12) {
        if (size < 14 + 12) return status(errc::truncated, "bmp: file ends inside the bitmap header");
        info.width = bmp_u16(h);
        info.height = bmp_u16(h + 2);
        info.bits = int(bmp_u16(h + 6));
        info.compression = 0;
        palette_padding = 3;
    } else if (header_size == 40 || header_size == 52 || header_size == 56 || header_size == 64 ||
               header_size == 108 || header_size == 124) {
        if (size - 14 < header_size) return status(errc::truncated, "bmp: file ends inside the bitmap header");
        info.top_down = h[7] == 0xFF;
        info.width = bmp_u32(h);
        std::uint32_t raw_h = bmp_u32(h + 4);
        info.height = info.top_down ? std::int64_t(0x100000000LL) - raw_h : std::int64_t(raw_h);
        info.bits = int(bmp_u16(h + 10));
        info.compression = bmp_u32(h + 12);
        colors = bmp_u32(h + 28);
        if (info.compression == 3) {
            if (header_size >= 52) {
                for (int i = 0; i < 3; ++i) masks[i] = bmp_u32(h + 36 + 4 * i);
                if (header_size >= 56) masks[3] = bmp_u32(h + 48);
            } else {
                if (size - 14 - header_size < 12) return status(errc::truncated, "bmp: file ends inside the colour masks");
                for (int i = 0; i < 3; ++i) masks[i] = bmp_u32(data + 14 + header_size + 4 * std::size_t(i));
            }
        }
    } else {
        return status::fmt(errc::unsupported, "bmp: unsupported header size %u", header_size);
    }
    const int bits = info.bits;
    std::uint64_t ncolors = colors ? colors : (bits < 64 ? std::uint64_t(1) << bits : 0);
    if (offset == 14 + std::size_t(header_size) && bits <= 8) offset += std::size_t(palette_padding * ncolors);
    info.offset = offset;
    if (bits != 1 && bits != 4 && bits != 8 && bits != 16 && bits != 24 && bits != 32)
        return status::fmt(errc::unsupported, "bmp: unsupported pixel depth %d", bits);

    const std::uint32_t c = info.compression;
    if (c == 3) {  // BI_BITFIELDS: PIL's fixed list of layouts
        auto is = [&](std::uint32_t r, std::uint32_t g, std::uint32_t b, std::uint32_t a) {
            return masks[0] == r && masks[1] == g && masks[2] == b && masks[3] == a;
        };
        auto shift_of = [](std::uint32_t m) -> std::uint32_t {
            return m == 0xFF ? 0 : m == 0xFF00 ? 8 : m == 0xFF0000 ? 16 : 24;
        };
        if (bits == 32 && (is(0xFF0000, 0xFF00, 0xFF, 0) || is(0xFF000000, 0xFF0000, 0xFF00, 0) ||
                           is(0xFF000000, 0xFF00, 0xFF, 0) || is(0xFF000000, 0xFF0000, 0xFF00, 0xFF) ||
                           is(0xFF, 0xFF00, 0xFF0000, 0xFF000000) || is(0xFF0000, 0xFF00, 0xFF, 0xFF000000) ||
                           is(0xFF000000, 0xFF00, 0xFF, 0xFF0000) || is(0, 0, 0, 0))) {
            if (is(0, 0, 0, 0)) {  // PIL reads this as BGRA
                masks[0] = 0xFF0000; masks[1] = 0xFF00; masks[2] = 0xFF; masks[3] = 0xFF000000;
            }
            for (int i = 0; i < 4; ++i) info.shift[i] = shift_of(masks[i]);
            info.alpha = masks[3] != 0;
            info.layout = bmp_layout::masks32;
            info.channels = info.alpha ? 4 : 3;
        } else if (bits == 24 && is(0xFF0000, 0xFF00, 0xFF, masks[3])) {
            info.layout = bmp_layout::bgr24;
        } else if (bits == 16 && is(0xF800, 0x7E0, 0x1F, masks[3])) {
            info.layout = bmp_layout::rgb565;
        } else if (bits == 16 && is(0x7C00, 0x3E0, 0x1F, masks[3])) {
            info.layout = bmp_layout::rgb555;
        } else {
            return status(errc::unsupported, "bmp: unsupported bit-field layout");
        }
        return info;
    }
    if (c == 1 || c == 2) {
        if (bits > 8) return status::fmt(errc::unsupported, "bmp: RLE compression of %d-bit pixels", bits);
    } else if (c != 0) {
        return status::fmt(errc::unsupported, "bmp: unsupported compression %u%s", c,
                           c == 4 ? " (JPEG in BMP)" : c == 5 ? " (PNG in BMP)" : "");
    }
    if (bits == 16) { info.layout = bmp_layout::rgb555; return info; }
    if (bits == 24) { info.layout = bmp_layout::bgr24; return info; }
    if (bits == 32) { info.layout = bmp_layout::masks32; return info; }  // "BGRX"

    // Palette images: PIL keeps the palette unless it is the gray ramp.
    if (ncolors == 0 || ncolors > 65536) return status::fmt(errc::unsupported, "bmp: unsupported palette size %llu",
                                                            (unsigned long long)ncolors);
    const std::size_t pal_at = 14 + std::size_t(header_size);
    const std::size_t pal_want = std::size_t(palette_padding) * std::size_t(ncolors);
    const std::size_t pal_len = pal_at < size ? (pal_want < size - pal_at ? pal_want : size - pal_at) : 0;
    const std::uint8_t* pal = data + (pal_at < size ? pal_at : size);
    bool gray = true;
    for (std::size_t i = 0; i < ncolors && gray; ++i) {
        std::uint8_t v = std::uint8_t(ncolors == 2 ? (i ? 255 : 0) : i);
        std::size_t at = i * palette_padding;
        if (at + 3 > pal_len || pal[at] != v || pal[at + 1] != v || pal[at + 2] != v) gray = false;
    }
    if (gray) {
        if (ncolors <= 2) {
            info.layout = bmp_layout::gray1;  // PIL mode "1", raw mode "1" (RLE: any index > 0 is white)
        } else {
            info.layout = bmp_layout::gray8;  // PIL mode "L", raw mode "L"
        }
        info.channels = 1;
        return info;
    }
    if (pal_len / palette_padding > 256) return status(errc::unsupported, "bmp: palette of more than 256 colours");
    for (std::size_t i = 0; i < pal_len / palette_padding; ++i) {
        const std::uint8_t* e = pal + i * palette_padding;
        info.palette[i][0] = e[2];
        info.palette[i][1] = e[1];
        info.palette[i][2] = e[0];
    }
    info.layout = bits == 1 ? bmp_layout::pal1 : bits == 4 ? bmp_layout::pal4 : bmp_layout::pal8;
    return info;
}

}  // namespace detail

inline result<image> decode_bmp(const std::uint8_t* data, std::size_t size, const image_limits& lim = {}) {
    using namespace detail;
    auto hr = bmp_read_header(data, size);
    if (!hr) return hr.error();
    const bmp_info& info = *hr;
    if (info.width <= 0 || info.height <= 0)
        return status::fmt(errc::bad_format, "bmp: invalid dimensions %lldx%lld", (long long)info.width,
                           (long long)info.height);
    SMOLVLM_TRY(check_pil_bomb(info.width, info.height, "bmp"));
    SMOLVLM_TRY(check_image_limits(info.width, info.height, info.channels, lim, "bmp"));
    const std::size_t w = std::size_t(info.width), h = std::size_t(info.height);

    image img;
    img.width = int(w);
    img.height = int(h);
    img.channels = info.channels;
    const bool rle = info.compression == 1 || info.compression == 2;

    // Bytes per row in the file and the raw bits PIL unpacks per pixel.
    int unpack_bits = info.bits;
    if (info.layout == bmp_layout::gray1) unpack_bits = 1;
    if (info.layout == bmp_layout::gray8) unpack_bits = 8;
    std::vector<std::uint8_t> rle_px;
    std::size_t stride = 0;
    if (rle) {
        if (info.offset > size) return status(errc::truncated, "bmp: pixel data offset is past the end of the file");
        SMOLVLM_TRY(bmp_rle(data, size, info.offset, info.compression == 2, w, h, rle_px));
        stride = w;
        unpack_bits = 8;
    } else {
        stride = ((w * std::size_t(info.bits) + 31) >> 3) & ~std::size_t(3);
        std::size_t row_bytes = (w * std::size_t(unpack_bits) + 7) / 8;
        if (row_bytes > stride)
            return status(errc::unsupported, "bmp: gray palette wider than the pixel depth (PIL: decoder error)");
        const std::size_t avail = info.offset <= size ? size - info.offset : 0;
        if (info.offset > size || avail < row_bytes || (avail - row_bytes) / stride < h - 1)
            return status(errc::truncated, "bmp: pixel data is truncated");
    }
    const std::uint8_t* base = rle ? rle_px.data() : data + info.offset;
    img.pixels.resize(w * h * std::size_t(info.channels));
    for (std::size_t fy = 0; fy < h; ++fy) {
        const std::uint8_t* s = base + fy * stride;
        std::uint8_t* d = img.row(int(info.top_down ? fy : h - 1 - fy));
        switch (info.layout) {
            case bmp_layout::gray1:
                for (std::size_t x = 0; x < w; ++x) d[x] = (rle ? s[x] : s[x >> 3] >> (7 - (x & 7)) & 1) ? 255 : 0;
                break;
            case bmp_layout::gray8: std::memcpy(d, s, w); break;
            case bmp_layout::pal1:
            case bmp_layout::pal4:
            case bmp_layout::pal8:
                for (std::size_t x = 0; x < w; ++x) {
                    unsigned idx;
                    if (rle || info.layout == bmp_layout::pal8) idx = s[x];
                    else if (info.layout == bmp_layout::pal4) idx = (s[x >> 1] >> ((x & 1) ? 0 : 4)) & 15;
                    else idx = s[x >> 3] >> (7 - (x & 7)) & 1;
                    std::memcpy(d + 3 * x, info.palette[idx], 3);
                }
                break;
            case bmp_layout::rgb555:
            case bmp_layout::rgb565:
                for (std::size_t x = 0; x < w; ++x, s += 2, d += 3) {
                    unsigned v = bmp_u16(s);
                    if (info.layout == bmp_layout::rgb565) {
                        d[0] = std::uint8_t(((v >> 11) & 31) * 255 / 31);
                        d[1] = std::uint8_t(((v >> 5) & 63) * 255 / 63);
                    } else {
                        d[0] = std::uint8_t(((v >> 10) & 31) * 255 / 31);
                        d[1] = std::uint8_t(((v >> 5) & 31) * 255 / 31);
                    }
                    d[2] = std::uint8_t((v & 31) * 255 / 31);
                }
                break;
            case bmp_layout::bgr24:
                for (std::size_t x = 0; x < w; ++x, s += 3, d += 3) {
                    d[0] = s[2];
                    d[1] = s[1];
                    d[2] = s[0];
                }
                break;
            case bmp_layout::masks32:
                for (std::size_t x = 0; x < w; ++x, s += 4) {
                    std::uint32_t v = bmp_u32(s);
                    for (int k = 0; k < info.channels; ++k) *d++ = std::uint8_t(v >> info.shift[k]);
                }
                break;
        }
    }
    return img;
}

}  // namespace smolvlm
