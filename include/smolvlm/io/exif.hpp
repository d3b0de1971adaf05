// smolvlm/io/exif.hpp — image orientation from EXIF and XMP, read the way Pillow reads it.
//
//   detail::orientation_tag exif_orientation_tag(const uint8_t* p, size_t n);  // TIFF block
//   detail::orientation_tag xmp_orientation_tag(const uint8_t* p, size_t n);   // XMP packet
//   int                     detail::pil_orientation(exif, xmp);                // 1..8
//
// What transformers' load_image() applies is PIL.ImageOps.exif_transpose(), which asks
// Image.getexif() for tag 0x0112 and transposes for the values 2..8. getexif() parses the
// EXIF block with TiffImagePlugin.ImageFileDirectory_v2 and, only when that block has no
// orientation tag at all, falls back to the first `tiff:Orientation="N` or
// `tiff:Orientation>N` (one digit) in the XMP packet. The rules kept here, from Pillow 13:
//   * up to two leading "Exif\0\0" are skipped; the TIFF header must be II*\0, MM\0*, or one
//     of the byte-swapped / BigTIFF spellings Pillow accepts; BigTIFF layout only when the
//     third byte is 0x2B (so only little-endian BigTIFF, as in Pillow);
//   * IFD0 only; an entry of an unknown type, with count 0, or whose out-of-line data lies
//     outside the block is skipped; the first entry with a tag wins; a truncated entry list
//     keeps the entries read so far;
//   * the value is the first element: SHORT/LONG/SBYTE/SSHORT/SLONG/IFD/LONG8, FLOAT/DOUBLE
//     and (S)RATIONAL values count when they equal an integer; BYTE, ASCII and UNDEFINED
//     values are stored as bytes / text by Pillow, so they never equal 2..8;
//   * a present tag whose value is not 2..8 still hides the XMP value.
// A malformed EXIF block never makes the image fail here (Pillow raises from getexif() for
// some of them, which load_image() would propagate; we return "no tag" instead).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace smolvlm {
namespace detail {

struct orientation_tag {
    bool present = false;  // the tag exists (hides the XMP fallback)
    int value = 0;         // its value when it is an integer, else 0
};

// Pillow's getexif() on a TIFF-structured block (JPEG APP1 after "Exif\0\0", PNG eXIf).
inline orientation_tag exif_orientation_tag(const std::uint8_t* p, std::size_t n) {
    orientation_tag none;
    if (!p) return none;
    for (int k = 0; k < 2 && n >= 6 && std::memcmp(p, "Exif\0\0", 6) == 0; ++k) {
        p += 6;
        n -= 6;
    }
    if (n < 8) return none;
    bool le;
    if (p[0] == 'I' && p[1] == 'I' &&
        ((p[2] == 0x2A && p[3] == 0) || (p[2] == 0 && p[3] == 0x2A) || (p[2] == 0x2B && p[3] == 0)))
        le = true;
    else if (p[0] == 'M' && p[1] == 'M' &&
             ((p[2] == 0 && p[3] == 0x2A) || (p[2] == 0x2A && p[3] == 0) || (p[2] == 0 && p[3] == 0x2B)))
        le = false;
    else
        return none;
    const bool big = p[2] == 0x2B;  // Pillow: ifh[2] == 43
    auto u = [&](std::size_t at, int bytes) -> std::uint64_t {
        std::uint64_t v = 0;
        for (int i = 0; i < bytes; ++i) {
            std::uint64_t b = p[at + std::size_t(i)];
            v |= le ? b << (8 * i) : b << (8 * (bytes - 1 - i));
        }
        return v;
    };
    std::uint64_t ifd;
    if (big) {
        if (n < 16) return none;
        ifd = u(8, 8);
    } else {
        ifd = u(4, 4);
    }
    const std::size_t count_bytes = big ? 8 : 2, entry_bytes = big ? 20 : 12, inline_bytes = big ? 8 : 4;
    if (ifd > n || n - ifd < count_bytes) return none;
    const std::uint64_t entries = u(std::size_t(ifd), int(count_bytes));
    std::uint64_t total = 0;  // out-of-line bytes so far: Pillow skips a tag once they exceed the block
    for (std::uint64_t i = 0; i < entries; ++i) {
        std::uint64_t e = ifd + count_bytes + i * entry_bytes;
        if (e > n || n - e < entry_bytes) return none;  // truncated list: no orientation seen yet
        const std::size_t at = std::size_t(e);
        const unsigned tag = unsigned(u(at, 2)), type = unsigned(u(at + 2, 2));
        const std::uint64_t count = big ? u(at + 4, 8) : u(at + 4, 4);
        int unit = 0;
        switch (type) {
            case 1: case 2: case 6: case 7: unit = 1; break;   // BYTE ASCII SBYTE UNDEFINED
            case 3: case 8: unit = 2; break;                   // SHORT SSHORT
            case 4: case 9: case 11: case 13: unit = 4; break; // LONG SLONG FLOAT IFD
            case 5: case 10: case 12: case 16: unit = 8; break;// RATIONAL SRATIONAL DOUBLE LONG8
            default: continue;                                 // unsupported type: ignored
        }
        if (count > (std::uint64_t(1) << 56)) continue;
        const std::uint64_t size = count * std::uint64_t(unit);
        std::size_t data_at = at + (big ? 12 : 8);
        if (size > inline_bytes) {
            const std::uint64_t off = big ? u(at + 12, 8) : u(at + 8, 4);
            total += size;
            if (total > n) continue;                // "Tag data larger than file"
            if (off > n || n - off < size) return none;  // short read: Pillow stops the IFD
            data_at = std::size_t(off);
        }
        if (size == 0) continue;
        if (tag != 0x0112) continue;
        orientation_tag t;
        t.present = true;
        auto sgn = [](std::uint64_t v, int bits) -> std::int64_t {
            return std::int64_t(v << (64 - bits)) >> (64 - bits);
        };
        std::int64_t iv = 0;
        bool integral = true;
        switch (type) {
            case 3: case 4: case 13: case 16: iv = std::int64_t(u(data_at, unit)); break;
            case 6: case 8: case 9: iv = sgn(u(data_at, unit), unit * 8); break;
            case 5: case 10: {
                std::uint64_t num = u(data_at, 4), den = u(data_at + 4, 4);
                std::int64_t sn = type == 10 ? sgn(num, 32) : std::int64_t(num);
                std::int64_t sd = type == 10 ? sgn(den, 32) : std::int64_t(den);
                if (sd == 0 || sn % sd != 0) integral = false;
                else iv = sn / sd;
                break;
            }
            case 11: case 12: {
                double d;
                if (type == 11) {
                    std::uint32_t bits = std::uint32_t(u(data_at, 4));
                    float f;
                    std::memcpy(&f, &bits, 4);
                    d = f;
                } else {
                    std::uint64_t bits = u(data_at, 8);
                    std::memcpy(&d, &bits, 8);
                }
                if (!(d >= -1e9 && d <= 1e9) || double(std::int64_t(d)) != d) integral = false;
                else iv = std::int64_t(d);
                break;
            }
            default: integral = false; break;  // BYTE / ASCII / UNDEFINED: bytes or text in Pillow
        }
        t.value = integral && iv >= 0 && iv <= 0xFFFF ? int(iv) : 0;
        return t;  // the first entry with the tag wins
    }
    return none;
}

// First `tiff:Orientation="D` or `tiff:Orientation>D` in an XMP packet (Pillow's regex).
inline orientation_tag xmp_orientation_tag(const std::uint8_t* p, std::size_t n) {
    static constexpr char key[] = "tiff:Orientation";
    constexpr std::size_t k = sizeof(key) - 1;
    orientation_tag t;
    if (!p || n < k + 2) return t;
    for (std::size_t i = 0; i + k + 2 <= n; ++i) {
        if (p[i] != 't' || std::memcmp(p + i, key, k) != 0) continue;
        std::size_t j = i + k;
        if (p[j] == '>') {
            ++j;
        } else if (p[j] == '=' && j + 1 < n && p[j + 1] == '"') {
            j += 2;
        } else {
            continue;
        }
        if (j < n && p[j] >= '0' && p[j] <= '9') {
            t.present = true;
            t.value = p[j] - '0';
            return t;
        }
    }
    return t;
}

// The orientation ImageOps.exif_transpose() applies: 2..8, or 1 for anything else.
inline int pil_orientation(const orientation_tag& exif, const orientation_tag& xmp) {
    int v = exif.present ? exif.value : (xmp.present ? xmp.value : 1);
    return v >= 2 && v <= 8 ? v : 1;
}

}  // namespace detail
}  // namespace smolvlm
