// smolvlm/io/jpeg.hpp — JPEG decoder (ITU-T T.81), baseline and progressive Huffman.
//
//   result<image> decode_jpeg(const uint8_t* data, size_t size, const image_limits& = {});
//
// Supported: 8-bit precision, SOF0/SOF1 (sequential) and SOF2 (progressive) Huffman
// coding, 1 component (gray -> 1 channel) or 3 components (YCbCr -> RGB, or RGB when an
// Adobe APP14 marker says transform 0), any integral sampling factors 1..4 (4:4:4, 4:2:2,
// 4:2:0, 4:4:0, 4:1:1...), restart markers, EXIF orientation (APP1; read, not applied).
// Rejected with a clear message: 12-bit, lossless, hierarchical, arithmetic coding,
// CMYK / 4-component (Adobe), 2-component, DNL-defined heights.
//
// The output is meant to equal PIL's decode, i.e. libjpeg-turbo with its defaults, so the
// pixel pipeline reproduces the Hugging Face processor bit for bit:
//   * ISLOW integer IDCT (T.81 A.3.3 computed with the Loeffler-Ligtenberg-Moschytz
//     factorisation, 13-bit constants, 2 extra bits between passes), including libjpeg's
//     masked range-limit on the IDCT output;
//   * "fancy" upsampling: triangular filters for h2v1, h1v2 and h2v2 chroma with
//     libjpeg-turbo's exact rounding biases, edge rows/columns replicated; plain pixel
//     replication for other integral ratios and for chroma planes <= 2 samples wide;
//   * YCbCr -> RGB with libjpeg's 16-bit fixed-point tables (jdcolor.c formulas).
// Corrupt entropy data (a premature marker, or the end of the file reached inside a
// scan) is an error here, where libjpeg would warn and fill with gray.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../core/status.hpp"
#include "image.hpp"

namespace smolvlm {

inline bool is_jpeg(const std::uint8_t* data, std::size_t size) {
    return size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;
}

namespace detail {

// Zigzag index -> natural (row-major) index, with 16 extra entries so that a corrupt
// run length that overshoots position 63 lands on 63 (as libjpeg does) instead of
// outside the block.
constexpr std::uint8_t k_jpeg_natural[64 + 16] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13,
    6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31,
    39, 46, 53, 60, 61, 54, 47, 55, 62, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63};

constexpr int k_jpeg_fast_bits = 9;

// A Huffman table (T.81 Annex C) ready for decoding.
struct jpeg_huffman {
    bool defined = false;
    std::uint16_t fast[1 << k_jpeg_fast_bits];  // (length << 8) | symbol; 0 = longer code
    std::int32_t maxcode[18];                   // largest code of each length, -1 if none
    std::int32_t valoffset[18];                 // symbol index = code + valoffset[len]
    std::uint8_t values[256];
};

inline status build_jpeg_huffman(jpeg_huffman& h, const std::uint8_t counts[16], const std::uint8_t* values,
                                 int n_values, bool is_dc) {
    std::memcpy(h.values, values, std::size_t(n_values));
    if (is_dc) {
        for (int i = 0; i < n_values; ++i)
            if (values[i] > 15) return status::fmt(errc::bad_format, "jpeg: DC Huffman table has symbol %d > 15", values[i]);
    }
    std::memset(h.fast, 0, sizeof(h.fast));
    std::int32_t code = 0;
    int k = 0;
    for (int len = 1; len <= 16; ++len) {
        h.valoffset[len] = k - code;
        for (int i = 0; i < counts[len - 1]; ++i, ++k, ++code) {
            // T.81 C.2: every code of length len must fit in len bits (checked before use).
            if (code >= (1 << len)) return status(errc::bad_format, "jpeg: over-subscribed Huffman table");
            if (len <= k_jpeg_fast_bits) {
                int shift = k_jpeg_fast_bits - len;
                for (int f = 0; f < (1 << shift); ++f)
                    h.fast[(code << shift) | f] = std::uint16_t((len << 8) | values[k]);
            }
        }
        h.maxcode[len] = counts[len - 1] ? code - 1 : -1;
        code <<= 1;
    }
    h.maxcode[17] = 0x7FFFFFFF;  // sentinel, never reached: lengths stop at 16
    h.defined = true;
    return status::ok();
}

// Entropy-coded segment reader: MSB-first bits, 0xFF00 stuffing removed, stops at a
// marker. Past a marker or the end of data it feeds zero bits and counts them; using
// them means the segment was truncated or corrupt.
struct jpeg_bits {
    const std::uint8_t* p = nullptr;
    const std::uint8_t* end = nullptr;
    std::uint64_t buf = 0;  // valid bits are the top `count`
    int count = 0;
    int pad_bytes = 0;
    bool at_marker = false;

