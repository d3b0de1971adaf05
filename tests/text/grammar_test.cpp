// Tests for text/grammar.hpp (GBNF parsing and checks) and text/grammar_matcher.hpp
// (constrained decoding). Masks are checked against a naive reference recognizer written
// here (explicit stacks of element positions, code point by code point, no DFA, no trie,
// no caches), over a synthetic vocabulary whose tokens split UTF-8 characters.
#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

#include "grammar_test_util.hpp"
#include "smolvlm/io/json.hpp"
#include "smolvlm/text/grammar.hpp"
#include "smolvlm/text/grammar_matcher.hpp"
#include "smolvlm/text/json_schema.hpp"

namespace smolvlm_test_text_grammar_cases {  // one namespace per test file: the files also build as one unity translation unit

using smolvlm::compile_gbnf;
using smolvlm::grammar;
using smolvlm::grammar_matcher;
using smolvlm::grammar_vocab;

namespace {

grammar compile_ok(const std::string& text) {
    auto g = compile_gbnf(text);
    INFO(text);
    if (!g.is_ok()) FAIL(g.error().message());
    return std::move(g).value();
}

std::string compile_error(const std::string& text) {
    auto g = compile_gbnf(text);
    INFO(text);
    REQUIRE_FALSE(g.is_ok());
    return g.error().message();
}

// The whole string is in the language.
bool matches(const grammar& g, const std::string& s) {
    grammar_matcher m(g, grammar_test::byte_vocab());
    if (!s.empty() && !m.accept_bytes(s)) return false;
    return m.can_end();
}

// Some completion of the string is in the language.
bool viable(const grammar& g, const std::string& s) {
    grammar_matcher m(g, grammar_test::byte_vocab());
    return s.empty() || m.accept_bytes(s);
}

// ---- naive reference recognizer ------------------------------------------------------

class naive {
public:
    using stack = std::vector<std::uint32_t>;  // element positions, bottom first

    explicit naive(const grammar& g) : g_(g) {
        for (const std::uint32_t* a = g.alts_begin(g.root()); a != g.alts_end(g.root()); ++a) expand({*a}, stacks_);
    }

    bool can_end() const { return partial_.empty() && stacks_.count(stack()) > 0; }

    // Feed bytes; false when no stack survives (or the UTF-8 is invalid).
    bool feed(const std::string& bytes) {
        for (char ch : bytes) {
            partial_.push_back(static_cast<unsigned char>(ch));
            const int need = seq_len(partial_[0]);
            if (need == 0) return false;
            if (int(partial_.size()) < need) {
                if (!partial_viable()) return false;
                continue;
            }
            std::uint32_t cp;
            if (smolvlm::detail::utf8_sequence_length(partial_.data(), 0, partial_.size(), &cp) != need) return false;
            partial_.clear();
            std::set<stack> next;
            for (const stack& s : stacks_) {
                if (s.empty()) continue;
                const std::uint32_t e = g_.element(s.back());
                if (!g_.set_contains(grammar::index_of(e), cp)) continue;
                stack t = s;
                t.back() += 1;
                expand(t, next);
            }
            stacks_.swap(next);
            if (stacks_.empty()) return false;
        }
        return true;
    }

private:
    static int seq_len(unsigned char c) {
        if (c < 0x80) return 1;
        if (c >= 0xc2 && c <= 0xdf) return 2;
        if (c >= 0xe0 && c <= 0xef) return 3;
        if (c >= 0xf0 && c <= 0xf4) return 4;
        return 0;
    }

    // A pending prefix: some valid completion is in some stack's top set. Validity of a
    // UTF-8 sequence depends on its first two bytes only, so try every second byte and
    // take the rest as 80..80 (lowest) to BF..BF (highest).
    bool partial_viable() const {
        const int need = seq_len(partial_[0]);
        std::vector<std::vector<unsigned char>> heads;
        if (partial_.size() == 1) {
            for (int b = 0x80; b <= 0xbf; ++b) heads.push_back({partial_[0], static_cast<unsigned char>(b)});
        } else {
            heads.push_back(partial_);
        }
        for (const auto& h : heads) {
            std::vector<unsigned char> lo = h, hi = h;
            while (int(lo.size()) < need) {
                lo.push_back(0x80);
                hi.push_back(0xbf);
            }
            std::uint32_t a = 0, b = 0;
            if (smolvlm::detail::utf8_sequence_length(lo.data(), 0, lo.size(), &a) != need) continue;
            if (smolvlm::detail::utf8_sequence_length(hi.data(), 0, hi.size(), &b) != need) continue;
            for (const stack& s : stacks_)
                if (!s.empty() && g_.set_intersects(grammar::index_of(g_.element(s.back())), a, b)) return true;
        }
        return false;
    }

