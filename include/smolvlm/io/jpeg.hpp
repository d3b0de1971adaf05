// smolvlm/io/jpeg.hpp — JPEG decoder (ITU-T T.81) that reproduces Pillow's pixels.
//
//   result<image> decode_jpeg(const uint8_t* data, size_t size, const image_limits& = {});
//   int           jpeg_orientation(const uint8_t* data, size_t size);  // 1..8, see io/exif.hpp
//
// The reference is Pillow: Image.open(f).convert("RGB"), i.e. libjpeg-turbo (3.x, bundled
// with the PyPI wheels) with its defaults, behind Pillow's own header parser. Everything
// Pillow opens decodes here with identical pixels:
//   * SOF0/SOF1 sequential, SOF2 progressive, SOF9/SOF10 arithmetic (with DAC conditioning)
//     and SOF3 lossless (Huffman, any predictor and point transform), 8-bit samples;
//   * 1 component (gray -> 1 channel), 3 (YCbCr, or RGB when an Adobe APP14 transform 0 or
//     the component ids 'R','G','B' say so -> 3 channels), 4 (CMYK, or YCCK for Adobe
//     transform 2 -> RGB by Pillow's own rule, Convert.c cmyk2rgb, see emit_rows below);
//   * every sampling factor 1..4 per component that libjpeg accepts (integral ratios):
//     "fancy" triangular upsampling for 2:1 horizontal and 2:1 vertical ratios (h2v1, h1v2,
//     h2v2, as libjpeg-turbo picks them), plain replication for the other ratios, for planes
//     of 2 samples or fewer, and for lossless files;
//   * the ISLOW integer IDCT with the exact arithmetic of libjpeg-turbo's x86 SIMD version
//     (16-bit dequantization and intermediate sums, saturation between the passes): equal to
//     the C version for valid data, and what Pillow does on x86-64 for corrupt data;
//   * progressive files missing scans: libjpeg's interblock smoothing (jdcoefct.c) estimates
//     the unsent low-frequency coefficients, as in Pillow;
//   * restart markers, and corrupt entropy data the way libjpeg-turbo recovers from it: a bad
//     Huffman code decodes as symbol 0, a marker inside the data feeds zero bits, the rest of
//     that restart interval stays gray (zero coefficients), lost restart markers are resynced
//     (jpeg_resync_to_restart), an arithmetic-coding error skips the rest of the interval;
//   * MJPEG frames without DHT (the standard tables of T.81 Annex K.3, sequential Huffman only).
// Errors, as in Pillow: a file cut short (the data runs out inside a scan or before the EOI
// of a multi-scan file; a single-scan file whose scan ends at a marker may lack its EOI),
// 12-bit (or other non-8-bit)
// samples, 2-component files, hierarchical (SOF5-7, 13-15), lossless arithmetic (SOF11),
// lossless YCbCr/YCCK colour, fractional sampling ratios, markers libjpeg rejects.
// Known differences: Pillow feeds libjpeg 64 KiB at a time and libjpeg's arithmetic decoder
// cannot suspend, so Pillow fails on arithmetic-coded files larger than that; we decode them.
// A scan whose data runs into the end of the file is an error here; libjpeg-in-Pillow
// occasionally finishes such a file (only EOI missing) when its last refill did not need the
// missing bytes. Data after a complete image is ignored by both.
//
// Speed (one thread): Huffman codes and their value bits are decoded with one 10-bit lookup;
// single-scan files are converted two MCU rows at a time (no whole-image planes); the IDCT is
// SSE2 (two blocks per AVX2 pass when the CPU has it), upsampling SSE2, YCbCr -> RGB SSE2/AVX2,
// each bit-identical to the scalar reference code (tests/io/jpeg_test.cpp). A 12-megapixel
// baseline 4:2:0 photo decodes in about 1.2x the time of libjpeg-turbo's djpeg.
//
// Orientation: image::orientation is what ImageOps.exif_transpose() would apply (EXIF from
// the APP1 "Exif" segments, concatenated as Pillow does; XMP tiff:Orientation when the EXIF
// has no such tag; only segments before the first scan count). It is not applied here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "../core/cpu.hpp"
#include "../core/status.hpp"
#include "exif.hpp"
#include "image.hpp"
#include "jpeg_color.hpp"
#include "jpeg_idct.hpp"

