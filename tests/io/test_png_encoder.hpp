// A tiny PNG / zlib *encoder* for the decoder tests: stored (uncompressed) deflate
// blocks, or one fixed-Huffman block with a naive LZ77 matcher. Test-only code.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <smolvlm/io/inflate.hpp>

namespace smolvlm_test {

using bytes = std::vector<std::uint8_t>;

enum class deflate_mode { stored, fixed };

struct bit_writer {
    bytes out;
    std::uint32_t acc = 0;
    int n = 0;
    void put(std::uint32_t v, int bits) {  // LSB first
        for (int i = 0; i < bits; ++i) {
            acc |= ((v >> i) & 1u) << n;
            if (++n == 8) { out.push_back(std::uint8_t(acc)); acc = 0; n = 0; }
        }
    }
    void put_code(std::uint32_t code, int len) {  // Huffman codes go MSB first
        for (int i = len - 1; i >= 0; --i) put((code >> i) & 1u, 1);
    }
    void flush() { if (n) { out.push_back(std::uint8_t(acc)); acc = 0; n = 0; } }
};

inline void fixed_literal(bit_writer& bw, int v) {
    if (v < 144) bw.put_code(0x30 + v, 8);
    else if (v < 256) bw.put_code(0x190 + (v - 144), 9);
    else if (v < 280) bw.put_code(v - 256, 7);
    else bw.put_code(0xC0 + (v - 280), 8);
}

inline bytes deflate_fixed(const bytes& data) {
    bit_writer bw;
    bw.put(1, 1);  // final
    bw.put(1, 2);  // fixed
    std::size_t i = 0;
    while (i < data.size()) {
        // Naive search for the longest match in the last 300 bytes.
        std::size_t best_len = 0, best_dist = 0;
        std::size_t start = i > 300 ? i - 300 : 0;
        for (std::size_t j = start; j < i; ++j) {
            std::size_t l = 0;
            while (l < 258 && i + l < data.size() && data[j + l] == data[i + l]) ++l;
            if (l > best_len) { best_len = l; best_dist = i - j; }
        }
        if (best_len >= 3) {
            int li = 28;
            while (smolvlm::detail::k_len_base[li] > best_len) --li;
            fixed_literal(bw, 257 + li);
            bw.put(std::uint32_t(best_len - smolvlm::detail::k_len_base[li]), smolvlm::detail::k_len_extra[li]);
            int di = 29;
            while (smolvlm::detail::k_dist_base[di] > best_dist) --di;
            bw.put_code(std::uint32_t(di), 5);
            bw.put(std::uint32_t(best_dist - smolvlm::detail::k_dist_base[di]), smolvlm::detail::k_dist_extra[di]);
            i += best_len;
        } else {
            fixed_literal(bw, data[i++]);
        }
    }
    fixed_literal(bw, 256);
    bw.flush();
    return bw.out;
}

inline bytes deflate_stored(const bytes& data, std::size_t block = 65535) {
    bytes out;
    std::size_t i = 0;
    do {
        std::size_t n = data.size() - i < block ? data.size() - i : block;
        bool last = i + n == data.size();
        out.push_back(last ? 1 : 0);
        out.push_back(std::uint8_t(n));
        out.push_back(std::uint8_t(n >> 8));
        out.push_back(std::uint8_t(~n));
        out.push_back(std::uint8_t(~n >> 8));
        out.insert(out.end(), data.begin() + long(i), data.begin() + long(i + n));
        i += n;
    } while (i < data.size());
    return out;
}

inline void put_be32(bytes& b, std::uint32_t v) {
    b.push_back(std::uint8_t(v >> 24)); b.push_back(std::uint8_t(v >> 16));
    b.push_back(std::uint8_t(v >> 8)); b.push_back(std::uint8_t(v));
}

inline bytes zlib_wrap(const bytes& data, deflate_mode mode, std::size_t stored_block = 65535) {
    bytes out = {0x78, 0x01};
    bytes d = mode == deflate_mode::stored ? deflate_stored(data, stored_block) : deflate_fixed(data);
    out.insert(out.end(), d.begin(), d.end());
    put_be32(out, smolvlm::adler32(1, data.data(), data.size()));
    return out;
}

inline void png_chunk(bytes& png, const char* type, const bytes& body) {
    put_be32(png, std::uint32_t(body.size()));
    std::size_t at = png.size();
    png.insert(png.end(), type, type + 4);
    png.insert(png.end(), body.begin(), body.end());
    put_be32(png, smolvlm::crc32(0, png.data() + at, body.size() + 4));
}

// A synthetic image in file terms: `samples` holds w*h*spp sample values (0..2^depth-1).
struct png_spec {
    int width = 1, height = 1, color_type = 2, depth = 8;
    bool interlaced = false;
    int filter = 0;           // 0..4, or 5 = cycle through all five per row
    deflate_mode mode = deflate_mode::stored;
    std::size_t idat_split = 0;  // split the zlib stream into IDAT chunks of this size (0 = one)
    std::vector<std::uint16_t> samples;
    bytes plte;               // palette RGB triples
    bytes trns;               // raw tRNS body
};

inline int png_spp(int ct) { return ct == 0 || ct == 3 ? 1 : ct == 2 ? 3 : ct == 4 ? 2 : 4; }

// Filter one row (PNG 9.2) given the previous raw row (or zeros).
inline void png_filter_row(int f, const bytes& cur, const bytes& prev, std::size_t bpp, bytes& out) {
    out.push_back(std::uint8_t(f));
    for (std::size_t i = 0; i < cur.size(); ++i) {
        int a = i >= bpp ? cur[i - bpp] : 0, b = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
        int pred = 0;
        if (f == 1) pred = a;
        else if (f == 2) pred = b;
        else if (f == 3) pred = (a + b) >> 1;
        else if (f == 4) {
            int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
            pred = (pa <= pb && pa <= pc) ? a : (pb <= pc ? b : c);
        }
        out.push_back(std::uint8_t(cur[i] - pred));
    }
}

inline bytes encode_png(const png_spec& s) {
    const int spp = png_spp(s.color_type);
    const int bits = spp * s.depth;
    const std::size_t bpp = std::size_t(bits + 7) / 8;
    static const int P[8][4] = {{0, 0, 1, 1}, {0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8},
                                {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}};
    bytes raw;
    int row_counter = 0;
    for (int p = s.interlaced ? 1 : 0; p <= (s.interlaced ? 7 : 0); ++p) {
        int pw = s.width > P[p][0] ? (s.width - P[p][0] + P[p][2] - 1) / P[p][2] : 0;
        int ph = s.height > P[p][1] ? (s.height - P[p][1] + P[p][3] - 1) / P[p][3] : 0;
        if (!pw || !ph) continue;
        std::size_t rb = (std::size_t(pw) * std::size_t(bits) + 7) / 8;
        bytes prev(rb, 0);
        for (int r = 0; r < ph; ++r) {
            int y = P[p][1] + r * P[p][3];
            bytes cur(rb, 0);
            for (int c = 0; c < pw; ++c) {
                int x = P[p][0] + c * P[p][2];
                for (int k = 0; k < spp; ++k) {
                    std::uint16_t v = s.samples[(std::size_t(y) * std::size_t(s.width) + std::size_t(x)) * std::size_t(spp) + std::size_t(k)];
                    std::size_t si = std::size_t(c) * std::size_t(spp) + std::size_t(k);
                    if (s.depth == 16) { cur[2 * si] = std::uint8_t(v >> 8); cur[2 * si + 1] = std::uint8_t(v); }
                    else if (s.depth == 8) cur[si] = std::uint8_t(v);
                    else {
                        std::size_t bit = si * std::size_t(s.depth);
                        cur[bit / 8] |= std::uint8_t(v << (8 - s.depth - int(bit % 8)));
                    }
                }
            }
            int f = s.filter == 5 ? (row_counter % 5) : s.filter;
            ++row_counter;
            png_filter_row(f, cur, prev, bpp, raw);
            prev = cur;
        }
    }
    bytes z = zlib_wrap(raw, s.mode);
    bytes png = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
    bytes ihdr;
    put_be32(ihdr, std::uint32_t(s.width));
    put_be32(ihdr, std::uint32_t(s.height));
    ihdr.push_back(std::uint8_t(s.depth));
    ihdr.push_back(std::uint8_t(s.color_type));
    ihdr.push_back(0);
    ihdr.push_back(0);
    ihdr.push_back(s.interlaced ? 1 : 0);
    png_chunk(png, "IHDR", ihdr);
    if (!s.plte.empty()) png_chunk(png, "PLTE", s.plte);
    if (!s.trns.empty()) png_chunk(png, "tRNS", s.trns);
    png_chunk(png, "tEXt", bytes{'C', 'o', 'm', 'm', 'e', 'n', 't', 0, 'h', 'i'});
    if (s.idat_split == 0) {
        png_chunk(png, "IDAT", z);
    } else {
        for (std::size_t i = 0; i < z.size(); i += s.idat_split) {
            std::size_t n = z.size() - i < s.idat_split ? z.size() - i : s.idat_split;
            png_chunk(png, "IDAT", bytes(z.begin() + long(i), z.begin() + long(i + n)));
        }
    }
    png_chunk(png, "IEND", bytes{});
    return png;
}

}  // namespace smolvlm_test
