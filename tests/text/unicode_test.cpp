// Tests for text/unicode.hpp: character classes, GPT-2 byte alphabet, lossy UTF-8.
#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "../test_util.hpp"
#include "smolvlm/text/unicode.hpp"

namespace smolvlm_test_text_unicode_cases {  // one namespace per test file: the files also build as one unity translation unit

using smolvlm::char_class;
using smolvlm::char_class_of;

TEST_CASE("unicode: character classes match Unicode 16 general categories and White_Space", "[text][unicode]") {
    CHECK(std::string(smolvlm::detail::k_unicode_tables_version) == "16.0.0");
    // Letters (L*), including Lm/Lo/Lt.
    for (std::uint32_t cp : {0x61u, 0x5Au, 0xE9u, 0xDFu, 0x1C5u, 0x2B0u, 0x3B1u, 0x416u, 0x5D0u, 0x627u, 0xE20u,
                             0x3042u, 0x30ABu, 0x4E2Du, 0xD55Cu, 0xFF21u, 0xFF76u, 0x20000u})
        CHECK(char_class_of(cp) == char_class::letter);
    // Numbers: Nd, Nl, No — all of them are Rust char::is_numeric.
    for (std::uint32_t cp : {0x30u, 0x39u, 0xB2u, 0xB3u, 0xBDu, 0xBEu, 0x663u, 0x96Au, 0x9E9u, 0x2160u, 0x216Bu,
                             0x2177u, 0x2460u, 0x2469u, 0xFF11u, 0x1D7CEu})
        CHECK(char_class_of(cp) == char_class::number);
    // White_Space: exactly these (ranges of PropList.txt).
    std::set<std::uint32_t> ws = {0x9, 0xA, 0xB, 0xC, 0xD, 0x20, 0x85, 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F,
                                  0x3000};
    for (std::uint32_t cp = 0x2000; cp <= 0x200A; ++cp) ws.insert(cp);
    for (std::uint32_t cp = 0; cp < 0x3100; ++cp) {
        INFO("cp " << cp);
        CHECK((char_class_of(cp) == char_class::space) == (ws.count(cp) == 1));
    }
    // Not spaces and not letters: ZWSP, Mongolian vowel separator (Cf since 6.3), BOM,
    // combining marks, punctuation, symbols, emoji, controls outside TAB..CR.
    for (std::uint32_t cp : {0x200Bu, 0x180Eu, 0xFEFFu, 0x301u, 0x21u, 0x2019u, 0x20ACu, 0x1F600u, 0x1Cu, 0x0u, 0x7Fu})
        CHECK(char_class_of(cp) == char_class::other);
    CHECK(char_class_of(0x110000) == char_class::other);
    CHECK(char_class_of(smolvlm::detail::k_invalid_code_point) == char_class::other);
}

TEST_CASE("unicode: GPT-2 byte alphabet is a bijection onto its 256 code points", "[text][unicode]") {
    std::set<std::uint32_t> seen;
    for (int b = 0; b < 256; ++b) {
        const std::uint32_t cp = smolvlm::byte_to_unicode(std::uint8_t(b));
        CHECK(cp < 324);  // 256 + 68 non-printable bytes
        CHECK(smolvlm::unicode_to_byte(cp) == b);
        seen.insert(cp);
    }
    CHECK(seen.size() == 256);
    CHECK(smolvlm::byte_to_unicode(' ') == 0x120);   // 'Ġ'
    CHECK(smolvlm::byte_to_unicode('\n') == 0x10A);  // 'Ċ'
    CHECK(smolvlm::byte_to_unicode('A') == 'A');
    CHECK(smolvlm::byte_to_unicode(0x7F) == 0x121);
    CHECK(smolvlm::byte_to_unicode(0xAD) == 0x143);
    CHECK(smolvlm::unicode_to_byte(0x144) == -1);
    CHECK(smolvlm::unicode_to_byte(0x4E2D) == -1);
}

TEST_CASE("unicode: lossy UTF-8 follows the maximal-subpart rule (Rust from_utf8_lossy)", "[text][unicode]") {
    const std::string r = "\xEF\xBF\xBD";  // U+FFFD
    auto lossy = [](const std::string& s) { return smolvlm::utf8_decode_lossy(s); };
    CHECK(lossy("plain ascii") == "plain ascii");
    CHECK(lossy("日本 😀") == "日本 😀");
    CHECK(lossy("\xF0\x9F\x98") == r);                   // truncated 4-byte: one
    CHECK(lossy("\xF0\x9F\x98" "A") == r + "A");         // broken by ASCII: one
    CHECK(lossy("\xE0\x80") == r + r);                   // E0 needs A0..BF next
    CHECK(lossy("\xC0\xAF") == r + r);                   // C0 never valid
    CHECK(lossy("\xED\xA0\x80") == r + r + r);           // surrogate
    CHECK(lossy("\xF4\x90\x80\x80") == r + r + r + r);   // above U+10FFFF
    CHECK(lossy("\x80\xBF") == r + r);                   // stray continuations
    CHECK(lossy("\xFF" "a\xC3\xA9") == r + "a\xC3\xA9");
    // Streaming: an incomplete tail is held back.
    std::string out;
    const std::string s = "ab\xE6\x97";
    CHECK(smolvlm::utf8_decode_lossy(s.data(), s.size(), out, false) == 2);
    CHECK(out == "ab");
    CHECK(smolvlm::is_valid_utf8("\xE6\x97\xA5", 3));
    CHECK_FALSE(smolvlm::is_valid_utf8("\xE6\x97", 2));
}

}  // namespace smolvlm_test_text_unicode_cases
