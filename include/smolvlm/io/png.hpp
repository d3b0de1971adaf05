// smolvlm/io/png.hpp — PNG decoder (W3C PNG 2nd edition) that reproduces Pillow's PngImagePlugin.
//
//   result<image> decode_png(const uint8_t* data, size_t size, const image_limits& = {});
//
// Every colour type and bit depth, Adam7 interlacing (Pillow takes any non-zero interlace
// method as Adam7), all five filters, PLTE + tRNS, APNG files (the first frame, as Pillow).
// Hostile files: every length is checked before use, the caller's image_limits and Pillow's
// decompression-bomb rule cap the dimensions before anything is allocated.
//
// Output channels follow what Pillow hands the Hugging Face image processor (which resizes
// in the image's *native* mode, so the channel count matters):
//   colour type 0  gray              -> 1 channel ("1", "L", "I;16")
//   colour type 4  gray + alpha      -> 2 channels ("LA"; 16-bit opens as "RGBA" in Pillow with
//                                       R=G=B, kept as LA here: the same values)
//   colour type 2  RGB               -> 3 channels ("RGB")
//   colour type 6  RGBA              -> 4 channels ("RGBA")
//   colour type 3  palette           -> 3 channels, or 4 when a tRNS chunk applies ("P" +
//                                       info["transparency"]; convert("RGB"/"RGBA") expands it)
//   tRNS key on gray / RGB           -> an alpha channel is added (2 / 4 channels), 0 where the
//                                       pixel matches the key as Pillow's convert("LA"/"RGBA")
//                                       sees it: Pillow compares the key with its stored 8-bit
//                                       value (scaled 1/2/4-bit gray, high byte of 16-bit RGB,
//                                       16-bit gray clipped to 255); for 1-bit gray any non-zero
//                                       key means white.
// Sample depths (Pillow's unpackers, then convert("RGB")):
//   1/2/4-bit gray is scaled to 0..255 (x255, x85, x17);
//   16-bit RGB, RGBA, gray+alpha: the high byte of each sample;
//   16-bit gray: Pillow opens it as "I;16" and convert("RGB"/"L") *clips*: min(v, 255). So does
//     this decoder (transformers 5's processor and load_image() both go through convert("RGB")):
//     most 16-bit gray photos come out nearly white, exactly as in Python. With a tRNS key,
//     convert("RGBA") (the processor's convert_to_rgb, which then composites over white) makes
//     alpha 0 where the clipped value equals the key, and load_image()'s convert("RGB") ignores
//     the key, as for every tRNS / alpha image: both follow from the LA / RGBA pixels here;
//   palette indices beyond the PLTE entries decode as black, as Pillow pads its palette.
// Chunk rules, as Pillow applies them:
//   * chunks before the first IDAT: CRC-32 checked (critical and ancillary), names must be 4
//     characters of [A-Za-z0-9_], unknown chunks (even critical ones) skipped, IHDR may come
//     late or twice (the last one wins), PLTE / tRNS apply only once a palette IHDR was seen;
//   * the image data is the run of IDAT (and fdAT) chunks from the first one; their CRCs are not
//     checked; decoding stops as soon as the image is complete (extra data ignored, the Adler-32
//     checked only when zlib reaches it in the same read), a zlib stream that ends early at a row
//     boundary leaves the remaining rows zero;
//   * chunks after the image data: handled without CRC checks until IEND, a malformed chunk
//     header or the end of the file (a missing IEND is fine);
//   * text: zTXt / iTXt / iCCP that inflate to more than 1 MiB, or text chunks that total more
//     than 64 MiB, are errors (MAX_TEXT_CHUNK / MAX_TEXT_MEMORY); corrupt compressed text is
//     ignored; gAMA, cHRM, sRGB, pHYs, acTL, fcTL shorter than their fields are errors;
//   * APNG: acTL without fcTL is fine (the IDAT is a default image), an fdAT whose sequence
//     number does not follow the last fcTL/fdAT (e.g. with no fcTL at all) is an error, as is an
//     fcTL frame outside the image; when an fcTL precedes the IDAT, the IDAT fills that frame.
// Orientation: image::orientation is what ImageOps.exif_transpose() applies: the eXIf chunk (or a
// tEXt "exif" chunk, or ImageMagick's "Raw profile type exif" text), else XMP tiff:Orientation
// from an "XML:com.adobe.xmp" text chunk; chunks after the image data count. Not applied here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../core/status.hpp"
#include "exif.hpp"
#include "image.hpp"
#include "inflate.hpp"

