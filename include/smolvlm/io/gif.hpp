// smolvlm/io/gif.hpp — GIF decoder: the first frame, as PIL opens it.
//
//   bool          is_gif(const uint8_t* data, size_t size);
//   result<image> decode_gif(const uint8_t* data, size_t size, const image_limits& = {});
//
// The reference is Pillow's GifImagePlugin + its C LZW decoder (Image.open gives frame 0):
//  - The image is the logical screen, grown to hold the first frame when the frame's
//    rectangle reaches past it. Outside the frame every pixel is the transparent index
//    when the frame has one, else index 0.
//  - Colours come from the frame's local table, else the global one; indices past the
//    table are black. A table that is the identity gray ramp (entry i = (i,i,i)), or no
//    table at all, makes PIL open mode "L": the pixel value is the index itself.
//  - Output: palette -> RGB; palette + transparent index -> RGBA, alpha 0 at that index
//    and the colour channels still the palette colour (PIL's convert("RGBA") and
//    convert("RGB") of the "P" image); "L" -> 1 channel, with a transparent index -> LA.
//  - LZW exactly as PIL's decoder: codes may run past the data without a leading clear,
//    a code beyond the next free entry is an error, the table stops growing at 4096
//    entries (no reset), decoding stops as soon as the frame is full. Data that ends
//    before the frame is full (cut-short file, or an end code too early) is an error,
//    as PIL's "image file is truncated" (PIL alone would read on past an early end code
//    when the file is larger than its 64 KiB read buffer).
//  - Interlaced frames: the four passes (rows 0, 4, 2, 1 mod 8/8/4/2).
//  - Extensions are skipped as PIL skips them (a graphic control extension gives the
//    transparent index; the last one before the image wins); stray bytes between blocks
//    are ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../core/status.hpp"
#include "image.hpp"

namespace smolvlm {

inline bool is_gif(const std::uint8_t* data, std::size_t size) {
    return data && size >= 6 &&
           (std::memcmp(data, "GIF87a", 6) == 0 || std::memcmp(data, "GIF89a", 6) == 0);
}

namespace detail {

// PIL's _is_palette_needed: false when entry i is (i, i, i) for every entry.
inline bool gif_palette_needed(const std::uint8_t* p, std::size_t n_entries) {
    for (std::size_t i = 0; i < n_entries; ++i)
        if (p[3 * i] != i || p[3 * i + 1] != i || p[3 * i + 2] != i) return true;
    return false;
}

// The frame rectangle inside the canvas and PIL's output-row walk (interlace passes).
struct gif_writer {
    std::uint8_t* canvas;  // [canvas_w * canvas_h] indices
    std::size_t canvas_w;
    int xoff, yoff, xsize, ysize;
    int x = 0, y = 0, step = 1, pass = 0;  // pass: 0 = not interlaced / last pass, 1..3 as PIL
    bool done = false;

