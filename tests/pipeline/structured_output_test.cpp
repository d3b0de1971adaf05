// Structured output through a session (generate_options::grammar) on models with random
// weights, where free text is gibberish: every output under a JSON Schema parses and
// validates (random schemas x seeds, text-only and with a picture in the prompt), also when
// max_new_tokens cuts it short; grammar edge cases (empty alternatives, recursion, Unicode
// classes); an end of the grammar stops generation; check-first sampling picks the same
// tokens as full masks; a matcher over another vocabulary is refused. (That generation
// without a grammar is unchanged is what the golden session and CLI tests check.)
#include <smolvlm.hpp>

#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "../random_model.hpp"
#include "../test_util.hpp"
#include "../text/json_schema_test_util.hpp"

namespace smolvlm_test_pipeline_structured_output_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

#if defined(SMOLVLM_MAKE_RANDOM_MODEL_PATH)

namespace {

struct loaded_model {
    std::unique_ptr<model> m;
    std::unique_ptr<grammar_vocab> vocab;
};

const loaded_model& get_model(const std::string& shape) {
    static std::map<std::string, loaded_model> cache;
    loaded_model& lm = cache[shape];
    if (!lm.m) {
        auto m = model::load(smolvlm_test::random_model(shape));
        if (!m) FAIL(m.error().message());
        lm.m = std::move(m).value();
        lm.vocab.reset(new grammar_vocab(grammar_vocab_for(*lm.m)));
    }
    return lm;
}

// One user turn (optionally with a picture), ready for prefill.
struct prompt_fixture {
    image picture;
    prepared_prompt p;
};

prompt_fixture make_prompt(const model& m, const session& s, bool with_image, const std::string& text) {
    prompt_fixture f;
    chat_message u;
    u.role = "user";
    std::vector<media_input> media;
    if (with_image) {
        auto img = load_image_file(smolvlm_test::test_picture(80, 48).c_str());
        REQUIRE(img.is_ok());
        f.picture = std::move(img).value();
        media.push_back(media_input::from_image(f.picture));
        u.content.push_back(chat_part::make_image());
    }
    u.content.push_back(chat_part::make_text(text));
    prompt_job job;
    REQUIRE(job.begin(m, s.context(), {u}, media.data(), media.size(), prompt_options{}).is_ok());
    REQUIRE(job.finish().is_ok());
    f.p = std::move(job.prompt());
    return f;
}

struct output {
    std::string text;
    std::vector<token_id> ids;
    generation_stats stats;
};

output generate(session& s, const prepared_prompt& p, generate_options g) {
    output o;
    REQUIRE(s.prefill(p.ids, p.features.data(), p.n_image_tokens).is_ok());
    const status st = s.generate(g, [&](token_id, std::string_view piece) {
        o.text += piece;
        return true;
    }, &o.ids);
    if (!st) FAIL(st.message());
    o.stats = s.stats();
    return o;
}

grammar compile_ok(const std::string& gbnf) {
    auto g = compile_gbnf(gbnf);
    if (!g) FAIL(g.error().message() << "\n" << gbnf);
    return std::move(g).value();
}

// Random schemas x seeds through the session; every output must parse and validate.
int run_schemas(const std::string& shape, bool with_image, int n_schemas, int n_seeds, std::uint64_t seed0,
                std::int64_t max_new_tokens) {
    const loaded_model& lm = get_model(shape);
    session s(*lm.m);
    const prompt_fixture pf = make_prompt(*lm.m, s, with_image, "Describe it as JSON.");
    int checked = 0;
    for (int i = 0; i < n_schemas; ++i) {
        json_schema_test::schema_gen gen(seed0 + std::uint64_t(i));
        const std::string schema_text = gen.root();
        INFO("schema " << i << ": " << schema_text);
        auto schema = parse_json(schema_text);
        REQUIRE(schema.is_ok());
        auto g = grammar_from_json_schema(schema.value());
        if (!g) FAIL(g.error().message());
        grammar_matcher matcher(g.value(), *lm.vocab);
        for (int k = 0; k < n_seeds; ++k) {
            matcher.reset();
            const std::uint32_t need = matcher.min_remaining();
            generate_options go;
            go.max_new_tokens = std::max<std::int64_t>(max_new_tokens, std::int64_t(need) + 1);
            go.sampling.temperature = 1.0f;
            go.sampling.seed = std::uint64_t(i) * 100 + std::uint64_t(k);
            go.grammar = &matcher;
            const output o = generate(s, pf.p, go);
            INFO("seed " << k << " (" << o.stats.gen_tokens << " tokens, budget " << go.max_new_tokens << "): " << o.text);
            CHECK(o.stats.gen_tokens <= go.max_new_tokens);
            auto parsed = parse_json(o.text);
            if (!parsed) FAIL("does not parse: " << parsed.error().message());
            json_schema_test::validator val(schema.value());
            if (!val.check(parsed.value(), schema.value())) FAIL("does not validate: " << val.why);
            ++checked;
        }
    }
    return checked;
}

}  // namespace