    void fill() {
        while (count <= 56) {
            std::uint32_t byte = 0;
            if (!at_marker && p < end) {
                byte = *p;
                if (byte == 0xFF) {
                    if (p + 1 < end && p[1] == 0x00) {
                        p += 2;
                    } else {
                        at_marker = true;  // a marker (or the end): leave p on the 0xFF
                        byte = 0;
                        ++pad_bytes;
                    }
                } else {
                    ++p;
                }
            } else {
                ++pad_bytes;
            }
            buf |= std::uint64_t(byte) << (56 - count);
            count += 8;
        }
    }
    bool overrun() const { return count < pad_bytes * 8; }
    std::uint32_t get(int n) {  // n in 0..16
        if (n == 0) return 0;
        if (count < n) fill();
        std::uint32_t v = std::uint32_t(buf >> (64 - n));
        buf <<= n;
        count -= n;
        return v;
    }
    // Restart: drop buffered bits and position after the next marker.
    void reset() {
        buf = 0;
        count = 0;
        pad_bytes = 0;
        at_marker = false;
    }
};

// T.81 F.2.2.1 EXTEND: an s-bit magnitude category value to a signed coefficient.
inline int jpeg_extend(std::uint32_t v, int s) {
    return s == 0 ? 0 : (v < (1u << (s - 1)) ? int(v) - (1 << s) + 1 : int(v));
}

inline int jpeg_decode_symbol(jpeg_bits& br, const jpeg_huffman& h) {
    if (br.count < 16) br.fill();
    std::uint16_t e = h.fast[br.buf >> (64 - k_jpeg_fast_bits)];
    if (SMOLVLM_LIKELY(e != 0)) {
        int len = e >> 8;
        br.buf <<= len;
        br.count -= len;
        return e & 0xFF;
    }
    for (int len = k_jpeg_fast_bits + 1; len <= 16; ++len) {
        std::int32_t code = std::int32_t(br.buf >> (64 - len));
        if (code <= h.maxcode[len]) {
            br.buf <<= len;
            br.count -= len;
            return h.values[(code + h.valoffset[len]) & 0xFF];
        }
    }
    return -1;  // no code of length <= 16 matches: corrupt data
}

struct jpeg_component {
    int id = 0, h = 1, v = 1, tq = 0;
    int td = 0, ta = 0;                 // Huffman tables selected by the current scan
    int dw = 0, dh = 0;                 // downsampled size in samples (libjpeg's downsampled_width/height)
    int bw = 0, bh = 0;                 // blocks actually covering dw x dh
    int bw_pad = 0, bh_pad = 0;         // blocks allocated: whole MCUs
    int dc_pred = 0;
    bool qt_latched = false;
    std::uint16_t qt[64];               // natural order, latched at the component's first scan
    std::vector<std::int16_t> coef;     // [bh_pad, bw_pad, 64] in natural order
    std::vector<std::uint8_t> plane;    // [bh_pad * 8, bw_pad * 8] samples after the IDCT
};

// ISLOW inverse DCT of one block into 8x8 samples (libjpeg's jidctint.c arithmetic).
inline void jpeg_idct_islow(const std::int16_t* coef, const std::uint16_t* qt, std::uint8_t* out, std::size_t stride) {
    constexpr std::int64_t c0_298631336 = 2446, c0_390180644 = 3196, c0_541196100 = 4433, c0_765366865 = 6270,
                           c0_899976223 = 7373, c1_175875602 = 9633, c1_501321110 = 12299, c1_847759065 = 15137,
                           c1_961570560 = 16069, c2_053119869 = 16819, c2_562915447 = 20995, c3_072711026 = 25172;
    constexpr int const_bits = 13, pass1_bits = 2;
    std::int32_t ws[64];
    // Pass 1: columns, dequantizing on the way in.
    for (int c = 0; c < 8; ++c) {
        const std::int16_t* in = coef + c;
        const std::uint16_t* q = qt + c;
        if (in[8] == 0 && in[16] == 0 && in[24] == 0 && in[32] == 0 && in[40] == 0 && in[48] == 0 && in[56] == 0) {
            std::int32_t dc = std::int32_t(std::int64_t(in[0]) * q[0] * (1 << pass1_bits));
            for (int r = 0; r < 8; ++r) ws[r * 8 + c] = dc;
            continue;
        }
        std::int64_t z2 = std::int64_t(in[16]) * q[16], z3 = std::int64_t(in[48]) * q[48];
        std::int64_t z1 = (z2 + z3) * c0_541196100;
        std::int64_t tmp2 = z1 - z3 * c1_847759065;
        std::int64_t tmp3 = z1 + z2 * c0_765366865;
        z2 = std::int64_t(in[0]) * q[0];
        z3 = std::int64_t(in[32]) * q[32];
        std::int64_t tmp0 = (z2 + z3) * (1 << const_bits);
        std::int64_t tmp1 = (z2 - z3) * (1 << const_bits);
        std::int64_t tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3, tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;

        tmp0 = std::int64_t(in[56]) * q[56];
        tmp1 = std::int64_t(in[40]) * q[40];
        tmp2 = std::int64_t(in[24]) * q[24];
        tmp3 = std::int64_t(in[8]) * q[8];
        z1 = tmp0 + tmp3;
        z2 = tmp1 + tmp2;
        z3 = tmp0 + tmp2;
        std::int64_t z4 = tmp1 + tmp3;
        std::int64_t z5 = (z3 + z4) * c1_175875602;
        tmp0 *= c0_298631336;
        tmp1 *= c2_053119869;
        tmp2 *= c3_072711026;
        tmp3 *= c1_501321110;
        z1 *= -c0_899976223;
        z2 *= -c2_562915447;
        z3 = z3 * -c1_961570560 + z5;
        z4 = z4 * -c0_390180644 + z5;
        tmp0 += z1 + z3;
        tmp1 += z2 + z4;
        tmp2 += z2 + z3;
        tmp3 += z1 + z4;
        constexpr int s1 = const_bits - pass1_bits;
        constexpr std::int64_t r1 = std::int64_t(1) << (s1 - 1);
        ws[0 * 8 + c] = std::int32_t((tmp10 + tmp3 + r1) >> s1);
        ws[7 * 8 + c] = std::int32_t((tmp10 - tmp3 + r1) >> s1);
        ws[1 * 8 + c] = std::int32_t((tmp11 + tmp2 + r1) >> s1);
        ws[6 * 8 + c] = std::int32_t((tmp11 - tmp2 + r1) >> s1);
        ws[2 * 8 + c] = std::int32_t((tmp12 + tmp1 + r1) >> s1);
        ws[5 * 8 + c] = std::int32_t((tmp12 - tmp1 + r1) >> s1);
        ws[3 * 8 + c] = std::int32_t((tmp13 + tmp0 + r1) >> s1);
        ws[4 * 8 + c] = std::int32_t((tmp13 - tmp0 + r1) >> s1);
    }
    // libjpeg's range limit: the output is indexed with (x & 1023), so values far
    // outside 0..255 (only from corrupt data) wrap the same way they do in libjpeg.
    auto limit = [](std::int64_t x) -> std::uint8_t {
        unsigned t = unsigned(std::uint64_t(x) & 1023u);
        if (t < 128) return std::uint8_t(t + 128);
        if (t < 512) return 255;
        if (t < 896) return 0;
        return std::uint8_t(t - 896);
    };
    // Pass 2: rows.
    constexpr int s2 = const_bits + pass1_bits + 3;
    constexpr std::int64_t r2 = std::int64_t(1) << (s2 - 1);
    for (int r = 0; r < 8; ++r) {
        const std::int32_t* w = ws + r * 8;
        std::uint8_t* o = out + std::size_t(r) * stride;
        std::int64_t z2 = w[2], z3 = w[6];
        std::int64_t z1 = (z2 + z3) * c0_541196100;
        std::int64_t tmp2 = z1 - z3 * c1_847759065;
        std::int64_t tmp3 = z1 + z2 * c0_765366865;
        std::int64_t tmp0 = (std::int64_t(w[0]) + w[4]) * (1 << const_bits);
        std::int64_t tmp1 = (std::int64_t(w[0]) - w[4]) * (1 << const_bits);
        std::int64_t tmp10 = tmp0 + tmp3, tmp13 = tmp0 - tmp3, tmp11 = tmp1 + tmp2, tmp12 = tmp1 - tmp2;
        tmp0 = w[7];
        tmp1 = w[5];
        tmp2 = w[3];
        tmp3 = w[1];
        z1 = tmp0 + tmp3;
        z2 = tmp1 + tmp2;
        z3 = tmp0 + tmp2;
        std::int64_t z4 = tmp1 + tmp3;
        std::int64_t z5 = (z3 + z4) * c1_175875602;
        tmp0 *= c0_298631336;
        tmp1 *= c2_053119869;
        tmp2 *= c3_072711026;
        tmp3 *= c1_501321110;
        z1 *= -c0_899976223;
        z2 *= -c2_562915447;
        z3 = z3 * -c1_961570560 + z5;
        z4 = z4 * -c0_390180644 + z5;
        tmp0 += z1 + z3;
        tmp1 += z2 + z4;
        tmp2 += z2 + z3;
        tmp3 += z1 + z4;
        o[0] = limit((tmp10 + tmp3 + r2) >> s2);
        o[7] = limit((tmp10 - tmp3 + r2) >> s2);
        o[1] = limit((tmp11 + tmp2 + r2) >> s2);
        o[6] = limit((tmp11 - tmp2 + r2) >> s2);
        o[2] = limit((tmp12 + tmp1 + r2) >> s2);
        o[5] = limit((tmp12 - tmp1 + r2) >> s2);
        o[3] = limit((tmp13 + tmp0 + r2) >> s2);
        o[4] = limit((tmp13 - tmp0 + r2) >> s2);
    }
}

struct jpeg_decoder {
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;
    std::size_t pos = 0;
    image_limits lim;

