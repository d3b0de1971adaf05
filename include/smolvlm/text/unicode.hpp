// smolvlm/text/unicode.hpp — the Unicode pieces the tokenizer needs, and nothing more.
//
//   * general_category_of(cp): the Unicode general category (Lu, Ll, ..., Cn) from
//     unicode_tables.hpp, generated from Unicode 16.0.0 (scripts/gen_unicode_tables.py): the
//     version of Oniguruma 6.9.10, the regex engine the Rust `tokenizers` library runs its
//     Split / ByteLevel patterns on, and of Rust's char::is_numeric (Digits pre-tokenizer).
//   * char_class_of(cp): letter (\p{L}), number (\p{N}, = Rust char::is_numeric),
//     space (White_Space, = regex \s) or other. is_word_char(cp) is regex \w.
//   * next_code_point: a lenient UTF-8 reader (an invalid byte reads as one
//     "other" character, so bad input never crashes or loops).
//   * The GPT-2 byte <-> unicode table of byte-level BPE: the 188 printable
//     bytes ('!'..'~', 0xA1..0xAC, 0xAE..0xFF) stand for themselves; the other
//     68 bytes map, in order, to U+0100, U+0101, ... (so ' ' = U+0120 'Ġ').
//   * utf8_decode_lossy: bytes -> valid UTF-8 like Rust String::from_utf8_lossy
//     (each maximal ill-formed subpart becomes one U+FFFD), with a streaming mode
//     that holds back an incomplete character at the end.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "../io/json.hpp"  // detail::utf8_sequence_length, detail::utf8_append
#include "unicode_tables.hpp"