namespace smolvlm {

inline bool is_png(const std::uint8_t* data, std::size_t size) {
    static constexpr std::uint8_t sig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    return data && size >= 8 && std::memcmp(data, sig, 8) == 0;
}

namespace detail {

inline std::uint32_t png_be32(const std::uint8_t* p) {
    return std::uint32_t(p[0]) << 24 | std::uint32_t(p[1]) << 16 | std::uint32_t(p[2]) << 8 | std::uint32_t(p[3]);
}

// Adam7 passes: first column/row and column/row step (PNG spec 8.2). Index 0 is "no interlace".
struct png_pass { int x0, y0, dx, dy; };
constexpr png_pass k_png_passes[8] = {{0, 0, 1, 1}, {0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8},
                                      {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};

// Pillow's PngImagePlugin limits (ImageFile.SAFEBLOCK and 64 of them).
constexpr std::size_t k_png_max_text_chunk = std::size_t(1) << 20;
constexpr std::size_t k_png_max_text_memory = std::size_t(64) << 20;

// Reverse one scanline's filter in place (PNG spec 9.2). `prev` is the previous unfiltered
// row of the same pass, or nullptr for the first row (treated as zeros).
inline bool png_unfilter_row(int filter, std::uint8_t* row, const std::uint8_t* prev, std::size_t n, std::size_t bpp) {
    switch (filter) {
        case 0: return true;
        case 1:  // Sub
            for (std::size_t i = bpp; i < n; ++i) row[i] = std::uint8_t(row[i] + row[i - bpp]);
            return true;
        case 2:  // Up
            if (prev)
                for (std::size_t i = 0; i < n; ++i) row[i] = std::uint8_t(row[i] + prev[i]);
            return true;
        case 3:  // Average
            if (prev) {
                for (std::size_t i = 0; i < bpp && i < n; ++i) row[i] = std::uint8_t(row[i] + (prev[i] >> 1));
                for (std::size_t i = bpp; i < n; ++i) row[i] = std::uint8_t(row[i] + ((row[i - bpp] + prev[i]) >> 1));
            } else {
                for (std::size_t i = bpp; i < n; ++i) row[i] = std::uint8_t(row[i] + (row[i - bpp] >> 1));
            }
            return true;
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
                for (std::size_t i = bpp; i < n; ++i) row[i] = std::uint8_t(row[i] + row[i - bpp]);  // Paeth picks a
            }
            return true;
        default:
            return false;
    }
}

// How Pillow stores and converts one image (mode, palette, transparency).
struct png_format {
    int depth = 0, color_type = 0;
    int samples = 0;          // samples per pixel in the file
    int bits_per_pixel = 0;
    int out_channels = 0;
    std::uint8_t palette[256][4];  // RGBA; entries past the PLTE are black, alpha from tRNS
    bool trns = false;             // Pillow's info["transparency"] is set
    int key[3] = {0, 0, 0};        // gray / RGB transparency key (tRNS values as Pillow keeps them)
};

// Pillow's stored 8-bit value of a gray sample (mode "1", "L" or "I;16" clipped).
inline int png_gray8(unsigned v, int depth) {
    switch (depth) {
        case 1: return v ? 255 : 0;
        case 2: return int(v * 85);
        case 4: return int(v * 17);
        case 16: return v > 255 ? 255 : int(v);
        default: return int(v);
    }
}

// One unfiltered scanline of `w` pixels to output pixels.
inline void png_convert_row(const png_format& f, const std::uint8_t* src, int w, std::uint8_t* dst) {
    const int d = f.depth, oc = f.out_channels;
    if (d == 8 && f.color_type != 3 && oc == f.samples) {
        std::memcpy(dst, src, std::size_t(w) * std::size_t(oc));
        return;
    }
    auto sample = [&](std::size_t i) -> unsigned {
        if (d == 8) return src[i];
        if (d == 16) return unsigned(src[2 * i]) << 8 | src[2 * i + 1];
        std::size_t bit = i * std::size_t(d);
        return (src[bit >> 3] >> (8 - d - int(bit & 7))) & ((1u << d) - 1);
    };
    switch (f.color_type) {
        case 0:  // "1", "L", "I;16" (+ alpha from the transparency key)
            for (int x = 0; x < w; ++x) {
                int g = png_gray8(sample(std::size_t(x)), d);
                dst[x * oc] = std::uint8_t(g);
                if (oc == 2) dst[x * 2 + 1] = g == f.key[0] ? 0 : 255;
            }
            return;
        case 2:  // "RGB": 16-bit keeps the high byte; the key is compared with those values
            for (int x = 0; x < w; ++x) {
                int r = d == 16 ? src[6 * x] : src[3 * x], g = d == 16 ? src[6 * x + 2] : src[3 * x + 1],
                    b = d == 16 ? src[6 * x + 4] : src[3 * x + 2];
                std::uint8_t* o = dst + x * oc;
                o[0] = std::uint8_t(r), o[1] = std::uint8_t(g), o[2] = std::uint8_t(b);
                if (oc == 4) o[3] = (r == f.key[0] && g == f.key[1] && b == f.key[2]) ? 0 : 255;
            }
            return;
        case 3:  // "P"
            for (int x = 0; x < w; ++x) {
                const std::uint8_t* e = f.palette[sample(std::size_t(x)) & 255];
                std::uint8_t* o = dst + x * oc;
                o[0] = e[0], o[1] = e[1], o[2] = e[2];
                if (oc == 4) o[3] = e[3];
            }
            return;
        default: {  // 4, 6 at 16 bits: high bytes
            const std::size_t n = std::size_t(w) * std::size_t(oc);
            for (std::size_t i = 0; i < n; ++i) dst[i] = src[2 * i];
            return;
        }
    }
}

// UTF-8 check and code-point count (Python's strict decode and len()).
inline bool png_utf8_length(const std::uint8_t* s, std::size_t n, std::size_t* len) {
    std::size_t count = 0;
    for (std::size_t i = 0; i < n;) {
        std::uint8_t c = s[i];
        int extra;
        std::uint32_t cp;
        if (c < 0x80) extra = 0, cp = c;
        else if (c >= 0xC2 && c <= 0xDF) extra = 1, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF) extra = 2, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4) extra = 3, cp = c & 0x07;
        else return false;
        if (n - i <= std::size_t(extra)) return false;
        for (int k = 1; k <= extra; ++k) {
            std::uint8_t cc = s[i + std::size_t(k)];
            if ((cc & 0xC0) != 0x80) return false;
            cp = cp << 6 | (cc & 0x3F);
        }
        if ((extra == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        i += std::size_t(extra) + 1;
        ++count;
    }
    *len = count;
    return true;
}

// The chunk-level state Pillow's PngStream keeps (im_info, im_mode, ...).
struct png_reader {
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;
    image_limits lim;