    std::uint16_t qt[4][64];
    bool qt_defined[4] = {false, false, false, false};
    jpeg_huffman dc[4], ac[4];
    jpeg_component comp[3];
    int n_comp = 0;
    int width = 0, height = 0;
    bool progressive = false, frame_seen = false;
    int hmax = 1, vmax = 1, mcux = 0, mcuy = 0;
    int restart_interval = 0;
    int adobe_transform = -1;  // -1: no Adobe marker
    bool jfif = false;
    int orientation = 1;
    bool any_scan = false;

    // Scan state.
    int scan_n = 0;
    int scan_comp[4];
    int ss = 0, se = 63, ah = 0, al = 0;
    int eobrun = 0;
    jpeg_bits br;

    std::uint32_t be16(std::size_t at) const { return std::uint32_t(data[at]) << 8 | data[at + 1]; }

    status read_segment_length(std::size_t* len, const char* what) {
        if (size - pos < 2) return status::fmt(errc::truncated, "jpeg: file ends inside the %s segment", what);
        *len = be16(pos);
        if (*len < 2) return status::fmt(errc::bad_format, "jpeg: %s segment length %zu < 2", what, *len);
        if (*len > size - pos) return status::fmt(errc::truncated, "jpeg: %s segment at byte %zu runs past the end", what, pos);
        return status::ok();
    }

    status read_dqt(std::size_t len) {
        std::size_t p = pos + 2, end = pos + len;
        while (p < end) {
            int pq = data[p] >> 4, tq = data[p] & 15;
            if (tq > 3) return status::fmt(errc::bad_format, "jpeg: quantization table id %d > 3", tq);
            if (pq > 1) return status::fmt(errc::bad_format, "jpeg: quantization table precision %d", pq);
            std::size_t need = 1 + 64 * std::size_t(pq + 1);
            if (end - p < need) return status(errc::bad_format, "jpeg: DQT segment too short");
            for (int i = 0; i < 64; ++i) {
                std::uint16_t v = pq ? std::uint16_t(data[p + 1 + 2 * i] << 8 | data[p + 2 + 2 * i]) : data[p + 1 + i];
                qt[tq][k_jpeg_natural[i]] = v;
            }
            qt_defined[tq] = true;
            p += need;
        }
        return status::ok();
    }