namespace smolvlm {

inline bool is_jpeg(const std::uint8_t* data, std::size_t size) {
    return data && size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

namespace detail {

// Zigzag index -> natural (row-major) index, with 16 extra entries so that a corrupt run
// length that overshoots position 63 lands on 63 (as in libjpeg) instead of outside the block.
constexpr std::uint8_t k_jpeg_natural[64 + 16] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13,
    6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31,
    39, 46, 53, 60, 61, 54, 47, 55, 62, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63};

// ---------------------------------------------------------------------------------------
// Huffman tables (T.81 Annex C; decoding per F.2.2.3)
// ---------------------------------------------------------------------------------------

// A table as defined by DHT (or Annex K.3): counts per code length and the symbols.
struct jpeg_huff_spec {
    bool defined = false;
    std::uint8_t bits[17] = {};  // bits[l]: number of codes of length l (1..16)
    std::uint8_t vals[256] = {};
};

// The standard tables of Annex K.3 (K.3.3.1 DC, K.3.3.2 AC) that libjpeg installs for
// sequential Huffman scans whose tables were never defined (motion-JPEG frames).
inline void jpeg_std_table(jpeg_huff_spec& t, bool dc, bool chroma) {
    t = jpeg_huff_spec{};
    t.defined = true;
    if (dc) {
        static constexpr std::uint8_t lum[17] = {0, 0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0};
        static constexpr std::uint8_t chr[17] = {0, 0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0};
        std::memcpy(t.bits, chroma ? chr : lum, 17);
        for (int i = 0; i < 12; ++i) t.vals[i] = std::uint8_t(i);
        return;
    }
    // The AC tables list the short codes' symbols explicitly; the 16-bit codes then take every
    // other run/size symbol (sizes 1..10) in increasing order.
    static constexpr std::uint8_t lum_bits[17] = {0, 0, 2, 1, 3, 3, 2, 4, 3, 5, 5, 4, 4, 0, 0, 1, 125};
    static constexpr std::uint8_t lum_head[37] = {
        0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13, 0x51, 0x61, 0x07, 0x22, 0x71, 0x14,
        0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1, 0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82};
    static constexpr std::uint8_t chr_bits[17] = {0, 0, 2, 1, 2, 4, 4, 3, 4, 7, 5, 4, 4, 0, 1, 2, 119};
    static constexpr std::uint8_t chr_head[43] = {
        0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51, 0x07, 0x61,
        0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09, 0x23, 0x33,
        0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1};
    const std::uint8_t* head = chroma ? chr_head : lum_head;
    const int n_head = chroma ? 43 : 37;
    std::memcpy(t.bits, chroma ? chr_bits : lum_bits, 17);
    bool used[256] = {};
    int n = 0;
    for (int i = 0; i < n_head; ++i) used[head[i]] = true, t.vals[n++] = head[i];
    for (int run = 0; run < 16; ++run)
        for (int size = 1; size <= 10; ++size) {
            int sym = run << 4 | size;
            if (!used[sym]) t.vals[n++] = std::uint8_t(sym);
        }
}

constexpr int k_jpeg_lookahead = 9;

// A table ready for decoding: a direct lookup on the next 9 bits, then F.16's canonical walk.
struct jpeg_huff_table {
    std::uint16_t fast[1 << k_jpeg_lookahead];  // (length << 8) | symbol; 0 = longer code
    std::int32_t maxcode[18];                   // largest code of each length, -1 if none
    std::int32_t valoffset[18];                 // symbol index = code + valoffset[length]
    std::uint8_t vals[256];
    // Sequential scans: code and value bits decoded together from the next 10 bits when they
    // fit: (value << 16) | (run << 8) | total length; 0 = not in the table (EOB, ZRL, long).
    std::int32_t fast_value[1 << 10];
};

// T.81 F.2.2.1 EXTEND.
inline int jpeg_extend(std::uint32_t v, int s) {
    return s == 0 ? 0 : (v < (1u << (s - 1)) ? int(v) - (1 << s) + 1 : int(v));
}

// Fill h.fast_value from the table's codes (DC: the symbol is the size; AC: run/size).
inline void jpeg_build_fast_values(jpeg_huff_table& h, const jpeg_huff_spec& s, bool is_dc) {
    std::memset(h.fast_value, 0, sizeof(h.fast_value));
    int code = 0, k = 0;
    for (int l = 1; l <= 10; ++l) {
        for (int i = 0; i < s.bits[l]; ++i, ++k, ++code) {
            const int sym = s.vals[k];
            const int run = is_dc ? 0 : sym >> 4, size = is_dc ? sym : sym & 15;
            if (is_dc ? size > 15 : size == 0) continue;  // EOB / ZRL (and bad DC sizes) take the slow path
            if (l + size > 10) continue;
            for (int v = 0; v < (1 << size); ++v) {
                const int prefix = (code << size | v) << (10 - l - size);
                const std::int32_t e = std::int32_t(std::uint32_t(jpeg_extend(std::uint32_t(v), size)) << 16) |
                                       run << 8 | (l + size);
                for (int f = 0; f < (1 << (10 - l - size)); ++f) h.fast_value[prefix | f] = e;
            }
        }
        code <<= 1;
    }
}

// libjpeg's jpeg_make_d_derived_tbl, with its checks (done when a scan uses the table).
inline status jpeg_build_table(jpeg_huff_table& h, const jpeg_huff_spec& s, bool is_dc, bool lossless) {
    int n = 0;
    for (int l = 1; l <= 16; ++l) n += s.bits[l];
    if (n > 256) return status(errc::bad_format, "jpeg: Huffman table has more than 256 symbols");
    std::memcpy(h.vals, s.vals, sizeof(h.vals));
    std::memset(h.fast, 0, sizeof(h.fast));
    std::int32_t code = 0;
    int k = 0;
    for (int l = 1; l <= 16; ++l) {
        h.valoffset[l] = k - code;
        for (int i = 0; i < s.bits[l]; ++i, ++k, ++code) {
            if (code >= (1 << l)) return status(errc::bad_format, "jpeg: over-subscribed Huffman table");
            if (l <= k_jpeg_lookahead) {
                int shift = k_jpeg_lookahead - l;
                for (int f = 0; f < (1 << shift); ++f) h.fast[(code << shift) | f] = std::uint16_t(l << 8 | s.vals[k]);
            }
        }
        // The codes of length l must fit in l bits, and the all-ones code is reserved (C.2).
        if (s.bits[l] && code >= (1 << l)) return status(errc::bad_format, "jpeg: over-subscribed Huffman table");
        h.maxcode[l] = s.bits[l] ? code - 1 : -1;
        code <<= 1;
    }
    h.maxcode[17] = 0xFFFFF;  // sentinel: a corrupt code stops after 17 bits
    h.valoffset[17] = 0;
    if (is_dc)
        for (int i = 0; i < n; ++i)
            if (s.vals[i] > (lossless ? 16 : 15))
                return status::fmt(errc::bad_format, "jpeg: DC Huffman table has symbol %d", s.vals[i]);
    return status::ok();
}

// ---------------------------------------------------------------------------------------
// Entropy-coded data: libjpeg's byte rules
// ---------------------------------------------------------------------------------------

// Reading position in the file plus libjpeg's `unread_marker`: the code of a marker that
// the entropy decoder ran into (0 = none). Reaching the end of the data sets `eof` (where
// Pillow's libjpeg would suspend for more input and Pillow then reports a truncated file).
struct jpeg_source {
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;
    std::size_t pos = 0;
    int unread_marker = 0;
    bool eof = false;

    // libjpeg's next_marker(): skip any non-marker bytes (and FF00 pairs), swallow fill
    // FFs, and leave the marker code in unread_marker. False at the end of the data.
    bool next_marker() {
        for (;;) {
            while (pos < size && data[pos] != 0xFF) ++pos;
            while (pos < size && data[pos] == 0xFF) ++pos;
            if (pos >= size) {
                eof = true;
                return false;
            }
            int c = data[pos++];
            if (c != 0) {
                unread_marker = c;
                return true;
            }
        }
    }

    // One byte for the arithmetic decoder (jdarith.c get_byte + its marker handling).
    int arith_byte() {
        if (unread_marker) return 0;
        if (pos >= size) {
            eof = true;
            return 0;
        }
        int c = data[pos++];
        if (c != 0xFF) return c;
        do {
            if (pos >= size) {
                eof = true;
                return 0;
            }
            c = data[pos++];
        } while (c == 0xFF);
        if (c == 0) return 0xFF;
        unread_marker = c;  // a marker ends the data: zeros from now on (legal in arithmetic coding)
        return 0;
    }

    // libjpeg's read_restart_marker() with jpeg_resync_to_restart(): expects RST`n`.
    bool read_restart_marker(int n) {
        if (unread_marker == 0 && !next_marker()) return false;
        if (unread_marker == 0xD0 + n) {
            unread_marker = 0;
            return true;
        }
        int marker = unread_marker;
        for (;;) {
            int action;
            if (marker < 0xC0) action = 2;  // invalid marker: skip it
            else if (marker < 0xD0 || marker > 0xD7) action = 3;  // another marker: leave it
            else if (marker == 0xD0 + ((n + 1) & 7) || marker == 0xD0 + ((n + 2) & 7)) action = 3;
            else if (marker == 0xD0 + ((n - 1) & 7) || marker == 0xD0 + ((n - 2) & 7)) action = 2;
            else action = 1;
            if (action == 1) {
                unread_marker = 0;  // take it as the expected one
                return true;
            }
            if (action == 3) return true;  // the next interval decodes from an empty segment
            if (!next_marker()) return false;
            marker = unread_marker;
        }
    }
};

// Huffman bit reader with libjpeg's rules (jdhuff.c jpeg_fill_bit_buffer): FF (FF)* 00 is a
// data FF, FF (FF)* xx is a marker that ends the segment; past it, zero bits are supplied.
// `pad` counts those zero bits: once fewer than `pad` bits are left, the decoder has used
// bits that do not exist, i.e. libjpeg's `insufficient_data`.
struct jpeg_bits {
    std::uint64_t buf = 0;  // valid bits are the top `count`
    int count = 0;
    int pad = 0;

    void reset() { buf = 0, count = 0, pad = 0; }
    bool overrun() const { return count < pad; }

    void fill(jpeg_source& src) {
        const std::uint8_t* d = src.data;
        std::size_t p = src.pos;
        const std::size_t n = src.size;
        // Fast path: 8 bytes without FF.
        if (src.unread_marker == 0 && n - p >= 8 && p <= n) {
            std::uint64_t w;
            std::memcpy(&w, d + p, 8);
#if defined(__GNUC__) || defined(__clang__)
            w = __builtin_bswap64(w);
#else
            w = 0;
            for (int i = 0; i < 8; ++i) w = w << 8 | d[p + std::size_t(i)];
#endif
            std::uint64_t t = ~w;
            if (((t - 0x0101010101010101ull) & ~t & 0x8080808080808080ull) == 0) {
                int k = (64 - count) >> 3;  // whole bytes that fit
                std::uint64_t take = k == 8 ? w : (w & ~((std::uint64_t(1) << (64 - 8 * k)) - 1));
                buf |= take >> count;
                count += 8 * k;
                src.pos = p + std::size_t(k);
                return;
            }
        }
        while (count <= 56) {
            std::uint32_t c = 0;
            if (src.unread_marker != 0 || src.eof) {
                pad += 8;
            } else if (p >= n) {
                src.eof = true;
                pad += 8;
            } else {
                c = d[p++];
                if (c == 0xFF) {
                    while (p < n && d[p] == 0xFF) ++p;
                    if (p >= n) {
                        src.eof = true;
                        c = 0;
                        pad += 8;
                    } else if (d[p] == 0) {
                        ++p;
                    } else {
                        src.unread_marker = d[p++];
                        c = 0;
                        pad += 8;
                    }
                }
            }
            buf |= std::uint64_t(c) << (56 - count);
            count += 8;
        }
        src.pos = p;
    }
    std::uint32_t get(jpeg_source& src, int n) {  // n in 0..16
        if (n == 0) return 0;
        if (count < n) fill(src);
        std::uint32_t v = std::uint32_t(buf >> (64 - n));
        buf <<= n;
        count -= n;
        return v;
    }
    // One Huffman symbol. A code longer than 16 bits (corrupt data) consumes 17 bits and
    // decodes as symbol 0, as in libjpeg.
    int decode(jpeg_source& src, const jpeg_huff_table& h) {
        if (count < 16) fill(src);
        std::uint16_t e = h.fast[buf >> (64 - k_jpeg_lookahead)];
        if (SMOLVLM_LIKELY(e != 0)) {
            int len = e >> 8;
            buf <<= len;
            count -= len;
            return e & 0xFF;
        }
        for (int len = k_jpeg_lookahead + 1; len <= 16; ++len) {
            std::int32_t code = std::int32_t(buf >> (64 - len));
            if (code <= h.maxcode[len]) {
                buf <<= len;
                count -= len;
                return h.vals[(code + h.valoffset[len]) & 0xFF];
            }
        }
        if (count < 17) fill(src);
        buf <<= 17;
        count -= 17;
        return 0;
    }
};

// ---------------------------------------------------------------------------------------
// Arithmetic decoding (T.81 Annex D; Table D.2 probability estimation)
// ---------------------------------------------------------------------------------------

struct jpeg_qe {
    std::uint16_t qe;
    std::uint8_t nlps, nmps, swtch;
};
// Table D.2 (Qe, Next_Index_LPS, Next_Index_MPS, Switch_MPS), plus entry 113: the fixed
// probability 0.5 used for sign and refinement bits (T.851 Table 5).
constexpr jpeg_qe k_jpeg_qe[114] = {
    {0x5a1d, 1, 1, 1},     {0x2586, 14, 2, 0},    {0x1114, 16, 3, 0},    {0x080b, 18, 4, 0},    {0x03d8, 20, 5, 0},
    {0x01da, 23, 6, 0},    {0x00e5, 25, 7, 0},    {0x006f, 28, 8, 0},    {0x0036, 30, 9, 0},    {0x001a, 33, 10, 0},
    {0x000d, 35, 11, 0},   {0x0006, 9, 12, 0},    {0x0003, 10, 13, 0},   {0x0001, 12, 13, 0},   {0x5a7f, 15, 15, 1},
    {0x3f25, 36, 16, 0},   {0x2cf2, 38, 17, 0},   {0x207c, 39, 18, 0},   {0x17b9, 40, 19, 0},   {0x1182, 42, 20, 0},
    {0x0cef, 43, 21, 0},   {0x09a1, 45, 22, 0},   {0x072f, 46, 23, 0},   {0x055c, 48, 24, 0},   {0x0406, 49, 25, 0},
    {0x0303, 51, 26, 0},   {0x0240, 52, 27, 0},   {0x01b1, 54, 28, 0},   {0x0144, 56, 29, 0},   {0x00f5, 57, 30, 0},
    {0x00b7, 59, 31, 0},   {0x008a, 60, 32, 0},   {0x0068, 62, 33, 0},   {0x004e, 63, 34, 0},   {0x003b, 32, 35, 0},
    {0x002c, 33, 9, 0},    {0x5ae1, 37, 37, 1},   {0x484c, 64, 38, 0},   {0x3a0d, 65, 39, 0},   {0x2ef1, 67, 40, 0},
    {0x261f, 68, 41, 0},   {0x1f33, 69, 42, 0},   {0x19a8, 70, 43, 0},   {0x1518, 72, 44, 0},   {0x1177, 73, 45, 0},
    {0x0e74, 74, 46, 0},   {0x0bfb, 75, 47, 0},   {0x09f8, 77, 48, 0},   {0x0861, 78, 49, 0},   {0x0706, 79, 50, 0},
    {0x05cd, 48, 51, 0},   {0x04de, 50, 52, 0},   {0x040f, 50, 53, 0},   {0x0363, 51, 54, 0},   {0x02d4, 52, 55, 0},
    {0x025c, 53, 56, 0},   {0x01f8, 54, 57, 0},   {0x01a4, 55, 58, 0},   {0x0160, 56, 59, 0},   {0x0125, 57, 60, 0},
    {0x00f6, 58, 61, 0},   {0x00cb, 59, 62, 0},   {0x00ab, 61, 63, 0},   {0x008f, 61, 32, 0},   {0x5b12, 65, 65, 1},
    {0x4d04, 80, 66, 0},   {0x412c, 81, 67, 0},   {0x37d8, 82, 68, 0},   {0x2fe8, 83, 69, 0},   {0x293c, 84, 70, 0},
    {0x2379, 86, 71, 0},   {0x1edf, 87, 72, 0},   {0x1aa9, 87, 73, 0},   {0x174e, 72, 74, 0},   {0x1424, 72, 75, 0},
    {0x119c, 74, 76, 0},   {0x0f6b, 74, 77, 0},   {0x0d51, 75, 78, 0},   {0x0bb6, 77, 79, 0},   {0x0a40, 77, 48, 0},
    {0x5832, 80, 81, 1},   {0x4d1c, 88, 82, 0},   {0x438e, 89, 83, 0},   {0x3bdd, 90, 84, 0},   {0x34ee, 91, 85, 0},
    {0x2eae, 92, 86, 0},   {0x299a, 93, 87, 0},   {0x2516, 86, 71, 0},   {0x5570, 88, 89, 1},   {0x4ca9, 95, 90, 0},
    {0x44d9, 96, 91, 0},   {0x3e22, 97, 92, 0},   {0x3824, 99, 93, 0},   {0x32b4, 99, 94, 0},   {0x2e17, 93, 86, 0},
    {0x56a8, 95, 96, 1},   {0x4f46, 101, 97, 0},  {0x47e5, 102, 98, 0},  {0x41cf, 103, 99, 0},  {0x3c3d, 104, 100, 0},
    {0x375e, 99, 93, 0},   {0x5231, 105, 102, 0}, {0x4c0f, 106, 103, 0}, {0x4639, 107, 104, 0}, {0x415e, 103, 99, 0},
    {0x5627, 105, 106, 1}, {0x50e7, 108, 107, 0}, {0x4b85, 109, 103, 0}, {0x5597, 110, 109, 0}, {0x504f, 111, 107, 0},
    {0x5a10, 110, 111, 1}, {0x5522, 112, 109, 0}, {0x59eb, 112, 111, 1}, {0x5a1d, 113, 113, 0}};

// The decoder registers of D.2 (C with the input bits below it, A, and the shift counter
// `ct`: -16 before the first two bytes are in, -1 after an error until the next restart).
// A statistics bin is one byte: MPS sense in bit 7, Table D.2 index in bits 0..6.
struct jpeg_arith {
    std::int64_t c = 0, a = 0;
    int ct = -16;

    void reset() { c = 0, a = 0, ct = -16; }

    int decode(jpeg_source& src, std::uint8_t* st) {
        while (a < 0x8000) {  // renormalization and byte input (D.2.6)
            if (--ct < 0) {
                c = (c << 8) | src.arith_byte();
                if ((ct += 8) < 0) {
                    if (++ct == 0) a = 0x8000;  // the two initial bytes are in
                }
            }
            a <<= 1;
        }
        int sv = *st;
        const jpeg_qe& q = k_jpeg_qe[sv & 0x7F];
        const std::int64_t qe = q.qe;
        std::int64_t temp = a - qe;
        a = temp;
        temp <<= ct;
        if (c >= temp) {  // LPS sub-interval (with the conditional exchange of D.2.4)
            c -= temp;
            if (a < qe) {
                a = qe;
                *st = std::uint8_t((sv & 0x80) ^ q.nmps);
            } else {
                a = qe;
                *st = std::uint8_t((sv & 0x80) ^ (q.nlps | q.swtch << 7));
                sv ^= 0x80;
            }
        } else if (a < 0x8000) {  // MPS, with renormalization pending
            if (a < qe) {
                *st = std::uint8_t((sv & 0x80) ^ (q.nlps | q.swtch << 7));
                sv ^= 0x80;
            } else {
                *st = std::uint8_t((sv & 0x80) ^ q.nmps);
            }
        }
        return sv >> 7;
    }
};

// ---------------------------------------------------------------------------------------
// Decoder
// ---------------------------------------------------------------------------------------

struct jpeg_component {
    int id = 0, h = 1, v = 1, tq = 0;
    int td = 0, ta = 0;              // table selectors of the current scan
    int dw = 0, dh = 0;              // downsampled size in samples (libjpeg's downsampled_width/height)
    int bw = 0, bh = 0;              // width_in_blocks / height_in_blocks (samples when lossless)
    int bw_pad = 0, bh_pad = 0;      // rounded up to whole MCUs
    bool qt_latched = false;         // quantization table copied at the component's first scan
    std::uint16_t qv[64] = {};       // latched table, natural order
    std::int16_t qt[64] = {};        // the same as libjpeg's 16-bit ISLOW multiplier table
    int coef_bits[64];               // progressive: Al of the last scan of each coefficient, -1 = none
    int prev_coef_bits[64];          // the same before the latest scan of this component
    std::vector<std::int16_t> coef;  // multi-scan files: [bh_pad, bw_pad, 64], natural order
    std::unique_ptr<std::uint8_t[]> plane;  // samples: [bh * 8, bw * 8] (lossless: [bh, bw]); every
                                            // DCT sample is written by the IDCT: not zeroed first
    std::size_t stride = 0;
    int ring_rows = 0;               // rows kept in `plane` (rows are stored at r % ring_rows)
    bool first_row = true;           // lossless: next row is undifferenced with the initial predictor
    std::vector<std::int32_t> diff;  // lossless: [v, bw_pad] differences of one MCU row group
    std::vector<std::int32_t> undiff;// lossless: [v, bw_pad] reconstructed values

    std::int16_t* block(int by, int bx) {
        return &coef[(std::size_t(by) * std::size_t(bw_pad) + std::size_t(bx)) * 64];
    }
};

// Pillow's metadata: APP1 segments before the first scan.
struct jpeg_meta {
    std::vector<std::uint8_t> exif;  // Pillow's info["exif"]: first "Exif" APP1, then later ones minus their header
    bool has_exif = false;
    const std::uint8_t* xmp = nullptr;  // info["xmp"]: the last XMP APP1 after its namespace
    std::size_t xmp_size = 0;

    void app1(const std::uint8_t* s, std::size_t n) {
        static constexpr char ns[] = "http://ns.adobe.com/xap/1.0/";
        if (n >= 6 && std::memcmp(s, "Exif\0\0", 6) == 0) {
            if (!has_exif) exif.assign(s, s + n);
            else exif.insert(exif.end(), s + 6, s + n);
            has_exif = true;
        } else if (n >= sizeof(ns) && std::memcmp(s, ns, sizeof(ns)) == 0) {  // includes the NUL
            xmp = s + sizeof(ns);
            xmp_size = n - sizeof(ns);
        }
    }
    int orientation() const {
        orientation_tag e = has_exif ? exif_orientation_tag(exif.data(), exif.size()) : orientation_tag{};
        orientation_tag x = xmp_orientation_tag(xmp, xmp_size);
        return pil_orientation(e, x);
    }
};

struct jpeg_decoder {
    jpeg_source src;
    image_limits lim;
    jpeg_meta meta;

    // Tables.
    std::uint16_t qt[4][64] = {};
    bool qt_defined[4] = {};
    jpeg_huff_spec dc_spec[4], ac_spec[4];
    jpeg_huff_table dc_tbl[4], ac_tbl[4];  // derived for the scan being decoded
    std::uint8_t arith_dc_l[16], arith_dc_u[16], arith_ac_k[16];

    // Frame.
    bool saw_sof = false, progressive = false, lossless = false, arith = false;
    int width = 0, height = 0, n_comp = 0;
    jpeg_component comp[4];
    int hmax = 1, vmax = 1, total_rows = 0;  // total_rows: libjpeg's total_iMCU_rows
    int restart_interval = 0;
    bool saw_jfif = false, saw_adobe = false;
    int adobe_transform = 0;

    // Scans.
    bool inheaders = true, multi_scan = false, any_scan_done = false;
    int input_scan_number = 0;
    int comps_in_scan = 0, scan_comp[4] = {};
    int ss = 0, se = 0, ah = 0, al = 0;
    int next_restart_num = 0;
    int last_good_row = 0;  // libjpeg's last_good_iMCU_row (block smoothing)
    int mcus_per_row = 0;

    // Entropy decoder state.
    jpeg_bits bits;
    jpeg_arith ar;
    bool insufficient = false;
    int last_dc[4] = {}, dc_context[4] = {};
    unsigned eobrun = 0;
    unsigned restarts_to_go = 0;
    std::uint8_t dc_stats[16][64], ac_stats[16][256];
    std::uint8_t fixed_bin = 113;

    std::uint32_t be16(std::size_t at) const { return std::uint32_t(src.data[at]) << 8 | src.data[at + 1]; }

    status truncated(const char* where) const {
        return status::fmt(errc::truncated, "jpeg: file ends %s (byte %zu)", where, src.size);
    }

    // The 2-byte length of a marker segment; `len` excludes those two bytes (may be < 0).
    status read_length(long* len) {
        if (src.size - src.pos < 2) return truncated("inside a marker segment");
        *len = long(be16(src.pos)) - 2;
        src.pos += 2;
        return status::ok();
    }
    // A segment whose whole body must be present (libjpeg reads it; Pillow suspends on EOF).
    status need(std::size_t n) {
        if (n > src.size - src.pos) return truncated("inside a marker segment");
        return status::ok();
    }

    // ---- marker segments (jdmarker.c) ----
    status read_dqt() {
        long len = 0;
        SMOLVLM_TRY(read_length(&len));
        while (len > 0) {
            SMOLVLM_TRY(need(1));
            int n = src.data[src.pos++];
            int prec = n >> 4;
            n &= 15;
            if (n >= 4) return status::fmt(errc::bad_format, "jpeg: quantization table id %d > 3", n);
            std::size_t bytes = prec ? 128 : 64;
            SMOLVLM_TRY(need(bytes));
            for (int i = 0; i < 64; ++i)
                qt[n][k_jpeg_natural[i]] = prec ? std::uint16_t(be16(src.pos + 2 * std::size_t(i))) : src.data[src.pos + std::size_t(i)];
            src.pos += bytes;
            qt_defined[n] = true;
            len -= long(bytes) + 1;
        }
        if (len != 0) return status(errc::bad_format, "jpeg: DQT segment length does not match its tables");
        return status::ok();
    }

    status read_dht() {
        long len = 0;
        SMOLVLM_TRY(read_length(&len));
        while (len > 16) {
            SMOLVLM_TRY(need(17));
            int index = src.data[src.pos];
            std::uint8_t counts[17] = {0};
            int count = 0;
            for (int i = 1; i <= 16; ++i) count += counts[i] = src.data[src.pos + std::size_t(i)];
            src.pos += 17;
            len -= 17;
            if (count > 256 || long(count) > len) return status(errc::bad_format, "jpeg: bad Huffman table (DHT)");
            SMOLVLM_TRY(need(std::size_t(count)));
            jpeg_huff_spec* t;
            if (index & 0x10) {
                index -= 0x10;
                if (index >= 4) return status::fmt(errc::bad_format, "jpeg: Huffman table id %d > 3", index);
                t = &ac_spec[index];
            } else {
                if (index >= 4) return status::fmt(errc::bad_format, "jpeg: Huffman table id %d > 3", index);
                t = &dc_spec[index];
            }
            t->defined = true;
            std::memcpy(t->bits, counts, 17);
            std::memset(t->vals, 0, sizeof(t->vals));
            std::memcpy(t->vals, src.data + src.pos, std::size_t(count));
            src.pos += std::size_t(count);
            len -= count;
        }
        if (len != 0) return status(errc::bad_format, "jpeg: DHT segment length does not match its tables");
        return status::ok();
    }

    status read_dac() {
        long len = 0;
        SMOLVLM_TRY(read_length(&len));
        while (len > 0) {
            SMOLVLM_TRY(need(2));
            int index = src.data[src.pos], val = src.data[src.pos + 1];
            src.pos += 2;
            len -= 2;
            if (index >= 32) return status::fmt(errc::bad_format, "jpeg: arithmetic conditioning table id %d", index);
            if (index >= 16) {
                arith_ac_k[index - 16] = std::uint8_t(val);
            } else {
                arith_dc_l[index] = std::uint8_t(val & 15);
                arith_dc_u[index] = std::uint8_t(val >> 4);
                if (arith_dc_l[index] > arith_dc_u[index])
                    return status(errc::bad_format, "jpeg: DC conditioning with L > U (DAC)");
            }
        }
        if (len != 0) return status(errc::bad_format, "jpeg: DAC segment length does not match its entries");
        return status::ok();
    }

    status read_dri() {
        SMOLVLM_TRY(need(2));
        if (be16(src.pos) != 4) return status(errc::bad_format, "jpeg: DRI segment length is not 4");
        SMOLVLM_TRY(need(4));
        restart_interval = int(be16(src.pos + 2));
        src.pos += 4;
        return status::ok();
    }

    // APPn, COM, DNL: skipped; APP0 / APP14 examined by libjpeg, APP1 by Pillow.
    status read_app(int m) {
        long len = 0;
        SMOLVLM_TRY(read_length(&len));
        if (len <= 0) return status::ok();  // a bogus length skips nothing (libjpeg and Pillow)
        const std::size_t start = src.pos;
        const std::size_t avail = src.size - start;
        const std::uint8_t* s = src.data + start;
        if (m == 0xE0 && len >= 14 && avail >= 14 && std::memcmp(s, "JFIF\0", 5) == 0) saw_jfif = true;
        if (m == 0xEE && len >= 12 && avail >= 12 && std::memcmp(s, "Adobe", 5) == 0) {
            saw_adobe = true;
            adobe_transform = s[11];
        }
        if (std::size_t(len) > avail) return truncated("inside a marker segment");
        if (m == 0xE1 && inheaders) meta.app1(s, std::size_t(len));
        src.pos += std::size_t(len);
        return status::ok();
    }

    status read_sof(int m) {
        if (saw_sof) return status(errc::bad_format, "jpeg: more than one frame (SOF) marker");
        long len = 0;
        SMOLVLM_TRY(read_length(&len));
        SMOLVLM_TRY(need(6));
        const int precision = src.data[src.pos];
        height = int(be16(src.pos + 1));
        width = int(be16(src.pos + 3));
        n_comp = src.data[src.pos + 5];
        // Pillow's header parser refuses these before libjpeg sees the file.
        if (precision != 8)
            return status::fmt(errc::unsupported, "jpeg: %d-bit samples are not supported (Pillow reads 8-bit only)",
                               precision);
        if (n_comp != 1 && n_comp != 3 && n_comp != 4)
            return status::fmt(errc::unsupported, "jpeg: %d-component images are not supported", n_comp);
        if (m == 0xCB) return status(errc::unsupported, "jpeg: lossless arithmetic-coded JPEG (SOF11) is not supported");
        if (height == 0)
            return status(errc::unsupported, "jpeg: image height 0 (defined by a DNL marker) is not supported");
        if (width == 0) return status(errc::bad_format, "jpeg: image width is 0");
        if (len - 6 != 3 * long(n_comp)) return status(errc::bad_format, "jpeg: SOF length does not match its components");
        SMOLVLM_TRY(need(6 + 3 * std::size_t(n_comp)));
        saw_sof = true;
        progressive = m == 0xC2 || m == 0xCA;
        lossless = m == 0xC3;
        arith = m == 0xC9 || m == 0xCA;
        for (int i = 0; i < n_comp; ++i) {
            const std::uint8_t* p = src.data + src.pos + 6 + 3 * i;
            jpeg_component& c = comp[i];
            c.id = p[0];
            c.h = p[1] >> 4;
            c.v = p[1] & 15;
            c.tq = p[2];
        }
        src.pos += 6 + 3 * std::size_t(n_comp);
        // Pillow's decompression-bomb rule and the caller's limits, before anything is allocated.
        return check_image_limits(width, height, n_comp == 1 ? 1 : 3, lim, "jpeg");
    }

    // libjpeg's initial_setup (first SOS) and the checks of jpeg_start_decompress.
    status setup_frame() {
        if (height > 65500 || width > 65500) return status(errc::unsupported, "jpeg: image dimensions above 65500");
        hmax = vmax = 1;
        for (int i = 0; i < n_comp; ++i) {
            const jpeg_component& c = comp[i];
            if (c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4)
                return status::fmt(errc::bad_format, "jpeg: invalid sampling factors %dx%d", c.h, c.v);
            if (c.h > hmax) hmax = c.h;
            if (c.v > vmax) vmax = c.v;
        }
        for (int i = 0; i < n_comp; ++i)
            if (hmax % comp[i].h || vmax % comp[i].v)
                return status::fmt(errc::unsupported, "jpeg: fractional sampling (%dx%d in a %dx%d frame) is not supported",
                                   comp[i].h, comp[i].v, hmax, vmax);
        const int unit = lossless ? 1 : 8;
        // Colour conversions libjpeg performs for Pillow's modes ("L", "RGB", "CMYK").
        if (lossless && n_comp == 3 && !is_rgb())
            return status(errc::unsupported, "jpeg: lossless JPEG in YCbCr colour is not supported (libjpeg refuses it)");
        if (lossless && n_comp == 4 && is_ycck())
            return status(errc::unsupported, "jpeg: lossless JPEG in YCCK colour is not supported (libjpeg refuses it)");
        total_rows = int((std::int64_t(height) + unit * vmax - 1) / (unit * vmax));
        const int mcux = int((std::int64_t(width) + unit * hmax - 1) / (unit * hmax));
        std::uint64_t bytes = std::uint64_t(width) * std::uint64_t(height) * (n_comp == 1 ? 1u : 3u);
        for (int i = 0; i < n_comp; ++i) {
            jpeg_component& c = comp[i];
            c.dw = int((std::int64_t(width) * c.h + hmax - 1) / hmax);
            c.dh = int((std::int64_t(height) * c.v + vmax - 1) / vmax);
            c.bw = (c.dw + unit - 1) / unit;
            c.bh = (c.dh + unit - 1) / unit;
            c.bw_pad = mcux * c.h;
            c.bh_pad = total_rows * c.v;
            c.qt_latched = false;
            for (int k = 0; k < 64; ++k) c.coef_bits[k] = -1, c.prev_coef_bits[k] = -1;
            c.stride = std::size_t(c.bw) * std::size_t(unit);
            bytes += std::uint64_t(c.stride) *
                     std::uint64_t(!multi_scan && !lossless && 16 * c.v < c.bh * unit ? 16 * c.v : c.bh * unit);
            if (multi_scan && !lossless) bytes += std::uint64_t(c.bw_pad) * std::uint64_t(c.bh_pad) * 128u;
            else if (lossless) bytes += std::uint64_t(c.bw_pad) * std::uint64_t(c.v) * 8u;
        }
        if (bytes > lim.max_bytes)
            return status::fmt(errc::no_memory, "jpeg: %llu bytes of working memory exceed the %zu-byte limit",
                               (unsigned long long)bytes, lim.max_bytes);
        for (int i = 0; i < n_comp; ++i) {
            jpeg_component& c = comp[i];
            // Single-scan DCT files keep two MCU rows of samples; the others whole planes.
            const int full_rows = c.bh * unit;
            c.ring_rows = (!multi_scan && !lossless && 16 * c.v < full_rows) ? 16 * c.v : full_rows;
            const std::size_t n = c.stride * std::size_t(c.ring_rows);
            c.plane.reset(lossless ? new (std::nothrow) std::uint8_t[n]() : new (std::nothrow) std::uint8_t[n]);
            if (!c.plane) return status(errc::no_memory, "jpeg: out of memory for the sample planes");
            if (lossless) {
                c.diff.assign(std::size_t(c.bw_pad) * std::size_t(c.v), 0);
                c.undiff.assign(std::size_t(c.bw_pad) * std::size_t(c.v), 0);
            } else if (multi_scan) {
                c.coef.assign(std::size_t(c.bw_pad) * std::size_t(c.bh_pad) * 64, 0);
            }
        }
        return status::ok();
    }

    // libjpeg's default colour space guess (jdapimin.c default_decompress_parms).
    bool is_rgb() const {
        if (n_comp != 3) return false;
        if (saw_jfif) return false;
        if (saw_adobe) return adobe_transform == 0;
        return comp[0].id == 'R' && comp[1].id == 'G' && comp[2].id == 'B';
    }
    bool is_ycck() const { return n_comp == 4 && saw_adobe && adobe_transform != 0; }

    status read_sos() {
        if (!saw_sof) return status(errc::bad_format, "jpeg: SOS before SOF");
        long len = 0;
        SMOLVLM_TRY(read_length(&len));
        SMOLVLM_TRY(need(1));
        const int n = src.data[src.pos];
        if (len != long(n) * 2 + 4 || n < 1 || n > 4) return status(errc::bad_format, "jpeg: SOS length does not match its components");
        SMOLVLM_TRY(need(std::size_t(len)));
        const std::uint8_t* p = src.data + src.pos + 1;
        for (int i = 0; i < n; ++i) {
            int cc = p[2 * i], sel = p[2 * i + 1];
            // libjpeg matches scan components in frame order: component i of the scan can only
            // be frame component i or a later one (jdmarker.c get_sos).
            int k = -1;
            for (int j = i; j < n_comp && j < 4; ++j)
                if (comp[j].id == cc) {
                    k = j;
                    break;
                }
            if (k < 0) return status::fmt(errc::bad_format, "jpeg: scan refers to component id %d out of frame order", cc);
            for (int j = 0; j < i; ++j)
                if (scan_comp[j] == k) return status(errc::bad_format, "jpeg: component repeated in a scan");
            scan_comp[i] = k;
            comp[k].td = sel >> 4;
            comp[k].ta = sel & 15;
        }
        comps_in_scan = n;
        ss = p[2 * n];
        se = p[2 * n + 1];
        ah = p[2 * n + 2] >> 4;
        al = p[2 * n + 2] & 15;
        src.pos += std::size_t(len);
        next_restart_num = 0;
        ++input_scan_number;
        return status::ok();
    }

    // ---- the marker loop (jdmarker.c read_markers, jdinput.c consume_markers) ----
    status parse() {
        if (!is_jpeg(src.data, src.size)) return status(errc::bad_format, "jpeg: missing SOI marker");
        src.pos = 2;
        for (int i = 0; i < 16; ++i) arith_dc_l[i] = 0, arith_dc_u[i] = 1, arith_ac_k[i] = 5;
        for (;;) {
            if (src.unread_marker == 0 && !src.next_marker()) {
                // Pillow's libjpeg suspends for more input; at the end of the file Pillow reports
                // a truncated image, unless the image was complete: a single-scan file whose
                // scan is decoded only misses its trailing markers (jpeg_finish_decompress).
                if (any_scan_done && !multi_scan) return status::ok();
                if (inheaders) return truncated("before the image data");
                return truncated("before the EOI marker");
            }
            const int m = src.unread_marker;
            src.unread_marker = 0;
            switch (m) {
                case 0xD8: return status(errc::bad_format, "jpeg: unexpected SOI marker");
                case 0xC0: case 0xC1: case 0xC2: case 0xC3: case 0xC9: case 0xCA: case 0xCB:
                    SMOLVLM_TRY(read_sof(m));
                    break;
                case 0xC5: case 0xC6: case 0xC7: case 0xCD: case 0xCE: case 0xCF: case 0xC8:
                    return status::fmt(errc::unsupported, "jpeg: hierarchical JPEG (marker 0xFF%02X) is not supported", m);
                case 0xC4: SMOLVLM_TRY(read_dht()); break;
                case 0xCC: SMOLVLM_TRY(read_dac()); break;
                case 0xDB: SMOLVLM_TRY(read_dqt()); break;
                case 0xDD: SMOLVLM_TRY(read_dri()); break;
                case 0xDA:
                    SMOLVLM_TRY(read_sos());
                    SMOLVLM_TRY(start_scan());
                    SMOLVLM_TRY(decode_scan());
                    any_scan_done = true;
                    break;
                case 0xD9:
                    if (inheaders) {
                        if (saw_sof) return status(errc::bad_format, "jpeg: EOI before any scan");
                        return status(errc::bad_format, "jpeg: no image in the file (tables only)");
                    }
                    return status::ok();
                case 0xDC: {  // DNL: ignored (libjpeg)
                    long len = 0;
                    SMOLVLM_TRY(read_length(&len));
                    if (len > 0) {
                        if (std::size_t(len) > src.size - src.pos) return truncated("inside a marker segment");
                        src.pos += std::size_t(len);
                    }
                    break;
                }
                case 0x01:  // TEM: libjpeg ignores it, Pillow's header parser does not know it
                    if (inheaders) return status(errc::bad_format, "jpeg: TEM marker in the header");
                    break;
                default:
                    if (m >= 0xD0 && m <= 0xD7) break;  // stray RSTn: ignored
                    if ((m >= 0xE0 && m <= 0xEF) || m == 0xFE) {
                        SMOLVLM_TRY(read_app(m));
                        break;
                    }
                    return status::fmt(errc::bad_format, "jpeg: unknown marker 0xFF%02X at byte %zu", m, src.pos - 2);
            }
        }
    }

    // ---- scan setup (jdinput.c per_scan_setup / start_input_pass; entropy start_pass) ----
    status start_scan() {
        if (inheaders) {
            inheaders = false;
            multi_scan = comps_in_scan < n_comp || progressive;
            SMOLVLM_TRY(setup_frame());
            prepare_output();
        } else if (!multi_scan) {
            return status(errc::bad_format, "jpeg: a second scan in a single-scan image (EOI expected)");
        }
        const int unit = lossless ? 1 : 8;
        if (comps_in_scan == 1) {
            mcus_per_row = comp[scan_comp[0]].bw;
        } else {
            mcus_per_row = int((std::int64_t(width) + unit * hmax - 1) / (unit * hmax));
            int blocks = 0;
            for (int i = 0; i < comps_in_scan; ++i) blocks += comp[scan_comp[i]].h * comp[scan_comp[i]].v;
            if (blocks > 10) return status(errc::bad_format, "jpeg: more than 10 blocks per MCU");
        }
        if (!lossless) {
            for (int i = 0; i < comps_in_scan; ++i) {
                jpeg_component& c = comp[scan_comp[i]];
                if (c.qt_latched) continue;
                if (c.tq >= 4 || !qt_defined[c.tq])
                    return status::fmt(errc::bad_format, "jpeg: quantization table %d is not defined", c.tq);
                for (int k = 0; k < 64; ++k) c.qv[k] = qt[c.tq][k], c.qt[k] = std::int16_t(qt[c.tq][k]);
                c.qt_latched = true;
            }
        }
        insufficient = false;
        restarts_to_go = unsigned(restart_interval);
        eobrun = 0;
        for (int i = 0; i < 4; ++i) last_dc[i] = 0, dc_context[i] = 0;
        if (lossless) return start_lossless();
        // Sequential scans ignore Ss/Se/Ah/Al (libjpeg only warns when they are not 0/63/0/0).
        if (progressive) SMOLVLM_TRY(check_progression());
        if (arith) {
            bool dc = !progressive || (ss == 0 && ah == 0), ac = !progressive || ss != 0;
            for (int i = 0; i < comps_in_scan; ++i) {
                const jpeg_component& c = comp[scan_comp[i]];
                if (dc) std::memset(dc_stats[c.td], 0, 64);
                if (ac) std::memset(ac_stats[c.ta], 0, 256);
            }
            ar.reset();
            return status::ok();
        }
        bits.reset();
        for (int i = 0; i < comps_in_scan; ++i) {
            const jpeg_component& c = comp[scan_comp[i]];
            bool dc = !progressive || (ss == 0 && ah == 0), ac = !progressive || ss != 0;
            if (!progressive) {
                // Motion-JPEG frames leave out the standard tables (jdhuff.c jinit_huff_decoder).
                if (!dc_spec[0].defined) jpeg_std_table(dc_spec[0], true, false);
                if (!dc_spec[1].defined) jpeg_std_table(dc_spec[1], true, true);
                if (!ac_spec[0].defined) jpeg_std_table(ac_spec[0], false, false);
                if (!ac_spec[1].defined) jpeg_std_table(ac_spec[1], false, true);
            }
            if (dc) SMOLVLM_TRY(build_table(c.td, true));
            if (ac) SMOLVLM_TRY(build_table(c.ta, false));
            if (!progressive) {
                jpeg_build_fast_values(dc_tbl[c.td], dc_spec[c.td], true);
                jpeg_build_fast_values(ac_tbl[c.ta], ac_spec[c.ta], false);
            }
        }
        return status::ok();
    }

    status build_table(int id, bool dc) {
        if (id >= 4 || !(dc ? dc_spec : ac_spec)[id].defined)
            return status::fmt(errc::bad_format, "jpeg: %s Huffman table %d is not defined", dc ? "DC" : "AC", id);
        return jpeg_build_table(dc ? dc_tbl[id] : ac_tbl[id], (dc ? dc_spec : ac_spec)[id], dc, lossless);
    }

    // jdphuff.c / jdarith.c start_pass: parameter checks and the coef_bits bookkeeping
    // (inconsistencies between scans are only warnings in libjpeg).
    status check_progression() {
        bool bad = false;
        if (ss == 0) {
            if (se != 0) bad = true;
        } else {
            if (se < ss || se > 63) bad = true;
            if (comps_in_scan != 1) bad = true;
        }
        if (ah != 0 && al != ah - 1) bad = true;
        if (al > 13) bad = true;
        if (bad)
            return status::fmt(errc::bad_format, "jpeg: invalid progressive scan (Ss=%d Se=%d Ah=%d Al=%d)", ss, se, ah, al);
        for (int i = 0; i < comps_in_scan; ++i) {
            jpeg_component& c = comp[scan_comp[i]];
            const int lo = ss < 1 ? ss : 1, hi = se > 9 ? se : 9;
            for (int k = lo; k <= hi; ++k) c.prev_coef_bits[k] = input_scan_number > 1 ? c.coef_bits[k] : 0;
            for (int k = ss; k <= se; ++k) c.coef_bits[k] = al;
        }
        return status::ok();
    }

    // ---- entropy-coded data ----
    // Restart handling shared by the Huffman decoders (jdhuff.c / jdphuff.c process_restart).
    status huff_restart() {
        bits.reset();
        if (!src.read_restart_marker(next_restart_num)) return truncated("where a restart marker was expected");
        next_restart_num = (next_restart_num + 1) & 7;
        for (int i = 0; i < 4; ++i) last_dc[i] = 0;
        eobrun = 0;
        restarts_to_go = unsigned(restart_interval);
        if (src.unread_marker == 0) insufficient = false;
        return status::ok();
    }
    status arith_restart() {
        if (!src.read_restart_marker(next_restart_num)) return truncated("where a restart marker was expected");
        next_restart_num = (next_restart_num + 1) & 7;
        for (int i = 0; i < comps_in_scan; ++i) {
            const jpeg_component& c = comp[scan_comp[i]];
            if (!progressive || (ss == 0 && ah == 0)) {
                std::memset(dc_stats[c.td], 0, 64);
                last_dc[i] = 0;
                dc_context[i] = 0;
            }
            if (!progressive || ss) std::memset(ac_stats[c.ta], 0, 256);
        }
        ar.reset();
        restarts_to_go = unsigned(restart_interval);
        return status::ok();
    }

    // Huffman, sequential (F.2.2): DC prediction wraps like libjpeg's int arithmetic. Codes
    // whose value bits fit in the next 10 bits decode with one lookup (fast_value).
    // Returns whether any AC coefficient was set (false: a DC-only block).
    bool huff_block(const jpeg_component& c, int i, std::int16_t* blk) {
        // The bit buffer lives in locals here (stores to last_dc could alias a member int).
        std::uint64_t buf = bits.buf;
        int count = bits.count;
        // Refill from 8 bytes that hold no 0xFF (the common case) without leaving the loop;
        // anything else (stuffing, markers, the end of the data) goes through jpeg_bits::fill.
        const std::uint8_t* const data = src.data;
        const std::size_t fast_end = src.size >= 8 ? src.size - 8 : 0;
        const bool fast_ok = src.size >= 8;
        auto refill = [&]() {
            const std::size_t p = src.pos;
            if (fast_ok && p <= fast_end && src.unread_marker == 0) {
                std::uint64_t w;
                std::memcpy(&w, data + p, 8);
#if defined(__GNUC__) || defined(__clang__)
                w = __builtin_bswap64(w);
#else
                { std::uint64_t v = 0; for (int i = 0; i < 8; ++i) v = v << 8 | data[p + std::size_t(i)]; w = v; }
#endif
                const std::uint64_t t = ~w;
                if (((t - 0x0101010101010101ull) & ~t & 0x8080808080808080ull) == 0) {
                    const int k = (64 - count) >> 3;  // 4..8 whole bytes (count < 32 here)
                    const std::uint64_t take = k == 8 ? w : w >> (64 - 8 * k);
                    buf |= take << (64 - count - 8 * k);
                    count += 8 * k;
                    src.pos = p + std::size_t(k);
                    return;
                }
            }
            bits.buf = buf, bits.count = count;
            bits.fill(src);
            buf = bits.buf, count = bits.count;
        };
        auto slow_symbol = [&](const jpeg_huff_table& h) {
            bits.buf = buf, bits.count = count;
            int sym = bits.decode(src, h);
            buf = bits.buf, count = bits.count;
            return sym;
        };
        auto take = [&](int n) {  // n in 1..16, count >= n guaranteed by the caller's refill
            std::uint32_t v = std::uint32_t(buf >> (64 - n));
            buf <<= n;
            count -= n;
            return v;
        };
        if (count < 32) refill();
        const jpeg_huff_table& hd = dc_tbl[c.td];
        int diff;
        if (std::int32_t e = hd.fast_value[buf >> 54]) {
            diff = e >> 16;
            buf <<= (e & 0xFF);
            count -= e & 0xFF;
        } else {
            int s = slow_symbol(hd);
            if (count < 16) refill();
            diff = s ? jpeg_extend(take(s), s) : 0;
        }
        last_dc[i] = int(std::uint32_t(last_dc[i]) + std::uint32_t(diff));
        blk[0] = std::int16_t(last_dc[i]);
        const jpeg_huff_table& h = ac_tbl[c.ta];
        bool any_ac = false;
        for (int k = 1; k < 64; ++k) {
            if (count < 32) refill();
            if (std::int32_t e = h.fast_value[buf >> 54]) {
                k += (e >> 8) & 0xFF;
                buf <<= (e & 0xFF);
                count -= e & 0xFF;
                blk[k_jpeg_natural[k]] = std::int16_t(e >> 16);
                any_ac = true;
                continue;
            }
            int rs;
            if (std::uint16_t f = h.fast[buf >> (64 - k_jpeg_lookahead)]) {  // EOB, ZRL, long values
                rs = f & 0xFF;
                buf <<= f >> 8;
                count -= f >> 8;
            } else {
                rs = slow_symbol(h);
            }
            int r = rs >> 4, s = rs & 15;
            if (s) {
                if (count < 16) refill();
                k += r;
                blk[k_jpeg_natural[k]] = std::int16_t(jpeg_extend(take(s), s));
                any_ac = true;
            } else {
                if (r != 15) break;
                k += 15;
            }
        }
        bits.buf = buf, bits.count = count;
        return any_ac;
    }
    status huff_dc_first(int i, const jpeg_component& c, std::int16_t* blk) {
        int s = bits.decode(src, dc_tbl[c.td]);
        int diff = s ? jpeg_extend(bits.get(src, s), s) : 0;
        std::int64_t v = std::int64_t(last_dc[i]) + diff;
        if (v > 0x7FFFFFFF || v < -std::int64_t(0x80000000))
            return status(errc::bad_format, "jpeg: DC coefficient overflow (corrupt progressive data)");
        last_dc[i] = int(v);
        blk[0] = std::int16_t(std::uint32_t(last_dc[i]) << al);
        return status::ok();
    }
    void huff_dc_refine(std::int16_t* blk) {
        if (bits.get(src, 1)) blk[0] = std::int16_t(blk[0] | (1 << al));
    }
    void huff_ac_first(const jpeg_component& c, std::int16_t* blk) {
        if (eobrun > 0) {
            --eobrun;
            return;
        }
        const jpeg_huff_table& h = ac_tbl[c.ta];
        for (int k = ss; k <= se; ++k) {
            int rs = bits.decode(src, h);
            int r = rs >> 4, s = rs & 15;
            if (s) {
                k += r;
                int v = jpeg_extend(bits.get(src, s), s);
                blk[k_jpeg_natural[k]] = std::int16_t(std::uint32_t(v) << al);
            } else if (r == 15) {
                k += 15;
            } else {
                eobrun = 1u << r;
                if (r) eobrun += bits.get(src, r);
                --eobrun;
                break;
            }
        }
    }
    void huff_ac_refine(const jpeg_component& c, std::int16_t* blk) {
        const int p1 = 1 << al, m1 = -p1;
        int k = ss;
        auto correct = [&](std::int16_t* coef) {
            if (bits.get(src, 1) && (*coef & p1) == 0) *coef = std::int16_t(*coef >= 0 ? *coef + p1 : *coef + m1);
        };
        if (eobrun == 0) {
            const jpeg_huff_table& h = ac_tbl[c.ta];
            for (; k <= se; ++k) {
                int rs = bits.decode(src, h);
                int r = rs >> 4, s = rs & 15;
                int value = 0;
                if (s) {
                    value = bits.get(src, 1) ? p1 : m1;  // s should be 1; libjpeg warns otherwise
                } else if (r != 15) {
                    eobrun = 1u << r;
                    if (r) eobrun += bits.get(src, r);
                    break;
                }
                do {
                    std::int16_t* coef = blk + k_jpeg_natural[k];
                    if (*coef != 0) correct(coef);
                    else if (--r < 0) break;
                    ++k;
                } while (k <= se);
                if (value) blk[k_jpeg_natural[k]] = std::int16_t(value);
            }
        }
        if (eobrun > 0) {
            for (; k <= se; ++k) {
                std::int16_t* coef = blk + k_jpeg_natural[k];
                if (*coef != 0) correct(coef);
            }
            --eobrun;
        }
    }

    // Arithmetic (F.1.4.4 / G.1.3, jdarith.c). `ar.ct == -1` after an error: skip until the
    // next restart.
    int arith_dc_diff(int i, int tbl, bool* overflow) {
        std::uint8_t* st = dc_stats[tbl] + dc_context[i];
        if (ar.decode(src, st) == 0) {
            dc_context[i] = 0;
            return 0;
        }
        int sign = ar.decode(src, st + 1);
        st += 2 + sign;
        int m = ar.decode(src, st);
        if (m != 0) {
            st = dc_stats[tbl] + 20;
            while (ar.decode(src, st)) {
                if ((m <<= 1) == 0x8000) {
                    ar.ct = -1;
                    *overflow = true;
                    return 0;
                }
                ++st;
            }
        }
        if (m < int((1L << arith_dc_l[tbl]) >> 1)) dc_context[i] = 0;
        else if (m > int((1L << arith_dc_u[tbl]) >> 1)) dc_context[i] = 12 + sign * 4;
        else dc_context[i] = 4 + sign * 4;
        int v = m;
        st += 14;
        while (m >>= 1)
            if (ar.decode(src, st)) v |= m;
        v += 1;
        return sign ? -v : v;
    }
    // AC coefficients k = first..last into blk, scaled by << shift; false on a spectral or
    // magnitude overflow (ar.ct is then -1).
    bool arith_ac(int tbl, std::int16_t* blk, int first, int last, int shift) {
        for (int k = first; k <= last; ++k) {
            std::uint8_t* st = ac_stats[tbl] + 3 * (k - 1);
            if (ar.decode(src, st)) break;  // EOB
            while (ar.decode(src, st + 1) == 0) {
                st += 3;
                ++k;
                if (k > last) {
                    ar.ct = -1;
                    return false;
                }
            }
            int sign = ar.decode(src, &fixed_bin);
            st += 2;
            int m = ar.decode(src, st);
            if (m != 0) {
                if (ar.decode(src, st)) {
                    m <<= 1;
                    st = ac_stats[tbl] + (k <= arith_ac_k[tbl] ? 189 : 217);
                    while (ar.decode(src, st)) {
                        if ((m <<= 1) == 0x8000) {
                            ar.ct = -1;
                            return false;
                        }
                        ++st;
                    }
                }
            }
            int v = m;
            st += 14;
            while (m >>= 1)
                if (ar.decode(src, st)) v |= m;
            v += 1;
            if (sign) v = -v;
            blk[k_jpeg_natural[k]] = std::int16_t(std::uint32_t(v) << shift);
        }
        return true;
    }
    void arith_ac_refine(int tbl, std::int16_t* blk) {
        const int p1 = 1 << al, m1 = -p1;
        int kex = se;
        for (; kex > 0; --kex)
            if (blk[k_jpeg_natural[kex]]) break;
        for (int k = ss; k <= se; ++k) {
            std::uint8_t* st = ac_stats[tbl] + 3 * (k - 1);
            if (k > kex && ar.decode(src, st)) break;  // EOB
            for (;;) {
                std::int16_t* coef = blk + k_jpeg_natural[k];
                if (*coef) {
                    if (ar.decode(src, st + 2)) *coef = std::int16_t(*coef + (*coef < 0 ? m1 : p1));
                    break;
                }
                if (ar.decode(src, st + 1)) {
                    *coef = std::int16_t(ar.decode(src, &fixed_bin) ? m1 : p1);
                    break;
                }
                st += 3;
                ++k;
                if (k > se) {
                    ar.ct = -1;
                    return;
                }
            }
        }
    }

    // One MCU: `blocks` lists its blocks (component index in the scan, block pointer).
    struct mcu_block {
        int i;
        std::int16_t* blk;
    };
    bool has_ac[10] = {};  // sequential Huffman: which blocks of the last MCU have AC coefficients

    status decode_mcu(const mcu_block* b, int n, int row) {
        for (int j = 0; j < n; ++j) has_ac[j] = arith || progressive;
        if (arith) {
            if (restart_interval) {
                if (restarts_to_go == 0) SMOLVLM_TRY(arith_restart());
                --restarts_to_go;
            }
            last_good_row = row;  // the arithmetic decoder never runs out of data
            const bool dc_refine = progressive && ss == 0 && ah != 0;
            if (ar.ct == -1 && !dc_refine) return status::ok();
            for (int j = 0; j < n; ++j) {
                const jpeg_component& c = comp[scan_comp[b[j].i]];
                std::int16_t* blk = b[j].blk;
                if (!progressive) {
                    bool overflow = false;
                    int v = arith_dc_diff(b[j].i, c.td, &overflow);
                    if (overflow) return status::ok();
                    last_dc[b[j].i] = (last_dc[b[j].i] + v) & 0xFFFF;
                    blk[0] = std::int16_t(std::uint16_t(last_dc[b[j].i]));
                    if (!arith_ac(c.ta, blk, 1, 63, 0)) return status::ok();
                } else if (ss == 0 && ah == 0) {
                    bool overflow = false;
                    int v = arith_dc_diff(b[j].i, c.td, &overflow);
                    if (overflow) return status::ok();
                    last_dc[b[j].i] = (last_dc[b[j].i] + v) & 0xFFFF;
                    blk[0] = std::int16_t(std::uint32_t(last_dc[b[j].i]) << al);
                } else if (ss == 0) {
                    if (ar.decode(src, &fixed_bin)) blk[0] = std::int16_t(blk[0] | (1 << al));
                } else if (ah == 0) {
                    if (!arith_ac(c.ta, blk, ss, se, al)) return status::ok();
                } else {
                    arith_ac_refine(c.ta, blk);
                    if (ar.ct == -1) return status::ok();
                }
            }
            return status::ok();
        }
        if (!insufficient) last_good_row = row;
        if (restart_interval && restarts_to_go == 0) SMOLVLM_TRY(huff_restart());
        const bool dc_refine = progressive && ss == 0 && ah != 0;
        if (!insufficient || dc_refine) {
            for (int j = 0; j < n; ++j) {
                const jpeg_component& c = comp[scan_comp[b[j].i]];
                if (!progressive) has_ac[j] = huff_block(c, b[j].i, b[j].blk);
                else if (ss == 0 && ah == 0) SMOLVLM_TRY(huff_dc_first(b[j].i, c, b[j].blk));
                else if (ss == 0) huff_dc_refine(b[j].blk);
                else if (ah == 0) huff_ac_first(c, b[j].blk);
                else huff_ac_refine(c, b[j].blk);
            }
            if (bits.overrun()) insufficient = true;
        }
        if (restart_interval) --restarts_to_go;
        return status::ok();
    }

    status decode_scan() {
        if (lossless) return decode_lossless_scan();
        // Multi-scan files collect coefficients in whole-image arrays; a single-scan file is
        // decoded one MCU at a time into `mcu_buf` (zeroed first, as libjpeg's decompress_onepass
        // does) and its blocks go through the IDCT right after, two MCUs at a time so that block
        // j of one MCU and block j of the next (same component) share an AVX2 pass.
        alignas(32) std::int16_t mcu_buf[2][10][64];
        struct target { int k, by, bx; bool ac; };
        target tg[2][10];
        int nb[2] = {0, 0};
        mcu_block mb[10];
        auto idct_mcus = [&](int halves) {
            for (int j = 0; j < nb[0]; ++j) {
                const target& a = tg[0][j];
                jpeg_component& c = comp[a.k];
                const bool a_in = a.by < c.bh && a.bx < c.bw;
                if (halves == 2) {
                    const target& b = tg[1][j];
                    const bool b_in = b.by < c.bh && b.bx < c.bw;
                    if (use_avx2 && a_in && b_in && a.ac && b.ac) {
                        idct_pair(c, mcu_buf[0][j], a.by, a.bx, mcu_buf[1][j], b.by, b.bx);
                        continue;
                    }
                    if (b_in) idct_block(c, mcu_buf[1][j], b.by, b.bx, b.ac);
                }
                if (a_in) idct_block(c, mcu_buf[0][j], a.by, a.bx, a.ac);
            }
        };
        for (int row = 0; row < total_rows; ++row) {
            if (comps_in_scan > 1) {
                for (int mx = 0; mx < mcus_per_row; ++mx) {
                    const int half = mx & 1;
                    int n = 0;
                    for (int i = 0; i < comps_in_scan; ++i) {
                        const int k = scan_comp[i];
                        jpeg_component& c = comp[k];
                        for (int y = 0; y < c.v; ++y)
                            for (int x = 0; x < c.h; ++x, ++n) {
                                const int by = row * c.v + y, bx = mx * c.h + x;
                                tg[half][n] = {k, by, bx, true};
                                mb[n] = {i, multi_scan ? c.block(by, bx) : mcu_buf[half][n]};
                            }
                    }
                    nb[half] = n;
                    if (multi_scan) {
                        SMOLVLM_TRY(decode_mcu(mb, n, row));
                        continue;
                    }
                    std::memset(mcu_buf[half], 0, sizeof(mcu_buf[0][0]) * std::size_t(n));
                    SMOLVLM_TRY(decode_mcu(mb, n, row));
                    for (int j = 0; j < n; ++j) tg[half][j].ac = has_ac[j];
                    if (half == 1) idct_mcus(2);
                    else if (mx == mcus_per_row - 1) idct_mcus(1);
                }
            } else {
                const int k = scan_comp[0];
                jpeg_component& c = comp[k];
                int rows = c.v;
                if (row == total_rows - 1) {
                    rows = c.bh % c.v;
                    if (rows == 0) rows = c.v;
                }
                for (int y = 0; y < rows; ++y)
                    for (int bx = 0; bx < c.bw; ++bx) {
                        const int by = row * c.v + y;
                        if (multi_scan) {
                            mb[0] = {0, c.block(by, bx)};
                            SMOLVLM_TRY(decode_mcu(mb, 1, row));
                            continue;
                        }
                        const int half = bx & 1;
                        std::memset(mcu_buf[half][0], 0, sizeof(mcu_buf[0][0]));
                        mb[0] = {0, mcu_buf[half][0]};
                        SMOLVLM_TRY(decode_mcu(mb, 1, row));
                        tg[half][0] = {k, by, bx, has_ac[0]};
                        nb[half] = 1;
                        if (half == 1) idct_mcus(2);
                        else if (bx == c.bw - 1) idct_mcus(1);
                    }
            }
            if (src.eof) return truncated("inside the entropy-coded data");
            if (!multi_scan) emit_rows(rows_ready(row));
        }
        return status::ok();
    }

    // ---- lossless (H.1, jddiffct.c / jdlhuff.c / jdlossls.c) ----
    int psv = 1;
    status start_lossless() {
        if (arith) return status(errc::unsupported, "jpeg: lossless arithmetic coding is not supported");
        if (ss < 1 || ss > 7 || se != 0 || ah != 0 || al >= 8)
            return status::fmt(errc::bad_format, "jpeg: invalid lossless scan (Ss=%d Se=%d Ah=%d Al=%d)", ss, se, ah, al);
        if (mcus_per_row <= 0 || restart_interval % mcus_per_row != 0)
            return status::fmt(errc::bad_format, "jpeg: restart interval %d is not a whole number of MCU rows",
                               restart_interval);
        psv = ss;
        for (int i = 0; i < n_comp; ++i) comp[i].first_row = true;
        bits.reset();
        for (int i = 0; i < comps_in_scan; ++i) SMOLVLM_TRY(build_table(comp[scan_comp[i]].td, true));
        return status::ok();
    }

    void undifference(jpeg_component& c, const std::int32_t* d, const std::int32_t* prev, std::int32_t* out, int w) {
        if (c.first_row) {
            int ra = (d[0] + (1 << (8 - al - 1))) & 0xFFFF;
            out[0] = ra;
            for (int x = 1; x < w; ++x) out[x] = ra = (d[x] + ra) & 0xFFFF;
            c.first_row = false;
            return;
        }
        int rb = prev[0];
        int ra = (d[0] + rb) & 0xFFFF;
        out[0] = ra;
        for (int x = 1; x < w; ++x) {
            const int rc = rb;
            rb = prev[x];
            int p;
            switch (psv) {
                case 1: p = ra; break;
                case 2: p = rb; break;
                case 3: p = rc; break;
                case 4: p = ra + rb - rc; break;
                case 5: p = ra + ((rb - rc) >> 1); break;
                case 6: p = rb + ((ra - rc) >> 1); break;
                default: p = (ra + rb) >> 1; break;
            }
            out[x] = ra = (d[x] + p) & 0xFFFF;
        }
    }

    status decode_lossless_scan() {
        unsigned rows_to_go = mcus_per_row ? unsigned(restart_interval / mcus_per_row) : 0;
        for (int row = 0; row < total_rows; ++row) {
            int mcu_rows = 1;
            const jpeg_component& c0 = comp[scan_comp[0]];
            if (comps_in_scan == 1) {
                mcu_rows = c0.v;
                if (row == total_rows - 1) {
                    mcu_rows = c0.bh % c0.v;
                    if (mcu_rows == 0) mcu_rows = c0.v;
                }
            }
            for (int y = 0; y < mcu_rows; ++y) {
                if (restart_interval) {
                    if (rows_to_go == 0) {
                        bits.reset();
                        if (!src.read_restart_marker(next_restart_num)) return truncated("where a restart marker was expected");
                        next_restart_num = (next_restart_num + 1) & 7;
                        if (src.unread_marker == 0) insufficient = false;
                        for (int i = 0; i < n_comp; ++i) comp[i].first_row = true;
                        rows_to_go = unsigned(restart_interval / mcus_per_row);
                    }
                }
                if (insufficient) {
                    // Out of data: zero differences and the initial predictor (mid-gray).
                    for (int i = 0; i < comps_in_scan; ++i) {
                        jpeg_component& c = comp[scan_comp[i]];
                        int rows = comps_in_scan == 1 ? 1 : c.v;
                        int y0 = comps_in_scan == 1 ? y : 0;
                        for (int r = 0; r < rows; ++r)
                            std::fill_n(c.diff.begin() + std::ptrdiff_t(std::size_t(y0 + r) * std::size_t(c.bw_pad)),
                                        c.bw_pad, 0);
                    }
                    for (int i = 0; i < n_comp; ++i) comp[i].first_row = true;
                } else {
                    for (int mx = 0; mx < mcus_per_row; ++mx) {
                        for (int i = 0; i < comps_in_scan; ++i) {
                            jpeg_component& c = comp[scan_comp[i]];
                            const int rows = comps_in_scan == 1 ? 1 : c.v, cols = comps_in_scan == 1 ? 1 : c.h;
                            for (int yy = 0; yy < rows; ++yy)
                                for (int xx = 0; xx < cols; ++xx) {
                                    int s = bits.decode(src, dc_tbl[c.td]);
                                    int d = 0;
                                    if (s == 16) d = 32768;
                                    else if (s) d = jpeg_extend(bits.get(src, s), s);
                                    const int ry = comps_in_scan == 1 ? y : yy;
                                    c.diff[std::size_t(ry) * std::size_t(c.bw_pad) + std::size_t(mx * cols + xx)] = d;
                                }
                        }
                        if (bits.overrun()) insufficient = true;
                    }
                }
                if (restart_interval) --rows_to_go;
            }
            if (src.eof) return truncated("inside the entropy-coded data");
            for (int i = 0; i < comps_in_scan; ++i) {
                jpeg_component& c = comp[scan_comp[i]];
                int rows = c.v;
                if (row == total_rows - 1) {
                    rows = c.bh % c.v;
                    if (rows == 0) rows = c.v;
                }
                for (int r = 0, prev = c.v - 1; r < rows; prev = r, ++r) {
                    std::int32_t* u = &c.undiff[std::size_t(r) * std::size_t(c.bw_pad)];
                    undifference(c, &c.diff[std::size_t(r) * std::size_t(c.bw_pad)],
                                 &c.undiff[std::size_t(prev) * std::size_t(c.bw_pad)], u, c.bw);
                    std::uint8_t* o = &c.plane[std::size_t(row * c.v + r) * c.stride];
                    for (int x = 0; x < c.bw; ++x) o[x] = std::uint8_t(std::uint32_t(u[x]) << al);
                }
            }
        }
        return status::ok();
    }

    // ---- IDCT into the sample planes ----
    std::uint8_t* plane_at(jpeg_component& c, int by, int bx) {
        return &c.plane[std::size_t(by * 8 % c.ring_rows) * c.stride + std::size_t(bx) * 8];
    }
    void idct_pair(jpeg_component& c, const std::int16_t* a, int by_a, int bx_a, const std::int16_t* b, int by_b, int bx_b) {
#if SMOLVLM_SIMD_X86
        jpeg_idct_islow_x2_avx2(a, b, c.qt, plane_at(c, by_a, bx_a), plane_at(c, by_b, bx_b), c.stride);
#else
        idct_block(c, a, by_a, bx_a);
        idct_block(c, b, by_b, bx_b);
#endif
    }
    void idct_block(jpeg_component& c, const std::int16_t* blk, int by, int bx, bool has_ac = true) {
        const std::size_t r = std::size_t(by * 8 % c.ring_rows);
        std::uint8_t* o = &c.plane[r * c.stride + std::size_t(bx) * 8];
        if (has_ac) jpeg_idct_islow(blk, c.qt, o, c.stride);
        else jpeg_idct_dc_only(blk[0], c.qt[0], o, c.stride);
    }
    // The blocks of iMCU row `row`, from the whole-image coefficient arrays.
    void idct_row(int row) {
        for (int i = 0; i < n_comp; ++i) {
            jpeg_component& c = comp[i];
            for (int y = 0; y < c.v; ++y) {
                const int by = row * c.v + y;
                if (by >= c.bh) break;
                int bx = 0;
                if (use_avx2)
                    for (; bx + 1 < c.bw; bx += 2) idct_pair(c, c.block(by, bx), by, bx, c.block(by, bx + 1), by, bx + 1);
                for (; bx < c.bw; ++bx) idct_block(c, c.block(by, bx), by, bx);
            }
        }
    }

    // libjpeg's block smoothing for progressive files with coefficients still unknown
    // (jdcoefct.c smoothing_ok / decompress_smooth_data, 5x5 DC neighbourhood).
    bool smoothing_ok(int latch[4][10], int prev_latch[4][10]) const {
        if (!progressive) return false;
        bool useful = false;
        for (int i = 0; i < n_comp; ++i) {
            const jpeg_component& c = comp[i];
            if (!c.qt_latched) return false;
            static constexpr int pos[10] = {0, 1, 8, 16, 9, 2, 3, 10, 17, 24};
            for (int k : pos)
                if (c.qv[k] == 0) return false;
            if (c.coef_bits[0] < 0) return false;
            latch[i][0] = c.coef_bits[0];
            for (int k = 1; k < 10; ++k) {
                prev_latch[i][k] = input_scan_number > 1 ? c.prev_coef_bits[k] : -1;
                latch[i][k] = c.coef_bits[k];
                if (c.coef_bits[k] != 0) useful = true;
            }
        }
        return useful;
    }

    void idct_smooth(int latch[4][10], int prev_latch[4][10]) {
        for (int ci = 0; ci < n_comp; ++ci) {
            jpeg_component& c = comp[ci];
            const std::int64_t q00 = c.qv[0], q01 = c.qv[1], q10 = c.qv[8], q20 = c.qv[16], q11 = c.qv[9],
                               q02 = c.qv[2], q03 = c.qv[3], q12 = c.qv[10], q21 = c.qv[17], q30 = c.qv[24];
            const int last_col = c.bw - 1;
            for (int row = 0; row < total_rows; ++row) {
                int block_rows = c.v;
                if (row == total_rows - 1) {
                    block_rows = c.bh % c.v;
                    if (block_rows == 0) block_rows = c.v;
                }
                const int* cb = row > last_good_row ? prev_latch[ci] : latch[ci];
                const bool change_dc = cb[1] == -1 && cb[2] == -1 && cb[3] == -1 && cb[4] == -1 && cb[5] == -1 &&
                                       cb[6] == -1 && cb[7] == -1 && cb[8] == -1 && cb[9] == -1;
                // libjpeg counts block rows with this iMCU row's height (differs from the real
                // count in the last row; kept for identical output).
                const int image_block_rows = block_rows * total_rows;
                for (int br = 0; br < block_rows; ++br) {
                    const int ibr = row * block_rows + br;  // libjpeg's image_block_row
                    const int ar = row * c.v + br;          // the actual block row
                    const int prev = ibr > 0 ? ar - 1 : ar;
                    const int prev2 = ibr > 1 ? ar - 2 : prev;
                    const int next = ibr < image_block_rows - 1 ? ar + 1 : ar;
                    const int next2 = ibr < image_block_rows - 2 ? ar + 2 : next;
                    const int rows5[5] = {prev2, prev, ar, next, next2};
                    auto dc = [&](int r, int col) { return int(c.block(rows5[r], col)[0]); };
                    int DC[5][5];
                    for (int r = 0; r < 5; ++r)
                        for (int k = 0; k < 5; ++k) DC[r][k] = dc(r, 0);
                    for (int b = 0; b <= last_col; ++b) {
                        std::int16_t ws[64];
                        std::memcpy(ws, c.block(ar, b), sizeof(ws));
                        if (b == 0 && b < last_col)
                            for (int r = 0; r < 5; ++r) DC[r][3] = DC[r][4] = dc(r, 1);
                        if (b + 1 < last_col)
                            for (int r = 0; r < 5; ++r) DC[r][4] = dc(r, b + 2);
                        // DC01..DC25 in libjpeg's numbering: row-major over the 5x5 window.
                        auto D = [&](int n) { return DC[(n - 1) / 5][(n - 1) % 5]; };
                        auto predict = [&](int Al, std::int64_t q, std::int64_t num) {
                            int pred;
                            if (num >= 0) {
                                pred = int(((q << 7) + num) / (q << 8));
                                if (Al > 0 && pred >= (1 << Al)) pred = (1 << Al) - 1;
                            } else {
                                pred = int(((q << 7) - num) / (q << 8));
                                if (Al > 0 && pred >= (1 << Al)) pred = (1 << Al) - 1;
                                pred = -pred;
                            }
                            return std::int16_t(pred);
                        };
                        int Al;
                        if ((Al = cb[1]) != 0 && ws[1] == 0) {
                            std::int64_t num = q00 * (change_dc ? (-D(1) - D(2) + D(4) + D(5) - 3 * D(6) + 13 * D(7) - 13 * D(9) +
                                                                   3 * D(10) - 3 * D(11) + 38 * D(12) - 38 * D(14) + 3 * D(15) -
                                                                   3 * D(16) + 13 * D(17) - 13 * D(19) + 3 * D(20) - D(21) - D(22) +
                                                                   D(24) + D(25))
                                                                : (-7 * D(11) + 50 * D(12) - 50 * D(14) + 7 * D(15)));
                            ws[1] = predict(Al, q01, num);
                        }
                        if ((Al = cb[2]) != 0 && ws[8] == 0) {
                            std::int64_t num = q00 * (change_dc ? (-D(1) - 3 * D(2) - 3 * D(3) - 3 * D(4) - D(5) - D(6) +
                                                                   13 * D(7) + 38 * D(8) + 13 * D(9) - D(10) + D(16) -
                                                                   13 * D(17) - 38 * D(18) - 13 * D(19) + D(20) + D(21) +
                                                                   3 * D(22) + 3 * D(23) + 3 * D(24) + D(25))
                                                                : (-7 * D(3) + 50 * D(8) - 50 * D(18) + 7 * D(23)));
                            ws[8] = predict(Al, q10, num);
                        }
                        if ((Al = cb[3]) != 0 && ws[16] == 0) {
                            std::int64_t num = q00 * (change_dc ? (D(3) + 2 * D(7) + 7 * D(8) + 2 * D(9) - 5 * D(12) - 14 * D(13) -
                                                                   5 * D(14) + 2 * D(17) + 7 * D(18) + 2 * D(19) + D(23))
                                                                : (-D(3) + 13 * D(8) - 24 * D(13) + 13 * D(18) - D(23)));
                            ws[16] = predict(Al, q20, num);
                        }
                        if ((Al = cb[4]) != 0 && ws[9] == 0) {
                            std::int64_t num = q00 * (change_dc ? (-D(1) + D(5) + 9 * D(7) - 9 * D(9) - 9 * D(17) + 9 * D(19) +
                                                                   D(21) - D(25))
                                                                : (D(10) + D(16) - 10 * D(17) + 10 * D(19) - D(2) - D(20) +
                                                                   D(22) - D(24) + D(4) - D(6) + 10 * D(7) - 10 * D(9)));
                            ws[9] = predict(Al, q11, num);
                        }
                        if ((Al = cb[5]) != 0 && ws[2] == 0) {
                            std::int64_t num = q00 * (change_dc ? (2 * D(7) - 5 * D(8) + 2 * D(9) + D(11) + 7 * D(12) -
                                                                   14 * D(13) + 7 * D(14) + D(15) + 2 * D(17) - 5 * D(18) +
                                                                   2 * D(19))
                                                                : (-D(11) + 13 * D(12) - 24 * D(13) + 13 * D(14) - D(15)));
                            ws[2] = predict(Al, q02, num);
                        }
                        if (change_dc) {
                            if ((Al = cb[6]) != 0 && ws[3] == 0)
                                ws[3] = predict(Al, q03, q00 * (D(7) - D(9) + 2 * D(12) - 2 * D(14) + D(17) - D(19)));
                            if ((Al = cb[7]) != 0 && ws[10] == 0)
                                ws[10] = predict(Al, q12, q00 * (D(7) - 3 * D(8) + D(9) - D(17) + 3 * D(18) - D(19)));
                            if ((Al = cb[8]) != 0 && ws[17] == 0)
                                ws[17] = predict(Al, q21, q00 * (D(7) - D(9) - 3 * D(12) + 3 * D(14) + D(17) - D(19)));
                            if ((Al = cb[9]) != 0 && ws[24] == 0)
                                ws[24] = predict(Al, q30, q00 * (D(7) + 2 * D(8) + D(9) - D(17) - 2 * D(18) - D(19)));
                            std::int64_t num =
                                q00 * (-2 * D(1) - 6 * D(2) - 8 * D(3) - 6 * D(4) - 2 * D(5) - 6 * D(6) + 6 * D(7) + 42 * D(8) +
                                       6 * D(9) - 6 * D(10) - 8 * D(11) + 42 * D(12) + 152 * D(13) + 42 * D(14) - 8 * D(15) -
                                       6 * D(16) + 6 * D(17) + 42 * D(18) + 6 * D(19) - 6 * D(20) - 2 * D(21) - 6 * D(22) -
                                       8 * D(23) - 6 * D(24) - 2 * D(25));
                            ws[0] = predict(0, q00, num);
                        }
                        idct_block(c, ws, ar, b);
                        for (int r = 0; r < 5; ++r)
                            for (int k = 0; k < 4; ++k) DC[r][k] = DC[r][k + 1];
                    }
                }
            }
        }
    }

    void idct_all() {
        int latch[4][10], prev_latch[4][10];
        if (smoothing_ok(latch, prev_latch)) {
            idct_smooth(latch, prev_latch);
        } else {
            for (int row = 0; row < total_rows; ++row) idct_row(row);
        }
        for (int i = 0; i < n_comp; ++i) {
            comp[i].coef.clear();
            comp[i].coef.shrink_to_fit();
        }
    }

    // ---- upsampling (jdsample.c) and colour conversion (jdcolor.c; Pillow's Convert.c) ----
    // Component i's samples for output row y, upsampled to at least `width` samples (jdsample.c
    // picks the method per component from the sampling ratio; see jpeg_color.hpp).
    const std::uint8_t* upsampled_row(int i, int y, std::uint8_t* tmp, std::int16_t* scratch) const {
        const jpeg_component& c = comp[i];
        const int hx = hmax / c.h, vx = vmax / c.v;
        const bool fancy = !lossless;  // libjpeg: no fancy upsampling for lossless files
        const std::uint8_t* in = c.plane.get();
        const std::size_t stride = c.stride;
        const int ring = c.ring_rows;
        auto row_at = [&](int r) { return in + std::size_t((r < 0 ? 0 : (r >= c.dh ? c.dh - 1 : r)) % ring) * stride; };
        if (hx == 1 && vx == 1) return in + std::size_t(y % ring) * stride;
        if (hx == 2 && vx == 1 && fancy && c.dw > 2) {
            jpeg_h2v1_fancy(in + std::size_t(y % ring) * stride, c.dw, tmp, scratch);
            return tmp;
        }
        if (hx == 1 && vx == 2 && fancy) {
            const int r = y / 2;
            const bool lower = y & 1;  // rows nearer the next input row use bias 2, the others 1
            jpeg_h1v2_fancy(row_at(r), row_at(lower ? r + 1 : r - 1), c.dw, lower ? 2 : 1, tmp);
            return tmp;
        }
        if (hx == 2 && vx == 2 && fancy && c.dw > 2) {
            const int r = y / 2;
            const bool lower = y & 1;
            jpeg_h2v2_fancy(row_at(r), row_at(lower ? r + 1 : r - 1), c.dw, tmp, scratch);
            return tmp;
        }
        // Replication (h2v1 / h2v2 / int_upsample), from input row y / vx.
        const std::uint8_t* s = in + std::size_t(y / vx % ring) * stride;
        if (hx == 1) return s;
        if (hx == 2) {
            for (int x = 0; x < c.dw; ++x) tmp[2 * x] = tmp[2 * x + 1] = s[x];
            return tmp;
        }
        for (int x = 0, o = 0; x < c.dw; ++x)
            for (int k = 0; k < hx; ++k) tmp[o++] = s[x];
        return tmp;
    }

    // ---- output rows ----
    // Single-scan DCT files are converted while they decode: each component keeps only two
    // MCU rows of samples (a ring), and after each MCU row the output rows whose input rows are
    // all there are emitted. Other files keep whole planes and convert at the end.
    image out;
    int emitted = 0;
    std::vector<std::uint8_t> up_tmp[4];
    std::vector<std::int16_t> up_scratch;
    bool use_avx2 = false;

    void prepare_output() {
#if SMOLVLM_SIMD_X86
        use_avx2 = detect_cpu().avx2;
#endif
        out.width = width;
        out.height = height;
        out.channels = n_comp == 1 ? 1 : 3;
        out.pixels.resize(std::size_t(width) * std::size_t(height) * std::size_t(out.channels));
        std::size_t max_dw = 0;
        for (int i = 0; i < n_comp; ++i) {
            up_tmp[i].resize(std::size_t(comp[i].dw) * 4 + 16);
            if (std::size_t(comp[i].dw) > max_dw) max_dw = std::size_t(comp[i].dw);
        }
        up_scratch.resize(max_dw + 16);
    }

    // Output rows [0, n) can be made once iMCU rows [0, row] are decoded.
    int rows_ready(int row) const {
        if (row >= total_rows - 1) return height;
        int ready = height;
        for (int i = 0; i < n_comp; ++i) {
            const jpeg_component& c = comp[i];
            const int avail = (row + 1) * 8 * c.v, vx = vmax / c.v, hx = hmax / c.h;
            const bool fancy_v = vx == 2 && (hx == 1 || (hx == 2 && c.dw > 2));  // needs the row below
            const int n = fancy_v ? 2 * avail - 2 : vx * avail;
            if (n < ready) ready = n;
        }
        return ready;
    }

    void emit_rows(int end) {
        // jdcolor.c tables for the CMYK / YCCK path (YCbCr -> RGB runs in jpeg_ycc_rgb).
        constexpr int scale_bits = 16;
        constexpr std::int32_t half = 1 << (scale_bits - 1);
        auto fix = [](double x) { return std::int32_t(x * (1 << scale_bits) + 0.5); };
        std::int32_t cr_r[256], cb_b[256], cr_g[256], cb_g[256];
        const bool rgb = is_rgb(), ycck = is_ycck();
        if (ycck)
            for (int i = 0; i < 256; ++i) {
                std::int32_t x = i - 128;
                cr_r[i] = (fix(1.40200) * x + half) >> scale_bits;
                cb_b[i] = (fix(1.77200) * x + half) >> scale_bits;
                cr_g[i] = -fix(0.71414) * x;
                cb_g[i] = -fix(0.34414) * x + half;
            }
        const std::size_t W = std::size_t(width);
        std::int16_t* scratch = up_scratch.data();
        for (int y = emitted; y < end; ++y) {
            std::uint8_t* o = out.row(y);
            const std::uint8_t* p0 = upsampled_row(0, y, up_tmp[0].data(), scratch);
            if (n_comp == 1) {
                std::memcpy(o, p0, W);
                continue;
            }
            const std::uint8_t* p1 = upsampled_row(1, y, up_tmp[1].data(), scratch);
            const std::uint8_t* p2 = upsampled_row(2, y, up_tmp[2].data(), scratch);
            if (n_comp == 3) {
                if (rgb) {
                    for (std::size_t x = 0; x < W; ++x) o[3 * x] = p0[x], o[3 * x + 1] = p1[x], o[3 * x + 2] = p2[x];
                } else {
#if SMOLVLM_SIMD_X86
                    if (use_avx2) jpeg_ycc_rgb_avx2(p0, p1, p2, o, W);
                    else jpeg_ycc_rgb(p0, p1, p2, o, W);
#else
                    jpeg_ycc_rgb(p0, p1, p2, o, W);
#endif
                }
                continue;
            }
            // CMYK: libjpeg outputs C, M, Y, K (YCCK converted with the YCbCr tables, K passed
            // through); Pillow reads them inverted ("CMYK;I", Adobe's convention) and its
            // convert("RGB") is Convert.c cmyk2rgb: R = K - K * C' / 255 with C' = 255 - C.
            const std::uint8_t* p3 = upsampled_row(3, y, up_tmp[3].data(), scratch);
            for (std::size_t x = 0; x < W; ++x) {
                int c0 = p0[x], c1 = p1[x], c2 = p2[x];
                if (ycck) {
                    const int yv = c0, cb = c1, cr = c2;
                    c0 = jpeg_clamp8(255 - (yv + cr_r[cr]));
                    c1 = jpeg_clamp8(255 - (yv + ((cb_g[cb] + cr_g[cr]) >> scale_bits)));
                    c2 = jpeg_clamp8(255 - (yv + cb_b[cb]));
                }
                const int nk = p3[x];  // 255 - K' where K' = 255 - K
                auto chan = [nk](int c) {
                    int t = (255 - c) * nk + 128;
                    int v = nk - (((t >> 8) + t) >> 8);
                    return std::uint8_t(v <= 0 ? 0 : (v < 256 ? v : 255));
                };
                o[3 * x] = chan(c0);
                o[3 * x + 1] = chan(c1);
                o[3 * x + 2] = chan(c2);
            }
        }
        if (end > emitted) emitted = end;
    }

    result<image> finish() {
        if (!lossless && multi_scan) idct_all();
        emit_rows(height);
        out.orientation = meta.orientation();
        return std::move(out);
    }
};

}  // namespace detail

inline result<image> decode_jpeg(const std::uint8_t* data, std::size_t size, const image_limits& lim = {}) {
    if (!data && size) return status(errc::invalid_argument, "jpeg: null data");
    if (size == 0) return status(errc::truncated, "jpeg: empty file");
    // The decoder state is ~40 KB (tables, statistics); keep it off the stack for firmware.
    std::vector<detail::jpeg_decoder> holder(1);
    detail::jpeg_decoder& d = holder[0];
    d.src.data = data;
    d.src.size = size;
    d.lim = lim;
    SMOLVLM_TRY(d.parse());
    return d.finish();
}

// The orientation ImageOps.exif_transpose() would apply (1..8), from the segments before the
// first scan, without decoding the image.
inline int jpeg_orientation(const std::uint8_t* data, std::size_t size) {
    if (!is_jpeg(data, size)) return 1;
    detail::jpeg_meta meta;
    detail::jpeg_source src;
    src.data = data;
    src.size = size;
    src.pos = 2;
    while (src.next_marker()) {
        const int m = src.unread_marker;
        src.unread_marker = 0;
        if (m == 0xDA || m == 0xD9) break;
        if ((m >= 0xD0 && m <= 0xD8) || m == 0x01) continue;  // no length
        if (size - src.pos < 2) break;
        std::size_t len = std::size_t(data[src.pos]) << 8 | data[src.pos + 1];
        src.pos += 2;
        if (len < 2) continue;
        len -= 2;
        if (len > size - src.pos) break;
        if (m == 0xE1) meta.app1(data + src.pos, len);
        src.pos += len;
    }
    return meta.orientation();
}

}  // namespace smolvlm