    std::uint32_t width = 0, height = 0;
    bool have_mode = false;   // the latest IHDR with a known bit depth / colour type
    int depth = 0, color_type = 0;
    bool interlaced = false;
    bool palette_mode = false;
    std::vector<std::uint8_t> plte;  // the last PLTE seen in palette mode
    bool have_plte = false;
    bool trns = false;
    std::vector<std::uint8_t> trns_alpha;  // palette alpha
    int key[3] = {0, 0, 0};
    std::size_t text_memory = 0;
    // Metadata for the orientation (Pillow's info["exif"], info["XML:com.adobe.xmp"], ...).
    std::vector<std::uint8_t> exif;
    bool has_exif = false;
    std::vector<std::uint8_t> xmp_text, xmp_raw, raw_profile;
    bool has_xmp_text = false, has_xmp_raw = false, has_raw_profile = false;
    // APNG.
    bool n_frames_set = false;
    std::uint32_t n_frames = 0;
    bool seq_set = false;
    std::uint32_t seq = 0;
    bool has_bbox = false;
    std::uint32_t bbox[4] = {0, 0, 0, 0};
    bool default_image = false;

    // Inflate text / profile data with Pillow's 1 MiB cap. `ok` false: a zlib error (Pillow
    // ignores the chunk); an error status: more than the cap (Pillow raises).
    status inflate_text(const std::uint8_t* z, std::size_t n, std::vector<std::uint8_t>& out, bool* ok, const char* what) {
        *ok = false;
        // Deflate expands at most 1032:1, so this capacity only stops a stream at Pillow's cap.
        const std::size_t bound = n / 2 * 2065 + 1024;
        out.resize(bound < k_png_max_text_chunk ? bound : k_png_max_text_chunk);
        if (n < 2 || (z[0] & 15) != 8 || (z[0] >> 4) > 7 || (z[0] * 256 + z[1]) % 31 != 0 || (z[1] & 0x20)) {
            out.clear();
            return status::ok();  // zlib header error
        }
        inflate_report rep;
        rep.stop_when_full = true;
        std::size_t produced = 0, used = 0;
        status s = inflate_raw(z + 2, n - 2, out.data(), out.size(), &produced, &used, &rep);
        if (rep.bits_at_full != ~std::size_t(0) && rep.bits_at_full > (n - 2) * 8) {
            // Full only thanks to the zero bits our inflater reads past the end: Python's zlib
            // returns what the real data gives, without an error.
            *ok = true;
            return status::ok();
        }
        if (rep.stopped)
            return status::fmt(errc::unsupported, "png: %s decompresses to more than 1 MiB (Pillow's MAX_TEXT_CHUNK)", what);
        if (!s) {
            // A truncated stream gives Python its partial output; a corrupt one an error.
            if (s.code() == errc::truncated) {
                out.resize(produced);
                *ok = true;
            } else {
                out.clear();
            }
            return status::ok();
        }
        out.resize(produced);
        std::size_t at = 2 + used;
        if (n - at >= 4) {
            std::uint32_t want = png_be32(z + at);
            if (want != adler32(1, out.data(), out.size())) {
                out.clear();
                return status::ok();
            }
        }
        *ok = true;
        return status::ok();
    }

    status add_text_memory(std::size_t n) {
        text_memory += n;
        if (text_memory > k_png_max_text_memory)
            return status(errc::unsupported, "png: text chunks exceed 64 MiB (Pillow's MAX_TEXT_MEMORY)");
        return status::ok();
    }

    void set_text(const std::uint8_t* k, std::size_t kn, const std::uint8_t* v, std::size_t vn, bool is_text_exif) {
        auto key_is = [&](const char* s) { return kn == std::strlen(s) && std::memcmp(k, s, kn) == 0; };
        if (key_is("XML:com.adobe.xmp")) {
            xmp_text.assign(v, v + vn);
            has_xmp_text = true;
        } else if (key_is("Raw profile type exif")) {
            raw_profile.assign(v, v + vn);
            has_raw_profile = true;
        } else if (key_is("exif") && is_text_exif) {
            exif.assign(v, v + vn);  // a tEXt "exif" chunk is kept as bytes: Pillow's info["exif"]
            has_exif = true;
        }
    }