    status read_dht(std::size_t len) {
        std::size_t p = pos + 2, end = pos + len;
        while (p < end) {
            if (end - p < 17) return status(errc::bad_format, "jpeg: DHT segment too short");
            int tc = data[p] >> 4, th = data[p] & 15;
            if (tc > 1 || th > 3) return status::fmt(errc::bad_format, "jpeg: invalid Huffman table class %d / id %d", tc, th);
            std::uint8_t counts[16];
            int total = 0;
            for (int i = 0; i < 16; ++i) total += counts[i] = data[p + 1 + i];
            if (total > 256) return status(errc::bad_format, "jpeg: Huffman table has more than 256 symbols");
            if (end - p - 17 < std::size_t(total)) return status(errc::bad_format, "jpeg: DHT segment too short");
            SMOLVLM_TRY(build_jpeg_huffman(tc == 0 ? dc[th] : ac[th], counts, data + p + 17, total, tc == 0));
            p += 17 + std::size_t(total);
        }
        return status::ok();
    }

    status read_sof(int marker, std::size_t len) {
        if (frame_seen) return status(errc::unsupported, "jpeg: more than one frame (SOF) is not supported");
        frame_seen = true;
        if (len < 8) return status(errc::bad_format, "jpeg: SOF segment too short");
        int precision = data[pos + 2];
        height = int(be16(pos + 3));
        width = int(be16(pos + 5));
        n_comp = data[pos + 7];
        if (precision != 8)
            return status::fmt(errc::unsupported, "jpeg: %d-bit samples are not supported (8-bit only)", precision);
        if (height == 0) return status(errc::unsupported, "jpeg: height defined by a DNL marker is not supported");
        if (width == 0) return status(errc::bad_format, "jpeg: image width is 0");
        if (n_comp == 4) return status(errc::unsupported, "jpeg: CMYK / 4-component (Adobe) JPEG is not supported");
        if (n_comp != 1 && n_comp != 3)
            return status::fmt(errc::unsupported, "jpeg: %d-component JPEG is not supported", n_comp);
        if (len != 8 + 3 * std::size_t(n_comp)) return status(errc::bad_format, "jpeg: SOF length does not match its components");
        progressive = marker == 0xC2;
        for (int i = 0; i < n_comp; ++i) {
            jpeg_component& c = comp[i];
            c.id = data[pos + 8 + 3 * i];
            c.h = data[pos + 9 + 3 * i] >> 4;
            c.v = data[pos + 9 + 3 * i] & 15;
            c.tq = data[pos + 10 + 3 * i];
            if (c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4)
                return status::fmt(errc::bad_format, "jpeg: invalid sampling factors %dx%d", c.h, c.v);
            if (c.tq > 3) return status::fmt(errc::bad_format, "jpeg: quantization table id %d > 3", c.tq);
            for (int j = 0; j < i; ++j)
                if (comp[j].id == c.id) return status(errc::bad_format, "jpeg: duplicate component id");
            if (c.h > hmax) hmax = c.h;
            if (c.v > vmax) vmax = c.v;
        }
        SMOLVLM_TRY(check_image_limits(width, height, n_comp == 1 ? 1 : 3, lim, "jpeg"));
        mcux = (width + 8 * hmax - 1) / (8 * hmax);
        mcuy = (height + 8 * vmax - 1) / (8 * vmax);
        // Working memory: 64 int16 coefficients + 64 samples per block, plus the output.
        std::uint64_t blocks = 0;
        for (int i = 0; i < n_comp; ++i) blocks += std::uint64_t(mcux) * comp[i].h * std::uint64_t(mcuy) * comp[i].v;
        std::uint64_t bytes = blocks * 64 * 3 + std::uint64_t(width) * std::uint64_t(height) * std::uint64_t(n_comp);
        if (bytes > lim.max_bytes)
            return status::fmt(errc::no_memory, "jpeg: %llu bytes of working memory exceed the %zu-byte limit",
                               (unsigned long long)bytes, lim.max_bytes);
        for (int i = 0; i < n_comp; ++i) {
            jpeg_component& c = comp[i];
            c.dw = int((std::int64_t(width) * c.h + hmax - 1) / hmax);
            c.dh = int((std::int64_t(height) * c.v + vmax - 1) / vmax);
            c.bw = (c.dw + 7) / 8;
            c.bh = (c.dh + 7) / 8;
            c.bw_pad = mcux * c.h;
            c.bh_pad = mcuy * c.v;
            c.coef.assign(std::size_t(c.bw_pad) * std::size_t(c.bh_pad) * 64, 0);
        }
        return status::ok();
    }

    status read_sos(std::size_t len) {
        if (!frame_seen) return status(errc::bad_format, "jpeg: SOS before SOF");
        if (len < 6) return status(errc::bad_format, "jpeg: SOS segment too short");
        scan_n = data[pos + 2];
        if (scan_n < 1 || scan_n > n_comp) return status::fmt(errc::bad_format, "jpeg: scan has %d components", scan_n);
        if (len != 6 + 2 * std::size_t(scan_n)) return status(errc::bad_format, "jpeg: SOS length does not match its components");
        for (int i = 0; i < scan_n; ++i) {
            int id = data[pos + 3 + 2 * i];
            int k = -1;
            for (int j = 0; j < n_comp; ++j)
                if (comp[j].id == id) k = j;
            if (k < 0) return status::fmt(errc::bad_format, "jpeg: scan refers to unknown component %d", id);
            for (int j = 0; j < i; ++j)
                if (scan_comp[j] == k) return status(errc::bad_format, "jpeg: component repeated in a scan");
            scan_comp[i] = k;
            comp[k].td = data[pos + 4 + 2 * i] >> 4;
            comp[k].ta = data[pos + 4 + 2 * i] & 15;
            if (comp[k].td > 3 || comp[k].ta > 3) return status(errc::bad_format, "jpeg: Huffman table id > 3");
        }
        std::size_t p = pos + 3 + 2 * std::size_t(scan_n);
        ss = data[p];
        se = data[p + 1];
        ah = data[p + 2] >> 4;
        al = data[p + 2] & 15;
        if (progressive) {
            if (ss > 63 || se > 63 || se < ss || ah > 13 || al > 13)
                return status(errc::bad_format, "jpeg: invalid progressive scan parameters");
            if (ss == 0 && se != 0) return status(errc::bad_format, "jpeg: progressive DC scan with AC coefficients");
            if (ss > 0 && scan_n != 1) return status(errc::bad_format, "jpeg: progressive AC scan with several components");
        } else {
            ss = 0;  // sequential scans cover the whole block whatever Ss/Se say (as libjpeg)
            se = 63;
            ah = al = 0;
        }
        int blocks_per_mcu = 0;
        for (int i = 0; i < scan_n; ++i) {
            jpeg_component& c = comp[scan_comp[i]];
            blocks_per_mcu += c.h * c.v;
            if (!c.qt_latched) {
                if (!qt_defined[c.tq]) return status::fmt(errc::bad_format, "jpeg: quantization table %d is not defined", c.tq);
                std::memcpy(c.qt, qt[c.tq], sizeof(c.qt));
                c.qt_latched = true;
            }
            bool need_dc = !progressive || (ss == 0 && ah == 0);
            bool need_ac = !progressive || ss > 0;
            if (need_dc && !dc[c.td].defined) return status::fmt(errc::bad_format, "jpeg: DC Huffman table %d is not defined", c.td);
            if (need_ac && !ac[c.ta].defined) return status::fmt(errc::bad_format, "jpeg: AC Huffman table %d is not defined", c.ta);
        }
        if (scan_n > 1 && blocks_per_mcu > 10) return status(errc::bad_format, "jpeg: more than 10 blocks per MCU");
        return status::ok();
    }

