// smolvlm/io/webp_vp8l.hpp — WebP lossless (VP8L) bitstream decoder.
//
//   status detail::vp8l_decode_image(data, size, width, height, argb, lim)   // a "VP8L" chunk
//   status detail::vp8l_decode_alpha(data, size, width, height, alpha, lim)  // ALPH, method 1
//
// Follows the WebP lossless bitstream specification (RFC 9649) and, where the spec leaves a
// choice to the decoder, what libwebp does (it is what PIL calls):
//  - prefix codes: simple (1-2 symbols) or normal; a code with one used symbol reads 0 bits;
//    every other code must be complete (neither over- nor under-subscribed);
//  - transforms (each at most once): predictor (14 modes, 14/15 act as mode 0), cross-colour,
//    subtract-green, colour indexing with pixel bundling (indices past the palette give
//    transparent black);
//  - colour cache, meta prefix codes (entropy image), LZ77 with the 120 short distance codes;
//  - a stream that reads past its end is an error. Like libwebp, a stream shorter than
//    8 bytes reads as if padded with zeros to 8 bytes.
// Pixels are ARGB in a uint32 (A in the top byte), as in the spec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../core/status.hpp"
#include "image.hpp"

namespace smolvlm {
namespace detail {

// LSB-first bit reader; reading past the end yields zero bits and is noticed by eos().
struct vp8l_bits {
    const std::uint8_t* data = nullptr;
    std::size_t size = 0;
    std::uint64_t pos = 0;  // bits consumed

    std::uint32_t peek(int n) const {  // n <= 24
        const std::size_t byte = std::size_t(pos >> 3);
        std::uint64_t v = 0;
        if (byte + 4 <= size) {
            const std::uint8_t* p = data + byte;
            v = std::uint64_t(p[0]) | std::uint64_t(p[1]) << 8 | std::uint64_t(p[2]) << 16 | std::uint64_t(p[3]) << 24;
        } else {
            for (std::size_t i = 0; i < 4; ++i)
                if (byte + i < size) v |= std::uint64_t(data[byte + i]) << (8 * i);
        }
        return std::uint32_t(v >> (pos & 7)) & ((1u << n) - 1);
    }
    std::uint32_t read(int n) {
        std::uint32_t v = n ? peek(n) : 0;
        pos += std::uint64_t(n);
        return v;
    }
    bool eos() const { return pos > 8 * std::uint64_t(size < 8 ? 8 : size); }
};

// A canonical prefix code: a 7-bit first-level table, then a bit-by-bit walk.
struct vp8l_code {
    static constexpr int k_root = 7;
    bool single = false;
    std::uint16_t single_symbol = 0;
    std::uint16_t root[1 << k_root];  // symbol << 4 | length; length 0 = longer than k_root
    std::uint16_t count[16];
    std::uint32_t first_symbol = 0;   // index of this code's symbols in the shared pool