    // All stacks reachable without consuming input whose top is a set (or empty).
    void expand(stack s, std::set<stack>& out) {
        std::set<stack> seen;
        std::vector<stack> work{std::move(s)};
        while (!work.empty()) {
            stack t = std::move(work.back());
            work.pop_back();
            if (!seen.insert(t).second) continue;
            if (t.empty()) {
                out.insert(t);
                continue;
            }
            const std::uint32_t e = g_.element(t.back());
            switch (grammar::kind_of(e)) {
                case grammar::elem_kind::end: t.pop_back(); work.push_back(t); break;
                case grammar::elem_kind::set: out.insert(t); break;
                case grammar::elem_kind::ref: {
                    const std::uint32_t r = grammar::index_of(e);
                    t.back() += 1;  // return position
                    if (grammar::kind_of(g_.element(t.back())) == grammar::elem_kind::end) t.pop_back();
                    for (const std::uint32_t* a = g_.alts_begin(r); a != g_.alts_end(r); ++a) {
                        stack u = t;
                        u.push_back(*a);
                        work.push_back(u);
                    }
                    break;
                }
            }
        }
    }

    const grammar& g_;
    std::set<stack> stacks_;
    std::vector<unsigned char> partial_;
};

// Compare the matcher's mask with the naive recognizer along random generations.
void check_masks_against_naive(const std::string& text, const grammar_vocab& v, int n_runs, std::size_t steps) {
    INFO(text);
    const grammar g = compile_ok(text);
    grammar_matcher m(g, v);
    smolvlm::pcg32 rng(7);
    for (int run = 0; run < n_runs; ++run) {
        m.reset();
        naive ref(g);
        std::string prefix;
        for (std::size_t step = 0; step < steps; ++step) {
            const smolvlm::token_mask& mask = m.allowed_tokens();
            std::vector<std::int32_t> allowed;
            for (std::int32_t id = 0; id < std::int32_t(v.size()); ++id) {
                bool expect;
                if (v.is_end(id)) {
                    expect = ref.can_end();
                } else if (v.token_bytes(id).empty()) {
                    expect = false;
                } else {
                    naive r2 = ref;
                    expect = r2.feed(std::string(v.token_bytes(id)));
                }
                if (mask.test(id) != expect) {
                    INFO("prefix '" << prefix << "' token " << id << " '" << std::string(v.token_bytes(id)) << "'");
                    CHECK(mask.test(id) == expect);
                    return;
                }
                CHECK(m.is_allowed(id) == expect);
                if (expect) allowed.push_back(id);
            }
            if (allowed.empty()) break;
            const std::int32_t id = allowed[rng.next_u32() % allowed.size()];
            REQUIRE(m.accept_token(id));
            if (v.is_end(id)) break;
            REQUIRE(ref.feed(std::string(v.token_bytes(id))));
            prefix += std::string(v.token_bytes(id));
        }
    }
}

}  // namespace

TEST_CASE("gbnf: literals, classes, alternatives, groups", "[grammar]") {
    const grammar g = compile_ok(R"(root ::= "ab" ( "c" | [x-z]+ ) "!"?)");
    CHECK(matches(g, "abc"));
    CHECK(matches(g, "abc!"));
    CHECK(matches(g, "abxyzzy!"));
    CHECK_FALSE(matches(g, "ab"));
    CHECK_FALSE(matches(g, "abw"));
    CHECK_FALSE(matches(g, "abc!!"));
    CHECK(viable(g, "ab"));
    CHECK_FALSE(viable(g, "b"));

    const grammar neg = compile_ok(R"(root ::= [^a-c\n]+)");
    CHECK(matches(neg, "xyz"));
    CHECK(matches(neg, "\xce\xb1\xe4\xb8\xad"));  // αβ: any code point outside the class
    CHECK_FALSE(matches(neg, "xbz"));
    CHECK_FALSE(matches(neg, "x\nz"));

    const grammar dot = compile_ok(R"(root ::= "<" . . ">")");
    CHECK(matches(dot, "<ab>"));
    CHECK(matches(dot, "<\xf0\x9f\x98\x80\xce\xb1>"));  // 😀α: two code points
    CHECK_FALSE(matches(dot, "<a>"));
}

TEST_CASE("gbnf: escapes in literals and classes", "[grammar]") {
    const grammar g = compile_ok(
        R"(root ::= "\n\t\r\\\"" [\]\-\\] "\x41\u03B1\U0001F600" [\x00-\x1F])");
    CHECK(matches(g, "\n\t\r\\\"]A\xce\xb1\xf0\x9f\x98\x80\x01"));
    CHECK(matches(g, "\n\t\r\\\"-A\xce\xb1\xf0\x9f\x98\x80\x1f"));
    CHECK(matches(g, "\n\t\r\\\"\\A\xce\xb1\xf0\x9f\x98\x80\x1f"));
    CHECK_FALSE(matches(g, "\n\t\r\\\"aA\xce\xb1\xf0\x9f\x98\x80\x1f"));
    const grammar q = compile_ok(R"(root ::= "it's" [\[\^/] q)"
                                 "\n"
                                 R"(q ::= "\'\/")");
    CHECK(matches(q, "it's^'/"));
    CHECK(matches(q, "it's['/"));
}

TEST_CASE("gbnf: unicode classes and partial UTF-8", "[grammar]") {
    const grammar g = compile_ok("root ::= [\xce\xb1-\xcf\x89]+ \"!\"");  // [α-ω]+ "!"
    CHECK(matches(g, "\xce\xb1\xce\xb2\xcf\x89!"));
    CHECK_FALSE(matches(g, "\xce\x91!"));  // Α (capital alpha) is below the range
    CHECK_FALSE(matches(g, "a!"));
    // Byte by byte: a lead byte is viable only when some completion is in the class.
    CHECK(viable(g, "\xce"));
    CHECK(viable(g, "\xcf"));
    CHECK_FALSE(viable(g, "\xc3"));  // é's lead byte: U+00C0..U+00FF, none in α-ω
    CHECK_FALSE(viable(g, "\xce\x91"));
    CHECK(viable(g, "\xce\xb1\xcf"));

    // Invalid UTF-8 is refused even by "."
    const grammar dot = compile_ok("root ::= .*");
    CHECK(matches(dot, "\xe4\xb8\xad"));
    CHECK_FALSE(viable(dot, "\xc0\x80"));          // overlong
    CHECK_FALSE(viable(dot, "\xe0\x80"));          // overlong 3-byte
    CHECK_FALSE(viable(dot, "\xed\xa0\x80"));      // surrogate
    CHECK_FALSE(viable(dot, "\xf4\x90\x80\x80"));  // above U+10FFFF
    CHECK_FALSE(viable(dot, "\xf5"));
    CHECK_FALSE(viable(dot, "\x80"));
    CHECK_FALSE(viable(dot, "\xe4\xb8" "a"));
    CHECK_FALSE(matches(dot, "\xe4\xb8"));  // pending sequence: cannot end here

    // Tokens that end inside a character: the mask follows the pending bytes.
    std::vector<std::string> t = {"\xce", "\xb1", "\xb1\xce", "\xc3", "\xa9", "!", "\xce\xb1", ""};
    const grammar_vocab v = grammar_vocab::build(t, {7});
    grammar_matcher m(g, v);
    const auto& m0 = m.allowed_tokens();
    CHECK(m0.test(0));
    CHECK_FALSE(m0.test(1));
    CHECK_FALSE(m0.test(3));
    CHECK(m0.test(6));
    CHECK_FALSE(m0.test(7));
    REQUIRE(m.accept_token(0));  // "\xce"
    const auto& m1 = m.allowed_tokens();
    CHECK(m1.test(1));
    CHECK(m1.test(2));  // "\xb1\xce": completes α, starts another
    CHECK_FALSE(m1.test(5));
    CHECK_FALSE(m1.test(7));  // no end inside a character
    REQUIRE(m.accept_token(2));
    REQUIRE(m.accept_token(1));
    CHECK(m.allowed_tokens().test(5));
    REQUIRE(m.accept_token(5));
    CHECK(m.can_end());
    CHECK(m.allowed_tokens().test(7));
    CHECK(m.is_finished());
}

TEST_CASE("gbnf: repetition counts", "[grammar]") {
    const grammar g = compile_ok(R"(root ::= "a"{3} "b"{2,} "c"{1,3} "d"{,2} ("xy"){0,1})");
    CHECK(matches(g, "aaabbc"));
    CHECK(matches(g, "aaabbbbbcccdd"));
    CHECK(matches(g, "aaabbcxy"));
    CHECK(matches(g, "aaabbcdxy"));
    CHECK_FALSE(matches(g, "aabbc"));
    CHECK_FALSE(matches(g, "aaabc"));
    CHECK_FALSE(matches(g, "aaabbcccc"));
    CHECK_FALSE(matches(g, "aaabbcddd"));
    CHECK_FALSE(matches(g, "aaabbcxyxy"));
    const grammar z = compile_ok(R"(root ::= "x" "y"{0} "z"{0,0})");
    CHECK(matches(z, "x"));
    CHECK_FALSE(matches(z, "xy"));
    // a nullable unit under * (a tail cycle through an empty match): fine, not left recursion
    const grammar n = compile_ok(R"(root ::= ("a"?)* "b" ("c" | "")+)");
    CHECK(matches(n, "b"));
    CHECK(matches(n, "aaab"));
    CHECK(matches(n, "abccc"));
}

TEST_CASE("gbnf: empty alternatives, comments, multi-line rules", "[grammar]") {
    const grammar g = compile_ok(
        "# a comment line\n"
        "root ::= a b   # trailing comment\n"
        "a ::= \"x\" |\n"
        "b ::= | \"y\"\n"
        "  | \"z\"  # continues: the line starts with |\n"
        "\n"
        "c ::= (\n"
        "    \"1\"\n"
        "  | \"2\"   # inside parentheses newlines are spaces\n"
        ")\n"
        "d ::= \"q\" |\n"
        "  \"r\"\n");
    CHECK(matches(g, ""));
    CHECK(matches(g, "x"));
    CHECK(matches(g, "xy"));
    CHECK(matches(g, "z"));
    CHECK_FALSE(matches(g, "yx"));
    // right recursion
    const grammar r = compile_ok("root ::= \"(\" root \")\" | \"\"\n");
    CHECK(matches(r, "((()))"));
    CHECK(matches(r, ""));
    CHECK_FALSE(matches(r, "(()"));
    // rules used before their definition; names with digits, '-' and '_'
    const grammar u = compile_ok("root ::= item-1 item_2\nitem-1 ::= \"a\"\nitem_2 ::= [0-9]\n");
    CHECK(matches(u, "a7"));
    // other start rule
    auto other = compile_gbnf("x ::= \"1\"\nstart ::= x x\n", "start");
    REQUIRE(other.is_ok());
    CHECK(matches(other.value(), "11"));
}

TEST_CASE("gbnf: syntax errors carry line and column", "[grammar]") {
    CHECK(compile_error("root ::= \"a\"\nfoo \"b\"\n").find("line 2, column 5: expected '::='") != std::string::npos);
    CHECK(compile_error("root ::= \"abc\n").find("line 1, column 10: unterminated literal") != std::string::npos);
    CHECK(compile_error("root ::= [abc\n").find("line 1, column 10: unterminated character class") != std::string::npos);
    CHECK(compile_error("root ::= \"\\q\"").find("line 1, column 11: unknown escape") != std::string::npos);
    CHECK(compile_error("root ::= ( \"a\"\n").find("line 1, column 10: unclosed '('") != std::string::npos);
    CHECK(compile_error("root ::= \"a\" )").find("unmatched ')'") != std::string::npos);
    CHECK(compile_error("root ::= * \"a\"").find("line 1, column 10: repetition operator without") != std::string::npos);
    CHECK(compile_error("root ::= \"a\"{3,2}").find("max below min") != std::string::npos);
    CHECK(compile_error("root ::= []").find("empty character class") != std::string::npos);
    CHECK(compile_error("root ::= [z-a]").find("below its start") != std::string::npos);
    CHECK(compile_error("root ::= [^\\x00-\\U0010FFFF]").find("matches nothing") != std::string::npos);
    CHECK(compile_error("root ::= \"\\xZZ\"").find("hex digits") != std::string::npos);
    CHECK(compile_error("root ::= \"\\U00110000\"").find("beyond U+10FFFF") != std::string::npos);
    CHECK(compile_error("root ::= \"a\" $").find("line 1, column 14: unexpected character '$'") != std::string::npos);
    // columns count code points: "α" is one column
    CHECK(compile_error("root ::= \"\xce\xb1\" ?? }").find("line 1, column 17") != std::string::npos);
    CHECK(compile_error("").find("no rules") != std::string::npos);
}

TEST_CASE("gbnf: undefined rules, missing root, duplicates", "[grammar]") {
    CHECK(compile_error("root ::= a b\na ::= \"x\"\n").find("line 1, column 12: undefined rule 'b'") != std::string::npos);
    CHECK(compile_error("start ::= \"x\"\n").find("no 'root' rule") != std::string::npos);
    CHECK(compile_error("root ::= \"x\"\nroot ::= \"y\"\n").find("line 2, column 1: rule 'root' is defined twice") !=
          std::string::npos);
}

TEST_CASE("gbnf: left recursion is an error, not a hang", "[grammar]") {
    std::string e = compile_error("root ::= root \"x\" | \"y\"\n");
    CHECK(e.find("left-recursive") != std::string::npos);
    CHECK(e.find("root -> root") != std::string::npos);
    e = compile_error("root ::= a\na ::= b \"x\" | \"y\"\nb ::= \"z\"? a\n");
    CHECK(e.find("line 2, column 1: rule 'a' is left-recursive (a -> b -> a)") != std::string::npos);
    // through a nullable prefix inside a group
    e = compile_error("root ::= ( \"\" root \"x\" )? \"y\"\n");
    CHECK(e.find("left-recursive") != std::string::npos);
}

TEST_CASE("gbnf: a rule that never finishes is an error", "[grammar]") {
    std::string e = compile_error("root ::= a\na ::= \"x\" a\n");
    CHECK(e.find("rule 'a' can never produce a finite string") != std::string::npos);
    CHECK(e.find("line 2, column 1") != std::string::npos);
    e = compile_error("root ::= \"ok\" | b\nb ::= \"(\" c \")\"\nc ::= b b\n");
    CHECK(e.find("can never produce a finite string") != std::string::npos);
    // unreachable rules do not matter
    compile_ok("root ::= \"x\"\nunused ::= \"y\" unused\n");
}

TEST_CASE("gbnf: to_gbnf writes an equivalent grammar", "[grammar]") {
    const std::string text =
        "root ::= \"{\" pair ( \",\" pair ){0,3} \"}\"\npair ::= [a-z\xce\xb1-\xcf\x89]+ \":\" ( [0-9]+ | \"\\\"\" [^\"\\\\]* \"\\\"\" )\n";
    const grammar g = compile_ok(text);
    const grammar h = compile_ok(g.to_gbnf());
    smolvlm::pcg32 rng(3);
    grammar_matcher m(g, grammar_test::synthetic_vocab());
    for (int k = 0; k < 30; ++k) {
        const auto out = grammar_test::generate(m, rng, 12, 200);
        REQUIRE(out.ended);
        CHECK(matches(g, out.text));
        CHECK(matches(h, out.text));
        if (out.text.size() > 1) CHECK(matches(h, out.text.substr(0, out.text.size() - 1)) == matches(g, out.text.substr(0, out.text.size() - 1)));
    }
}

TEST_CASE("grammar matcher: masks agree with a naive recognizer", "[grammar]") {
    const grammar_vocab& v = grammar_test::synthetic_vocab();
    check_masks_against_naive(R"(root ::= "{" ws ( pair ( "," ws pair )* )? "}" ws
pair ::= str ":" ws ( str | num | "true" | "null" ) ws
str ::= "\"" ( [^"\\] | "\\" ["\\n] )* "\""
num ::= "-"? [0-9]+ ( "." [0-9]+ )?
ws ::= | " " | "\n" [ \t]{0,4})",
                              v, 4, 25);
    check_masks_against_naive("root ::= ( [\xce\xb1-\xcf\x89] | \"\xe4\xb8\xad\" | [a-z] )+ \"!\"\n", v, 4, 12);
    check_masks_against_naive("root ::= ( \"a\" root \"b\" )? | [0-9]{2,5} \"\\\"\"\n", v, 4, 12);
    check_masks_against_naive("root ::= x y\nx ::= ( \"ab\" | \"\" )*\ny ::= \"\" | z{1,3}\nz ::= [^\\x00-\\x7f]\n", v, 4, 10);
}

