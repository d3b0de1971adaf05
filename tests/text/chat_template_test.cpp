// Tests for text/chat_template.hpp. SmolVLM: the fixtures' chat_template_text (made
// by the reference Jinja template) is ground truth. ChatML / SmolLM3: expected strings
// written out from the templates in ../shared/models (and checked once with jinja2
// using transformers' settings: trim_blocks, lstrip_blocks).
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "../test_util.hpp"
#include "smolvlm/text/chat_template.hpp"

namespace smolvlm_test_text_chat_template_cases {  // one namespace per test file: the files also build as one unity translation unit

using smolvlm::chat_message;
using smolvlm::chat_options;
using smolvlm::chat_part;
using smolvlm::chat_template_kind;
using smolvlm::render_chat;

namespace {

std::vector<chat_message> messages_from_json(const smolvlm::json_value& arr) {
    std::vector<chat_message> out;
    for (const auto& m : arr.items()) {
        chat_message msg;
        msg.role = m.find("role")->as_string();
        for (const auto& p : m.find("content")->items()) {
            const std::string& type = p.find("type")->as_string();
            if (type == "text") msg.content.push_back(chat_part::make_text(p.find("text")->as_string()));
            else if (type == "image") msg.content.push_back(chat_part::make_image());
            else if (type == "video") msg.content.push_back(chat_part::make_video());
            else FAIL("unknown part type " << type);
        }
        out.push_back(std::move(msg));
    }
    return out;
}

std::string render_ok(chat_template_kind k, const std::vector<chat_message>& msgs, const chat_options& opt) {
    auto r = render_chat(k, msgs, opt);
    REQUIRE(r.is_ok());
    return r.value();
}

chat_options date_opts(bool add_generation_prompt = true) {
    chat_options o;
    o.add_generation_prompt = add_generation_prompt;
    o.today_date = "14 July 2025";
    return o;
}

const char* const k_smollm3_long_default =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face. Your role as an assistant involves "
    "thoroughly exploring questions through a systematic thinking process before providing the final precise and "
    "accurate solutions. This requires engaging in a comprehensive cycle of analysis, summarizing, exploration, "
    "reassessment, reflection, backtracking, and iteration to develop well-considered thinking process. Please "
    "structure your response into two main sections: Thought and Solution using the specified format: <think> "
    "Thought section </think> Solution section. In the Thought section, detail your reasoning process in steps. "
    "Each step should include detailed considerations such as analysing questions, summarizing relevant findings, "
    "brainstorming new ideas, verifying the accuracy of the current steps, refining any errors, and revisiting "
    "previous steps. In the Solution section, based on various attempts, explorations, and reflections from the "
    "Thought section, systematically present the final solution that you deem correct. The Solution section "
    "should be logical, accurate, and concise and detail necessary steps needed to reach the conclusion.";

}  // namespace

TEST_CASE("chat template: all six fixtures render byte-identical chat_template_text", "[text][chat]") {
    SMOLVLM_REQUIRE_SHARED(smolvlm_test::fixtures_dir() + "/README.md");
    int checked = 0;
    for (const std::string& name : smolvlm_test::fixture_cases()) {
        INFO("fixture " << name);
        const std::string dir = smolvlm_test::fixtures_dir() + "/" + name;
        auto kind = smolvlm::load_chat_template_kind(dir + "/model");
        REQUIRE(kind.is_ok());
        CHECK(kind.value() == chat_template_kind::smolvlm);
        auto g = smolvlm::parse_json(smolvlm_test::read_file(dir + "/golden.json"));
        REQUIRE(g.is_ok());
        const auto msgs = messages_from_json(*g.value().find("messages"));
        CHECK(render_ok(kind.value(), msgs, chat_options()) == g.value().find("chat_template_text")->as_string());
        ++checked;
    }
    CHECK(checked == 6);
}

TEST_CASE("chat template: smolvlm rules (User: vs User:<image>, capitalised roles, no prompt)", "[text][chat]") {
    std::vector<chat_message> msgs(1);
    msgs[0].role = "user";
    msgs[0].content = {chat_part::make_image(), chat_part::make_text("What?")};
    chat_options no_prompt;
    no_prompt.add_generation_prompt = false;
    CHECK(render_ok(chat_template_kind::smolvlm, msgs, no_prompt) == "<|im_start|>User:<image>What?<end_of_utterance>\n");
    msgs[0].content = {chat_part::make_video(), chat_part::make_text("Go")};
    CHECK(render_ok(chat_template_kind::smolvlm, msgs, chat_options()) ==
          "<|im_start|>User: <video>Go<end_of_utterance>\nAssistant:");
    msgs = {chat_message::make("ASSISTANT", "x"), chat_message{"user", {}}};
    CHECK(render_ok(chat_template_kind::smolvlm, msgs, no_prompt) ==
          "<|im_start|>Assistant: x<end_of_utterance>\nUser: <end_of_utterance>\n");
    chat_options sys;
    sys.system_prompt = "Be short.";
    CHECK(render_ok(chat_template_kind::smolvlm, {chat_message::make("user", "Hi")}, sys) ==
          "<|im_start|>System: Be short.<end_of_utterance>\nUser: Hi<end_of_utterance>\nAssistant:");
    CHECK(render_ok(chat_template_kind::smolvlm, {}, chat_options()) == "<|im_start|>Assistant:");
}

TEST_CASE("chat template: SmolLM2 ChatML with default and explicit system prompt, multi-turn", "[text][chat]") {
    const std::string def_sys =
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n";
    CHECK(render_ok(chat_template_kind::chatml, {chat_message::make("user", "Hi")}, chat_options()) ==
          def_sys + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    const std::vector<chat_message> turns = {chat_message::make("system", "Be brief."),
                                             chat_message::make("user", "What is 2+2?"),
                                             chat_message::make("assistant", "4"),
                                             chat_message::make("user", "And 3+3?")};
    chat_options no_prompt;
    no_prompt.add_generation_prompt = false;
    CHECK(render_ok(chat_template_kind::chatml, turns, no_prompt) ==
          "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 2+2?<|im_end|>\n"
          "<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\nAnd 3+3?<|im_end|>\n");
    chat_options sys;
    sys.system_prompt = "You are a pirate.";
    CHECK(render_ok(chat_template_kind::chatml, {chat_message::make("user", "Hi")}, sys) ==
          "<|im_start|>system\nYou are a pirate.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    // Default system prompt only before the first message; none for an empty chat.
    CHECK(render_ok(chat_template_kind::chatml, {}, chat_options()) == "<|im_start|>assistant\n");
    // Images cannot go to a text-only model.
    std::vector<chat_message> img(1);
    img[0].role = "user";
    img[0].content = {chat_part::make_image()};
    auto r = render_chat(chat_template_kind::chatml, img);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.error().code() == smolvlm::errc::unsupported);
}

TEST_CASE("chat template: SmolLM3 default (/think), no system message", "[text][chat]") {
    const std::string expected = std::string(
                                     "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\n"
                                     "Today Date: 14 July 2025\nReasoning Mode: /think\n\n## Custom Instructions\n\n") +
                                 k_smollm3_long_default + "\n\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n";
    CHECK(render_ok(chat_template_kind::smollm3, {chat_message::make("user", "Hi")}, date_opts()) == expected);
}

TEST_CASE("chat template: SmolLM3 /no_think, multi-turn, custom system prompt", "[text][chat]") {
    chat_options o = date_opts();
    o.enable_thinking = false;
    CHECK(render_ok(chat_template_kind::smollm3, {chat_message::make("user", "Hi")}, o) ==
          "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: 14 July 2025\n"
          "Reasoning Mode: /no_think\n\n## Custom Instructions\n\n"
          "You are a helpful AI assistant named SmolLM, trained by Hugging Face.\n\n"
          "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n");

    // The system message's flag wins over enable_thinking and is removed from it;
    // assistant turns lose leading newlines; later system messages print nothing.
    const std::vector<chat_message> turns = {
        chat_message::make("system", "You are a pirate. /no_think  "), chat_message::make("user", "Hello"),
        chat_message::make("assistant", "\n\nArr!"), chat_message::make("system", "ignored"),
        chat_message::make("tool", "{\"ok\":1}"), chat_message::make("user", "Bye")};
    CHECK(render_ok(chat_template_kind::smollm3, turns, date_opts()) ==
          "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: 14 July 2025\n"
          "Reasoning Mode: /no_think\n\n## Custom Instructions\n\nYou are a pirate.\n\n"
          "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\nArr!<|im_end|>\n"
          "<|im_start|>user\n{\"ok\":1}<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n"
          "<|im_start|>assistant\n<think>\n\n</think>\n");

    // "/think" in the system message turns thinking on; no <think> block then.
    o.system_prompt = "/think Answer in French.";
    CHECK(render_ok(chat_template_kind::smollm3,
                    {chat_message::make("user", "Hi"), chat_message::make("assistant", "Salut")},
                    [&] { chat_options x = o; x.add_generation_prompt = false; return x; }()) ==
          "<|im_start|>system\n## Metadata\n\nKnowledge Cutoff Date: June 2025\nToday Date: 14 July 2025\n"
          "Reasoning Mode: /think\n\n## Custom Instructions\n\n Answer in French.\n\n"
          "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nSalut<|im_end|>\n");
}

TEST_CASE("chat template: SmolLM3 /system_override replaces the metadata block", "[text][chat]") {
    CHECK(render_ok(chat_template_kind::smollm3,
                    {chat_message::make("system", "Only this. /system_override\n"), chat_message::make("user", "Hi")},
                    date_opts()) ==
          "<|im_start|>system\nOnly this.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
}

TEST_CASE("chat template: date formatting and detection from model folders", "[text][chat]") {
    CHECK(smolvlm::format_template_date(2025, 7, 4) == "04 July 2025");
    CHECK(smolvlm::format_template_date(1999, 12, 31) == "31 December 1999");
    const std::string today = smolvlm::local_date_string();
    CHECK(today.size() >= 11);  // "DD Month YYYY"
    CHECK(smolvlm::detail::py_rstrip("a \t\n\xE3\x80\x80") == "a");  // U+3000 is whitespace too
    CHECK(smolvlm::detail::py_rstrip("a\xE2\x80\x8B") == "a\xE2\x80\x8B");  // ZWSP is not

    const std::string models = smolvlm_test::shared_dir() + "/models";
    SMOLVLM_REQUIRE_SHARED(models + "/SOURCES.md");
    auto k1 = smolvlm::load_chat_template_kind(models + "/SmolLM2-135M-Instruct");
    REQUIRE(k1.is_ok());
    CHECK(k1.value() == chat_template_kind::chatml);
    auto k2 = smolvlm::load_chat_template_kind(models + "/SmolLM3-3B");
    REQUIRE(k2.is_ok());
    CHECK(k2.value() == chat_template_kind::smollm3);
    auto k3 = smolvlm::load_chat_template_kind(models + "/SmolVLM-256M-Instruct");
    REQUIRE(k3.is_ok());
    CHECK(k3.value() == chat_template_kind::smolvlm);
    auto k4 = smolvlm::load_chat_template_kind(models + "/SmolVLM2-500M-Video-Instruct");  // config.json only
    REQUIRE_FALSE(k4.is_ok());
    CHECK(std::string(k4.error().message()).find("chat template") != std::string::npos);
    CHECK_FALSE(smolvlm::detect_chat_template("{{ messages }}").is_ok());
}

namespace {

// Hugging Face messages (as in tests/text/data/smollm3_template_cases.json) -> chat_message:
// string content, list content (content_is_list), missing / null content.
std::vector<chat_message> hf_messages(const smolvlm::json_value& arr) {
    std::vector<chat_message> out;
    for (const auto& m : arr.items()) {
        chat_message msg;
        msg.role = m.find("role")->as_string();
        const smolvlm::json_value* c = m.find("content");
        if (c && c->is_string()) {
            msg.content.push_back(chat_part::make_text(c->as_string()));
        } else if (c && c->is_array()) {
            msg.content_is_list = true;
            for (const auto& p : c->items())
                if (p.find("type")->as_string() == "text") msg.content.push_back(chat_part::make_text(p.find("text")->as_string()));
        }
        out.push_back(std::move(msg));
    }
    return out;
}

}  // namespace

TEST_CASE("chat template: SmolLM3 matches transformers on every generated case", "[text][chat]") {
    const std::string path = std::string(SMOLVLM_SOURCE_DIR) + "/tests/text/data/smollm3_template_cases.json";
    REQUIRE(smolvlm_test::path_exists(path));
    auto doc = smolvlm::parse_json(smolvlm_test::read_file(path));
    REQUIRE(doc.is_ok());
    int n = 0, n_err = 0;
    for (const auto& c : doc.value().find("cases")->items()) {
        INFO("case " << c.find("name")->as_string());
        chat_options o;
        o.add_generation_prompt = c.find("add_generation_prompt")->as_bool();
        auto date = smolvlm::parse_template_date(c.find("date")->as_string());
        REQUIRE(date.is_ok());
        o.today_date = date.value();
        if (const auto* kw = c.find("kwargs")) o.kwargs = *kw;
        if (const auto* t = c.find("tools")) o.tools = *t;
        auto r = render_chat(chat_template_kind::smollm3, hf_messages(*c.find("messages")), o);
        if (const auto* e = c.find("expected")) {
            INFO((r.is_ok() ? std::string() : r.error().message()));
            REQUIRE(r.is_ok());
            CHECK(r.value() == e->as_string());
        } else {
            CHECK_FALSE(r.is_ok());  // transformers raised: we refuse too
            ++n_err;
        }
        ++n;
    }
    CHECK(n > 250);
    CHECK(n_err == 2);
}

TEST_CASE("chat template: SmolLM3 fixtures render byte-identical chat_template_text", "[text][chat]") {
    for (const char* name : {"smollm3_bf16_chat", "smollm3_f32_think"}) {
        const std::string dir = smolvlm_test::fixtures_dir() + "/" + name;
        SMOLVLM_REQUIRE_SHARED(dir + "/golden.json");
        INFO("fixture " << name);
        auto kind = smolvlm::load_chat_template_kind(dir + "/model");
        REQUIRE(kind.is_ok());
        CHECK(kind.value() == chat_template_kind::smollm3);
        auto g = smolvlm::parse_json(smolvlm_test::read_file(dir + "/golden.json"));
        REQUIRE(g.is_ok());
        chat_options o;
        o.add_generation_prompt = g.value().find("add_generation_prompt")->as_bool();
        o.kwargs = *g.value().find("chat_template_kwargs");
        auto date = smolvlm::parse_template_date(g.value().find("date")->as_string());
        REQUIRE(date.is_ok());
        o.today_date = date.value();
        auto r = render_chat(kind.value(), hf_messages(*g.value().find("messages")), o);
        REQUIRE(r.is_ok());
        CHECK(r.value() == g.value().find("chat_template_text")->as_string());
    }
}

TEST_CASE("chat template: SmolLM3 kwargs of the wrong type, bad dates, invalid UTF-8", "[text][chat]") {
    const std::vector<chat_message> hi = {chat_message::make("user", "Hi")};
    auto with = [&](const char* kwargs_json) {
        chat_options o;
        o.today_date = "01 January 2026";
        o.kwargs = smolvlm::parse_json(kwargs_json).value();
        return render_chat(chat_template_kind::smollm3, hi, o);
    };
    for (const char* bad : {R"({"enable_thinking": "false"})", R"({"enable_thinking": 0})", R"({"enable_thinking": null})",
                            R"({"xml_tools": "a tool"})", R"({"python_tools": {"name": "x"}})", R"({"tools": 3})",
                            R"({"custom_instructions": 1})", R"(["enable_thinking"])"}) {
        INFO(bad);
        auto r = with(bad);
        REQUIRE_FALSE(r.is_ok());
        CHECK(r.error().code() == smolvlm::errc::invalid_argument);
    }
    auto r = with(R"({"enable_thinking": "false"})");
    CHECK(std::string(r.error().message()).find("enable_thinking must be true or false") != std::string::npos);
    CHECK(with(R"({"enable_thinking": false, "unknown": [1]})").is_ok());
    CHECK(with(R"({"xml_tools": null})").is_ok());

    CHECK(smolvlm::parse_template_date("2026-12-07").value() == "07 December 2026");
    CHECK(smolvlm::parse_template_date("2024-02-29").value() == "29 February 2024");
    for (const char* bad : {"2023-02-29", "2026-13-01", "2026-00-10", "2026-04-31", "26-12-07", "2026/12/07",
                            "2026-12-7", "0000-01-01", "2026-12-07 "})
        CHECK_FALSE(smolvlm::parse_template_date(bad).is_ok());

    for (chat_template_kind k : {chat_template_kind::smollm3, chat_template_kind::chatml, chat_template_kind::smolvlm}) {
        auto bad = render_chat(k, {chat_message::make("user", "caf\xC3")});
        REQUIRE_FALSE(bad.is_ok());
        CHECK(std::string(bad.error().message()).find("not valid UTF-8") != std::string::npos);
    }
    CHECK_FALSE(render_chat(chat_template_kind::smollm3, {}).is_ok());
}

TEST_CASE("chat template: Python str() of tool values", "[text][chat]") {
    auto py = [](const char* json) {
        std::string out;
        smolvlm::detail::py_str(out, smolvlm::parse_json(json).value());
        return out;
    };
    CHECK(py(R"({"a": 1, "b": [true, false, null], "c": "it's", "d": "x\"y", "e": "it's \"both\""})") ==
          R"({'a': 1, 'b': [True, False, None], 'c': "it's", 'd': 'x"y', 'e': 'it\'s "both"'})");
    CHECK(py(R"([1.0, 0.5, 1e-5, 0.0001, 1e16, 1.5e16, 1e15, 123456789.0, -0.0, 0.1, 2.5e-7, 1e100, 5e-324])") ==
          "[1.0, 0.5, 1e-05, 0.0001, 1e+16, 1.5e+16, 1000000000000000.0, 123456789.0, -0.0, 0.1, 2.5e-07, 1e+100, 5e-324]");
    CHECK(py(R"(["tab\t nl\n cr\r bs\\ \u0001 \u007f \u00ad \u200b \u00e9 \ud83d\ude42 \u3000"])") ==
          "['tab\\t nl\\n cr\\r bs\\\\ \\x01 \\x7f \\xad \\u200b \xC3\xA9 \xF0\x9F\x99\x82 \\u3000']");
    CHECK(py(R"("top-level string")") == "top-level string");
    CHECK(py(R"({"k": 1, "j": 2, "k": 3})") == "{'k': 3, 'j': 2}");
}

}  // namespace smolvlm_test_text_chat_template_cases