    int decode(vp8l_bits& br, const std::vector<std::uint16_t>& pool) const {
        if (single) return single_symbol;
        const std::uint32_t bits = br.peek(15);
        const std::uint16_t e = root[bits & ((1u << k_root) - 1)];
        if (e & 15) {
            br.pos += e & 15;
            return e >> 4;
        }
        int code = 0, first = 0, index = 0;
        for (int len = 1; len <= 15; ++len) {
            code |= int(bits >> (len - 1)) & 1;
            const int n = count[len];
            if (code - first < n) {
                br.pos += std::uint64_t(len);
                return pool[first_symbol + std::uint32_t(index + code - first)];
            }
            index += n;
            first = (first + n) << 1;
            code <<= 1;
        }
        return -1;  // not reached for a complete code
    }
};

// Build from code lengths (0 = unused). False when the lengths do not form a valid code.
inline bool vp8l_build_code(vp8l_code& c, const std::uint8_t* lengths, int n, std::vector<std::uint16_t>& pool) {
    std::memset(c.count, 0, sizeof(c.count));
    int used = 0, last = 0;
    for (int s = 0; s < n; ++s)
        if (lengths[s]) {
            ++c.count[lengths[s]];
            ++used;
            last = s;
        }
    c.single = false;
    if (used == 0) return false;
    if (used == 1) {
        c.single = true;
        c.single_symbol = std::uint16_t(last);
        return true;
    }
    int left = 1;  // Kraft: the code must be exactly complete
    for (int len = 1; len <= 15; ++len) {
        left = (left << 1) - c.count[len];
        if (left < 0) return false;
    }
    if (left != 0) return false;
    c.first_symbol = std::uint32_t(pool.size());
    int offs[16];
    offs[1] = 0;
    for (int len = 1; len < 15; ++len) offs[len + 1] = offs[len] + c.count[len];
    pool.resize(pool.size() + std::size_t(used));
    std::memset(c.root, 0, sizeof(c.root));
    // Canonical codes (RFC 1951 3.2.2), assigned in (length, symbol) order; sent MSB first.
    int next[16];
    int code = 0;
    next[0] = 0;
    for (int len = 1; len <= 15; ++len) {
        code = (code + (len > 1 ? c.count[len - 1] : 0)) << 1;
        next[len] = code;
    }
    for (int s = 0; s < n; ++s) {
        const int len = lengths[s];
        if (!len) continue;
        pool[c.first_symbol + std::uint32_t(offs[len]++)] = std::uint16_t(s);
        const int cv = next[len]++;
        if (len <= vp8l_code::k_root) {
            int rev = 0;
            for (int i = 0; i < len; ++i) rev |= ((cv >> i) & 1) << (len - 1 - i);
            for (int r = rev; r < (1 << vp8l_code::k_root); r += 1 << len)
                c.root[r] = std::uint16_t(s << 4 | len);
        }
    }
    return true;
}

struct vp8l_group {
    vp8l_code codes[5];  // green (+ lengths + cache), red, blue, alpha, distance
};

struct vp8l_transform {
    int type = 0;
    int bits = 0;
    int xsize = 0;  // width of the image the transform applies to
    std::vector<std::uint32_t> data;
};

struct vp8l_decoder {
    vp8l_bits br;
    const image_limits* lim = nullptr;
    std::vector<std::uint16_t> pool;
    std::uint64_t bytes_used = 0;

    status fail(const char* what) const { return status::fmt(errc::bad_format, "webp: lossless: %s", what); }

    status charge(std::uint64_t bytes) {
        bytes_used += bytes;
        if (bytes_used > lim->max_bytes)
            return status::fmt(errc::no_memory, "webp: lossless working memory exceeds the %zu-byte limit",
                               lim->max_bytes);
        return status::ok();
    }

    status read_code(vp8l_code& c, int alphabet) {
        std::uint8_t lengths[256 + 24 + 2048];
        std::memset(lengths, 0, std::size_t(alphabet));
        if (br.read(1)) {  // simple code
            const int n = int(br.read(1)) + 1;
            const int s0 = int(br.read(br.read(1) ? 8 : 1));
            if (s0 < alphabet) lengths[s0] = 1;
            if (n == 2) {
                const int s1 = int(br.read(8));
                if (s1 < alphabet) lengths[s1] = 1;
            }
        } else {
            static constexpr std::uint8_t order[19] = {17, 18, 0, 1, 2, 3, 4, 5, 16, 6,
                                                       7,  8,  9, 10, 11, 12, 13, 14, 15};
            std::uint8_t cl[19] = {0};
            const int num = int(br.read(4)) + 4;
            for (int i = 0; i < num; ++i) cl[order[i]] = std::uint8_t(br.read(3));
            vp8l_code lc;
            const std::size_t mark = pool.size();
            if (!vp8l_build_code(lc, cl, 19, pool)) return fail("invalid code-length code");
            int max_symbol = alphabet;
            if (br.read(1)) {
                const int nbits = 2 + 2 * int(br.read(3));
                max_symbol = 2 + int(br.read(nbits));
                if (max_symbol > alphabet) return fail("code length count exceeds the alphabet");
            }
            int prev = 8, s = 0;
            while (s < alphabet) {
                if (max_symbol-- == 0) break;
                const int v = lc.decode(br, pool);
                if (v < 16) {
                    lengths[s++] = std::uint8_t(v);
                    if (v) prev = v;
                } else {
                    static constexpr int extra[3] = {2, 3, 7}, offset[3] = {3, 3, 11};
                    const int repeat = int(br.read(extra[v - 16])) + offset[v - 16];
                    if (s + repeat > alphabet) return fail("code length repeat runs past the alphabet");
                    const std::uint8_t len = std::uint8_t(v == 16 ? prev : 0);
                    for (int k = 0; k < repeat; ++k) lengths[s++] = len;
                }
            }
            pool.resize(mark);
        }
        if (br.eos()) return status(errc::truncated, "webp: lossless data ends early");
        if (!vp8l_build_code(c, lengths, alphabet, pool)) return fail("invalid prefix code");
        return status::ok();
    }