TEST_CASE("grammar matcher: cached masks, restarts, end token", "[grammar]") {
    const grammar g = compile_ok(smolvlm::json_any_value_gbnf());
    const grammar_vocab& v = grammar_test::synthetic_vocab();
    smolvlm::grammar_matcher_options tiny;
    tiny.max_cached_masks = 2;
    tiny.max_cache_bytes = 20000;  // forces the caches to restart many times
    grammar_matcher a(g, v), b(g, v, tiny);
    smolvlm::pcg32 rng(11);
    std::size_t steps = 0;
    for (int run = 0; run < 10; ++run) {
        a.reset();
        b.reset();
        for (int k = 0; k < 60; ++k) {
            const smolvlm::token_mask ma = a.allowed_tokens();
            a.drop_masks();
            const smolvlm::token_mask& ma2 = a.allowed_tokens();
            REQUIRE(std::equal(ma.words(), ma.words() + ma.n_words(), ma2.words()));
            const smolvlm::token_mask& mb = b.allowed_tokens();
            REQUIRE(std::equal(ma.words(), ma.words() + ma.n_words(), mb.words()));
            CHECK(ma.test(std::int32_t(v.size() - 1)) == a.can_end());
            std::vector<std::int32_t> ids;
            ma.for_each([&](std::int32_t id) { ids.push_back(id); });
            REQUIRE_FALSE(ids.empty());
            const std::int32_t id = ids[rng.next_u32() % ids.size()];
            REQUIRE(a.accept_token(id));
            REQUIRE(b.accept_token(id));
            ++steps;
            if (v.is_end(id)) {
                CHECK(a.is_finished());
                CHECK(a.allowed_tokens().count() == 0);
                CHECK_FALSE(a.accept_token(0));
                break;
            }
        }
    }
    CHECK(b.stats().restarts > 0);
    CHECK(a.stats().restarts == 0);
    CHECK(steps > 100);
    // Tokens the grammar refuses leave the state alone.
    a.reset();
    CHECK_FALSE(a.accept_token(int('}')));
    CHECK(a.accept_bytes("[1"));
    CHECK_FALSE(a.accept_bytes(",]"));
    CHECK(a.accept_bytes(", 2]"));
    CHECK(a.can_end());
}

