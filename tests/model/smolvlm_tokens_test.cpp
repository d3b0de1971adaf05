#include <smolvlm/io/json.hpp>
#include <smolvlm/model/smolvlm_tokens.hpp>

#include <string>
#include <vector>

#include "../test_util.hpp"

namespace smolvlm_test_model_smolvlm_tokens_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

TEST_CASE("prompt: every fixture's prompt_text_expanded from chat_template_text and the grids", "[pipeline][prompt][golden]") {
    int checked = 0;
    for (const std::string& name : smolvlm_test::fixture_cases()) {
        const std::string path = smolvlm_test::fixtures_dir() + "/" + name + "/golden.json";
        SMOLVLM_REQUIRE_SHARED(path);
        INFO(name);
        auto g = parse_json(smolvlm_test::read_file(path));
        REQUIRE(g.is_ok());
        const std::string text = g->find("chat_template_text")->as_string();
        const std::string want = g->find("prompt_text_expanded")->as_string();
        const int seq = int(g->find("image_seq_len") ? g->find("image_seq_len")->as_int() : 1);
        std::vector<image_grid> grids;
        std::vector<video_prompt_info> videos;
        if (const json_value* v = g->find("video")) {
            video_prompt_info info;
            for (const json_value& t : v->find("timestamps_s")->items()) info.timestamps.push_back(t.as_number());
            info.duration = v->find("duration_s")->as_number();
            videos.push_back(info);
        } else if (const json_value* imgs = g->find("images")) {
            for (const json_value& im : imgs->items())
                grids.push_back(image_grid{int(im.find("rows")->as_int()), int(im.find("cols")->as_int())});
        }
        auto got = expand_prompt(text, grids.data(), grids.size(), seq, videos.data(), videos.size());
        REQUIRE(got.is_ok());
        CHECK(got.value() == want);
        // The number of <image> tokens in the expanded text is what golden.json says.
        if (const json_value* n = g->find("num_image_tokens")) {
            std::size_t count = 0;
            for (std::size_t p = got->find("<image>"); p != std::string::npos; p = got->find("<image>", p + 1)) ++count;
            CHECK(count == std::size_t(n->as_int()));
        }
        ++checked;
    }
    CHECK(checked == 6);
}

TEST_CASE("prompt: image blocks", "[pipeline][prompt]") {
    CHECK(image_prompt_string(0, 0, 2) ==
          "<fake_token_around_image><global-img><image><image><fake_token_around_image>");
    CHECK(image_prompt_string(1, 2, 1) ==
          "<fake_token_around_image><row_1_col_1><image><fake_token_around_image><row_1_col_2><image>\n"
          "\n<fake_token_around_image><global-img><image><fake_token_around_image>");
    // Grids beyond 6 produce plain-text row/col markers (the tokenizer splits them).
    const std::string big = image_prompt_string(7, 8, 1);
    CHECK(big.find("<row_7_col_8>") != std::string::npos);
    CHECK(big.find("<row_8_col_1>") == std::string::npos);
    std::size_t rows = 0;
    for (char c : big) rows += c == '\n';
    CHECK(rows == 8);  // one per row + the one before the global image

    image_grid g[2] = {{0, 0}, {2, 2}};
    auto r = expand_prompt("a<image>b<image>c", g, 2, 3);
    REQUIRE(r.is_ok());
    CHECK(r->rfind("a<fake_token_around_image><global-img>", 0) == 0);
    CHECK(r->back() == 'c');
}

TEST_CASE("prompt: placeholder counts must match and sizes are capped", "[pipeline][prompt]") {
    image_grid g{0, 0};
    CHECK_FALSE(expand_prompt("<image><image>", &g, 1, 4).is_ok());
    CHECK_FALSE(expand_prompt("no image", &g, 1, 4).is_ok());
    CHECK_FALSE(expand_prompt("<video>", nullptr, 0, 4).is_ok());
    CHECK_FALSE(expand_prompt("<image>", &g, 1, 0).is_ok());
    image_grid bad{3, 0};
    CHECK_FALSE(expand_prompt("<image>", &bad, 1, 4).is_ok());
    image_grid huge{1000, 1000};
    auto r = expand_prompt("<image>", &huge, 1, 1000);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.error().code() == errc::unsupported);
    auto plain = expand_prompt("no placeholders", nullptr, 0, 4);
    REQUIRE(plain.is_ok());
    CHECK(plain.value() == "no placeholders");
}

TEST_CASE("prompt: num2words and timedelta formatting", "[pipeline][prompt]") {
    CHECK(number_to_words(0) == "zero");
    CHECK(number_to_words(5) == "five");
    CHECK(number_to_words(13) == "thirteen");
    CHECK(number_to_words(20) == "twenty");
    CHECK(number_to_words(21) == "twenty-one");
    CHECK(number_to_words(64) == "sixty-four");
    CHECK(number_to_words(100) == "one hundred");
    CHECK(number_to_words(101) == "one hundred and one");
    CHECK(number_to_words(342) == "three hundred and forty-two");
    CHECK(number_to_words(1000) == "one thousand");
    CHECK(number_to_words(1001) == "one thousand and one");
    CHECK(number_to_words(1100) == "one thousand, one hundred");
    CHECK(number_to_words(1234) == "one thousand, two hundred and thirty-four");
    CHECK(number_to_words(2000000) == "two million");
    CHECK(format_timedelta(5) == "0:00:05");
    CHECK(format_timedelta(3725) == "1:02:05");
    CHECK(format_timedelta(86400 + 61) == "1 day, 0:01:01");

    video_prompt_info v;
    v.timestamps = {0.0, 59.99, 61.5, 3600.0};
    v.duration = 3601.9;
    const std::string s = video_prompt_string(v, 1);
    CHECK(s.rfind("You are provided the following series of four frames from a 1:00:01 [H:MM:SS] video.\n", 0) == 0);
    CHECK(s.find("\nFrame from 00:59:") != std::string::npos);
    CHECK(s.find("\nFrame from 01:01:") != std::string::npos);
    CHECK(s.find("\nFrame from 60:00:") != std::string::npos);
    CHECK(s.size() >= 2);
    CHECK(s.substr(s.size() - 2) == "\n\n");
}

}  // namespace smolvlm_test_model_smolvlm_tokens_cases
