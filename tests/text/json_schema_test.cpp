// Tests for text/json_schema.hpp. Besides hand-written cases (exact integer ranges, number
// bounds, string lengths, regex patterns checked against std::regex, objects, arrays, $ref,
// errors), a property test: random schemas (nested objects / arrays / enums / bounded
// integers / anyOf / oneOf / $ref, recursive ones included) x seeds, a "random model" that
// picks uniformly among the allowed tokens, and every output must parse with io/json.hpp
// and validate against its schema (the validator and the schema generator: json_schema_test_util.hpp).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <regex>
#include <string>
#include <vector>

#include "grammar_test_util.hpp"
#include "json_schema_test_util.hpp"
#include "smolvlm/io/json.hpp"
#include "smolvlm/text/json_schema.hpp"

namespace smolvlm_test_text_json_schema_cases {  // one namespace per test file: the files also build as one unity translation unit

using smolvlm::grammar;
using smolvlm::grammar_matcher;
using smolvlm::json_value;
using smolvlm::parse_json;

namespace {

using json_schema_test::json_str;
using json_schema_test::schema_gen;
using json_schema_test::validator;

grammar schema_ok(const std::string& schema, const smolvlm::json_schema_options& opt = {}) {
    auto g = smolvlm::grammar_from_json_schema(std::string_view(schema), opt);
    INFO(schema);
    if (!g.is_ok()) FAIL(g.error().message());
    return std::move(g).value();
}

std::string schema_error(const std::string& schema) {
    auto g = smolvlm::grammar_from_json_schema(std::string_view(schema));
    INFO(schema);
    REQUIRE_FALSE(g.is_ok());
    return g.error().message();
}

bool matches(const grammar& g, const std::string& s) {
    grammar_matcher m(g, grammar_test::byte_vocab());
    if (!s.empty() && !m.accept_bytes(s)) return false;
    return m.can_end();
}

// SMOLVLM_GRAMMAR_SOAK=k runs k times as many random schemas (default 1).
int soak() {
    const char* e = std::getenv("SMOLVLM_GRAMMAR_SOAK");
    const int k = e ? std::atoi(e) : 1;
    return k > 0 ? k : 1;
}

struct property_counts {
    int schemas = 0, outputs = 0;
};

property_counts run_random_schemas(const smolvlm::grammar_vocab& v, int n_schemas, int n_seeds, std::uint64_t seed0,
                                   std::size_t uniform_steps, std::size_t max_tokens) {
    property_counts c;
    for (int i = 0; i < n_schemas; ++i) {
        schema_gen gen(seed0 + std::uint64_t(i));
        const std::string text = gen.root();
        INFO("schema " << i << ": " << text);
        auto schema = parse_json(text);
        REQUIRE(schema.is_ok());
        auto gbnf = smolvlm::json_schema_to_gbnf(schema.value());
        if (!gbnf.is_ok()) FAIL(gbnf.error().message());
        INFO("grammar:\n" << gbnf.value());
        auto g = smolvlm::compile_gbnf(gbnf.value());
        if (!g.is_ok()) FAIL(g.error().message());
        grammar_matcher m(g.value(), v);
        ++c.schemas;
        for (int s = 0; s < n_seeds; ++s) {
            smolvlm::pcg32 rng(std::uint64_t(i) * 1000 + std::uint64_t(s), 0x51);
            const auto out = grammar_test::generate(m, rng, uniform_steps, max_tokens);
            INFO("seed " << s << " output (" << out.tokens << " tokens): " << out.text);
            REQUIRE_FALSE(out.stuck);
            REQUIRE(out.ended);
            auto parsed = parse_json(out.text);
            if (!parsed.is_ok()) FAIL(parsed.error().message());
            validator val(schema.value());
            const bool ok = val.check(parsed.value(), schema.value());
            if (!ok) FAIL("does not validate: " << val.why);
            ++c.outputs;
            if (std::getenv("GRAMMAR_DEBUG")) std::printf("%s\n=> %s (%zu tokens)\n", text.c_str(), out.text.c_str(), out.tokens);
        }
    }
    return c;
}

}  // namespace

TEST_CASE("json schema: integer ranges are exact", "[json_schema]") {
    smolvlm::pcg32 rng(99);
    for (int t = 0; t < 60; ++t) {
        std::int64_t lo = std::int64_t(rng.next_u32() % 2401) - 1200;
        std::int64_t hi = lo + std::int64_t(rng.next_u32() % (t < 30 ? 40 : 1300));
        if (t % 7 == 0) lo = hi;
        const grammar g = schema_ok(R"({"type":"integer","minimum":)" + std::to_string(lo) + R"(,"maximum":)" +
                                    std::to_string(hi) + "}");
        for (std::int64_t n = lo - 120; n <= hi + 120; ++n) {
            INFO("[" << lo << ", " << hi << "] " << n);
            CHECK(matches(g, std::to_string(n)) == (n >= lo && n <= hi));
        }
        CHECK_FALSE(matches(g, "-0"));
        CHECK_FALSE(matches(g, "00"));
        if (lo <= 5 && hi >= 5) CHECK_FALSE(matches(g, "05"));
    }
    // exclusive bounds, one-sided, int64 extremes
    const grammar ex = schema_ok(R"({"type":"integer","exclusiveMinimum":-3,"exclusiveMaximum":10})");
    CHECK_FALSE(matches(ex, "-3"));
    CHECK(matches(ex, "-2"));
    CHECK(matches(ex, "9"));
    CHECK_FALSE(matches(ex, "10"));
    const grammar one = schema_ok(R"({"type":"integer","minimum":17})");
    CHECK(matches(one, "17"));
    CHECK(matches(one, "9999999999999999"));
    CHECK_FALSE(matches(one, "16"));
    CHECK_FALSE(matches(one, "-20"));
    const grammar big = schema_ok(R"({"type":"integer","minimum":-9223372036854775808,"maximum":9223372036854775807})");
    CHECK(matches(big, "9223372036854775807"));
    CHECK(matches(big, "-9223372036854775808"));
    CHECK(matches(big, "0"));
    CHECK_FALSE(matches(big, "9223372036854775808"));
    CHECK_FALSE(matches(big, "-9223372036854775809"));
    CHECK_FALSE(matches(big, "10000000000000000000"));
    const grammar near = schema_ok(R"({"type":"integer","minimum":999999999999999990,"maximum":1000000000000000009})");
    for (std::int64_t n = 999999999999999980; n <= 1000000000000000020; ++n)
        CHECK(matches(near, std::to_string(n)) == (n >= 999999999999999990 && n <= 1000000000000000009));
    // fractional bounds round inwards
    const grammar fr = schema_ok(R"({"type":"integer","minimum":1.5,"maximum":4.5})");
    CHECK_FALSE(matches(fr, "1"));
    CHECK(matches(fr, "2"));
    CHECK(matches(fr, "4"));
    CHECK_FALSE(matches(fr, "5"));
    CHECK(schema_error(R"({"type":"integer","minimum":5,"maximum":3})").find("no integer lies in [5, 3]") != std::string::npos);
    // unbounded integers: at most 16 digits, no leading zeros
    const grammar any_int = schema_ok(R"({"type":"integer"})");
    CHECK(matches(any_int, "-1234567890123456"));
    CHECK_FALSE(matches(any_int, "12345678901234567"));
    CHECK_FALSE(matches(any_int, "01"));
    CHECK_FALSE(matches(any_int, "1.0"));
}

TEST_CASE("json schema: number bounds", "[json_schema]") {
    const grammar g = schema_ok(R"({"type":"number","minimum":-2,"maximum":3})");
    for (const char* ok : {"-2", "-2.0", "-2.000", "-1.5", "-1.999", "0", "-0", "-0.5", "0.25", "2.999", "3", "3.00"})
        CHECK(matches(g, ok));
    for (const char* bad : {"-2.01", "-2.5", "-3", "3.01", "3.5", "4", "1e2", "03", "-", "2."}) {
        INFO(bad);
        CHECK_FALSE(matches(g, bad));
    }
    const grammar pos = schema_ok(R"({"type":"number","minimum":1})");
    CHECK(matches(pos, "1"));
    CHECK(matches(pos, "1.5"));
    CHECK(matches(pos, "123456.75"));
    CHECK_FALSE(matches(pos, "0.999"));
    CHECK_FALSE(matches(pos, "-1"));
    const grammar neg = schema_ok(R"({"type":"number","maximum":-1})");
    CHECK(matches(neg, "-1"));
    CHECK(matches(neg, "-1.5"));
    CHECK(matches(neg, "-1000"));
    CHECK_FALSE(matches(neg, "-0.5"));
    CHECK_FALSE(matches(neg, "0"));
    const grammar any = schema_ok(R"({"type":"number"})");
    for (const char* ok : {"0", "-0.5", "1e5", "1.25E-10", "9999999999999999.9999999999999999", "2e+99"}) CHECK(matches(any, ok));
    for (const char* bad : {"1e100", "01", ".5", "1.", "+1", "NaN", "1e"}) CHECK_FALSE(matches(any, bad));
    CHECK(schema_error(R"({"type":"number","minimum":0.5})").find("fractional bounds") != std::string::npos);
    CHECK(schema_error(R"({"type":"number","exclusiveMinimum":0})").find("not supported") != std::string::npos);
}

TEST_CASE("json schema: strings, lengths, escapes", "[json_schema]") {
    const grammar g = schema_ok(R"({"type":"string","minLength":2,"maxLength":3})");
    CHECK(matches(g, R"("ab")"));
    CHECK(matches(g, R"("abc")"));
    CHECK(matches(g, "\"\xce\xb1\xce\xb2\xce\xb3\""));            // three code points
    CHECK(matches(g, R"("\n\u00e9x")"));                          // escapes count once
    CHECK(matches(g, R"("\ud83d\ude00a")"));                      // a surrogate pair is one character
    CHECK_FALSE(matches(g, R"("a")"));
    CHECK_FALSE(matches(g, R"("abcd")"));
    CHECK_FALSE(matches(g, "\"a\x01\""));                           // raw control character
    const grammar s = schema_ok(R"({"type":"string"})");
    CHECK(matches(s, R"("plain \"quoted\" \\ \/ \b\f\n\r\t \u0041 \uD7FF \uE000")"));
    CHECK_FALSE(matches(s, R"("\ud800")"));         // lone high surrogate
    CHECK_FALSE(matches(s, R"("\udc00")"));         // lone low surrogate
    CHECK_FALSE(matches(s, R"("\ud800\u0041")"));
    CHECK_FALSE(matches(s, R"("\x41")"));
    CHECK_FALSE(matches(s, "\"a\x7f\""));
    CHECK(matches(s, R"("x" )"));                   // bounded trailing whitespace
    CHECK_FALSE(matches(s, R"("x"  )"));
    CHECK(matches(s, "\"x\"\n\t  "));
    CHECK_FALSE(matches(s, "\"x\"\n\n"));
    // formats
    const grammar d = schema_ok(R"({"type":"string","format":"date-time"})");
    CHECK(matches(d, R"("2024-02-29T23:59:60Z")") == false);  // seconds 00-59
    CHECK(matches(d, R"("2024-02-29T23:59:59.123+05:30")"));
    CHECK_FALSE(matches(d, R"("2024-13-01T00:00:00Z")"));
    const grammar u = schema_ok(R"({"type":"string","format":"uuid"})");
    CHECK(matches(u, R"("123e4567-e89b-12d3-a456-426614174000")"));
    CHECK_FALSE(matches(u, R"("123e4567e89b12d3a456426614174000")"));
    const grammar email = schema_ok(R"({"type":"string","format":"email"})");  // annotation only
    CHECK(matches(email, R"("not an email")"));
}

TEST_CASE("json schema: regex patterns agree with std::regex", "[json_schema]") {
    const char* const patterns[] = {
        "^[a-c]{2,3}-\\d+$", "^(ab|c)*x?$", "^\\w+@[a-z]+\\.(com|org)$", "b+c", "^a", "z$", "^[^abc]{1,3}$",
        "^.{2}$",            "^(?:x|yz){2}\\.?$", "^[\\d_-]+$", "^\"q\\\\\"$", "^a{2,}b{0,1}$", "^[A-Z][a-z]*( [A-Z][a-z]*)*$",
        "^$",                "^a|b$", "^\\s?\\S$", "^(a|)b$", "^[\\-x]$", "^\\u0041\\x42$", "^a.*?b$",
    };
    const std::string alphabet = "abcxyz019-_\"\\. @ABdeglmor";
    smolvlm::pcg32 rng(4);
    for (const char* p : patterns) {
        const grammar g = schema_ok(R"({"type":"string","pattern":)" + json_str(p) + "}");
        const std::regex re(p, std::regex::ECMAScript);
        int hits = 0;
        for (int k = 0; k < 1500; ++k) {
            std::string s;
            const int len = int(rng.next_u32() % 9);
            for (int j = 0; j < len; ++j) s.push_back(alphabet[rng.next_u32() % alphabet.size()]);
            // bias towards matching strings: some fixed candidates
            if (k < 14) {
                static const char* const c[] = {"ab-1", "abc-42", "ababcx", "x", "me@site.com", "aab", "bc",
                                                "Hello World", "\"q\\\"", "", "xyz.", " A", "AB", "a-b-b"};
                s = c[k];
            }
            const bool expect = std::regex_search(s, re);
            hits += expect;
            INFO("pattern " << p << " string '" << s << "'");
            CHECK(matches(g, json_str(s)) == expect);
        }
        INFO(p);
        CHECK(hits > 0);
    }
    // non-ASCII is one character for the pattern
    const grammar g = schema_ok(R"({"type":"string","pattern":"^.{2}$"})");
    CHECK(matches(g, "\"\xce\xb1\xe4\xb8\xad\""));
    CHECK_FALSE(matches(g, "\"\xce\xb1\""));
    const grammar nl = schema_ok(R"({"type":"string","pattern":"^a\\nb[^x]$"})");
    CHECK(matches(nl, R"("a\nb\t")"));
    CHECK(matches(nl, R"("a\nb\"")"));
    CHECK(matches(nl, R"("a\nb\u0001")"));
    CHECK(matches(nl, R"("a\nb\u001F")"));
    CHECK(matches(nl, R"("a\nb\u0009")"));
    CHECK_FALSE(matches(nl, R"("a\nbx")"));
    // unsupported constructs are errors that say what and where
    CHECK(schema_error(R"x({"type":"string","pattern":"^a(?=b)"})x").find("lookaround") != std::string::npos);
    CHECK(schema_error(R"({"type":"string","pattern":"^(a)\\1$"})").find("backreferences") != std::string::npos);
    CHECK(schema_error(R"({"type":"string","pattern":"\\bword"})").find("word boundary") != std::string::npos);
    CHECK(schema_error(R"({"type":"string","pattern":"a^b"})").find("'^' is only supported") != std::string::npos);
    CHECK(schema_error(R"({"type":"string","pattern":"a$b"})").find("'$' is only supported") != std::string::npos);
    CHECK(schema_error(R"({"type":"string","pattern":"*a"})").find("nothing to repeat") != std::string::npos);
    CHECK(schema_error(R"({"type":"string","pattern":"(ab"})").find("unclosed") != std::string::npos);
    CHECK(schema_error(R"({"properties":{"p":{"type":"string","pattern":"\\p{L}"}}})").find("#/properties/p") !=
          std::string::npos);
}

TEST_CASE("json schema: enum and const", "[json_schema]") {
    const grammar g = schema_ok(R"({"enum":["red","quo\"te","\u00e9",12,null,true,[1,"a"],{"k":false}]})");
    for (const char* ok : {R"("red")", R"("quo\"te")", "\"\xc3\xa9\"", "12", "null", "true", R"([1,"a"])", R"({"k":false})", "12 "})
        CHECK(matches(g, ok));
    for (const char* bad : {R"("blue")", "12.0", "false", R"([1, "a"])", R"("\u00e9")"}) CHECK_FALSE(matches(g, bad));
    const grammar typed = schema_ok(R"({"type":"string","enum":["a",1,"b"]})");  // 1 is not a string
    CHECK(matches(typed, R"("b")"));
    CHECK_FALSE(matches(typed, "1"));
    const grammar c = schema_ok(R"({"const":{"x":[1,2]}})");
    CHECK(matches(c, R"({"x":[1,2]})"));
    CHECK_FALSE(matches(c, R"({"x":[2,1]})"));
}

TEST_CASE("json schema: objects", "[json_schema]") {
    const std::string props = R"("properties":{"a":{"type":"integer"},"b":{"type":"string"},"c":{"type":"boolean"}},"required":["b"])";
    const grammar closed = schema_ok("{" + props + R"(,"additionalProperties":false})");
    CHECK(matches(closed, R"({"b":"x"})"));
    CHECK(matches(closed, R"({"a":1,"b":"x","c":true})"));
    CHECK(matches(closed, R"({ "a": 1, "b": "x" })"));
    CHECK(matches(closed, "{\n  \"b\": \"x\",\n  \"c\": false\n}"));
    CHECK_FALSE(matches(closed, R"({"a":1})"));             // b is required
    CHECK_FALSE(matches(closed, R"({"b":"x","a":1})"));     // schema order
    CHECK_FALSE(matches(closed, R"({"b":"x","d":1})"));     // no extra properties
    CHECK_FALSE(matches(closed, R"({"b":"x",})"));
    CHECK_FALSE(matches(closed, R"({,"b":"x"})"));
    // absent: extra properties with any value, after the declared ones, keys not declared
    const grammar open = schema_ok("{" + props + "}");
    CHECK(matches(open, R"({"b":"x","d":[1,{"e":null}],"cc":2})"));
    CHECK(matches(open, R"({"b":"x","":1,"\u00e9":2})") == false);  // extra keys are plain: no escapes
    CHECK(matches(open, "{\"b\":\"x\",\"\":1,\"\xc3\xa9\":2}"));
    CHECK_FALSE(matches(open, R"({"b":"x","a":1})"));  // a is declared: not as an extra
    CHECK_FALSE(matches(open, R"({"b":"x","b":"y"})"));
    CHECK(matches(open, R"({"b":"x","d":1,"d":2})"));  // known limit: extra keys may repeat each other
    smolvlm::json_schema_options strict;
    strict.strict_objects = true;
    const grammar st = schema_ok("{" + props + "}", strict);
    CHECK_FALSE(matches(st, R"({"b":"x","d":1})"));
    // additionalProperties as a schema; no properties at all
    const grammar typed = schema_ok(R"({"type":"object","additionalProperties":{"type":"integer"}})");
    CHECK(matches(typed, R"({})"));
    CHECK(matches(typed, R"({"x":1,"y":-2})"));
    CHECK_FALSE(matches(typed, R"({"x":"1"})"));
    // all optional, and a required name without a schema
    const grammar opt = schema_ok(R"({"properties":{"a":{"const":1},"b":{"const":2}},"required":["z"],"additionalProperties":false})");
    CHECK(matches(opt, R"({"z":[]})"));
    CHECK(matches(opt, R"({"a":1,"z":null})"));
    CHECK(matches(opt, R"({"a":1,"b":2,"z":"q"})"));
    CHECK_FALSE(matches(opt, R"({"a":1})"));
    const grammar none = schema_ok(R"({"type":"object","properties":{"a":{"const":1},"b":{"const":2}},"additionalProperties":false})");
    CHECK(matches(none, "{}"));
    CHECK(matches(none, R"({"b":2})"));
    CHECK_FALSE(matches(none, R"({"b":2,"a":1})"));
}

TEST_CASE("json schema: arrays", "[json_schema]") {
    const grammar g = schema_ok(R"({"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":3})");
    CHECK(matches(g, "[1]"));
    CHECK(matches(g, "[1, 2,3]"));
    CHECK_FALSE(matches(g, "[]"));
    CHECK_FALSE(matches(g, "[1,2,3,4]"));
    CHECK_FALSE(matches(g, "[1,]"));
    const grammar any = schema_ok(R"({"type":"array"})");
    CHECK(matches(any, R"([1,"a",{"b":[null]}])"));
    CHECK(matches(any, "[ ]"));
    const grammar tuple = schema_ok(R"({"type":"array","prefixItems":[{"type":"string"},{"type":"integer"}],"items":false})");
    CHECK(matches(tuple, "[]"));
    CHECK(matches(tuple, R"(["a"])"));
    CHECK(matches(tuple, R"(["a",1])"));
    CHECK_FALSE(matches(tuple, R"(["a",1,2])"));
    CHECK_FALSE(matches(tuple, R"([1])"));
    const grammar tuple2 = schema_ok(R"({"type":"array","prefixItems":[{"type":"string"}],"items":{"type":"boolean"},"minItems":2})");
    CHECK(matches(tuple2, R"(["a",true,false])"));
    CHECK_FALSE(matches(tuple2, R"(["a"])"));
    CHECK_FALSE(matches(tuple2, R"(["a",1])"));
    const grammar draft7 = schema_ok(R"({"items":[{"const":1},{"const":2}],"additionalItems":{"const":3},"maxItems":4})");
    CHECK(matches(draft7, "[1,2,3,3]"));
    CHECK_FALSE(matches(draft7, "[1,2,3,3,3]"));
    CHECK_FALSE(matches(draft7, "[2]"));
    const grammar empty = schema_ok(R"({"type":"array","maxItems":0})");
    CHECK(matches(empty, "[]"));
    CHECK_FALSE(matches(empty, "[1]"));
}

TEST_CASE("json schema: type lists, anyOf, oneOf, allOf, $ref", "[json_schema]") {
    const grammar t = schema_ok(R"({"type":["string","null"],"maxLength":2})");
    CHECK(matches(t, "null"));
    CHECK(matches(t, R"("ab")"));
    CHECK_FALSE(matches(t, R"("abc")"));
    CHECK_FALSE(matches(t, "1"));
    const grammar a = schema_ok(R"({"anyOf":[{"type":"integer","minimum":0,"maximum":9},{"type":"boolean"}]})");
    CHECK(matches(a, "7"));
    CHECK(matches(a, "false"));
    CHECK_FALSE(matches(a, "10"));
    const grammar all = schema_ok(R"({"allOf":[{"properties":{"a":{"const":1}},"required":["a"]},{"$ref":"#/$defs/b"}],
        "$defs":{"b":{"type":"object","properties":{"b":{"const":2}},"required":["b"]}}})");
    CHECK(matches(all, R"({"a":1,"b":2})"));
    CHECK_FALSE(matches(all, R"({"a":1})"));
    const grammar single = schema_ok(R"({"allOf":[{"type":"integer","maximum":3}]})");
    CHECK(matches(single, "3"));
    CHECK_FALSE(matches(single, "4"));
    const grammar rec = schema_ok(R"({"$ref":"#/definitions/list","definitions":{"list":{"anyOf":[{"type":"null"},
        {"type":"object","properties":{"head":{"type":"integer"},"tail":{"$ref":"#/definitions/list"}},
         "required":["head","tail"],"additionalProperties":false}]}}})");
    CHECK(matches(rec, "null"));
    CHECK(matches(rec, R"({"head":1,"tail":{"head":2,"tail":null}})"));
    CHECK_FALSE(matches(rec, R"({"head":1,"tail":{"head":2}})"));
    const grammar self = schema_ok(R"({"type":"object","properties":{"kid":{"$ref":"#"}},"additionalProperties":false})");
    CHECK(matches(self, R"({"kid":{"kid":{}}})"));
    const grammar esc = schema_ok(R"({"$ref":"#/$defs/a~1b","$defs":{"a/b":{"const":"slash"}}})");
    CHECK(matches(esc, R"("slash")"));
    const grammar anything = schema_ok("{}");
    CHECK(matches(anything, R"({"any":[1,2.5,"x",true,null]})"));
    CHECK(matches(schema_ok("true"), "[]"));
}

TEST_CASE("json schema: errors", "[json_schema]") {
    CHECK(schema_error(R"({"type":"array","uniqueItems":true})").find("\"uniqueItems\": true is not supported") != std::string::npos);
    CHECK(schema_error(R"({"not":{"type":"string"}})").find("keyword \"not\" is not supported") != std::string::npos);
    CHECK(schema_error(R"({"properties":{"x":{"if":{}}}})").find("json schema at #/properties/x: keyword \"if\"") !=
          std::string::npos);
    CHECK(schema_error(R"({"patternProperties":{"^a":{}}})").find("patternProperties") != std::string::npos);
    CHECK(schema_error(R"({"type":"number","multipleOf":0.5})").find("multipleOf") != std::string::npos);
    CHECK(schema_error(R"({"$ref":"http://example.com/s.json"})").find("only local references") != std::string::npos);
    CHECK(schema_error(R"({"$ref":"#/$defs/missing"})").find("points at nothing") != std::string::npos);
    CHECK(schema_error("false").find("matches nothing") != std::string::npos);
    CHECK(schema_error(R"({"type":"strin"})").find("unknown type") != std::string::npos);
    CHECK(schema_error(R"({"type":"string","minLength":3,"maxLength":2})").find("maxLength is below minLength") != std::string::npos);
    CHECK(schema_error(R"({"allOf":[{"type":"string"},{"maxLength":3}]})").find("allOf") != std::string::npos);
    CHECK(schema_error("{\"type\":").find("json:") != std::string::npos);
    // a required self-reference can never end: the grammar compiler names the cycle
    const std::string e = schema_error(
        R"({"$defs":{"node":{"type":"object","properties":{"next":{"$ref":"#/$defs/node"}},"required":["next"]}},"$ref":"#/$defs/node"})");
    CHECK(e.find("json schema: grammar:") != std::string::npos);
    CHECK(e.find("can never produce a finite string") != std::string::npos);
    CHECK(e.find("node") != std::string::npos);
    // annotations are ignored
    schema_ok(R"({"title":"t","description":"d","$schema":"https://json-schema.org/draft/2020-12/schema","examples":[1],
        "default":1,"$comment":"c","type":"integer","uniqueItems":false})");
}

TEST_CASE("json schema: the any-value grammar (--json)", "[json_schema]") {
    auto g = smolvlm::json_any_value_grammar();
    REQUIRE(g.is_ok());
    for (const char* ok : {"1", "-0.5e-3", "\"x\"", "true", "null", "[]", "{}", R"({"a":[1,{"b":null}],"c":"\u00e9"})",
                           "[ 1 , 2 ]", "{\n  \"k\": 1\n}"})
        CHECK(matches(g.value(), ok));
    for (const char* bad : {"", "{,}", "[1,]", "tru", "01", "{\"a\"}", "'x'", "\"\\ud800\""}) CHECK_FALSE(matches(g.value(), bad));
    grammar_matcher m(g.value(), grammar_test::synthetic_vocab());
    for (int s = 0; s < 200; ++s) {
        smolvlm::pcg32 rng(std::uint64_t(s), 3);
        const auto out = grammar_test::generate(m, rng, 60, 3000);
        INFO(out.text);
        REQUIRE(out.ended);
        auto parsed = parse_json(out.text);
        if (!parsed.is_ok()) FAIL(parsed.error().message());
    }
    if (const smolvlm::grammar_vocab* v = grammar_test::smolvlm_vocab()) {
        grammar_matcher mv(g.value(), *v);
        for (int s = 0; s < 40; ++s) {
            smolvlm::pcg32 rng(std::uint64_t(s), 4);
            const auto out = grammar_test::generate(mv, rng, 40, 3000);
            INFO(out.text);
            REQUIRE(out.ended);
            auto parsed = parse_json(out.text);
            if (!parsed.is_ok()) FAIL(parsed.error().message());
        }
    }
}

TEST_CASE("json schema: random schemas, random tokens, outputs validate (synthetic vocabulary)", "[json_schema]") {
    const int n = 400 * soak();
    const property_counts c = run_random_schemas(grammar_test::synthetic_vocab(), n, 5, 1000, 60, 4000);
    CHECK(c.outputs == n * 5);
    WARN("synthetic vocabulary: " << c.schemas << " random schemas x 5 seeds: " << c.outputs
                                  << " outputs parsed and validated");
}

TEST_CASE("json schema: random schemas, random tokens, outputs validate (SmolVLM vocabulary)", "[json_schema]") {
    const smolvlm::grammar_vocab* v = grammar_test::smolvlm_vocab();
    if (!v) {
        WARN("skipped: " << grammar_test::smolvlm_tokenizer_path() << " absent");
        return;
    }
    const int n = 150 * soak();
    const property_counts c = run_random_schemas(*v, n, 4, 5000, 80, 4000);
    CHECK(c.outputs == n * 4);
    WARN("SmolVLM vocabulary: " << c.schemas << " random schemas x 4 seeds: " << c.outputs
                                << " outputs parsed and validated");
}

}  // namespace smolvlm_test_text_json_schema_cases