TEST_CASE("structured output: random schemas through a text session, every output validates", "[structured][session]") {
    const int n = run_schemas("tiny-text", false, 40, 3, 7000, 256);
    CHECK(n == 120);
    WARN("random weights, tiny-text: " << n << " outputs parsed and validated");
}

TEST_CASE("structured output: random schemas with a picture in the prompt", "[structured][session]") {
    const int n = run_schemas("tiny", true, 15, 2, 9000, 256);
    CHECK(n == 30);
}

TEST_CASE("structured output: an output cut by max_new_tokens still validates", "[structured][session]") {
    // Budgets from the shortest possible completion up: the budget rule steers the output
    // to a close in time (the tiny tokenizer has a token for every byte).
    int n = 0;
    for (std::int64_t budget : {1, 4, 12, 24}) n += run_schemas("tiny-text", false, 12, 2, 11000 + std::uint64_t(budget), budget);
    CHECK(n == 96);
}

TEST_CASE("structured output: the JSON any-value grammar (--json)", "[structured][session]") {
    const loaded_model& lm = get_model("tiny-text");
    session s(*lm.m);
    const prompt_fixture pf = make_prompt(*lm.m, s, false, "JSON please.");
    auto g = json_any_value_grammar();
    REQUIRE(g.is_ok());
    grammar_matcher matcher(g.value(), *lm.vocab);
    for (int k = 0; k < 10; ++k) {
        matcher.reset();
        generate_options go;
        go.max_new_tokens = 64;
        go.sampling.temperature = 1.0f;
        go.sampling.seed = std::uint64_t(k);
        go.grammar = &matcher;
        const output o = generate(s, pf.p, go);
        INFO(o.text);
        auto parsed = parse_json(o.text);
        if (!parsed) FAIL(parsed.error().message());
    }
}

TEST_CASE("structured output: grammar edge cases through a session", "[structured][session]") {
    const loaded_model& lm = get_model("tiny-text");
    session s(*lm.m);
    const prompt_fixture pf = make_prompt(*lm.m, s, false, "Go.");
    struct edge_case {
        const char* gbnf;
        const char* regex;  // what every output must match (ECMAScript)
    };
    const edge_case cases[] = {
        {"root ::= \"a\" | \"\" | \"bb\"", "^(a|bb|)$"},                              // empty alternative
        {"root ::= x\nx ::= \"(\" x \")\" | \"[\" x? \"]\" | \"z\"", "^[\\[\\(\\]\\)z]+$"},  // recursion
        {"root ::= [\\u03b1-\\u03c9]{2,4} \"!\"", ""},                                // Greek: 2-byte characters
        {"root ::= [^\\x00-\\x7f]+ \".\"", ""},                                         // non-ASCII only, then "."
        {"root ::= \"\\u4e2d\" [0-9]{1,3} ( \",\" [a-c] )*", ""},                      // a 3-byte literal
    };
    for (const edge_case& c : cases) {
        INFO(c.gbnf);
        const grammar g = compile_ok(c.gbnf);
        grammar_matcher matcher(g, *lm.vocab);
        for (int k = 0; k < 8; ++k) {
            matcher.reset();
            generate_options go;
            go.max_new_tokens = 40;
            go.sampling.temperature = 1.0f;
            go.sampling.seed = std::uint64_t(k);
            go.grammar = &matcher;
            const output o = generate(s, pf.p, go);
            INFO("output: " << o.text);
            // Complete by the end: the grammar accepts the whole output.
            grammar_matcher check(g, *lm.vocab);
            CHECK((o.text.empty() || check.accept_bytes(o.text)));
            CHECK(check.can_end());
            if (*c.regex) CHECK(std::regex_search(o.text, std::regex(c.regex)));
        }
    }
}