    // One known chunk (PngStream.chunk_*). Unknown chunks are skipped by the caller.
    status handle(const std::uint8_t* type, const std::uint8_t* s, std::uint32_t len) {
        auto is = [&](const char* t) { return std::memcmp(type, t, 4) == 0; };
        if (is("IHDR")) {
            if (len < 13) return status(errc::bad_format, "png: truncated IHDR chunk");
            width = png_be32(s);
            height = png_be32(s + 4);
            const int d = s[8], ct = s[9];
            bool known = false;
            switch (ct) {
                case 0: known = d == 1 || d == 2 || d == 4 || d == 8 || d == 16; break;
                case 2: case 4: case 6: known = d == 8 || d == 16; break;
                case 3: known = d == 1 || d == 2 || d == 4 || d == 8; break;
                default: break;
            }
            if (known) {
                have_mode = true;
                depth = d;
                color_type = ct;
                palette_mode = ct == 3;
            }
            interlaced = s[12] != 0;
            if (s[11]) return status::fmt(errc::bad_format, "png: unknown filter method %d", s[11]);
            return status::ok();
        }
        if (is("PLTE")) {
            if (have_mode && palette_mode) {
                plte.assign(s, s + len);
                have_plte = true;
            }
            return status::ok();
        }
        if (is("tRNS")) {
            if (!have_mode) return status::ok();
            if (palette_mode) {
                trns = true;
                trns_alpha.assign(s, s + len);
            } else if (color_type == 0 || color_type == 2) {
                if (len < (color_type == 2 ? 6u : 2u)) return status(errc::bad_format, "png: truncated tRNS chunk");
                trns = true;
                for (int c = 0; c < (color_type == 2 ? 3 : 1); ++c) key[c] = int(s[2 * c] << 8 | s[2 * c + 1]);
                if (color_type == 0 && depth == 1) key[0] = key[0] ? 255 : 0;
            }
            return status::ok();
        }
        if (is("gAMA") && len < 4) return status(errc::bad_format, "png: truncated gAMA chunk");
        if (is("cHRM") && len < 32) return status(errc::bad_format, "png: truncated cHRM chunk");
        if (is("sRGB") && len < 1) return status(errc::bad_format, "png: truncated sRGB chunk");
        if (is("pHYs") && len < 9) return status(errc::bad_format, "png: truncated pHYs chunk");
        if (is("eXIf")) {
            exif.assign({'E', 'x', 'i', 'f', 0, 0});
            exif.insert(exif.end(), s, s + len);
            has_exif = true;
            return status::ok();
        }
        if (is("tEXt")) {
            const std::uint8_t* nul = static_cast<const std::uint8_t*>(std::memchr(s, 0, len));
            std::size_t kn = nul ? std::size_t(nul - s) : len;
            const std::uint8_t* v = nul ? nul + 1 : s + len;
            std::size_t vn = nul ? len - kn - 1 : 0;
            if (kn) {
                set_text(s, kn, v, vn, true);
                SMOLVLM_TRY(add_text_memory(vn));
            }
            return status::ok();
        }
        if (is("zTXt")) {
            const std::uint8_t* nul = static_cast<const std::uint8_t*>(std::memchr(s, 0, len));
            std::size_t kn = nul ? std::size_t(nul - s) : len;
            std::size_t vn = nul ? len - kn - 1 : 0;
            const std::uint8_t* v = nul ? nul + 1 : s + len;
            int method = vn ? v[0] : 0;
            if (method != 0) return status::fmt(errc::bad_format, "png: unknown compression method %d in zTXt", method);
            std::vector<std::uint8_t> text;
            bool ok = false;
            SMOLVLM_TRY(inflate_text(vn ? v + 1 : v, vn ? vn - 1 : 0, text, &ok, "a zTXt chunk"));
            if (!ok) text.clear();
            if (kn) {
                set_text(s, kn, text.data(), text.size(), false);
                SMOLVLM_TRY(add_text_memory(text.size()));
            }
            return status::ok();
        }
        if (is("iTXt")) {
            const std::uint8_t* nul = static_cast<const std::uint8_t*>(std::memchr(s, 0, len));
            if (!nul) return status::ok();
            std::size_t kn = std::size_t(nul - s);
            const std::uint8_t* r = nul + 1;
            std::size_t rn = len - kn - 1;
            if (rn < 2) return status::ok();
            const int cf = r[0], cm = r[1];
            r += 2;
            rn -= 2;
            const std::uint8_t* n1 = static_cast<const std::uint8_t*>(std::memchr(r, 0, rn));
            if (!n1) return status::ok();
            const std::uint8_t* lang = r;
            std::size_t lang_n = std::size_t(n1 - r);
            const std::uint8_t* r2 = n1 + 1;
            std::size_t rn2 = rn - lang_n - 1;
            const std::uint8_t* n2 = static_cast<const std::uint8_t*>(std::memchr(r2, 0, rn2));
            if (!n2) return status::ok();
            const std::uint8_t* tk = r2;
            std::size_t tk_n = std::size_t(n2 - r2);
            const std::uint8_t* v = n2 + 1;
            std::size_t vn = rn2 - tk_n - 1;
            std::vector<std::uint8_t> text;
            if (cf != 0) {
                if (cm != 0) return status::ok();
                bool ok = false;
                SMOLVLM_TRY(inflate_text(v, vn, text, &ok, "an iTXt chunk"));
                if (!ok) return status::ok();
            } else {
                text.assign(v, v + vn);
            }
            const bool is_xmp = kn == 17 && std::memcmp(s, "XML:com.adobe.xmp", 17) == 0;
            if (is_xmp) {
                xmp_raw = text;
                has_xmp_raw = true;
            }
            std::size_t chars = 0, dummy = 0;
            if (!png_utf8_length(lang, lang_n, &dummy) || !png_utf8_length(tk, tk_n, &dummy) ||
                !png_utf8_length(text.data(), text.size(), &chars))
                return status::ok();
            set_text(s, kn, text.data(), text.size(), false);
            return add_text_memory(chars);
        }
        if (is("iCCP")) {
            if (len == 0) return status(errc::bad_format, "png: empty iCCP chunk");
            const std::uint8_t* nul = static_cast<const std::uint8_t*>(std::memchr(s, 0, len));
            // Pillow: s.find(b"\0") (-1 when absent), then s[i + 1] is the method.
            std::size_t i = nul ? std::size_t(nul - s) : std::size_t(-1);
            std::size_t mpos = i + 1;
            if (mpos >= len) return status(errc::bad_format, "png: iCCP chunk without a compression method");
            if (s[mpos] != 0) return status::fmt(errc::bad_format, "png: unknown compression method %d in iCCP", s[mpos]);
            std::vector<std::uint8_t> icc;
            bool ok = false;
            return inflate_text(s + mpos + 1, len - mpos - 1, icc, &ok, "the iCCP profile");
        }
        if (is("acTL")) {
            if (len < 8) return status(errc::bad_format, "png: APNG contains a truncated acTL chunk");
            if (n_frames_set) {
                n_frames_set = false;  // a second acTL: "Invalid APNG" warning, default image only
                return status::ok();
            }
            std::uint32_t n = png_be32(s);
            if (n == 0 || n > 0x80000000u) return status::ok();
            n_frames_set = true;
            n_frames = n;
            return status::ok();
        }
        if (is("fcTL")) {
            if (len < 26) return status(errc::bad_format, "png: APNG contains a truncated fcTL chunk");
            std::uint32_t sq = png_be32(s);
            if ((!seq_set && sq != 0) || (seq_set && seq != sq - 1))
                return status(errc::bad_format, "png: APNG contains frame sequence errors");
            seq_set = true;
            seq = sq;
            std::uint64_t fw = png_be32(s + 4), fh = png_be32(s + 8), px = png_be32(s + 12), py = png_be32(s + 16);
            if (px + fw > width || py + fh > height) return status(errc::bad_format, "png: APNG contains invalid frames");
            has_bbox = true;
            bbox[0] = std::uint32_t(px), bbox[1] = std::uint32_t(py), bbox[2] = std::uint32_t(px + fw),
            bbox[3] = std::uint32_t(py + fh);
            return status::ok();
        }
        return status::ok();
    }