TEST_CASE("grammar matcher: min_remaining", "[grammar]") {
    const grammar g = compile_ok("root ::= \"ab\" c{2} [0-9]?\nc ::= \"x\" | \"yy\"\n");
    grammar_matcher m(g, grammar_test::byte_vocab());
    CHECK(m.min_remaining() == 4);
    CHECK(m.min_remaining_after('a') == 3);
    CHECK(m.min_remaining_after('b') == grammar_matcher::k_infinite);
    REQUIRE(m.accept_bytes("aby"));
    CHECK(m.min_remaining() == 2);
    REQUIRE(m.accept_bytes("yx"));
    CHECK(m.min_remaining() == 0);
    CHECK(m.can_end());
    CHECK_FALSE(m.is_finished());  // a digit may follow
    REQUIRE(m.accept_bytes("7"));
    CHECK(m.is_finished());
}

TEST_CASE("grammar matcher: min_remaining inside a UTF-8 character counts its missing bytes", "[grammar]") {
    // A JSON-like string: after the lead byte of a 3-byte character, two continuation bytes and
    // the closing quote are still needed (3 bytes, 3 byte tokens). Counting the pending
    // character at its class's shortest encoding (1 byte) let max_new_tokens cut such outputs.
    const grammar g = compile_ok("root ::= \"\\\"\" [^\"]* \"\\\"\"\n");
    grammar_matcher m(g, grammar_test::byte_vocab());
    REQUIRE(m.accept_bytes("\"ab"));
    CHECK(m.min_remaining() == 1);
    REQUIRE(m.accept_bytes("\xe4"));
    CHECK(m.min_remaining() >= 3);
    REQUIRE(m.accept_bytes("\xb8"));
    CHECK(m.min_remaining() >= 2);
    REQUIRE(m.accept_bytes("\x80"));  // U+4E00 complete
    CHECK(m.min_remaining() == 1);
    REQUIRE(m.accept_bytes("\""));
    CHECK(m.can_end());
}