    static int subsample(int size, int bits) { return (size + (1 << bits) - 1) >> bits; }

    // One entropy-coded image (the spec's "spatially coded" or "entropy-coded" image).
    status decode_stream(int xsize, int ysize, bool level0, std::vector<vp8l_transform>* transforms,
                         std::vector<std::uint32_t>& out, int* out_xsize) {
        int tx = xsize;
        if (level0) {
            unsigned seen = 0;
            while (br.read(1)) {
                vp8l_transform t;
                t.type = int(br.read(2));
                if (seen & (1u << t.type)) return fail("a transform appears twice");
                seen |= 1u << t.type;
                t.xsize = tx;
                if (t.type == 0 || t.type == 1) {
                    t.bits = int(br.read(3)) + 2;
                    SMOLVLM_TRY(decode_stream(subsample(tx, t.bits), subsample(ysize, t.bits), false, nullptr, t.data,
                                              nullptr));
                } else if (t.type == 3) {
                    const int n = int(br.read(8)) + 1;
                    t.bits = n > 16 ? 0 : n > 4 ? 1 : n > 2 ? 2 : 3;
                    std::vector<std::uint32_t> pal;
                    SMOLVLM_TRY(decode_stream(n, 1, false, nullptr, pal, nullptr));
                    t.data.assign(std::size_t(1) << (8 >> t.bits), 0u);
                    // Delta-coded palette: each entry adds to the previous, per byte.
                    std::uint32_t prev = 0;
                    for (int i = 0; i < n && i < int(t.data.size()); ++i) {
                        const std::uint32_t d = pal[std::size_t(i)];
                        prev = (((prev & 0xff00ff00u) + (d & 0xff00ff00u)) & 0xff00ff00u) |
                               (((prev & 0x00ff00ffu) + (d & 0x00ff00ffu)) & 0x00ff00ffu);
                        t.data[std::size_t(i)] = prev;
                    }
                    tx = subsample(tx, t.bits);
                }
                transforms->push_back(std::move(t));
            }
        }
        int cache_bits = 0;
        if (br.read(1)) {
            cache_bits = int(br.read(4));
            if (cache_bits < 1 || cache_bits > 11) return fail("invalid colour cache size");
        }
        // Meta prefix codes: an entropy image picks a group of five codes per tile.
        int meta_bits = 0;
        std::vector<std::uint32_t> meta;
        int num_groups = 1;
        std::vector<int> mapping;
        int meta_xsize = 0;
        if (level0 && br.read(1)) {
            meta_bits = int(br.read(3)) + 2;
            meta_xsize = subsample(tx, meta_bits);
            SMOLVLM_TRY(decode_stream(meta_xsize, subsample(ysize, meta_bits), false, nullptr, meta, nullptr));
            int max_group = 0;
            for (auto& m : meta) {
                m = (m >> 8) & 0xffff;
                if (int(m) > max_group) max_group = int(m);
            }
            num_groups = max_group + 1;
            // Only groups the entropy image uses are kept (every group is still read).
            mapping.assign(std::size_t(num_groups), -1);
            int used = 0;
            for (auto& m : meta) {
                int& g = mapping[m];
                if (g < 0) g = used++;
                m = std::uint32_t(g);
            }
        }
        if (br.eos()) return status(errc::truncated, "webp: lossless data ends early");
        const int green_size = 256 + 24 + (cache_bits ? 1 << cache_bits : 0);
        std::vector<vp8l_group> groups;
        {
            int used = 0;
            for (int g : mapping) used += g >= 0;
            if (mapping.empty()) used = 1;
            SMOLVLM_TRY(charge(std::uint64_t(used) * sizeof(vp8l_group)));
            groups.resize(std::size_t(used));
        }
        for (int i = 0; i < num_groups; ++i) {
            vp8l_group scratch;
            const bool keep = mapping.empty() || mapping[std::size_t(i)] >= 0;
            vp8l_group& g = keep ? groups[mapping.empty() ? 0 : std::size_t(mapping[std::size_t(i)])] : scratch;
            static constexpr int sizes[5] = {0, 256, 256, 256, 40};
            const std::size_t mark = pool.size();
            for (int j = 0; j < 5; ++j) SMOLVLM_TRY(read_code(g.codes[j], j == 0 ? green_size : sizes[j]));
            if (!keep) pool.resize(mark);
            SMOLVLM_TRY(charge(0));
        }
        SMOLVLM_TRY(charge(std::uint64_t(pool.size()) * 2));
        if (out_xsize) *out_xsize = tx;
        const std::uint64_t total = std::uint64_t(tx) * std::uint64_t(ysize);
        SMOLVLM_TRY(charge(total * 4));
        out.assign(std::size_t(total), 0u);
        return decode_pixels(out, tx, cache_bits, groups, meta, meta_bits, meta_xsize);
    }

