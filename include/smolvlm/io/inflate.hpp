// smolvlm/io/inflate.hpp — DEFLATE (RFC 1951) and zlib (RFC 1950) decompression,
// plus the Adler-32 and CRC-32 checksums PNG needs.
//
// Written from the RFCs. The decoder writes into a caller-provided buffer of known
// capacity (PNG knows the exact size of its image data up front), so a hostile
// stream can never make it allocate: producing more than `capacity` bytes is an error.
//
// Speed: a 64-bit bit buffer refilled a byte at a time, and a direct lookup table
// on the next `k_fast_bits` bits of the stream for each Huffman code; the rare
// longer codes fall back to a bit-serial canonical decode (RFC 1951 3.2.2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "../core/status.hpp"

namespace smolvlm {

// ---------------------------------------------------------------------------
// Checksums
// ---------------------------------------------------------------------------

// Adler-32 (RFC 1950 8.2): two 16-bit sums modulo 65521. `adler` starts at 1.
inline std::uint32_t adler32(std::uint32_t adler, const std::uint8_t* p, std::size_t n) {
    const std::uint32_t mod = 65521;
    std::uint32_t a = adler & 0xFFFF, b = adler >> 16;
    while (n > 0) {
        // 5552 is the largest block for which b cannot overflow 32 bits before the modulo.
        std::size_t block = n < 5552 ? n : 5552;
        n -= block;
        while (block >= 4) {
            a += p[0]; b += a;
            a += p[1]; b += a;
            a += p[2]; b += a;
            a += p[3]; b += a;
            p += 4;
            block -= 4;
        }
        while (block--) { a += *p++; b += a; }
        a %= mod;
        b %= mod;
    }
    return (b << 16) | a;
}

namespace detail {
// CRC-32 tables for the reflected polynomial 0xEDB88320 (PNG spec, annex D),
// four of them so that crc32() can consume 4 bytes per step ("slicing by 4").
struct crc32_tables {
    std::uint32_t t[4][256] = {};
    constexpr crc32_tables() {
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[0][i] = c;
        }
        for (std::uint32_t i = 0; i < 256; ++i) {
            for (int s = 1; s < 4; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
        }
    }
};
inline constexpr crc32_tables k_crc32{};
}  // namespace detail

// CRC-32 as used by PNG and gzip. Start with crc = 0; chain calls by passing the result.
inline std::uint32_t crc32(std::uint32_t crc, const std::uint8_t* p, std::size_t n) {
    const auto& T = detail::k_crc32.t;
    std::uint32_t c = ~crc;
    while (n >= 4) {
        c ^= std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 |
             std::uint32_t(p[3]) << 24;
        c = T[3][c & 0xFF] ^ T[2][(c >> 8) & 0xFF] ^ T[1][(c >> 16) & 0xFF] ^ T[0][c >> 24];
        p += 4;
        n -= 4;
    }
    while (n--) c = T[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
    return ~c;
}

// ---------------------------------------------------------------------------
// Huffman decoding tables
// ---------------------------------------------------------------------------
namespace detail {

constexpr int k_fast_bits = 10;  // direct lookup on the next 10 bits covers almost all codes

// A canonical Huffman code (RFC 1951 3.2.2) ready for decoding.
//   fast[bits]: (symbol << 4) | length for codes of <= k_fast_bits bits; 0 when the code
//               is longer (or the bit pattern is not a code): take the slow path.
//   count[len], symbols[]: the canonical description, for the slow path.
struct huffman {
    std::uint16_t fast[1 << k_fast_bits];
    std::uint16_t count[16];
    std::uint16_t symbols[288];  // >= 288 lit/len, 32 fixed distance, 19 code-length symbols
};

// Build from code lengths (0 = unused symbol). Over-subscribed sets are errors; an
// incomplete set is accepted only when it is a single 1-bit code (a lone distance
// code, allowed by RFC 1951 3.2.7), or empty (a block with no distance codes).
inline status build_huffman(huffman& h, const std::uint8_t* lengths, int n, const char* what) {
    std::memset(h.count, 0, sizeof(h.count));
    for (int i = 0; i < n; ++i) h.count[lengths[i]]++;
    h.count[0] = 0;
    int left = 1;  // number of codes still available at the current length
    int max_len = 0;
    for (int len = 1; len < 16; ++len) {
        left <<= 1;
        left -= h.count[len];
        if (left < 0) return status::fmt(errc::bad_format, "inflate: over-subscribed %s code", what);
        if (h.count[len]) max_len = len;
    }
    if (left > 0 && max_len > 1) return status::fmt(errc::bad_format, "inflate: incomplete %s code", what);

    // offsets[len]: index in symbols[] of the first symbol with that length.
    std::uint16_t offsets[16];
    offsets[1] = 0;
    for (int len = 1; len < 15; ++len) offsets[len + 1] = std::uint16_t(offsets[len] + h.count[len]);
    for (int i = 0; i < n; ++i)
        if (lengths[i]) h.symbols[offsets[lengths[i]]++] = std::uint16_t(i);

    // Fast table: walk the canonical codes in order; deflate sends codes MSB first into an
    // LSB-first stream, so the table index is the bit-reversed code.
    std::memset(h.fast, 0, sizeof(h.fast));
    int code = 0, index = 0;
    for (int len = 1; len <= k_fast_bits; ++len) {
        for (int k = 0; k < h.count[len]; ++k, ++index, ++code) {
            int rev = 0;
            for (int b = 0; b < len; ++b) rev |= ((code >> b) & 1) << (len - 1 - b);
            std::uint16_t entry = std::uint16_t((h.symbols[index] << 4) | len);
            for (int fill = rev; fill < (1 << k_fast_bits); fill += 1 << len) h.fast[fill] = entry;
        }
        code <<= 1;
    }
    return status::ok();
}

// The bit reader. Past the end of the input it feeds zero bytes and counts them; a
// decoder that actually consumed those padding bits has read a truncated stream.
struct bit_reader {
    const std::uint8_t* p;
    const std::uint8_t* end;
    std::uint64_t buf = 0;
    int count = 0;        // valid bits in buf
    int pad_bytes = 0;    // zero bytes fed after the end of the input

    void refill() {
        while (count <= 56) {
            std::uint64_t byte = 0;
            if (p < end) byte = *p++;
            else ++pad_bytes;
            buf |= byte << count;
            count += 8;
        }
    }
    // True when bits from beyond the end of the input have been consumed.
    bool overrun() const { return count < pad_bytes * 8; }
    std::uint32_t peek(int n) const { return std::uint32_t(buf & ((std::uint64_t(1) << n) - 1)); }
    void drop(int n) { buf >>= n; count -= n; }
    std::uint32_t take(int n) { std::uint32_t v = peek(n); drop(n); return v; }
};

}  // namespace detail

// Optional control of inflate_raw() for callers that, like zlib fed through a fixed-size
// output window (Pillow's PNG and text-chunk readers), stop once their output is full
// instead of treating more data as an error.
struct inflate_report {
    bool stop_when_full = false;          // in: output full and more output coming => stop, ok
    bool stopped = false;                 // out: stopped for that reason
    std::size_t bits_at_full = ~std::size_t(0);  // out: input bits consumed when the output filled up
};

namespace detail {

inline std::size_t consumed_bits(const bit_reader& br, const std::uint8_t* in) {
    return (std::size_t(br.p - in) + std::size_t(br.pad_bytes)) * 8 - std::size_t(br.count);
}

// Decode one symbol; the caller guarantees >= 15 bits in the buffer. Returns -1 on an
// invalid code.
inline int decode_symbol(bit_reader& br, const huffman& h) {
    std::uint16_t e = h.fast[br.buf & ((1u << k_fast_bits) - 1)];
    if (SMOLVLM_LIKELY(e != 0)) {
        br.drop(e & 15);
        return e >> 4;
    }
    // Slow path (RFC 1951 canonical order): extend the code one bit at a time.
    int code = 0, first = 0, index = 0;
    for (int len = 1; len < 16; ++len) {
        code |= int((br.buf >> (len - 1)) & 1);
        int count = h.count[len];
        if (code - first < count) {
            br.drop(len);
            return h.symbols[index + (code - first)];
        }
        index += count;
        first += count;
        first <<= 1;
        code <<= 1;
    }
    return -1;
}

// RFC 1951 3.2.5: base lengths and extra bits for length codes 257..285, and
// base distances and extra bits for distance codes 0..29.
constexpr std::uint16_t k_len_base[29] = {3,  4,  5,  6,  7,  8,  9,  10, 11,  13,  15,  17,  19,  23, 27,
                                          31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
constexpr std::uint8_t k_len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2,
                                          2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
constexpr std::uint16_t k_dist_base[30] = {1,    2,    3,    4,    5,    7,     9,     13,    17,  25,
                                           33,   49,   65,   97,   129,  193,   257,   385,   513, 769,
                                           1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
constexpr std::uint8_t k_dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2,  3,  3,  4,  4,  5,  5,  6,
                                           6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

// Decode the compressed data of one Huffman block into out[*pos..cap).
inline status inflate_huffman_block(bit_reader& br, const huffman& lit, const huffman& dist,
                                    std::uint8_t* out, std::size_t cap, std::size_t* pos,
                                    inflate_report* rep = nullptr, const std::uint8_t* in = nullptr) {
    std::size_t o = *pos;
    auto note_full = [&]() {
        if (rep && o == cap && rep->bits_at_full == ~std::size_t(0)) rep->bits_at_full = consumed_bits(br, in);
    };
    for (;;) {
        br.refill();  // >= 57 bits: enough for litlen(15) + extra(5) + dist(15) + extra(13)
        if (SMOLVLM_UNLIKELY(br.pad_bytes > 8))
            return status(errc::truncated, "inflate: compressed data ends inside a block");
        int sym = decode_symbol(br, lit);
        if (sym < 256) {
            if (sym < 0) return status(errc::bad_format, "inflate: invalid literal/length code");
            if (SMOLVLM_UNLIKELY(o >= cap)) {
                if (rep && rep->stop_when_full) {
                    rep->stopped = true;
                    break;
                }
                return status::fmt(errc::bad_format, "inflate: output exceeds the expected %zu bytes", cap);
            }
            out[o++] = std::uint8_t(sym);
            if (SMOLVLM_UNLIKELY(o == cap)) note_full();
            continue;
        }
        if (sym == 256) break;  // end of block
        sym -= 257;
        if (sym >= 29) return status::fmt(errc::bad_format, "inflate: invalid length symbol %d", sym + 257);
        std::size_t len = k_len_base[sym] + br.take(k_len_extra[sym]);
        int dsym = decode_symbol(br, dist);
        if (dsym < 0 || dsym >= 30) return status(errc::bad_format, "inflate: invalid distance code");
        std::size_t d = k_dist_base[dsym] + br.take(k_dist_extra[dsym]);
        if (SMOLVLM_UNLIKELY(d > o))
            return status::fmt(errc::bad_format, "inflate: distance %zu reaches before the start of the output", d);
        if (SMOLVLM_UNLIKELY(len > cap - o)) {
            if (!(rep && rep->stop_when_full))
                return status::fmt(errc::bad_format, "inflate: output exceeds the expected %zu bytes", cap);
            // zlib writes what fits of the match, then waits for output space: stop here.
            while (o < cap) {
                out[o] = out[o - d];
                ++o;
            }
            note_full();
            rep->stopped = true;
            break;
        }
        const std::uint8_t* src = out + o - d;
        std::uint8_t* dst = out + o;
        std::size_t rounded = (len + 7) & ~std::size_t(7);
        bool room = rounded <= cap - o;
        o += len;
        if (d >= 8 && room) {
            // 8-byte steps: with d >= 8 each step reads bytes already written. It may write
            // up to 7 bytes past the match end (never past cap); later output overwrites them.
            std::size_t n = 0;
            do {
                std::memcpy(dst + n, src + n, 8);
                n += 8;
            } while (n < len);
        } else {
            for (std::size_t i = 0; i < len; ++i) dst[i] = src[i];  // overlap: byte order matters
        }
        if (SMOLVLM_UNLIKELY(o == cap)) note_full();
    }
    *pos = o;
    return status::ok();
}

// Read the code-length code and the two dynamic tables (RFC 1951 3.2.7).
inline status read_dynamic_tables(bit_reader& br, huffman& lit, huffman& dist) {
    br.refill();
    int hlit = int(br.take(5)) + 257;
    int hdist = int(br.take(5)) + 1;
    int hclen = int(br.take(4)) + 4;
    if (hlit > 286 || hdist > 30) return status(errc::bad_format, "inflate: too many length or distance codes");
    static constexpr std::uint8_t order[19] = {16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15};
    std::uint8_t cl_lengths[19] = {0};
    for (int i = 0; i < hclen; ++i) {
        br.refill();
        cl_lengths[order[i]] = std::uint8_t(br.take(3));
    }
    huffman cl;
    SMOLVLM_TRY(build_huffman(cl, cl_lengths, 19, "code-length"));

    std::uint8_t lengths[286 + 30] = {0};
    int n = 0;
    while (n < hlit + hdist) {
        br.refill();
        if (br.pad_bytes > 8) return status(errc::truncated, "inflate: data ends inside the code lengths");
        int sym = decode_symbol(br, cl);
        if (sym < 0) return status(errc::bad_format, "inflate: invalid code-length code");
        if (sym < 16) {
            lengths[n++] = std::uint8_t(sym);
            continue;
        }
        int repeat = 0;
        std::uint8_t value = 0;
        if (sym == 16) {
            if (n == 0) return status(errc::bad_format, "inflate: repeat of a code length with no previous length");
            value = lengths[n - 1];
            repeat = 3 + int(br.take(2));
        } else if (sym == 17) {
            repeat = 3 + int(br.take(3));
        } else {
            repeat = 11 + int(br.take(7));
        }
        if (n + repeat > hlit + hdist) return status(errc::bad_format, "inflate: code lengths overflow the table");
        while (repeat--) lengths[n++] = value;
    }
    if (lengths[256] == 0) return status(errc::bad_format, "inflate: no end-of-block code");
    SMOLVLM_TRY(build_huffman(lit, lengths, hlit, "literal/length"));
    SMOLVLM_TRY(build_huffman(dist, lengths + hlit, hdist, "distance"));
    return status::ok();
}

inline void build_fixed_tables(huffman& lit, huffman& dist) {
    std::uint8_t l[288];
    int i = 0;
    for (; i < 144; ++i) l[i] = 8;
    for (; i < 256; ++i) l[i] = 9;
    for (; i < 280; ++i) l[i] = 7;
    for (; i < 288; ++i) l[i] = 8;
    (void)build_huffman(lit, l, 288, "fixed");  // the fixed code is complete by construction
    // All 32 five-bit codes, so the code is complete; symbols 30 and 31 never occur in
    // valid data and are rejected by the block decoder.
    std::uint8_t d[32];
    for (i = 0; i < 32; ++i) d[i] = 5;
    (void)build_huffman(dist, d, 32, "fixed");
}

}  // namespace detail

// Decompress a raw DEFLATE stream into out[0..capacity). On success *out_size is the
// number of bytes produced and *in_used the number of input bytes consumed (rounded up
// to a whole byte).
inline status inflate_raw(const std::uint8_t* in, std::size_t in_size, std::uint8_t* out, std::size_t capacity,
                          std::size_t* out_size, std::size_t* in_used = nullptr, inflate_report* rep = nullptr) {
    detail::bit_reader br{in, in + in_size};
    // Tables live on the stack: ~2.6 KB each.
    detail::huffman lit, dist;
    std::size_t pos = 0;
    bool final_block = false;
    while (!final_block) {
        br.refill();
        final_block = br.take(1) != 0;
        unsigned type = br.take(2);
        if (type == 0) {
            // Stored block: skip to a byte boundary, then LEN and NLEN (ones' complement).
            br.drop(br.count & 7);
            std::uint32_t len = br.take(16);
            std::uint32_t nlen = br.take(16);
            if (br.overrun()) return status(errc::truncated, "inflate: data ends inside a stored block header");
            if ((len ^ 0xFFFF) != nlen)
                return status::fmt(errc::bad_format, "inflate: stored block length %u does not match its complement",
                                   len);
            // Whole bytes still in the bit buffer come first, then the input directly.
            while (len > 0 && br.count >= 8) {
                if (br.overrun()) return status(errc::truncated, "inflate: data ends inside a stored block");
                if (pos >= capacity) {
                    if (rep && rep->stop_when_full) {
                        rep->stopped = true;
                        *out_size = pos;
                        return status::ok();
                    }
                    return status::fmt(errc::bad_format, "inflate: output exceeds the expected %zu bytes", capacity);
                }
                out[pos++] = std::uint8_t(br.take(8));
                --len;
                if (rep && pos == capacity && rep->bits_at_full == ~std::size_t(0))
                    rep->bits_at_full = detail::consumed_bits(br, in);
            }
            if (br.overrun()) return status(errc::truncated, "inflate: data ends inside a stored block");
            if (len > 0) {
                // The bit buffer is empty here (count < 8 and aligned => 0, no padding used).
                std::size_t avail = std::size_t(br.end - br.p);
                if (len > capacity - pos) {
                    if (!(rep && rep->stop_when_full))
                        return status::fmt(errc::bad_format, "inflate: output exceeds the expected %zu bytes", capacity);
                    std::size_t fit = capacity - pos;
                    if (fit > avail) return status(errc::truncated, "inflate: data ends inside a stored block");
                    std::memcpy(out + pos, br.p, fit);
                    pos += fit;
                    br.p += fit;
                    if (rep->bits_at_full == ~std::size_t(0)) rep->bits_at_full = detail::consumed_bits(br, in);
                    rep->stopped = true;
                    *out_size = pos;
                    return status::ok();
                }
                if (len > avail) return status(errc::truncated, "inflate: data ends inside a stored block");
                std::memcpy(out + pos, br.p, len);
                pos += len;
                br.p += len;
                if (rep && pos == capacity && rep->bits_at_full == ~std::size_t(0))
                    rep->bits_at_full = detail::consumed_bits(br, in);
            }
        } else if (type == 1 || type == 2) {
            if (type == 1) detail::build_fixed_tables(lit, dist);
            else SMOLVLM_TRY(detail::read_dynamic_tables(br, lit, dist));
            SMOLVLM_TRY(detail::inflate_huffman_block(br, lit, dist, out, capacity, &pos, rep, in));
            if (rep && rep->stopped) {
                *out_size = pos;
                return status::ok();
            }
            if (br.overrun()) return status(errc::truncated, "inflate: compressed data ends inside a block");
        } else {
            return status(errc::bad_format, "inflate: invalid block type 3");
        }
    }
    if (br.overrun()) return status(errc::truncated, "inflate: compressed data is truncated");
    *out_size = pos;
    if (in_used) {
        // Unused whole bytes left in the bit buffer go back to the input.
        std::size_t consumed = std::size_t(br.p - in) - std::size_t(br.count / 8 - br.pad_bytes);
        *in_used = consumed;
    }
    return status::ok();
}

// Decompress a zlib stream (RFC 1950: 2-byte header, DEFLATE data, big-endian Adler-32).
// The output must fit in `capacity` bytes; *out_size receives the produced size.
inline status zlib_decompress(const std::uint8_t* in, std::size_t in_size, std::uint8_t* out, std::size_t capacity,
                              std::size_t* out_size) {
    if (in_size < 2) return status(errc::truncated, "zlib: stream shorter than its 2-byte header");
    unsigned cmf = in[0], flg = in[1];
    if ((cmf & 15) != 8) return status::fmt(errc::bad_format, "zlib: compression method %u is not deflate", cmf & 15);
    if ((cmf >> 4) > 7) return status::fmt(errc::bad_format, "zlib: window size 2^%u too large", (cmf >> 4) + 8);
    if ((cmf * 256 + flg) % 31 != 0) return status(errc::bad_format, "zlib: header check bits are wrong");
    if (flg & 0x20) return status(errc::unsupported, "zlib: preset dictionaries are not supported");
    std::size_t used = 0;
    SMOLVLM_TRY(inflate_raw(in + 2, in_size - 2, out, capacity, out_size, &used));
    std::size_t at = 2 + used;
    if (in_size - at < 4) return status(errc::truncated, "zlib: stream ends before the Adler-32 checksum");
    std::uint32_t want = std::uint32_t(in[at]) << 24 | std::uint32_t(in[at + 1]) << 16 |
                         std::uint32_t(in[at + 2]) << 8 | std::uint32_t(in[at + 3]);
    std::uint32_t got = adler32(1, out, *out_size);
    if (want != got)
        return status::fmt(errc::bad_format, "zlib: Adler-32 mismatch (stored %08x, computed %08x)", unsigned(want),
                           unsigned(got));
    return status::ok();
}

}  // namespace smolvlm
