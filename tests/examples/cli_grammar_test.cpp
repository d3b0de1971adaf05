// smolvlm-cli --grammar / --json-schema / --json on random-weight models (made here with
// make-random-model): the printed answer parses and validates, the timing line reports the
// grammar, and bad grammars or flag combinations are one-line errors.
#include <smolvlm/io/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "../random_model.hpp"
#include "../test_util.hpp"
#include "../text/json_schema_test_util.hpp"

#if defined(SMOLVLM_CLI_PATH) && defined(SMOLVLM_MAKE_RANDOM_MODEL_PATH)

namespace smolvlm_test_examples_cli_grammar_cases {  // one namespace per test file: the files also build as one unity translation unit

namespace {

struct run_result {
    int rc = -1;
    std::string out, err;
};

run_result cli(const std::string& args) {
    static int counter = 0;
    const std::string base = smolvlm_test::temp_dir() + "/cli_grammar" + std::to_string(counter++);
    const std::string cmd = std::string("'") + SMOLVLM_CLI_PATH + "' " + args + " > '" + base + ".out' 2> '" + base +
                            ".err' < /dev/null";
    const int st = std::system(cmd.c_str());
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, smolvlm_test::read_file(base + ".out"),
            smolvlm_test::read_file(base + ".err")};
}

std::string write_temp(const std::string& name, const std::string& text) {
    const std::string p = smolvlm_test::temp_dir() + "/" + name;
    std::FILE* f = std::fopen(p.c_str(), "wb");
    REQUIRE(f);
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
    return p;
}

// The answer: stdout without the newline the CLI prints after it.
std::string answer(const run_result& r) {
    std::string s = r.out;
    if (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
}

}  // namespace

TEST_CASE("smolvlm-cli --json-schema: answers validate, with and without a picture", "[cli][structured]") {
    const std::string text_model = smolvlm_test::random_model("tiny-text");
    const std::string vlm = smolvlm_test::random_model("tiny");
    const std::string pic = smolvlm_test::test_picture(80, 48);
    for (int i = 0; i < 6; ++i) {
        json_schema_test::schema_gen gen(53000 + std::uint64_t(i));
        const std::string schema = gen.root();
        const std::string file = write_temp("cli_schema" + std::to_string(i) + ".json", schema);
        const bool with_image = i % 2 == 1;
        const run_result r = cli("-m '" + (with_image ? vlm : text_model) + "' " + (with_image ? "--image '" + pic + "' " : "") +
                                 "-p 'JSON please' --json-schema '" + file + "' --temp 1 -s " + std::to_string(i) +
                                 " -n 200 --json-timings");
        INFO("schema: " << schema << "\nstderr: " << r.err << "\nanswer: " << r.out);
        REQUIRE(r.rc == 0);
        auto doc = smolvlm::parse_json(schema);
        REQUIRE(doc.is_ok());
        auto parsed = smolvlm::parse_json(answer(r));
        if (!parsed) FAIL(parsed.error().message());
        json_schema_test::validator v(doc.value());
        if (!v.check(parsed.value(), doc.value())) FAIL("does not validate: " << v.why);
        CHECK(r.err.find("\"grammar_ms_per_token\":") != std::string::npos);
        CHECK(r.err.find("\"grammar_masks\":") != std::string::npos);
    }
}

TEST_CASE("smolvlm-cli --json and --grammar", "[cli][structured]") {
    const std::string dir = smolvlm_test::random_model("tiny-text");
    const run_result j = cli("-m '" + dir + "' -p 'x' --json --temp 1 -s 3 -n 60");
    INFO(j.err);
    REQUIRE(j.rc == 0);
    CHECK(smolvlm::parse_json(answer(j)).is_ok());
    const std::string g = write_temp("cli_yes_no.gbnf", "root ::= answer \".\"\nanswer ::= \"yes\" | \"no\" | \"maybe\"\n");
    const run_result r = cli("-m '" + dir + "' -p 'x' --grammar '" + g + "' -n 20 --ignore-eos");
    INFO(r.err);
    REQUIRE(r.rc == 0);
    const std::string a = answer(r);
    CHECK((a == "yes." || a == "no." || a == "maybe."));
    CHECK(r.err.find("stopped: grammar complete") != std::string::npos);
}

TEST_CASE("smolvlm-cli structured output errors", "[cli][structured]") {
    const std::string dir = smolvlm_test::random_model("tiny-text");
    const std::string bad_gbnf = write_temp("cli_bad.gbnf", "root ::= root \"x\"\n");
    const std::string bad_schema = write_temp("cli_bad.json", "{\"type\":\"integer\",\"minimum\":3,\"maximum\":1}");
    const std::string ok_schema = write_temp("cli_ok.json", "{\"type\":\"boolean\"}");
    for (const std::string& args : {"--grammar '" + bad_gbnf + "'", "--json-schema '" + bad_schema + "'",
                                    std::string("--grammar /nonexistent.gbnf"), "--json --json-schema '" + ok_schema + "'"}) {
        const run_result r = cli("-m '" + dir + "' -p x " + args);
        INFO(args << "\n" << r.err);
        CHECK(r.rc == 1);
        CHECK(r.err.rfind("error: ", 0) == 0);
        CHECK(r.err.find('\n') == r.err.size() - 1);  // one line
    }
}


}  // namespace smolvlm_test_examples_cli_grammar_cases

#endif