TEST_CASE("grammar matcher: sample_with_grammar", "[grammar]") {
    const grammar g = compile_ok("root ::= [0-9]+\n");
    const grammar_vocab& v = grammar_test::byte_vocab();
    grammar_matcher m(g, v);
    std::vector<float> logits(300, 0.0f), scratch;
    logits['a'] = 5.0f;  // the model prefers a letter...
    logits['7'] = 2.0f;  // ...the grammar wants a digit
    logits[299] = 9.0f;  // past the vocabulary: never allowed
    auto greedy = [&](float* l) { return smolvlm::argmax(l, 300); };
    std::vector<float> copy = logits;
    CHECK(smolvlm::sample_with_grammar(m, copy.data(), 300, greedy, scratch, smolvlm::grammar_sampling::check_first) == '7');
    copy = logits;
    CHECK(smolvlm::sample_with_grammar(m, copy.data(), 300, greedy, scratch, smolvlm::grammar_sampling::full_mask) == '7');
    CHECK(copy['a'] < -1e30f);
    CHECK(copy[256] < -1e30f);  // end: root not complete yet
    // the allowed top token is taken without a mask
    logits['3'] = 6.0f;
    copy = logits;
    CHECK(smolvlm::sample_with_grammar(m, copy.data(), 300, greedy, scratch) == '3');
    // with the project's sampler (temperature, top-k): every draw is a digit
    smolvlm::sampling_params sp;
    sp.temperature = 1.0f;
    sp.top_k = 20;
    smolvlm::sampler smp(sp);
    const std::vector<std::int32_t> hist;
    for (int k = 0; k < 200; ++k) {
        copy = logits;
        const std::int32_t id = smolvlm::sample_with_grammar(
            m, copy.data(), 300, [&](float* l) { return smp.sample(l, 300, hist); }, scratch);
        CHECK((id >= '0' && id <= '9'));
    }
    // nothing the vocabulary can spell: -1
    const grammar h = compile_ok("root ::= \"\xe4\xb8\xad\"\n");
    const grammar_vocab ascii = grammar_vocab::build({"a", "b", ""}, {2});
    grammar_matcher mh(h, ascii);
    std::vector<float> l3(3, 0.0f);
    CHECK(smolvlm::sample_with_grammar(mh, l3.data(), 3, [](float* l) { return smolvlm::argmax(l, 3); }, scratch) == -1);
}