    // ---- block decoders (T.81 F.2.2 sequential; G.1.2 progressive) ----
    // DC prediction; a sum leaving the int range is corrupt data (libjpeg-turbo errors too).
    static status add_dc(jpeg_component& c, int diff) {
        std::int64_t v = std::int64_t(c.dc_pred) + diff;
        if (v > 0x7FFFFFFF || v < -0x7FFFFFFF) return status(errc::bad_format, "jpeg: DC coefficient overflow");
        c.dc_pred = int(v);
        return status::ok();
    }

    status decode_block_sequential(jpeg_component& c, std::int16_t* blk) {
        int t = jpeg_decode_symbol(br, dc[c.td]);
        if (t < 0) return status(errc::bad_format, "jpeg: invalid Huffman code in DC coefficient");
        SMOLVLM_TRY(add_dc(c, jpeg_extend(br.get(t), t)));
        blk[0] = std::int16_t(c.dc_pred);
        const jpeg_huffman& h = ac[c.ta];
        for (int k = 1; k < 64;) {
            int rs = jpeg_decode_symbol(br, h);
            if (rs < 0) return status(errc::bad_format, "jpeg: invalid Huffman code in AC coefficients");
            int r = rs >> 4, s = rs & 15;
            if (s) {
                k += r;
                blk[k_jpeg_natural[k]] = std::int16_t(jpeg_extend(br.get(s), s));
                ++k;
            } else {
                if (r != 15) break;  // end of block
                k += 16;
            }
        }
        return status::ok();
    }

    status decode_block_dc_first(jpeg_component& c, std::int16_t* blk) {
        int t = jpeg_decode_symbol(br, dc[c.td]);
        if (t < 0) return status(errc::bad_format, "jpeg: invalid Huffman code in DC coefficient");
        SMOLVLM_TRY(add_dc(c, jpeg_extend(br.get(t), t)));
        blk[0] = std::int16_t(std::int32_t(std::uint32_t(c.dc_pred) << al));
        return status::ok();
    }

    void decode_block_dc_refine(std::int16_t* blk) {
        if (br.get(1)) blk[0] = std::int16_t(blk[0] | (1 << al));
    }

    status decode_block_ac_first(jpeg_component& c, std::int16_t* blk) {
        if (eobrun > 0) {
            --eobrun;
            return status::ok();
        }
        const jpeg_huffman& h = ac[c.ta];
        for (int k = ss; k <= se; ++k) {
            int rs = jpeg_decode_symbol(br, h);
            if (rs < 0) return status(errc::bad_format, "jpeg: invalid Huffman code in AC coefficients");
            int r = rs >> 4, s = rs & 15;
            if (s) {
                k += r;
                int v = jpeg_extend(br.get(s), s);
                blk[k_jpeg_natural[k]] = std::int16_t(std::int32_t(std::uint32_t(v) << al));
            } else {
                if (r == 15) {
                    k += 15;
                } else {
                    eobrun = (1 << r) - 1;
                    if (r) eobrun += int(br.get(r));
                    break;
                }
            }
        }
        return status::ok();
    }

    status decode_block_ac_refine(jpeg_component& c, std::int16_t* blk) {
        const int p1 = 1 << al;
        const int m1 = -p1;
        int k = ss;
        auto refine = [&](std::int16_t* coef) {
            if (br.get(1) && (*coef & p1) == 0) *coef = std::int16_t(*coef >= 0 ? *coef + p1 : *coef + m1);
        };
        if (eobrun == 0) {
            const jpeg_huffman& h = ac[c.ta];
            for (; k <= se; ++k) {
                int rs = jpeg_decode_symbol(br, h);
                if (rs < 0) return status(errc::bad_format, "jpeg: invalid Huffman code in AC refinement");
                int r = rs >> 4, s = rs & 15;
                int value = 0;
                if (s) {
                    // s must be 1 here; libjpeg warns and carries on, so do we.
                    value = br.get(1) ? p1 : m1;
                } else if (r != 15) {
                    eobrun = 1 << r;
                    if (r) eobrun += int(br.get(r));
                    break;  // the remaining coefficients are refined below
                }
                // Skip r zero-history coefficients, refining the non-zero ones on the way.
                do {
                    std::int16_t* coef = blk + k_jpeg_natural[k];
                    if (*coef != 0) {
                        refine(coef);
                    } else {
                        if (--r < 0) break;
                    }
                    ++k;
                } while (k <= se);
                if (value) blk[k_jpeg_natural[k]] = std::int16_t(value);
            }
        }
        if (eobrun > 0) {
            for (; k <= se; ++k) {
                std::int16_t* coef = blk + k_jpeg_natural[k];
                if (*coef != 0) refine(coef);
            }
            --eobrun;
        }
        return status::ok();
    }

