// Tests for text/regex.hpp: Oniguruma's matches (recorded through the Rust tokenizers
// library in tests/text/data/regex_cases.json, scripts/gen_tokenizer_cases.py) and the
// matcher's own guarantees (step budget, invalid UTF-8, error messages).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "../test_util.hpp"
#include "smolvlm/io/json.hpp"
#include "smolvlm/text/regex.hpp"

namespace smolvlm_test_text_regex_cases {  // one namespace per test file: the files also build as one unity translation unit

using smolvlm::regex;
using smolvlm::regex_result;
using smolvlm::regex_scratch;

namespace {

std::string source_dir() {
#ifdef SMOLVLM_SOURCE_DIR
    return SMOLVLM_SOURCE_DIR;
#else
    return ".";
#endif
}

std::vector<std::pair<std::size_t, std::size_t>> nonempty_matches(const regex& re, const std::string& s) {
    regex_scratch sc;
    std::vector<std::pair<std::size_t, std::size_t>> out;
    const regex_result r = re.for_each_match(s, sc, [&](std::size_t a, std::size_t b) {
        if (a != b) out.emplace_back(a, b);
    });
    CHECK(r == regex_result::no_match);
    return out;
}

}  // namespace

TEST_CASE("regex: matches Oniguruma (via tokenizers) on recorded patterns and subjects", "[text][regex]") {
    const std::string path = source_dir() + "/tests/text/data/regex_cases.json";
    REQUIRE(smolvlm_test::path_exists(path));
    auto doc = smolvlm::parse_json(smolvlm_test::read_file(path));
    REQUIRE(doc.is_ok());
    std::size_t compiled = 0, unsupported = 0, subjects = 0, both_rejected = 0;
    for (const auto& c : doc.value().find("cases")->items()) {
        const std::string& p = c.find("pattern")->as_string();
        INFO("pattern /" << p << "/");
        auto re = regex::compile(p);
        if (c.find("error")) {  // Oniguruma rejects it: so must we
            CHECK_FALSE(re.is_ok());
            ++both_rejected;
            continue;
        }
        if (!re.is_ok()) {  // allowed only as a named unsupported construct
            INFO(re.error().message());
            CHECK(re.error().code() == smolvlm::errc::unsupported);
            ++unsupported;
            continue;
        }
        ++compiled;
        for (const auto& s : c.find("subjects")->items()) {
            const std::string& text = s.find("text")->as_string();
            INFO("subject [" << text << "]");
            std::vector<std::pair<std::size_t, std::size_t>> want;
            for (const auto& m : s.find("matches")->items())
                want.emplace_back(std::size_t(m[0].as_int()), std::size_t(m[1].as_int()));
            CHECK(nonempty_matches(re.value(), text) == want);
            ++subjects;
        }
    }
    CHECK(compiled >= 150);
    WARN("regex cases: " << compiled << " patterns compiled (" << subjects << " subjects), " << unsupported
                         << " unsupported, " << both_rejected << " rejected by both");
}

TEST_CASE("regex: the three tokenizer patterns compile", "[text][regex]") {
    for (const char* p :
         {"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
          "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
          "\\s+(?!\\S)|\\s+",
          "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}\\p{N}]?"
          "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|"
          "\\s+(?!\\S)|\\s+"}) {
        INFO(p);
        CHECK(regex::compile(p).is_ok());
    }
    // Llama-3: case-insensitive contractions, also with U+017F LONG S.
    auto re = regex::compile("(?i:'s|'t|'re|'ve|'m|'ll|'d)|\\p{L}+|\\s+");
    REQUIRE(re.is_ok());
    using m = std::vector<std::pair<std::size_t, std::size_t>>;
    CHECK(nonempty_matches(re.value(), "I'M you'LL") == m{{0, 1}, {1, 3}, {3, 4}, {4, 7}, {7, 10}});
    CHECK(nonempty_matches(re.value(), "x'\xC5\xBF") == m{{0, 1}, {1, 4}});
}

TEST_CASE("regex: search, literal, empty matches", "[text][regex]") {
    regex_scratch sc;
    std::size_t a = 0, b = 0;
    auto re = regex::compile("b+");
    REQUIRE(re.is_ok());
    CHECK(re.value().search("aabbbab", 0, &a, &b, sc) == regex_result::match);
    CHECK((a == 2 && b == 5));
    CHECK(re.value().search("aabbbab", 5, &a, &b, sc) == regex_result::match);
    CHECK((a == 6 && b == 7));
    CHECK(re.value().search("aaa", 0, &a, &b, sc) == regex_result::no_match);
    const regex lit = regex::literal("a.b");
    CHECK(lit.search("xa.bx", 0, &a, &b, sc) == regex_result::match);
    CHECK((a == 1 && b == 4));
    CHECK(lit.search("xaxbx", 0, &a, &b, sc) == regex_result::no_match);
    // onig find_iter: "a*" on "baa" gives (0,0), (1,3) — not the empty match at 3.
    auto star = regex::compile("a*");
    REQUIRE(star.is_ok());
    std::vector<std::pair<std::size_t, std::size_t>> all;
    (void)star.value().for_each_match("baa", sc, [&](std::size_t x, std::size_t y) { all.emplace_back(x, y); });
    CHECK(all == std::vector<std::pair<std::size_t, std::size_t>>{{0, 0}, {1, 3}});
}

TEST_CASE("regex: step budget and invalid UTF-8 subjects", "[text][regex]") {
    auto re = regex::compile("(a|aa)+b");
    REQUIRE(re.is_ok());
    regex_scratch sc;
    std::size_t a = 0, b = 0;
    const std::string text(64, 'a');
    CHECK(re.value().search(text, 0, &a, &b, sc, 100000) == regex_result::step_limit);
    CHECK(re.value().search("aab", 0, &a, &b, sc, 100000) == regex_result::match);
    // Invalid bytes never crash; only negated classes take them.
    auto any = regex::compile("[^a]+|a+|\\p{L}+|.");
    REQUIRE(any.is_ok());
    const std::string bad = "a\xFF\xE6\x97 \xC3";
    std::size_t covered = 0;
    (void)any.value().for_each_match(bad, sc, [&](std::size_t x, std::size_t y) {
        CHECK(x <= y);
        CHECK(y <= bad.size());
        covered += y - x;
    });
    CHECK(covered == bad.size());
}

TEST_CASE("regex: unsupported constructs name themselves", "[text][regex]") {
    struct bad {
        const char* pattern;
        const char* needle;
    };
    for (const bad& x : {bad{"(?<=a)b", "lookbehind"}, bad{"(?<!a)b", "lookbehind"}, bad{"(a)\\1", "\\1"},
                         bad{"\\G", "\\G"}, bad{"\\K", "\\K"}, bad{"\\R", "\\R"}, bad{"[[:alpha:]]", "POSIX"},
                         bad{"[a[b]]", "nested class"}, bad{"[a&&b]", "&&"}, bad{"\\p{Han}", "Han"},
                         bad{"(?x)a b", "(?x"}, bad{"(?i:\xC3\xA9)", "non-ASCII"}, bad{"(?i:[\\w])", "\\w"},
                         bad{"(?i:st)", "multi-character"}, bad{"a+*", "nested quantifier"},
                         bad{"a{2}+", "{m,n}+"}, bad{"(?=a)*", "quantifier on an assertion"},
                         bad{"\\xFF", "0x7F"}}) {
        auto r = regex::compile(x.pattern);
        INFO(x.pattern);
        REQUIRE_FALSE(r.is_ok());
        INFO(r.error().message());
        CHECK(r.error().code() == smolvlm::errc::unsupported);
        CHECK(std::string(r.error().message()).find(x.needle) != std::string::npos);
    }
    for (const char* p : {"(a", "a)", "[a", "*a", "a{3,2}", "\\", "\\p{L"}) {
        auto r = regex::compile(p);
        INFO(p);
        REQUIRE_FALSE(r.is_ok());
        CHECK(r.error().code() == smolvlm::errc::bad_format);
    }
}

}  // namespace smolvlm_test_text_regex_cases