namespace smolvlm {

enum class char_class : std::uint8_t { other, letter, number, space };

// Unicode general categories; the order of the generated table (Cn = unassigned).
enum class general_category : std::uint8_t {
    Cn, Lu, Ll, Lt, Lm, Lo, Mn, Mc, Me, Nd, Nl, No, Pc, Pd, Ps, Pe,
    Pi, Pf, Po, Sm, Sc, Sk, So, Zs, Zl, Zp, Cc, Cf, Cs, Co
};
inline constexpr int k_general_category_count = 30;

namespace detail {

template <std::size_t N>
inline bool in_ranges(std::uint32_t cp, const code_point_range (&table)[N]) {
    std::size_t lo = 0, hi = N;  // binary search for the last range with first <= cp
    while (lo < hi) {
        const std::size_t mid = (lo + hi) / 2;
        if (table[mid].first <= cp) lo = mid + 1;
        else hi = mid;
    }
    return lo > 0 && cp <= table[lo - 1].last;
}

inline constexpr std::size_t k_gc_run_count = sizeof(k_gc_ranges) / sizeof(k_gc_ranges[0]);
inline constexpr std::uint32_t k_gc_blocks = 0x110000 >> 8;

// Index of the last run starting at or before cp (runs start at 0, so it exists).
constexpr std::size_t gc_run_of(std::uint32_t cp, std::size_t lo, std::size_t hi) {
    while (hi - lo > 1) {  // invariant: run lo starts <= cp, run hi (if < count) starts > cp
        const std::size_t mid = (lo + hi) / 2;
        if ((k_gc_ranges[mid] >> 5) <= cp) lo = mid;
        else hi = mid;
    }
    return lo;
}

// For each 256-code-point block, the run holding its first code point: a lookup is then a
// short search between two neighbouring entries (usually 1-3 runs).
constexpr std::array<std::uint16_t, k_gc_blocks + 1> make_gc_block_index() {
    std::array<std::uint16_t, k_gc_blocks + 1> idx{};
    for (std::uint32_t b = 0; b < k_gc_blocks; ++b) idx[b] = std::uint16_t(gc_run_of(b << 8, 0, k_gc_run_count));
    idx[k_gc_blocks] = std::uint16_t(k_gc_run_count - 1);
    return idx;
}
inline constexpr std::array<std::uint16_t, k_gc_blocks + 1> k_gc_block_index = make_gc_block_index();
static_assert(k_gc_run_count < 65536, "block index entries are 16-bit");

// ASCII classes, precomputed: the common case costs one load.
struct ascii_class_table {
    char_class c[128];
    constexpr ascii_class_table() : c() {
        for (int i = 0; i < 128; ++i) {
            char_class k = char_class::other;
            if ((i >= 'a' && i <= 'z') || (i >= 'A' && i <= 'Z')) k = char_class::letter;
            else if (i >= '0' && i <= '9') k = char_class::number;
            else if ((i >= 0x09 && i <= 0x0d) || i == ' ') k = char_class::space;
            c[i] = k;
        }
    }
};
inline constexpr ascii_class_table k_ascii_classes{};

// Marker for "invalid UTF-8 byte" returned by next_code_point.
inline constexpr std::uint32_t k_invalid_code_point = 0xFFFFFFFFu;

}  // namespace detail

// General category of a code point; Cn for unassigned ones and for values > U+10FFFF.
inline general_category general_category_of(std::uint32_t cp) {
    if (cp >= 0x110000) return general_category::Cn;
    const std::uint32_t b = cp >> 8;
    const std::size_t lo = detail::k_gc_block_index[b];
    const std::size_t hi = b + 1 < detail::k_gc_blocks ? std::size_t(detail::k_gc_block_index[b + 1]) + 1
                                                        : detail::k_gc_run_count;
    return general_category(detail::k_gc_ranges[detail::gc_run_of(cp, lo, hi)] & 31u);
}

// White_Space property: Oniguruma and Rust regex \s, Rust char::is_whitespace.
inline bool is_white_space(std::uint32_t cp) {
    if (cp < 128) return detail::k_ascii_classes.c[cp] == char_class::space;
    return detail::in_ranges(cp, detail::k_space_ranges);
}

inline bool is_letter_category(general_category g) { return g >= general_category::Lu && g <= general_category::Lo; }
inline bool is_mark_category(general_category g) { return g >= general_category::Mn && g <= general_category::Me; }
inline bool is_number_category(general_category g) { return g >= general_category::Nd && g <= general_category::No; }

// Oniguruma's \w inside a class (its "Word" property): Alphabetic, M, Nd, Pc. A bare \w,
// \W or \b also counts U+00B2 U+00B3 U+00B9 U+00BC..U+00BE (superscripts and fractions) as
// word characters (Oniguruma answers code points < 256 from a Latin-1 ctype table there):
// pass latin1_quirk = true for those. Rust's regex \w adds the join controls U+200C U+200D.
inline bool is_word_char(std::uint32_t cp, bool latin1_quirk = false) {
    if (cp < 128)
        return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9') || cp == '_';
    if (latin1_quirk && (cp == 0xB2 || cp == 0xB3 || cp == 0xB9 || (cp >= 0xBC && cp <= 0xBE))) return true;
    const general_category g = general_category_of(cp);
    return is_letter_category(g) || is_mark_category(g) || g == general_category::Nd || g == general_category::Nl ||
           g == general_category::Pc || detail::in_ranges(cp, detail::k_other_alpha_ranges);
}

inline char_class char_class_of(std::uint32_t cp) {
    if (cp < 128) return detail::k_ascii_classes.c[cp];
    if (cp > 0x10FFFF) return char_class::other;
    const general_category g = general_category_of(cp);
    if (is_letter_category(g)) return char_class::letter;
    if (is_number_category(g)) return char_class::number;
    if (is_white_space(cp)) return char_class::space;
    return char_class::other;
}

// Read one character at s[i] (i < n). Returns its byte length (1..4) and stores the
// code point; an invalid byte is read as a single character k_invalid_code_point.
inline std::size_t next_code_point(const unsigned char* s, std::size_t i, std::size_t n, std::uint32_t* cp) {
    if (s[i] < 0x80) {
        *cp = s[i];
        return 1;
    }
    const int len = detail::utf8_sequence_length(s, i, n, cp);
    if (len == 0) {
        *cp = detail::k_invalid_code_point;
        return 1;
    }
    return std::size_t(len);
}

inline bool is_valid_utf8(const char* data, std::size_t n) {
    const auto* s = reinterpret_cast<const unsigned char*>(data);
    std::uint32_t cp;
    for (std::size_t i = 0; i < n;) {
        if (s[i] < 0x80) {
            ++i;
            continue;
        }
        const int len = detail::utf8_sequence_length(s, i, n, &cp);
        if (len == 0) return false;
        i += std::size_t(len);
    }
    return true;
}

// ---- GPT-2 byte-level alphabet --------------------------------------------------

// Code point that stands for byte b in byte-level BPE vocabularies.
inline std::uint32_t byte_to_unicode(std::uint8_t b) {
    const bool printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae);
    if (printable) return b;
    // Non-printable bytes, counted in increasing order, go to 256 + rank.
    // Ranks: 0x00..0x20 -> 0..32, 0x7f..0xa0 -> 33..66, 0xad -> 67.
    if (b <= 0x20) return 256u + b;
    if (b >= 0x7f && b <= 0xa0) return 256u + 33u + (b - 0x7fu);
    return 256u + 67u;  // 0xad
}