    status decode_block(jpeg_component& c, std::int16_t* blk) {
        if (!progressive) return decode_block_sequential(c, blk);
        if (ss == 0) {
            if (ah == 0) return decode_block_dc_first(c, blk);
            decode_block_dc_refine(blk);
            return status::ok();
        }
        if (ah == 0) return decode_block_ac_first(c, blk);
        return decode_block_ac_refine(c, blk);
    }

    // Between restart intervals: the next marker must be RSTn.
    status handle_restart() {
        // Skip to the marker (libjpeg also tolerates garbage here, with a warning).
        const std::uint8_t* p = br.p;
        while (p + 1 < br.end && !(p[0] == 0xFF && p[1] != 0x00 && p[1] != 0xFF)) ++p;
        if (p + 1 >= br.end) return status(errc::truncated, "jpeg: file ends where a restart marker was expected");
        if (p[1] < 0xD0 || p[1] > 0xD7)
            return status::fmt(errc::bad_format, "jpeg: expected a restart marker, found 0xFF%02X at byte %zu", p[1],
                               std::size_t(p - data));
        br.p = p + 2;
        br.reset();
        for (int i = 0; i < n_comp; ++i) comp[i].dc_pred = 0;
        eobrun = 0;
        return status::ok();
    }

    status check_overrun() const {
        if (!br.overrun()) return status::ok();
        if (br.p >= br.end) return status(errc::truncated, "jpeg: file ends inside the entropy-coded data");
        return status::fmt(errc::bad_format, "jpeg: corrupt entropy-coded data (premature marker at byte %zu)",
                           std::size_t(br.p - data));
    }

    status decode_scan() {
        br = jpeg_bits{};
        br.p = data + pos;
        br.end = data + size;
        for (int i = 0; i < n_comp; ++i) comp[i].dc_pred = 0;
        eobrun = 0;
        int restarts_left = restart_interval;
        auto next_mcu = [&](bool last) -> status {
            SMOLVLM_TRY(check_overrun());
            if (restart_interval && !last && --restarts_left == 0) {
                SMOLVLM_TRY(handle_restart());
                restarts_left = restart_interval;
            }
            return status::ok();
        };
        if (scan_n == 1) {
            // Non-interleaved: one block per MCU, only the blocks covering the component.
            jpeg_component& c = comp[scan_comp[0]];
            for (int by = 0; by < c.bh; ++by) {
                for (int bx = 0; bx < c.bw; ++bx) {
                    std::int16_t* blk = &c.coef[(std::size_t(by) * std::size_t(c.bw_pad) + std::size_t(bx)) * 64];
                    SMOLVLM_TRY(decode_block(c, blk));
                    SMOLVLM_TRY(next_mcu(by == c.bh - 1 && bx == c.bw - 1));
                }
            }
        } else {
            for (int my = 0; my < mcuy; ++my) {
                for (int mx = 0; mx < mcux; ++mx) {
                    for (int i = 0; i < scan_n; ++i) {
                        jpeg_component& c = comp[scan_comp[i]];
                        for (int y = 0; y < c.v; ++y) {
                            for (int x = 0; x < c.h; ++x) {
                                std::size_t by = std::size_t(my) * std::size_t(c.v) + std::size_t(y);
                                std::size_t bx = std::size_t(mx) * std::size_t(c.h) + std::size_t(x);
                                SMOLVLM_TRY(decode_block(c, &c.coef[(by * std::size_t(c.bw_pad) + bx) * 64]));
                            }
                        }
                    }
                    SMOLVLM_TRY(next_mcu(my == mcuy - 1 && mx == mcux - 1));
                }
            }
        }
        // Continue marker parsing after the entropy-coded data.
        const std::uint8_t* p = br.p;
        while (p + 1 < br.end && !(p[0] == 0xFF && p[1] != 0x00 && !(p[1] >= 0xD0 && p[1] <= 0xD7) && p[1] != 0xFF)) ++p;
        pos = std::size_t(p - data);
        return status::ok();
    }

