// Tests for text/chat_template_mistral.hpp: the Mistral Small 3.1 (2503) template.
//
// tests/text/data/mistral_template_cases.json holds the Jinja template's own renders
// (scripts/gen_mistral_template_cases.py, with jinja2 as transformers configures it):
// golden conversations, a system message, text-only chats, a later system message,
// assistant list content, image_url blocks, specials spelled in text. The renderer must be
// byte-identical on each; with ../shared also to both fixtures' chat_template_text.
#include <catch2/catch.hpp>

#include "../test_util.hpp"

#include <smolvlm/io/json.hpp>
#include <smolvlm/text/chat_template.hpp>

#include <string>
#include <vector>

namespace smolvlm_test_text_chat_template_mistral_cases {  // one namespace per test file: the files also build as one unity translation unit

using namespace smolvlm;

namespace {

std::string source_dir() {
#ifdef SMOLVLM_SOURCE_DIR
    return SMOLVLM_SOURCE_DIR;
#else
    return ".";
#endif
}

// HF messages JSON -> chat_message (string content: one text part).
std::vector<chat_message> to_messages(const json_value& arr) {
    std::vector<chat_message> out;
    for (const json_value& m : arr.items()) {
        chat_message cm;
        cm.role = m.find("role")->as_string();
        const json_value& c = *m.find("content");
        if (c.is_string()) {
            cm.content.push_back(chat_part::make_text(c.as_string()));
        } else {
            for (const json_value& p : c.items()) {
                const std::string& t = p.find("type")->as_string();
                if (t == "text") cm.content.push_back(chat_part::make_text(p.find("text")->as_string()));
                else cm.content.push_back(chat_part::make_image());  // image, image_url
            }
        }
        out.push_back(std::move(cm));
    }
    return out;
}

}  // namespace

TEST_CASE("mistral_v7 template: byte-identical to the Jinja template", "[text][chat_template][mistral]") {
    const std::string path = source_dir() + "/tests/text/data/mistral_template_cases.json";
    REQUIRE(smolvlm_test::path_exists(path));
    auto doc = parse_json(smolvlm_test::read_file(path));
    REQUIRE(doc.is_ok());
    const std::string date = doc->find("date")->as_string();
    for (const json_value& c : doc->find("cases")->items()) {
        INFO(c.find("name")->as_string());
        const std::vector<chat_message> msgs = to_messages(*c.find("messages"));
        for (const char* d : {"2026-12-07", "07 December 2026"}) {
            chat_options opt;
            opt.today_date = d;
            auto r = render_chat(chat_template_kind::mistral_v7, msgs, opt);
            REQUIRE(r.is_ok());
            CHECK(r.value() == c.find("text")->as_string());
        }
        (void)date;
    }
}

TEST_CASE("mistral_v7 template: errors, date, detection", "[text][chat_template][mistral]") {
    chat_options opt;
    opt.today_date = "2026-12-07";
    chat_message v;
    v.role = "user";
    v.content.push_back(chat_part::make_video());
    CHECK(!render_chat(chat_template_kind::mistral_v7, {v}, opt).is_ok());
    CHECK(!render_chat(chat_template_kind::mistral_v7, {chat_message::make("tool", "x")}, opt).is_ok());
    opt.today_date = "December 7th";
    CHECK(!render_chat(chat_template_kind::mistral_v7, {chat_message::make("user", "x")}, opt).is_ok());
    opt.today_date = "";  // the local date: still renders
    auto now = render_chat(chat_template_kind::mistral_v7, {chat_message::make("user", "x")}, opt);
    REQUIRE(now.is_ok());
    CHECK(now->find("The current date is 2") != std::string::npos);
    // -sys / chat_options::system_prompt becomes the system block (read like list content).
    opt.today_date = "2026-12-07";
    opt.system_prompt = "Be brief.";
    auto sys = render_chat(chat_template_kind::mistral_v7, {chat_message::make("user", "x")}, opt);
    REQUIRE(sys.is_ok());
    CHECK(sys.value() == "<s>[SYSTEM_PROMPT]Be brief.[/SYSTEM_PROMPT][INST]x[/INST]");

    const std::string fx = smolvlm_test::fixtures_dir() + "/mistral3_bf16_one_image/model";
    SMOLVLM_REQUIRE_SHARED(fx + "/chat_template.json");
    auto kind = load_chat_template_kind(fx);
    REQUIRE(kind.is_ok());
    CHECK(kind.value() == chat_template_kind::mistral_v7);
    for (const char* name : {"mistral3_bf16_one_image", "mistral3_f32_two_images"}) {
        auto g = parse_json(smolvlm_test::read_file(smolvlm_test::fixtures_dir() + "/" + name + "/golden.json"));
        REQUIRE(g.is_ok());
        chat_options o;
        o.today_date = g->find("date")->as_string();
        auto r = render_chat(chat_template_kind::mistral_v7, to_messages(*g->find("messages")), o);
        REQUIRE(r.is_ok());
        CHECK(r.value() == g->find("chat_template_text")->as_string());
    }
}

}  // namespace smolvlm_test_text_chat_template_mistral_cases