    void start(bool interlaced) {
        if (interlaced) { pass = 1; step = 8; }
    }
    void newline() {
        x = 0;
        y += step;
        while (y >= ysize) {
            switch (pass) {
                case 1: y = 4; pass = 2; break;
                case 2: step = 4; y = 2; pass = 3; break;
                case 3: step = 2; y = 1; pass = 0; break;
                default: done = true; return;
            }
        }
    }
    void put(std::uint8_t v) {
        canvas[std::size_t(y + yoff) * canvas_w + std::size_t(x + xoff)] = v;
        if (++x >= xsize) newline();
    }
};

// PIL's GIF LZW decoder over the sub-blocks starting at data[pos].
inline status gif_lzw(const std::uint8_t* data, std::size_t size, std::size_t pos, int bits, gif_writer& out) {
    constexpr int k_table = 4096, k_max_bits = 12;
    if (bits < 0 || bits > 12) return status::fmt(errc::bad_format, "gif: LZW code size %d is out of range", bits);
    std::vector<std::uint8_t> buffer(k_table), suffix(k_table, 0);
    std::vector<std::uint16_t> link(k_table, 0);
    const int clear = 1 << bits, end = clear + 1;
    int next = 0, codesize = 0, codemask = 0;
    int state = 1;  // 1: reset table, 2: first code after a clear, 3: decoding
    int lastcode = 0;
    std::uint8_t lastdata = 0;
    std::uint32_t bitbuffer = 0;
    int bitcount = 0;
    std::size_t blocksize = 0;
    const status truncated(errc::truncated, "gif: image data ends before the frame is complete");
    const status broken(errc::bad_format, "gif: broken LZW data");
    for (;;) {
        if (state == 1) {
            next = clear + 2;
            codesize = bits + 1;
            codemask = (1 << codesize) - 1;
            state = 2;
        }
        while (bitcount < codesize) {
            if (blocksize > 0) {
                bitbuffer |= std::uint32_t(data[pos++]) << bitcount;
                bitcount += 8;
                --blocksize;
            } else {
                // PIL waits for a whole sub-block before it reads from it.
                if (pos >= size || size - pos < std::size_t(data[pos]) + 1) return truncated;
                blocksize = data[pos++];
            }
        }
        int c = int(bitbuffer & std::uint32_t(codemask));
        bitbuffer >>= codesize;
        bitcount -= codesize;
        if (c == clear) {
            if (state != 2) state = 1;
            continue;
        }
        if (c == end) return truncated;  // an end code before the frame is full
        // PIL emits the string's first byte (lastdata), then buffer[bi..k_table).
        int bi = k_table;
        if (state == 2) {
            if (c > clear) return broken;
            lastdata = std::uint8_t(c);
            lastcode = c;
            state = 3;
        } else {
            const int thiscode = c;
            if (c > next) return broken;
            if (c == next) {  // KwKwK: the previous string plus its own first byte
                buffer[std::size_t(--bi)] = lastdata;
                c = lastcode;
            }
            while (c >= clear) {
                if (bi <= 0 || c >= k_table) return broken;
                buffer[std::size_t(--bi)] = suffix[std::size_t(c)];
                c = link[std::size_t(c)];
            }
            lastdata = std::uint8_t(c);
            if (next < k_table) {
                suffix[std::size_t(next)] = std::uint8_t(c);
                link[std::size_t(next)] = std::uint16_t(lastcode);
                if (next == codemask && codesize < k_max_bits) {
                    ++codesize;
                    codemask = (1 << codesize) - 1;
                }
                ++next;
            }
            lastcode = thiscode;
        }
        out.put(lastdata);
        if (out.done) return status::ok();
        for (int i = bi; i < k_table; ++i) {
            out.put(buffer[std::size_t(i)]);
            if (out.done) return status::ok();
        }
    }
}

}  // namespace detail

inline result<image> decode_gif(const std::uint8_t* data, std::size_t size, const image_limits& lim = {}) {
    using namespace detail;
    if (!data || size == 0) return status(errc::truncated, "gif: the file is empty");
    if (!is_gif(data, size)) return status(errc::bad_format, "gif: not a GIF file (no GIF87a/GIF89a signature)");
    if (size < 13) return status(errc::truncated, "gif: file ends inside the screen descriptor");
    const status truncated(errc::truncated, "gif: file ends before the first image");
    std::int64_t width = std::int64_t(data[6] | data[7] << 8), height = std::int64_t(data[8] | data[9] << 8);
    std::size_t pos = 13;
    const std::uint8_t* global = nullptr;
    std::size_t global_n = 0;
    if (data[10] & 0x80) {
        std::size_t n = std::size_t(1) << ((data[10] & 7) + 1);
        if (size - pos < 3 * n) return truncated;
        if (gif_palette_needed(data + pos, n)) {
            global = data + pos;
            global_n = n;
        }
        pos += 3 * n;
    }
    // PIL's data(): one sub-block; nullptr at a zero length or at the end of the file.
    std::size_t blk_len = 0;
    auto sub_block = [&]() -> const std::uint8_t* {
        if (pos >= size || data[pos] == 0) {
            if (pos < size) ++pos;
            return nullptr;
        }
        std::size_t n = data[pos++];
        if (n > size - pos) n = size - pos;
        const std::uint8_t* b = data + pos;
        pos += n;
        blk_len = n;
        return b;
    };
    int transparency = -1;
    bool found = false;
    int fx = 0, fy = 0, fw = 0, fh = 0, lzw_bits = 0;
    bool interlaced = false;
    const std::uint8_t* palette = global;
    std::size_t palette_n = global_n;
    while (pos < size && data[pos] != ';') {
        const std::uint8_t tag = data[pos++];
        if (tag == '!') {
            if (pos >= size) return truncated;
            const std::uint8_t label = data[pos++];
            const std::uint8_t* b = sub_block();
            if (label == 0xF9 && b) {
                if (blk_len < 3 || ((b[0] & 1) && blk_len < 4))
                    return status(errc::bad_format, "gif: graphic control extension too short");
                if (b[0] & 1) transparency = b[3];
            } else if (label == 0xFE) {
                while (b) b = sub_block();
                continue;
            } else if (label == 0xFF && b && blk_len >= 11 && std::memcmp(b, "NETSCAPE2.0", 11) == 0) {
                (void)sub_block();
            }
            while (sub_block()) {
            }
        } else if (tag == ',') {
            if (size - pos < 9) return truncated;
            const std::uint8_t* d = data + pos;
            fx = d[0] | d[1] << 8;
            fy = d[2] | d[3] << 8;
            fw = d[4] | d[5] << 8;
            fh = d[6] | d[7] << 8;
            const std::uint8_t flags = d[8];
            pos += 9;
            interlaced = (flags & 0x40) != 0;
            if (flags & 0x80) {
                std::size_t n = std::size_t(1) << ((flags & 7) + 1);
                if (size - pos < 3 * n) return truncated;
                if (gif_palette_needed(data + pos, n)) {
                    palette = data + pos;
                    palette_n = n;
                } else {
                    palette = nullptr;  // PIL: identity ramp -> mode "L"
                    palette_n = 0;
                }
                pos += 3 * n;
            }
            if (pos >= size) return truncated;
            lzw_bits = data[pos++];
            found = true;
            break;
        }
        // anything else: PIL skips the byte
    }
    if (!found) return status(errc::bad_format, "gif: no image in the file");
    if (std::int64_t(fx) + fw > width) width = std::int64_t(fx) + fw;
    if (std::int64_t(fy) + fh > height) height = std::int64_t(fy) + fh;
    SMOLVLM_TRY(check_pil_bomb(width, height, "gif"));
    const bool alpha = transparency >= 0;
    const int channels = (palette ? 3 : 1) + (alpha ? 1 : 0);
    SMOLVLM_TRY(check_image_limits(width, height, channels, lim, "gif"));
    if (fw == 0 || fh == 0) return status(errc::bad_format, "gif: the first frame is empty (PIL: tile outside image)");

    const std::size_t W = std::size_t(width), H = std::size_t(height);
    std::vector<std::uint8_t> canvas(W * H, std::uint8_t(alpha ? transparency : 0));
    gif_writer wr{canvas.data(), W, fx, fy, fw, fh};
    wr.start(interlaced);
    SMOLVLM_TRY(gif_lzw(data, size, pos, lzw_bits, wr));

    image img;
    img.width = int(W);
    img.height = int(H);
    img.channels = channels;
    img.pixels.resize(W * H * std::size_t(channels));
    std::uint8_t* d = img.pixels.data();
    for (std::size_t i = 0; i < W * H; ++i) {
        const std::uint8_t v = canvas[i];
        if (palette) {
            if (v < palette_n) {
                std::memcpy(d, palette + 3 * std::size_t(v), 3);
            } else {
                d[0] = d[1] = d[2] = 0;
            }
            d += 3;
        } else {
            *d++ = v;
        }
        if (alpha) *d++ = v == transparency ? 0 : 255;
    }
    return img;
}

}  // namespace smolvlm