    status parse() {
        if (!is_jpeg(data, size)) return status(errc::bad_format, "jpeg: missing SOI marker");
        pos = 2;
        for (;;) {
            // Find the next marker: 0xFF, optional 0xFF fill bytes, marker code.
            if (pos >= size || size - pos < 2) {
                if (any_scan && frame_seen) return status(errc::truncated, "jpeg: file ends before the EOI marker");
                return status(errc::truncated, "jpeg: file ends before the image data");
            }
            if (data[pos] != 0xFF)
                return status::fmt(errc::bad_format, "jpeg: expected a marker at byte %zu, found 0x%02X", pos, data[pos]);
            while (pos < size && data[pos] == 0xFF) ++pos;
            if (pos >= size) return status(errc::truncated, "jpeg: file ends inside a marker");
            int m = data[pos++];
            std::size_t len = 0;
            switch (m) {
                case 0xD8: return status(errc::bad_format, "jpeg: unexpected SOI marker");
                case 0xD9:  // EOI
                    if (!any_scan) return status(errc::bad_format, "jpeg: EOI before any scan");
                    return status::ok();
                case 0xC0: case 0xC1: case 0xC2:
                    SMOLVLM_TRY(read_segment_length(&len, "SOF"));
                    SMOLVLM_TRY(read_sof(m, len));
                    break;
                case 0xC3: return status(errc::unsupported, "jpeg: lossless JPEG (SOF3) is not supported");
                case 0xC5: case 0xC6: case 0xC7:
                    return status(errc::unsupported, "jpeg: hierarchical JPEG is not supported");
                case 0xC9: case 0xCA: case 0xCB: case 0xCD: case 0xCE: case 0xCF:
                    return status(errc::unsupported, "jpeg: arithmetic-coded JPEG is not supported");
                case 0xCC: return status(errc::unsupported, "jpeg: arithmetic coding (DAC) is not supported");
                case 0xC4:
                    SMOLVLM_TRY(read_segment_length(&len, "DHT"));
                    SMOLVLM_TRY(read_dht(len));
                    break;
                case 0xDB:
                    SMOLVLM_TRY(read_segment_length(&len, "DQT"));
                    SMOLVLM_TRY(read_dqt(len));
                    break;
                case 0xDD:
                    SMOLVLM_TRY(read_segment_length(&len, "DRI"));
                    if (len != 4) return status(errc::bad_format, "jpeg: DRI segment length is not 4");
                    restart_interval = int(be16(pos + 2));
                    break;
                case 0xDC: return status(errc::unsupported, "jpeg: DNL marker is not supported");
                case 0xDA:
                    SMOLVLM_TRY(read_segment_length(&len, "SOS"));
                    SMOLVLM_TRY(read_sos(len));
                    pos += len;
                    SMOLVLM_TRY(decode_scan());
                    any_scan = true;
                    continue;  // pos already at the next marker
                default:
                    if (m >= 0xD0 && m <= 0xD7) return status(errc::bad_format, "jpeg: restart marker outside a scan");
                    if (m == 0x01 || (m >= 0x02 && m <= 0xBF))
                        return status::fmt(errc::bad_format, "jpeg: invalid marker 0xFF%02X at byte %zu", m, pos - 2);
                    SMOLVLM_TRY(read_segment_length(&len, "APP/COM"));
                    if (m == 0xE1 && len >= 8 && std::memcmp(data + pos + 2, "Exif\0\0", 6) == 0)
                        orientation = exif_orientation(data + pos + 8, len - 8);
                    if (m == 0xE0 && len >= 7 && std::memcmp(data + pos + 2, "JFIF\0", 5) == 0) jfif = true;
                    if (m == 0xEE && len >= 14 && std::memcmp(data + pos + 2, "Adobe", 5) == 0)
                        adobe_transform = data[pos + 13];
                    break;
            }
            pos += len;
        }
    }

    // ---- output: IDCT, upsampling, colour conversion ----
    void idct_all() {
        for (int i = 0; i < n_comp; ++i) {
            jpeg_component& c = comp[i];
            std::size_t stride = std::size_t(c.bw_pad) * 8;
            c.plane.assign(stride * std::size_t(c.bh_pad) * 8, 0);
            for (int by = 0; by < c.bh_pad; ++by)
                for (int bx = 0; bx < c.bw_pad; ++bx)
                    jpeg_idct_islow(&c.coef[(std::size_t(by) * std::size_t(c.bw_pad) + std::size_t(bx)) * 64], c.qt,
                                    &c.plane[std::size_t(by) * 8 * stride + std::size_t(bx) * 8], stride);
            c.coef.clear();
            c.coef.shrink_to_fit();
        }
    }

    // Upsample component c to a full-resolution [height, width] plane, as libjpeg-turbo.
    void upsample(const jpeg_component& c, std::vector<std::uint8_t>& out) const {
        const std::size_t W = std::size_t(width), stride = std::size_t(c.bw_pad) * 8;
        out.resize(W * std::size_t(height));
        const int hx = hmax / c.h, vx = vmax / c.v;  // expansion factors (integral: checked)
        const std::uint8_t* in = c.plane.data();
        auto in_row = [&](int r) { return in + std::size_t(r < 0 ? 0 : (r >= c.dh ? c.dh - 1 : r)) * stride; };
        std::vector<std::uint8_t> wide(std::size_t(c.dw) * 2 + 16);
        for (int y = 0; y < height; ++y) {
            std::uint8_t* o = out.data() + std::size_t(y) * W;
            if (hx == 1 && vx == 1) {
                std::memcpy(o, in_row(y), W);
            } else if (hx == 2 && vx == 1 && c.dw > 2) {  // h2v1 fancy
                const std::uint8_t* s = in_row(y);
                std::uint8_t* d = wide.data();
                d[0] = s[0];
                d[1] = std::uint8_t((s[0] * 3 + s[1] + 2) >> 2);
                for (int i = 1; i < c.dw - 1; ++i) {
                    int v3 = s[i] * 3;
                    d[2 * i] = std::uint8_t((v3 + s[i - 1] + 1) >> 2);
                    d[2 * i + 1] = std::uint8_t((v3 + s[i + 1] + 2) >> 2);
                }
                int l = c.dw - 1;
                d[2 * l] = std::uint8_t((s[l] * 3 + s[l - 1] + 1) >> 2);
                d[2 * l + 1] = s[l];
                std::memcpy(o, d, W);
            } else if (hx == 1 && vx == 2) {  // h1v2 fancy
                int r = y / 2;
                bool lower = y & 1;
                const std::uint8_t* s0 = in_row(r);
                const std::uint8_t* s1 = in_row(lower ? r + 1 : r - 1);
                int bias = lower ? 2 : 1;
                for (std::size_t x = 0; x < W; ++x) o[x] = std::uint8_t((s0[x] * 3 + s1[x] + bias) >> 2);
            } else if (hx == 2 && vx == 2 && c.dw > 2) {  // h2v2 fancy
                int r = y / 2;
                bool lower = y & 1;
                const std::uint8_t* s0 = in_row(r);
                const std::uint8_t* s1 = in_row(lower ? r + 1 : r - 1);
                std::uint8_t* d = wide.data();
                int this_sum = s0[0] * 3 + s1[0];
                int next_sum = s0[1] * 3 + s1[1];
                d[0] = std::uint8_t((this_sum * 4 + 8) >> 4);
                d[1] = std::uint8_t((this_sum * 3 + next_sum + 7) >> 4);
                int last_sum = this_sum;
                this_sum = next_sum;
                for (int i = 1; i < c.dw - 1; ++i) {
                    next_sum = s0[i + 1] * 3 + s1[i + 1];
                    d[2 * i] = std::uint8_t((this_sum * 3 + last_sum + 8) >> 4);
                    d[2 * i + 1] = std::uint8_t((this_sum * 3 + next_sum + 7) >> 4);
                    last_sum = this_sum;
                    this_sum = next_sum;
                }
                int l = c.dw - 1;
                d[2 * l] = std::uint8_t((this_sum * 3 + last_sum + 8) >> 4);
                d[2 * l + 1] = std::uint8_t((this_sum * 4 + 7) >> 4);
                std::memcpy(o, d, W);
            } else {
                // Pixel replication (libjpeg's h2v1/h2v2/int upsample). Source row y / vx,
                // read from the padded plane (rows below dh are IDCT padding, as in libjpeg).
                const std::uint8_t* s = in + std::size_t(y / vx) * stride;
                for (std::size_t x = 0; x < W; ++x) o[x] = s[x / std::size_t(hx)];
            }
        }
    }

