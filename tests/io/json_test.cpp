#include <smolvlm/io/json.hpp>

#include <string>

#include "../test_util.hpp"

namespace smolvlm_test_io_json_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

TEST_CASE("json parses every value kind", "[io][json]") {
    auto r = parse_json(R"( {"a": [1, -2, 3.5e2, true, false, null], "b": {"c": "d"}, "e": -0.0, "big": 9007199254740993} )");
    REQUIRE(r.is_ok());
    const json_value& v = r.value();
    REQUIRE(v.is_object());
    const json_value* a = v.find("a");
    REQUIRE(a);
    REQUIRE(a->size() == 6);
    CHECK(a->items()[0].as_int() == 1);
    CHECK(a->items()[1].as_int() == -2);
    CHECK(a->items()[2].as_number() == 350.0);
    CHECK_FALSE(a->items()[2].is_integer());
    CHECK(a->items()[3].as_bool());
    CHECK(a->items()[5].is_null());
    CHECK(v.find_path("b.c")->as_string() == "d");
    CHECK(v.find("big")->as_int() == 9007199254740993LL);  // exact beyond 2^53
    CHECK(v.find("missing") == nullptr);
}

TEST_CASE("json string escapes and surrogate pairs", "[io][json]") {
    auto r = parse_json(R"(["\"\\\/\b\f\n\r\t", "\u00e9\u4e2d", "\ud83d\ude00", "plain é"])");
    REQUIRE(r.is_ok());
    CHECK(r->items()[0].as_string() == "\"\\/\b\f\n\r\t");
    CHECK(r->items()[1].as_string() == "\xc3\xa9\xe4\xb8\xad");
    CHECK(r->items()[2].as_string() == "\xf0\x9f\x98\x80");
    CHECK(r->items()[3].as_string() == "plain \xc3\xa9");
}

TEST_CASE("json rejects malformed documents with an offset", "[io][json]") {
    const char* bad[] = {
        "",  "{", "[1,]", "{\"a\":1,}", "[01]", "[1.]", "[.5]", "[1e]", "[-]", "[+1]", "[NaN]", "[Infinity]",
        "{'a':1}", "{\"a\" 1}", "[\"\\x\"]", "[\"\\u12\"]", "[\"\\ud800\"]", "[\"\\udc00\"]",
        "[\"\\ud800\\u0041\"]", "[\"a\nb\"]", "[1] 2", "tru", "nul", "[1e999]", "{\"a\":1 \"b\":2}",
        "[\"\xff\"]", "[\"\xc0\xaf\"]", "[\"\xed\xa0\x80\"]", "[\"\xf4\x90\x80\x80\"]", "[\"\xe4\xb8\"]",
        "// comment\n{}",
    };
    for (const char* b : bad) {
        INFO("input: " << b);
        auto r = parse_json(b);
        REQUIRE_FALSE(r.is_ok());
        CHECK(r.error().code() == errc::bad_format);
        CHECK(std::string(r.error().message()).find("at byte") != std::string::npos);
    }
}

TEST_CASE("json depth limit stops deep nesting", "[io][json]") {
    std::string deep(100000, '[');
    auto r = parse_json(deep);
    REQUIRE_FALSE(r.is_ok());
    CHECK(std::string(r.error().message()).find("nesting") != std::string::npos);
    json_options o;
    o.max_depth = 4;
    CHECK(parse_json("[[[[1]]]]", o).is_ok());
    CHECK_FALSE(parse_json("[[[[[1]]]]]", o).is_ok());
}

TEST_CASE("json writer round-trips", "[io][json]") {
    const char* doc = R"({"k":["a\"b\\c\n\u0001",1,-2.5,true,null,{}],"\u00e9":[]})";
    auto r = parse_json(doc);
    REQUIRE(r.is_ok());
    std::string out;
    json_write(out, r.value());
    auto r2 = parse_json(out);
    REQUIRE(r2.is_ok());
    std::string out2;
    json_write(out2, r2.value());
    CHECK(out == out2);
    CHECK(r2->find("k")->items()[0].as_string() == "a\"b\\c\n\x01");
}

TEST_CASE("json duplicate keys are detectable", "[io][json]") {
    CHECK(parse_json(R"({"a":1,"a":2})")->has_duplicate_keys());
    CHECK_FALSE(parse_json(R"({"a":1,"b":2})")->has_duplicate_keys());
    std::string big = "{";
    for (int i = 0; i < 100; ++i) big += "\"k" + std::to_string(i) + "\":1,";
    big += "\"k50\":2}";
    CHECK(parse_json(big)->has_duplicate_keys());
}

}  // namespace smolvlm_test_io_json_cases