TEST_CASE("grammar matcher: long-string rules stop at the token cap", "[grammar]") {
    const grammar g = compile_ok("root ::= \"x\"{5000} [a-z]{3000,}\n");
    grammar_matcher m(g, grammar_test::synthetic_vocab());
    smolvlm::pcg32 rng(5);
    const auto out = grammar_test::generate(m, rng, 100, 300);
    CHECK_FALSE(out.ended);
    CHECK_FALSE(out.stuck);
    CHECK(out.tokens == 300);
    CHECK(m.min_remaining() > 0);
}

TEST_CASE("grammar matcher: SmolVLM vocabulary", "[grammar]") {
    const grammar_vocab* v = grammar_test::smolvlm_vocab();
    if (!v) {
        WARN("skipped: " << grammar_test::smolvlm_tokenizer_path() << " absent");
        return;
    }
    CHECK(v->size() == 49280);
    CHECK(v->end_ids().size() == 1);
    const grammar g = compile_ok("root ::= \"Answer: \" ( \"yes\" | \"no\" ) \" (\" [0-9]{1,2} \"%)\"\n");
    grammar_matcher m(g, *v);
    smolvlm::pcg32 rng(1);
    for (int k = 0; k < 20; ++k) {
        const auto out = grammar_test::generate(m, rng, 1000, 100);
        REQUIRE(out.ended);
        CHECK(matches(g, out.text));
    }
    // A real tokenization is accepted token by token.
    auto tok = smolvlm::tokenizer::load_file(grammar_test::smolvlm_tokenizer_path());
    REQUIRE(tok.is_ok());
    m.reset();
    for (std::int32_t id : tok.value().encode("Answer: no (42%)")) REQUIRE(m.accept_token(id));
    CHECK(m.can_end());
    CHECK(m.allowed_tokens().test(tok.value().eos_id()));
    CHECK(m.accept_token(tok.value().eos_id()));
}

}  // namespace smolvlm_test_text_grammar_cases