    result<image> finish() {
        for (int i = 0; i < n_comp; ++i)
            if (hmax % comp[i].h || vmax % comp[i].v)
                return status(errc::unsupported, "jpeg: non-integral sampling factor ratios are not supported");
        idct_all();
        image img;
        img.width = width;
        img.height = height;
        img.orientation = orientation;
        const std::size_t W = std::size_t(width), H = std::size_t(height);
        if (n_comp == 1) {
            img.channels = 1;
            std::vector<std::uint8_t> plane;
            upsample(comp[0], plane);
            img.pixels = std::move(plane);
            return img;
        }
        img.channels = 3;
        img.pixels.resize(W * H * 3);
        std::vector<std::uint8_t> p0, p1, p2;
        upsample(comp[0], p0);
        upsample(comp[1], p1);
        upsample(comp[2], p2);
        // libjpeg: Adobe transform 0 => RGB; else a JFIF marker or no Adobe marker => YCbCr,
        // except component ids 'R','G','B'.
        bool rgb = (adobe_transform == 0) ||
                   (!jfif && adobe_transform < 0 && comp[0].id == 'R' && comp[1].id == 'G' && comp[2].id == 'B');
        std::uint8_t* o = img.pixels.data();
        if (rgb) {
            for (std::size_t i = 0; i < W * H; ++i) {
                o[3 * i] = p0[i];
                o[3 * i + 1] = p1[i];
                o[3 * i + 2] = p2[i];
            }
            return img;
        }
        // jdcolor.c: R = Y + 1.402 Cr, G = Y - 0.34414 Cb - 0.71414 Cr, B = Y + 1.772 Cb,
        // in 16-bit fixed point with the same rounding.
        constexpr int scale_bits = 16;
        constexpr std::int32_t half = 1 << (scale_bits - 1);
        auto fix = [](double x) { return std::int32_t(x * (1 << scale_bits) + 0.5); };
        std::int32_t cr_r[256], cb_b[256], cr_g[256], cb_g[256];
        for (int i = 0; i < 256; ++i) {
            std::int32_t x = i - 128;
            cr_r[i] = (fix(1.40200) * x + half) >> scale_bits;
            cb_b[i] = (fix(1.77200) * x + half) >> scale_bits;
            cr_g[i] = -fix(0.71414) * x;
            cb_g[i] = -fix(0.34414) * x + half;
        }
        auto clamp = [](std::int32_t v) -> std::uint8_t { return std::uint8_t(v < 0 ? 0 : (v > 255 ? 255 : v)); };
        for (std::size_t i = 0; i < W * H; ++i) {
            std::int32_t yv = p0[i];
            int cb = p1[i], cr = p2[i];
            o[3 * i] = clamp(yv + cr_r[cr]);
            o[3 * i + 1] = clamp(yv + ((cb_g[cb] + cr_g[cr]) >> scale_bits));
            o[3 * i + 2] = clamp(yv + cb_b[cb]);
        }
        return img;
    }
};

}  // namespace detail

inline result<image> decode_jpeg(const std::uint8_t* data, std::size_t size, const image_limits& lim = {}) {
    if (!data) return status(errc::invalid_argument, "jpeg: null data");
    // The decoder state is ~20 KB (Huffman tables); keep it off the stack for firmware.
    std::vector<detail::jpeg_decoder> holder(1);
    detail::jpeg_decoder& d = holder[0];
    d.data = data;
    d.size = size;
    d.lim = lim;
    SMOLVLM_TRY(d.parse());
    if (!d.frame_seen) return status(errc::bad_format, "jpeg: no frame (SOF) marker");
    return d.finish();
}

// The EXIF orientation of a JPEG without decoding it (1 when absent).
inline int jpeg_orientation(const std::uint8_t* data, std::size_t size) {
    if (!data || !is_jpeg(data, size)) return 1;
    std::size_t pos = 2;
    while (size >= 4 && pos <= size - 4 && data[pos] == 0xFF) {
        int m = data[pos + 1];
        if (m == 0xDA || m == 0xD9) break;
        std::size_t len = std::size_t(data[pos + 2]) << 8 | data[pos + 3];
        if (len < 2 || len > size - pos - 2) break;
        if (m == 0xE1 && len >= 8 && std::memcmp(data + pos + 4, "Exif\0\0", 6) == 0)
            return detail::exif_orientation(data + pos + 10, len - 8);
        pos += 2 + len;
    }
    return 1;
}

}  // namespace smolvlm