// Inverse of byte_to_unicode: the byte, or -1 when cp is not in the alphabet.
inline int unicode_to_byte(std::uint32_t cp) {
    if (cp < 256) {
        const auto b = std::uint8_t(cp);
        return byte_to_unicode(b) == cp ? int(b) : -1;
    }
    if (cp < 256 + 33) return int(cp - 256);
    if (cp < 256 + 67) return int(0x7f + (cp - 256 - 33));
    if (cp == 256 + 67) return 0xad;
    return -1;
}

// ---- lossy UTF-8 ------------------------------------------------------------------

namespace detail {

// Length of the maximal well-formed prefix of a UTF-8 sequence starting at s[i]
// (Unicode "maximal subpart" rule, as Rust's from_utf8_lossy uses):
//   returns > 0 and sets *complete when a whole character is there;
//   returns the length of the ill-formed subpart (>= 1) with *complete = false otherwise;
//   sets *truncated when that subpart is a valid beginning cut off by the end of input.
inline std::size_t utf8_scan(const unsigned char* s, std::size_t i, std::size_t n, bool* complete, bool* truncated) {
    *complete = false;
    *truncated = false;
    const unsigned char c = s[i];
    if (c < 0x80) {
        *complete = true;
        return 1;
    }
    std::size_t len;
    unsigned char lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) len = 2;
    else if (c == 0xe0) { len = 3; lo = 0xa0; }
    else if (c == 0xed) { len = 3; hi = 0x9f; }
    else if (c >= 0xe1 && c <= 0xef) len = 3;
    else if (c == 0xf0) { len = 4; lo = 0x90; }
    else if (c == 0xf4) { len = 4; hi = 0x8f; }
    else if (c >= 0xf1 && c <= 0xf3) len = 4;
    else return 1;  // 0x80..0xc1, 0xf5..0xff never start a character
    for (std::size_t k = 1; k < len; ++k) {
        if (i + k >= n) {
            *truncated = true;
            return k;
        }
        const unsigned char d = s[i + k];
        const unsigned char l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xbf;
        if (d < l || d > h) return k;
    }
    *complete = true;
    return len;
}

}  // namespace detail

// Append bytes [data, data+n) to out as valid UTF-8, each ill-formed subpart replaced
// by U+FFFD. When `final` is false an incomplete character at the very end is not
// consumed. Returns the number of bytes consumed.
inline std::size_t utf8_decode_lossy(const char* data, std::size_t n, std::string& out, bool final = true) {
    const auto* s = reinterpret_cast<const unsigned char*>(data);
    std::size_t i = 0;
    while (i < n) {
        // Copy a run of ASCII in one go.
        std::size_t j = i;
        while (j < n && s[j] < 0x80) ++j;
        out.append(data + i, j - i);
        i = j;
        if (i >= n) break;
        bool complete, truncated;
        const std::size_t len = detail::utf8_scan(s, i, n, &complete, &truncated);
        if (complete) {
            out.append(data + i, len);
        } else {
            if (truncated && !final) return i;
            out.append("\xEF\xBF\xBD");  // U+FFFD
        }
        i += len;
    }
    return n;
}

inline std::string utf8_decode_lossy(const std::string& bytes) {
    std::string out;
    out.reserve(bytes.size());
    utf8_decode_lossy(bytes.data(), bytes.size(), out, true);
    return out;
}

}  // namespace smolvlm