    // fdAT's own checks (chunk_fdAT), before its data counts as image data.
    status fdat(const std::uint8_t* s, std::uint32_t len, std::size_t avail) {
        if (len < 4) return status(errc::bad_format, "png: APNG contains a truncated fdAT chunk");
        if (avail < 4) return status(errc::truncated, "png: file ends inside an fdAT chunk");
        std::uint32_t sq = png_be32(s);
        if (!seq_set || seq != sq - 1) return status(errc::bad_format, "png: APNG contains frame sequence errors (fdAT)");
        seq = sq;
        return status::ok();
    }

    int orientation() const {
        orientation_tag e;
        if (has_exif) {
            e = exif_orientation_tag(exif.data(), exif.size());
        } else if (has_raw_profile) {
            // getexif(): bytes.fromhex of the lines after the third "\n".
            std::vector<std::uint8_t> bin;
            int newlines = 0, hi = -1;
            bool bad = false;
            for (std::uint8_t c : raw_profile) {
                if (newlines < 3) {
                    if (c == '\n') ++newlines;
                    continue;
                }
                if (c == '\n' || c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f') {
                    if (hi >= 0 && c != '\n') bad = true;
                    continue;
                }
                int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
                if (v < 0) {
                    bad = true;
                    break;
                }
                if (hi < 0) {
                    hi = v;
                } else {
                    bin.push_back(std::uint8_t(hi << 4 | v));
                    hi = -1;
                }
            }
            if (!bad && hi < 0) e = exif_orientation_tag(bin.data(), bin.size());
        }
        orientation_tag x;
        if (has_xmp_text && !xmp_text.empty()) x = xmp_orientation_tag(xmp_text.data(), xmp_text.size());
        else if (has_xmp_raw) x = xmp_orientation_tag(xmp_raw.data(), xmp_raw.size());
        return pil_orientation(e, x);
    }
};

inline bool png_chunk_name_ok(const std::uint8_t* t) {
    for (int i = 0; i < 4; ++i) {
        const std::uint8_t c = t[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    return true;
}

}  // namespace detail

inline result<image> decode_png(const std::uint8_t* data, std::size_t size, const image_limits& lim = {}) {
    using detail::png_be32;
    if (!data && size) return status(errc::invalid_argument, "png: null data");
    if (!is_png(data, size)) return status(errc::bad_format, "png: missing PNG signature");
    detail::png_reader rd;
    rd.data = data;
    rd.size = size;
    rd.lim = lim;

    // ---- chunks up to the first IDAT / fdAT (PngImageFile._open) ----
    std::size_t pos = 8;
    std::size_t first_data = 0, first_len = 0, first_chunk = 0;
    for (;;) {
        if (size - pos < 8) return status::fmt(errc::truncated, "png: file ends before the image data (byte %zu)", pos);
        const std::uint32_t len = png_be32(data + pos);
        const std::uint8_t* type = data + pos + 4;
        char name[5] = {char(type[0]), char(type[1]), char(type[2]), char(type[3]), 0};
        if (!detail::png_chunk_name_ok(type)) return status::fmt(errc::bad_format, "png: broken chunk name at byte %zu", pos);
        const std::uint8_t* body = data + pos + 8;
        const std::size_t avail = size - pos - 8;
        if (std::memcmp(type, "IDAT", 4) == 0) {
            first_chunk = pos, first_data = pos + 8, first_len = len;
            break;
        }
        if (std::memcmp(type, "IEND", 4) == 0) return status(errc::bad_format, "png: IEND before any image data");
        if (std::memcmp(type, "fdAT", 4) == 0) {
            SMOLVLM_TRY(rd.fdat(body, len, avail));
            first_chunk = pos, first_data = pos + 12, first_len = len - 4;
            break;
        }
        if (len > avail) return status::fmt(errc::truncated, "png: %s chunk at byte %zu runs past the end of the file", name, pos);
        SMOLVLM_TRY(rd.handle(type, body, len));
        if (avail - len < 4) return status::fmt(errc::truncated, "png: file ends inside the %s checksum", name);
        if (crc32(0, type, std::size_t(len) + 4) != png_be32(body + len))
            return status::fmt(errc::bad_format, "png: %s CRC mismatch at byte %zu", name, pos);
        pos += std::size_t(len) + 12;
    }
    if (!rd.have_mode) return status(errc::bad_format, "png: no IHDR with a valid bit depth and colour type");
    if (rd.width == 0 || rd.height == 0 || rd.width > 0x7FFFFFFFu || rd.height > 0x7FFFFFFFu)
        return status::fmt(errc::bad_format, "png: invalid dimensions %ux%u", unsigned(rd.width), unsigned(rd.height));

    detail::png_format f;
    f.depth = rd.depth;
    f.color_type = rd.color_type;
    switch (f.color_type) {
        case 0: case 3: f.samples = 1; break;
        case 4: f.samples = 2; break;
        case 2: f.samples = 3; break;
        default: f.samples = 4; break;
    }
    f.bits_per_pixel = f.samples * f.depth;
    f.trns = rd.trns;
    for (int c = 0; c < 3; ++c) f.key[c] = rd.key[c];
    std::memset(f.palette, 0, sizeof(f.palette));
    for (int i = 0; i < 256; ++i) f.palette[i][3] = 255;
    if (rd.have_plte) {
        // Pillow's putpalette() refuses more than 256 entries (a partial last entry is dropped).
        std::size_t n = rd.plte.size() / 3;
        if (n > 256) return status::fmt(errc::bad_format, "png: PLTE has %zu entries (more than 256)", n);
        for (std::size_t i = 0; i < n; ++i)
            for (int c = 0; c < 3; ++c) f.palette[i][c] = rd.plte[3 * i + std::size_t(c)];
    }
    for (std::size_t i = 0; i < rd.trns_alpha.size() && i < 256; ++i) f.palette[i][3] = rd.trns_alpha[i];
    f.out_channels = f.samples;
    if (f.color_type == 3) f.out_channels = f.trns ? 4 : 3;
    if ((f.color_type == 0 || f.color_type == 2) && f.trns) f.out_channels = f.samples + 1;
    if (f.color_type == 4 && f.depth == 16) f.out_channels = 2;
    SMOLVLM_TRY(detail::check_image_limits(rd.width, rd.height, f.out_channels, lim, "png"));

    // The region the image data fills: the whole image, or the first frame of an APNG.
    int x0 = 0, y0 = 0, fw = int(rd.width), fh = int(rd.height);
    if (rd.has_bbox) {
        x0 = int(rd.bbox[0]), y0 = int(rd.bbox[1]);
        fw = int(rd.bbox[2] - rd.bbox[0]), fh = int(rd.bbox[3] - rd.bbox[1]);
    }
    const bool frame_empty = fw <= 0 || fh <= 0;

    // ---- the image data stream: consecutive IDAT / fdAT chunks from the first ----
    // Pillow feeds zlib one chunk (at most 64 KiB of it) at a time; `seg_end` records those
    // reads as offsets into `zdata` (for the Adler-32 rule below), `chunks` the data chunks.
    struct data_chunk {
        std::size_t at;       // file offset of the chunk
        std::size_t z_end;    // end of its data in zdata
        bool fdat;
    };
    std::vector<std::uint8_t> zdata;
    std::vector<std::size_t> seg_end;
    std::vector<data_chunk> chunks;
    status stream_stop = status(errc::truncated, "png: image data is truncated (the IDAT chunks end early)");
    {
        std::size_t cpos = first_chunk, dpos = first_data, dlen = first_len;
        bool is_fdat = first_data == first_chunk + 12;
        for (;;) {
            std::size_t have = size - dpos < dlen ? size - dpos : dlen;
            if (dpos > size) have = 0;
            if (have > lim.max_bytes - zdata.size())
                return status::fmt(errc::no_memory, "png: compressed data exceeds the %zu-byte limit", lim.max_bytes);
            for (std::size_t o = 0; o < have; o += 65536) {
                std::size_t n = have - o < 65536 ? have - o : 65536;
                zdata.insert(zdata.end(), data + dpos + o, data + dpos + o + n);
                seg_end.push_back(zdata.size());
            }
            chunks.push_back({cpos, zdata.size(), is_fdat});
            if (have < dlen) {
                stream_stop = status(errc::truncated, "png: file ends inside the image data");
                break;
            }
            // The next chunk: the CRC is skipped (not checked), then the header.
            std::size_t next = dpos + dlen + 4;
            if (next > size || size - next < 8) {
                stream_stop = status(errc::truncated, "png: file ends inside the image data");
                break;
            }
            const std::uint8_t* t = data + next + 4;
            if (!detail::png_chunk_name_ok(t)) {
                stream_stop = status::fmt(errc::bad_format, "png: broken chunk name at byte %zu", next);
                break;
            }
            const std::uint32_t l = png_be32(data + next);
            cpos = next;
            if (std::memcmp(t, "IDAT", 4) == 0 || std::memcmp(t, "DDAT", 4) == 0) {
                dpos = next + 8, dlen = l, is_fdat = false;
            } else if (std::memcmp(t, "fdAT", 4) == 0) {
                if (l < 4 || size - next - 8 < 4) {
                    chunks.push_back({cpos, zdata.size(), true});  // its checks fail when it is read
                    break;
                }
                dpos = next + 12, dlen = l - 4, is_fdat = true;
            } else {
                break;
            }
        }
    }
    // Pillow reads the data chunks one after the other while zlib wants more: fdAT sequence
    // checks of those chunks apply (the first one was checked above).
    auto read_data_chunks = [&](std::size_t upto) -> status {
        for (std::size_t k = 1; k < chunks.size() && k <= upto; ++k)
            if (chunks[k].fdat) {
                const std::size_t at = chunks[k].at;
                SMOLVLM_TRY(rd.fdat(data + at + 8, png_be32(data + at), size - at - 8));
            }
        return status::ok();
    };

    // Size of the filtered image data: per pass, rows of (1 filter byte + packed pixels).
    const int first_pass = rd.interlaced ? 1 : 0, last_pass = rd.interlaced ? 7 : 0;
    std::uint64_t raw_size = 0;
    for (int p = first_pass; p <= last_pass && !frame_empty; ++p) {
        const auto& ps = detail::k_png_passes[p];
        std::uint64_t pw = fw > ps.x0 ? std::uint64_t(fw - ps.x0 + ps.dx - 1) / std::uint64_t(ps.dx) : 0;
        std::uint64_t ph = fh > ps.y0 ? std::uint64_t(fh - ps.y0 + ps.dy - 1) / std::uint64_t(ps.dy) : 0;
        if (pw == 0 || ph == 0) continue;
        raw_size += ph * (1 + (pw * std::uint64_t(f.bits_per_pixel) + 7) / 8);
    }
    const std::uint64_t out_size = std::uint64_t(rd.width) * std::uint64_t(rd.height) * std::uint64_t(f.out_channels);
    if (raw_size > lim.max_bytes || out_size > lim.max_bytes - raw_size)
        return status::fmt(errc::no_memory, "png: %llu bytes of working memory exceed the %zu-byte limit",
                           (unsigned long long)(raw_size + out_size), lim.max_bytes);

    // ---- inflate (ZipDecode.c: rows until the image is complete) ----
    std::vector<std::uint8_t> raw(static_cast<std::size_t>(raw_size));
    std::size_t produced = 0;
    std::size_t done_at = zdata.size();  // zdata offset where decoding finished
    auto needs_more = [&]() -> status {  // zlib wants data the chunks do not have
        SMOLVLM_TRY(read_data_chunks(chunks.size()));
        return stream_stop;
    };
    if (!frame_empty) {
        const std::uint8_t* z = zdata.data();
        const std::size_t zn = zdata.size();
        if (zn < 2) return needs_more();
        if ((z[0] & 15) != 8 || (z[0] >> 4) > 7 || (z[0] * 256 + z[1]) % 31 != 0)
            return status(errc::bad_format, "png: image data: bad zlib header");
        if (z[1] & 0x20) return status(errc::bad_format, "png: image data: zlib preset dictionary");
        inflate_report rep;
        rep.stop_when_full = true;
        std::size_t used = 0;
        status zs = inflate_raw(z + 2, zn - 2, raw.data(), raw.size(), &produced, &used, &rep);
        // Past the end of its input our inflater reads zero bits; zlib would wait for more data.
        if (rep.bits_at_full != ~std::size_t(0) && rep.bits_at_full > (zn - 2) * 8) return needs_more();
        const bool full = rep.bits_at_full != ~std::size_t(0) || (zs && produced == raw.size());
        if (rep.bits_at_full != ~std::size_t(0)) done_at = 2 + (rep.bits_at_full ? (rep.bits_at_full - 1) / 8 : 0);
        if (!zs) {
            if (!full) {
                if (zs.code() == errc::truncated) return needs_more();
                SMOLVLM_TRY(read_data_chunks(chunks.size()));
                return zs.prepend("png: image data: ");
            }
            // zlib only stumbles on this after the last row: Pillow never sees it.
            produced = raw.size();
        } else if (!rep.stopped) {
            // The zlib stream ended. Pillow: the Adler-32 is checked when zlib reaches it (always
            // when the data ends before the image does; after the last row only within the same read).
            const std::size_t trailer = 2 + used;
            bool check = produced < raw.size();
            if (!check) {
                std::size_t last_byte = 2 + (rep.bits_at_full == 0 ? 0 : (rep.bits_at_full - 1) / 8);
                for (std::size_t e : seg_end)
                    if (last_byte < e) {
                        check = trailer + 4 <= e;
                        break;
                    }
            }
            if (check) {
                if (zn - trailer < 4) {
                    if (produced < raw.size()) return needs_more();
                } else if (png_be32(z + trailer) != adler32(1, raw.data(), produced)) {
                    SMOLVLM_TRY(read_data_chunks(chunks.size()));
                    return status(errc::bad_format, "png: image data: Adler-32 mismatch");
                }
                if (produced < raw.size()) done_at = trailer + 3;
            }
        }
    }
    // The data chunk in which decoding finished; Pillow has read it and those before.
    std::size_t done_chunk = 0;
    while (done_chunk + 1 < chunks.size() && chunks[done_chunk].z_end <= done_at) ++done_chunk;
    SMOLVLM_TRY(read_data_chunks(done_chunk));

    image img;
    img.width = int(rd.width);
    img.height = int(rd.height);
    img.channels = f.out_channels;
    img.pixels.assign(static_cast<std::size_t>(out_size), 0);
    // Pixels the data never reaches keep Pillow's zero-initialised sample (palette entry 0, ...).
    {
        std::vector<std::uint8_t> zero_raw(std::size_t(rd.width) * 8 + 8, 0), zero_px(std::size_t(rd.width) * 4 + 4);
        detail::png_convert_row(f, zero_raw.data(), int(rd.width), zero_px.data());
        const std::size_t rb = img.row_bytes();
        bool nonzero = false;
        for (std::size_t i = 0; i < rb; ++i) nonzero |= zero_px[i] != 0;
        if (nonzero)
            for (int y = 0; y < img.height; ++y) std::memcpy(img.row(y), zero_px.data(), rb);
    }

    // ---- unfilter and convert the rows that arrived ----
    const std::size_t bpp = std::size_t(f.bits_per_pixel + 7) / 8;
    std::vector<std::uint8_t> tmp(std::size_t(fw > 0 ? fw : 1) * std::size_t(f.out_channels));
    std::size_t in = 0;
    for (int p = first_pass; p <= last_pass && !frame_empty; ++p) {
        const auto& ps = detail::k_png_passes[p];
        const int pw = fw > ps.x0 ? (fw - ps.x0 + ps.dx - 1) / ps.dx : 0;
        const int ph = fh > ps.y0 ? (fh - ps.y0 + ps.dy - 1) / ps.dy : 0;
        if (pw == 0 || ph == 0) continue;
        const std::size_t row_bytes = (std::size_t(pw) * std::size_t(f.bits_per_pixel) + 7) / 8;
        const std::uint8_t* prev = nullptr;
        for (int r = 0; r < ph; ++r) {
            if (produced - in < 1 + row_bytes) {
                // The zlib stream ended: at a row boundary Pillow keeps what it has; in the middle
                // of a row it waits for more data and then reports a truncated file.
                if (produced != in) return status(errc::truncated, "png: image data ends inside a row");
                p = last_pass + 1;
                break;
            }
            const int filter = raw[in];
            std::uint8_t* row = &raw[in + 1];
            if (!detail::png_unfilter_row(filter, row, prev, row_bytes, bpp))
                return status::fmt(errc::bad_format, "png: invalid filter type %d on row %d%s", filter, r,
                                   rd.interlaced ? " of an Adam7 pass" : "");
            const int y = y0 + ps.y0 + r * ps.dy;
            detail::png_convert_row(f, row, pw, tmp.data());
            const std::size_t oc = std::size_t(f.out_channels);
            std::uint8_t* out_row = img.row(y);
            if (ps.dx == 1) {
                std::memcpy(out_row + std::size_t(x0) * oc, tmp.data(), std::size_t(pw) * oc);
            } else {
                for (int c = 0; c < pw; ++c)
                    std::memcpy(out_row + std::size_t(x0 + ps.x0 + c * ps.dx) * oc, tmp.data() + std::size_t(c) * oc, oc);
            }
            prev = row;
            in += 1 + row_bytes;
        }
    }
    raw.clear();
    raw.shrink_to_fit();

    // ---- chunks after the image data (PngImageFile.load_end): no CRC checks ----
    // From the chunk after the one in which decoding finished, until IEND, a malformed chunk
    // header or the end of the file; the next frame's fcTL ends an animated file's first frame.
    {
        const bool animated = rd.n_frames_set && (rd.n_frames > 1 || !rd.has_bbox);
        const std::size_t at = chunks[done_chunk].at;
        std::size_t p = at + std::size_t(png_be32(data + at)) + 12;
        while (p <= size && size - p >= 8) {
            const std::uint32_t len = png_be32(data + p);
            const std::uint8_t* type = data + p + 4;
            if (!detail::png_chunk_name_ok(type)) break;
            if (std::memcmp(type, "IEND", 4) == 0) break;
            if (std::memcmp(type, "fcTL", 4) == 0 && animated) break;
            const std::size_t avail = size - p - 8;
            if (std::memcmp(type, "fdAT", 4) == 0) SMOLVLM_TRY(rd.fdat(data + p + 8, len, avail));
            if (len > avail)
                return status::fmt(errc::truncated, "png: chunk at byte %zu runs past the end of the file", p);
            if (std::memcmp(type, "IDAT", 4) != 0 && std::memcmp(type, "fdAT", 4) != 0)
                SMOLVLM_TRY(rd.handle(type, data + p + 8, len));
            p += std::size_t(len) + 12;
        }
    }
    img.orientation = rd.orientation();
    return img;
}

}  // namespace smolvlm