    status decode_pixels(std::vector<std::uint32_t>& px, int width, int cache_bits,
                         const std::vector<vp8l_group>& groups, const std::vector<std::uint32_t>& meta, int meta_bits,
                         int meta_xsize) {
        static constexpr std::uint8_t plane[120] = {
            0x18, 0x07, 0x17, 0x19, 0x28, 0x06, 0x27, 0x29, 0x16, 0x1a, 0x26, 0x2a, 0x38, 0x05, 0x37, 0x39, 0x15,
            0x1b, 0x36, 0x3a, 0x25, 0x2b, 0x48, 0x04, 0x47, 0x49, 0x14, 0x1c, 0x35, 0x3b, 0x46, 0x4a, 0x24, 0x2c,
            0x58, 0x45, 0x4b, 0x34, 0x3c, 0x03, 0x57, 0x59, 0x13, 0x1d, 0x56, 0x5a, 0x23, 0x2d, 0x44, 0x4c, 0x55,
            0x5b, 0x33, 0x3d, 0x68, 0x02, 0x67, 0x69, 0x12, 0x1e, 0x66, 0x6a, 0x22, 0x2e, 0x54, 0x5c, 0x43, 0x4d,
            0x65, 0x6b, 0x32, 0x3e, 0x78, 0x01, 0x77, 0x79, 0x53, 0x5d, 0x11, 0x1f, 0x64, 0x6c, 0x42, 0x4e, 0x76,
            0x7a, 0x21, 0x2f, 0x75, 0x7b, 0x31, 0x3f, 0x63, 0x6d, 0x52, 0x5e, 0x00, 0x74, 0x7c, 0x41, 0x4f, 0x10,
            0x20, 0x62, 0x6e, 0x30, 0x73, 0x7d, 0x51, 0x5f, 0x40, 0x72, 0x7e, 0x61, 0x6f, 0x50, 0x71, 0x7f, 0x60,
            0x70};
        std::vector<std::uint32_t> cache(cache_bits ? std::size_t(1) << cache_bits : 0, 0u);
        const std::size_t total = px.size();
        std::size_t pos = 0, cached = 0;
        int x = 0, y = 0;
        auto insert_cache = [&](std::size_t upto) {
            if (cache.empty()) return;
            for (; cached < upto; ++cached)
                cache[(px[cached] * 0x1e35a7bdu) >> (32 - cache_bits)] = px[cached];
        };
        auto prefix_value = [&](int sym) -> std::uint32_t {  // length / distance prefix codes
            if (sym < 4) return std::uint32_t(sym) + 1;
            const int extra = (sym - 2) >> 1;
            const std::uint32_t offset = std::uint32_t(2 + (sym & 1)) << extra;
            return offset + br.read(extra) + 1;
        };
        while (pos < total) {
            const vp8l_group& g =
                meta.empty() ? groups[0]
                             : groups[meta[std::size_t(y >> meta_bits) * std::size_t(meta_xsize) + std::size_t(x >> meta_bits)]];
            const int green = g.codes[0].decode(br, pool);
            if (br.eos()) break;
            if (green < 256) {
                const std::uint32_t r = std::uint32_t(g.codes[1].decode(br, pool));
                const std::uint32_t b = std::uint32_t(g.codes[2].decode(br, pool));
                const std::uint32_t a = std::uint32_t(g.codes[3].decode(br, pool));
                px[pos++] = a << 24 | r << 16 | std::uint32_t(green) << 8 | b;
                if (++x >= width) { x = 0; ++y; }
            } else if (green < 256 + 24) {
                const std::uint32_t length = prefix_value(green - 256);
                const int dist_sym = g.codes[4].decode(br, pool);
                const std::uint32_t code = prefix_value(dist_sym);
                std::int64_t dist;
                if (code > 120) {
                    dist = std::int64_t(code) - 120;
                } else {
                    const int d = plane[code - 1];
                    dist = std::int64_t(d >> 4) * width + (8 - (d & 15));
                    if (dist < 1) dist = 1;
                }
                if (br.eos()) break;
                if (std::uint64_t(dist) > pos || length > total - pos) return fail("back-reference out of range");
                for (std::uint32_t i = 0; i < length; ++i, ++pos) px[pos] = px[pos - std::size_t(dist)];
                x += int(length % std::uint32_t(width));
                y += int(length / std::uint32_t(width));
                if (x >= width) { x -= width; ++y; }
                insert_cache(pos);
            } else {
                const std::size_t key = std::size_t(green - 256 - 24);
                if (key >= cache.size()) return fail("colour cache index out of range");
                insert_cache(pos);
                px[pos++] = cache[key];
                if (++x >= width) { x = 0; ++y; }
            }
            insert_cache(pos);
        }
        if (br.eos()) return status(errc::truncated, "webp: lossless data ends early");
        return status::ok();
    }
};

inline std::uint32_t vp8l_add(std::uint32_t a, std::uint32_t b) {
    return (((a & 0xff00ff00u) + (b & 0xff00ff00u)) & 0xff00ff00u) |
           (((a & 0x00ff00ffu) + (b & 0x00ff00ffu)) & 0x00ff00ffu);
}
inline std::uint32_t vp8l_avg2(std::uint32_t a, std::uint32_t b) {
    return (((a ^ b) & 0xfefefefeu) >> 1) + (a & b);
}
inline std::uint32_t vp8l_clip255(std::uint32_t a) { return a < 256 ? a : ~a >> 24; }
inline std::uint32_t vp8l_predict(int mode, std::uint32_t L, std::uint32_t T, std::uint32_t TR, std::uint32_t TL) {
    switch (mode) {
        case 1: return L;
        case 2: return T;
        case 3: return TR;
        case 4: return TL;
        case 5: return vp8l_avg2(vp8l_avg2(L, TR), T);
        case 6: return vp8l_avg2(L, TL);
        case 7: return vp8l_avg2(L, T);
        case 8: return vp8l_avg2(TL, T);
        case 9: return vp8l_avg2(T, TR);
        case 10: return vp8l_avg2(vp8l_avg2(L, TL), vp8l_avg2(T, TR));
        case 11: {  // select: the neighbour nearer to the gradient estimate
            int s = 0;
            for (int sh = 0; sh < 32; sh += 8) {
                const int t = int(T >> sh & 255), l = int(L >> sh & 255), tl = int(TL >> sh & 255);
                s += (l - tl < 0 ? tl - l : l - tl) - (t - tl < 0 ? tl - t : t - tl);
            }
            return s <= 0 ? T : L;
        }
        case 12: {
            std::uint32_t r = 0;
            for (int sh = 0; sh < 32; sh += 8)
                r |= vp8l_clip255(std::uint32_t(int(L >> sh & 255) + int(T >> sh & 255) - int(TL >> sh & 255))) << sh;
            return r;
        }
        case 13: {
            const std::uint32_t ave = vp8l_avg2(L, T);
            std::uint32_t r = 0;
            for (int sh = 0; sh < 32; sh += 8) {
                const int a = int(ave >> sh & 255), b = int(TL >> sh & 255);
                r |= vp8l_clip255(std::uint32_t(a + (a - b) / 2)) << sh;
            }
            return r;
        }
        default: return 0xff000000u;  // 0, 14, 15
    }
}

// Undo the transforms, last read first. `px` has the packed width of the last transform.
inline void vp8l_inverse_transforms(std::vector<vp8l_transform>& ts, std::vector<std::uint32_t>& px, int height) {
    for (std::size_t k = ts.size(); k-- > 0;) {
        vp8l_transform& t = ts[k];
        const int w = t.xsize;
        switch (t.type) {
            case 0: {  // predictor
                const int tiles = (w + (1 << t.bits) - 1) >> t.bits;
                for (int y = 0; y < height; ++y) {
                    std::uint32_t* row = px.data() + std::size_t(y) * std::size_t(w);
                    for (int x = 0; x < w; ++x) {
                        int mode;
                        if (y == 0) mode = x == 0 ? 0 : 1;
                        else if (x == 0) mode = 2;
                        else mode = int(t.data[std::size_t(y >> t.bits) * std::size_t(tiles) + std::size_t(x >> t.bits)] >> 8 & 15);
                        const std::uint32_t L = x ? row[x - 1] : 0;
                        const std::uint32_t* up = row - (y ? w : 0);
                        const std::uint32_t T = y ? up[x] : 0, TL = (y && x) ? up[x - 1] : 0;
                        const std::uint32_t TR = y ? up[x + 1] : 0;  // past the row end: this row's first pixel
                        row[x] = vp8l_add(row[x], vp8l_predict(mode, L, T, TR, TL));
                    }
                }
                break;
            }
            case 1: {  // cross-colour
                const int tiles = (w + (1 << t.bits) - 1) >> t.bits;
                for (int y = 0; y < height; ++y) {
                    std::uint32_t* row = px.data() + std::size_t(y) * std::size_t(w);
                    for (int x = 0; x < w; ++x) {
                        const std::uint32_t m = t.data[std::size_t(y >> t.bits) * std::size_t(tiles) + std::size_t(x >> t.bits)];
                        const std::int8_t g2r = std::int8_t(m & 255), g2b = std::int8_t(m >> 8 & 255),
                                          r2b = std::int8_t(m >> 16 & 255);
                        const std::uint32_t argb = row[x];
                        const std::int8_t green = std::int8_t(argb >> 8 & 255);
                        int red = int(argb >> 16 & 255), blue = int(argb & 255);
                        red = (red + ((int(g2r) * green) >> 5)) & 255;
                        blue += (int(g2b) * green) >> 5;
                        blue += (int(r2b) * int(std::int8_t(red))) >> 5;
                        blue &= 255;
                        row[x] = (argb & 0xff00ff00u) | std::uint32_t(red) << 16 | std::uint32_t(blue);
                    }
                }
                break;
            }
            case 2:  // subtract green
                for (auto& p : px) {
                    const std::uint32_t g = p >> 8 & 255;
                    p = (p & 0xff00ff00u) | (((p & 0x00ff00ffu) + (g << 16 | g)) & 0x00ff00ffu);
                }
                break;
            case 3: {  // colour indexing, with pixel bundling when bits > 0
                const int packed_w = (w + (1 << t.bits) - 1) >> t.bits;
                std::vector<std::uint32_t> outp(std::size_t(w) * std::size_t(height));
                const int bpp = 8 >> t.bits;
                const std::uint32_t mask = (1u << bpp) - 1;
                for (int y = 0; y < height; ++y) {
                    const std::uint32_t* src = px.data() + std::size_t(y) * std::size_t(packed_w);
                    std::uint32_t* dst = outp.data() + std::size_t(y) * std::size_t(w);
                    for (int x = 0; x < w; ++x) {
                        const std::uint32_t idx = (src[x >> t.bits] >> 8 & 255) >> ((x & ((1 << t.bits) - 1)) * bpp) & mask;
                        dst[x] = t.data[idx];
                    }
                }
                px.swap(outp);
                break;
            }
        }
    }
}

// A "VP8L" chunk: 5-byte header (0x2F, 14-bit width-1, 14-bit height-1, alpha bit, version).
inline status vp8l_read_header(const std::uint8_t* data, std::size_t size, int* width, int* height, bool* alpha) {
    if (size < 5) return status(errc::truncated, "webp: lossless header is truncated");
    if (data[0] != 0x2f) return status(errc::bad_format, "webp: bad lossless signature");
    const std::uint32_t bits = std::uint32_t(data[1]) | std::uint32_t(data[2]) << 8 | std::uint32_t(data[3]) << 16 |
                               std::uint32_t(data[4]) << 24;
    if (bits >> 29) return status(errc::bad_format, "webp: unknown lossless version");
    *width = int(bits & 0x3fff) + 1;
    *height = int(bits >> 14 & 0x3fff) + 1;
    *alpha = (bits >> 28 & 1) != 0;
    return status::ok();
}

// Decode a whole "VP8L" chunk into ARGB pixels.
inline status vp8l_decode_image(const std::uint8_t* data, std::size_t size, int width, int height,
                                std::vector<std::uint32_t>& argb, const image_limits& lim) {
    vp8l_decoder d;
    d.lim = &lim;
    d.br.data = data;  // the bit reader counts the 5 header bytes, as libwebp's does
    d.br.size = size;
    d.br.pos = 40;
    std::vector<vp8l_transform> ts;
    SMOLVLM_TRY(d.decode_stream(width, height, true, &ts, argb, nullptr));
    for (const auto& t : ts)  // colour indexing unpacks into a new full-size buffer
        if (t.type == 3) SMOLVLM_TRY(d.charge(std::uint64_t(width) * std::uint64_t(height) * 4));
    vp8l_inverse_transforms(ts, argb, height);
    return status::ok();
}

// ALPH chunk, compression method 1: a headerless lossless stream; alpha is the green channel.
inline status vp8l_decode_alpha(const std::uint8_t* data, std::size_t size, int width, int height,
                                std::vector<std::uint8_t>& alpha, const image_limits& lim) {
    vp8l_decoder d;
    d.lim = &lim;
    d.br.data = data;
    d.br.size = size;
    std::vector<vp8l_transform> ts;
    std::vector<std::uint32_t> argb;
    SMOLVLM_TRY(d.decode_stream(width, height, true, &ts, argb, nullptr));
    for (const auto& t : ts)
        if (t.type == 3) SMOLVLM_TRY(d.charge(std::uint64_t(width) * std::uint64_t(height) * 4));
    vp8l_inverse_transforms(ts, argb, height);
    alpha.resize(argb.size());
    for (std::size_t i = 0; i < argb.size(); ++i) alpha[i] = std::uint8_t(argb[i] >> 8);
    return status::ok();
}

}  // namespace detail
}  // namespace smolvlm