TEST_CASE("structured output: impossible grammars are compile errors, not hangs", "[structured]") {
    for (const char* bad : {"root ::= a\na ::= a \"x\"",          // left recursion, never completes
                            "root ::= \"(\" root \")\"",            // no way out of the recursion
                            "root ::= [^\\x00-\\U0010FFFF]",        // a class that matches nothing
                            "root ::= undefined-rule", "root ::= \"unterminated", "x ::= \"no root\""}) {
        INFO(bad);
        CHECK_FALSE(compile_gbnf(bad).is_ok());
    }
}

TEST_CASE("structured output: a complete grammar stops generation, even with ignore_eos", "[structured][session]") {
    const loaded_model& lm = get_model("tiny-text");
    session s(*lm.m);
    const prompt_fixture pf = make_prompt(*lm.m, s, false, "Say yes.");
    const grammar g = compile_ok("root ::= \"yes\" | \"no\"");
    grammar_matcher matcher(g, *lm.vocab);
    generate_options go;
    go.max_new_tokens = 50;
    go.ignore_eos = true;
    go.grammar = &matcher;
    const output o = generate(s, pf.p, go);
    CHECK((o.text == "yes" || o.text == "no"));
    CHECK(o.stats.stopped_by_grammar);
    CHECK(o.stats.gen_tokens <= 3);
    // The conversation goes on from the cache: the next turn is a normal prefill.
    const output again = generate(s, pf.p, generate_options{});
    CHECK(again.stats.prefill_tokens == 1);
}

TEST_CASE("structured output: check-first sampling picks the tokens full masks pick", "[structured][session]") {
    const loaded_model& lm = get_model("tiny-text");
    session s(*lm.m);
    const prompt_fixture pf = make_prompt(*lm.m, s, false, "JSON.");
    auto g = grammar_from_json_schema(std::string_view(
        R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"array","items":{"type":"string"},"maxItems":3}},"required":["a","b"]})"));
    REQUIRE(g.is_ok());
    for (float temp : {0.0f, 0.8f}) {
        grammar_matcher m1(g.value(), *lm.vocab), m2(g.value(), *lm.vocab);
        generate_options go;
        go.max_new_tokens = 80;
        go.sampling.temperature = temp;
        go.grammar = &m1;
        go.grammar_mode = grammar_sampling::full_mask;
        const output a = generate(s, pf.p, go);
        go.grammar = &m2;
        go.grammar_mode = grammar_sampling::check_first;
        const output b = generate(s, pf.p, go);
        if (temp == 0.0f) CHECK(a.ids == b.ids);  // greedy: the same argmax either way
        CHECK(parse_json(a.text).is_ok());
        CHECK(parse_json(b.text).is_ok());
        CHECK(a.stats.grammar_masks >= b.stats.grammar_masks);
    }
}

TEST_CASE("structured output: the matcher must be over the model's vocabulary", "[structured][session]") {
    const loaded_model& lm = get_model("tiny-text");
    session s(*lm.m);
    const prompt_fixture pf = make_prompt(*lm.m, s, false, "Hi.");
    const grammar g = compile_ok("root ::= \"x\"");
    std::vector<std::string> bytes = {"x", "y"};
    const grammar_vocab other = grammar_vocab::build(bytes, {});
    grammar_matcher matcher(g, other);
    generate_options go;
    go.grammar = &matcher;
    REQUIRE(s.prefill(pf.p.ids).is_ok());
    CHECK(s.generate(go, nullptr).code() == errc::invalid_argument);
}

#endif

}  // namespace smolvlm_test_pipeline_structured_output_cases
