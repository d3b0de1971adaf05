// smolvlm/text/chat_template.hpp — the three chat templates of the supported models,
// written out in C++ (no Jinja interpreter).
//
//   smolvlm  (SmolVLM / SmolVLM2 / Idefics3 chat_template.json):
//       <|im_start|>                                       once, at the very start
//       for each message:  Role + (":" if its first part is an image else ": ")
//                          + parts (text as is, image -> "<image>", video -> "<video>")
//                          + "<end_of_utterance>\n"
//       generation prompt: "Assistant:"
//     Role is capitalised like Jinja's `capitalize` (first letter upper, rest lower).
//     The Idefics3 / SmolVLM-256M template has no video branch (a video part prints
//     nothing there); SmolVLM2's prints "<video>". We always print "<video>": the
//     processor expands it into frames, which only SmolVLM2 models understand.
//
//   chatml   (SmolLM2-*-Instruct tokenizer_config.json):
//       if messages[0] is not a system message:
//           "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
//       for each message: "<|im_start|>" + role + "\n" + content + "<|im_end|>\n"
//       generation prompt: "<|im_start|>assistant\n"
//
//   smollm3  (SmolLM3-3B chat_template.jinja), the common path:
//       system block: "## Metadata" (knowledge cutoff, today's date, reasoning mode
//       /think or /no_think) + "## Custom Instructions" (the system message with the
//       /think, /no_think flags removed, or a default text); "/system_override" in
//       the system message replaces the whole block. NOTE: as in the template, the
//       system block is NOT closed by <|im_end|> unless tools are present.
//       user: "<|im_start|>user\n" + content + "<|im_end|>\n"; tool: same with role user;
//       assistant: "<|im_start|>assistant\n" (+ "<think>\n\n</think>\n" in /no_think mode)
//       + content without leading newlines + "<|im_end|>\n". System messages after
//       the first are dropped (as in the template).
//       Left out: tools / xml_tools / python_tools (the "### Tools" section) and the
//       {% generation %} markers (they only build training masks; they print nothing).
//
//   mistral_v7  (Mistral Small 3.1 2503 chat_template.json): text/chat_template_mistral.hpp.
//
// Text-only templates (chatml, smollm3) reject image and video parts with an error
// (the Jinja templates would silently print nothing for such a message).
#pragma once

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/status.hpp"
#include "../io/file.hpp"
#include "../io/json.hpp"
#include "unicode.hpp"

namespace smolvlm {

// One piece of a message: text, or a place holder for an image / a video.
struct chat_part {
    enum class kind : std::uint8_t { text, image, video };
    kind type = kind::text;
    std::string text;  // only for kind::text

    static chat_part make_text(std::string t) { return chat_part{kind::text, std::move(t)}; }
    static chat_part make_image() { return chat_part{kind::image, std::string()}; }
    static chat_part make_video() { return chat_part{kind::video, std::string()}; }
};

// A chat turn. role: "system", "user", "assistant" (smollm3 also "tool").
struct chat_message {
    std::string role;
    std::vector<chat_part> content;

    static chat_message make(std::string role, std::string text) {
        chat_message m;
        m.role = std::move(role);
        m.content.push_back(chat_part::make_text(std::move(text)));
        return m;
    }
};

enum class chat_template_kind : std::uint8_t { smolvlm, chatml, smollm3, mistral_v7 };

inline const char* chat_template_name(chat_template_kind k) {
    switch (k) {
        case chat_template_kind::smolvlm: return "smolvlm";
        case chat_template_kind::chatml: return "chatml";
        case chat_template_kind::smollm3: return "smollm3";
        case chat_template_kind::mistral_v7: return "mistral_v7";
    }
    return "unknown";
}

struct chat_options {
    bool add_generation_prompt = true;
    // Used as a leading system message when `messages` does not start with one.
    // Empty: the template's own default (chatml and smollm3 have one; smolvlm has none).
    std::string system_prompt;
    // smollm3 only.
    bool enable_thinking = true;  // default reasoning mode /think; a system message's /think or /no_think wins
    std::string today_date;       // "Today Date:" line, e.g. "14 July 2025"; empty = the local date now
                                  // (mistral_v7 reads it too, or an ISO "2025-07-14")
};

namespace detail {

inline const char* const k_month_names[12] = {"January", "February", "March",     "April",   "May",      "June",
                                              "July",    "August",   "September", "October", "November", "December"};

// Python's str.isspace for one code point: White_Space plus U+001C..U+001F.
inline bool py_isspace(std::uint32_t cp) {
    return (cp >= 0x1c && cp <= 0x1f) || char_class_of(cp) == char_class::space;
}

// Python str.rstrip() with no argument.
inline std::string py_rstrip(const std::string& s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    std::size_t end = s.size();
    while (end > 0) {
        std::size_t start = end - 1;
        while (start > 0 && (p[start] & 0xc0) == 0x80) --start;
        std::uint32_t cp;
        if (next_code_point(p, start, end, &cp) != end - start || !py_isspace(cp)) break;
        end = start;
    }
    return s.substr(0, end);
}

inline std::string replace_all(std::string s, std::string_view from, std::string_view to) {
    if (from.empty()) return s;
    std::string out;
    std::size_t pos = 0;
    for (;;) {
        const std::size_t hit = s.find(from.data(), pos, from.size());
        if (hit == std::string::npos) break;
        out.append(s, pos, hit - pos);
        out.append(to.data(), to.size());
        pos = hit + from.size();
    }
    out.append(s, pos, std::string::npos);
    return out;
}

inline bool contains(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

// Jinja `capitalize` on ASCII: "assistant" -> "Assistant", "USER" -> "User".
inline std::string capitalize(const std::string& s) {
    std::string out = s;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const char c = out[i];
        if (i == 0 && c >= 'a' && c <= 'z') out[i] = char(c - 'a' + 'A');
        if (i > 0 && c >= 'A' && c <= 'Z') out[i] = char(c - 'A' + 'a');
    }
    return out;
}

// Concatenated text of a message for the text-only templates.
inline status text_content(const chat_message& m, chat_template_kind k, std::string* out) {
    out->clear();
    for (const chat_part& p : m.content) {
        if (p.type != chat_part::kind::text)
            return status::fmt(errc::unsupported, "chat template %s: a %s message has an image/video part (text-only model)",
                               chat_template_name(k), m.role.c_str());
        *out += p.text;
    }
    return status::ok();
}

inline std::string render_smolvlm(const std::vector<chat_message>& msgs, const chat_options& opt) {
    std::string out = "<|im_start|>";
    for (const chat_message& m : msgs) {
        out += capitalize(m.role);
        const bool starts_with_image = !m.content.empty() && m.content[0].type == chat_part::kind::image;
        out += starts_with_image ? ":" : ": ";
        for (const chat_part& p : m.content) {
            switch (p.type) {
                case chat_part::kind::text: out += p.text; break;
                case chat_part::kind::image: out += "<image>"; break;
                case chat_part::kind::video: out += "<video>"; break;
            }
        }
        out += "<end_of_utterance>\n";
    }
    if (opt.add_generation_prompt) out += "Assistant:";
    return out;
}

inline result<std::string> render_chatml(const std::vector<chat_message>& msgs, const chat_options& opt) {
    std::string out, content;
    for (std::size_t i = 0; i < msgs.size(); ++i) {
        if (i == 0 && msgs[0].role != "system")
            out += "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n";
        SMOLVLM_TRY(text_content(msgs[i], chat_template_kind::chatml, &content));
        out += "<|im_start|>" + msgs[i].role + "\n" + content + "<|im_end|>\n";
    }
    if (opt.add_generation_prompt) out += "<|im_start|>assistant\n";
    return out;
}

inline std::string smollm3_today(const chat_options& opt);
inline result<std::string> render_mistral_v7(const std::vector<chat_message>& msgs, const chat_options& opt);  // chat_template_mistral.hpp

inline result<std::string> render_smollm3(const std::vector<chat_message>& msgs, const chat_options& opt) {
    const char* k_long_default =
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
    bool think = opt.enable_thinking;
    std::string out = "<|im_start|>system\n";
    std::string system_message, custom_instructions, content;
    if (!msgs.empty() && msgs[0].role == "system") {
        SMOLVLM_TRY(text_content(msgs[0], chat_template_kind::smollm3, &system_message));
        if (contains(system_message, "/no_think")) think = false;
        else if (contains(system_message, "/think")) think = true;
        custom_instructions = py_rstrip(replace_all(replace_all(system_message, "/no_think", ""), "/think", ""));
    }
    if (contains(system_message, "/system_override")) {
        out += py_rstrip(replace_all(custom_instructions, "/system_override", ""));
        out += "<|im_end|>\n";
    } else {
        out += "## Metadata\n\nKnowledge Cutoff Date: June 2025\n";
        out += "Today Date: " + smollm3_today(opt) + "\n";
        out += std::string("Reasoning Mode: ") + (think ? "/think" : "/no_think") + "\n\n";
        out += "## Custom Instructions\n\n";
        if (!custom_instructions.empty()) out += custom_instructions + "\n\n";
        else if (think) out += std::string(k_long_default) + "\n\n";
        else out += "You are a helpful AI assistant named SmolLM, trained by Hugging Face.\n\n";
        // (tools section left out; without tools the template emits no <|im_end|> here)
    }
    for (const chat_message& m : msgs) {
        SMOLVLM_TRY(text_content(m, chat_template_kind::smollm3, &content));
        if (m.role == "user" || m.role == "tool") {
            out += "<|im_start|>user\n" + content + "<|im_end|>\n";
        } else if (m.role == "assistant") {
            std::size_t skip = 0;
            while (skip < content.size() && content[skip] == '\n') ++skip;  // content.lstrip("\n")
            out += "<|im_start|>assistant\n";
            if (!think) out += "<think>\n\n</think>\n";
            out.append(content, skip, std::string::npos);
            out += "<|im_end|>\n";
        }
    }
    if (opt.add_generation_prompt) out += think ? "<|im_start|>assistant\n" : "<|im_start|>assistant\n<think>\n\n</think>\n";
    return out;
}

}  // namespace detail

// "%d %B %Y" as Python's strftime in the C locale: format_template_date(2025, 7, 4) = "04 July 2025".
inline std::string format_template_date(int year, int month, int day) {
    if (month < 1 || month > 12) month = 1;
    char buf[48];
    std::snprintf(buf, sizeof buf, "%02d %s %d", day, detail::k_month_names[month - 1], year);
    return buf;
}

// Today's local date in that format.
inline std::string local_date_string() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
#if defined(_WIN32)
    localtime_s(&tm, &now);
#else
    localtime_r(&now, &tm);
#endif
    return format_template_date(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

inline std::string detail::smollm3_today(const chat_options& opt) {
    return opt.today_date.empty() ? local_date_string() : opt.today_date;
}

// Render `messages` as the model's prompt text (to be tokenized with parse_special).
inline result<std::string> render_chat(chat_template_kind kind, const std::vector<chat_message>& messages,
                                       const chat_options& opt = chat_options()) {
    const std::vector<chat_message>* msgs = &messages;
    std::vector<chat_message> with_system;
    if (!opt.system_prompt.empty() && (messages.empty() || messages[0].role != "system")) {
        with_system.reserve(messages.size() + 1);
        with_system.push_back(chat_message::make("system", opt.system_prompt));
        with_system.insert(with_system.end(), messages.begin(), messages.end());
        msgs = &with_system;
    }
    switch (kind) {
        case chat_template_kind::smolvlm: return detail::render_smolvlm(*msgs, opt);
        case chat_template_kind::chatml: return detail::render_chatml(*msgs, opt);
        case chat_template_kind::smollm3: return detail::render_smollm3(*msgs, opt);
        case chat_template_kind::mistral_v7: return detail::render_mistral_v7(*msgs, opt);
    }
    return status(errc::invalid_argument, "render_chat: unknown template kind");
}

inline result<std::string> render_chat(chat_template_kind kind, const std::vector<chat_message>& messages,
                                       bool add_generation_prompt) {
    chat_options opt;
    opt.add_generation_prompt = add_generation_prompt;
    return render_chat(kind, messages, opt);
}

// Which of the three templates a Jinja source is, judged by its content.
inline result<chat_template_kind> detect_chat_template(std::string_view source) {
    auto has = [&](const char* s) { return source.find(s) != std::string_view::npos; };
    if (has("[SYSTEM_PROMPT]") && has("[INST]") && has("[IMG]")) return chat_template_kind::mistral_v7;
    if (has("Reasoning Mode") || has("/no_think")) return chat_template_kind::smollm3;
    if (has("<end_of_utterance>") && has("capitalize")) return chat_template_kind::smolvlm;
    if (has("<|im_start|>") && has("<|im_end|>")) return chat_template_kind::chatml;
    return status(errc::unsupported, "chat template: not one of the known templates (smolvlm, chatml, smollm3, mistral_v7)");
}

// Find the template of a model directory, in the order transformers reads them:
// chat_template.jinja, chat_template.json {"chat_template": ...}, then
// tokenizer_config.json "chat_template" (a string, or a list of {name, template}:
// the one named "default").
inline result<chat_template_kind> load_chat_template_kind(const std::string& model_dir) {
    const std::string jinja = path_join(model_dir, "chat_template.jinja");
    if (file_exists(jinja.c_str())) {
        SMOLVLM_ASSIGN_OR_RETURN(std::string text, read_text_file(jinja.c_str(), std::size_t(1) << 20));
        return detect_chat_template(text);
    }
    for (const char* name : {"chat_template.json", "tokenizer_config.json"}) {
        const std::string path = path_join(model_dir, name);
        if (!file_exists(path.c_str())) continue;
        SMOLVLM_ASSIGN_OR_RETURN(std::string text, read_text_file(path.c_str(), std::size_t(16) << 20));
        auto doc = parse_json(text);
        if (!doc.is_ok()) {
            status s = doc.error();
            return s.prepend((path + ": ").c_str());
        }
        const json_value* t = doc.value().find("chat_template");
        if (!t) continue;
        if (t->is_string()) return detect_chat_template(t->as_string());
        if (t->is_array()) {
            for (const json_value& e : t->items()) {
                const json_value* n = e.find("name");
                const json_value* src = e.find("template");
                if (n && n->is_string() && n->as_string() == "default" && src && src->is_string())
                    return detect_chat_template(src->as_string());
            }
        }
        return status::fmt(errc::bad_format, "%s: \"chat_template\" is neither a string nor a list with a default",
                           path.c_str());
    }
    return status::fmt(errc::io,
                       "'%s' has no chat template (looked for chat_template.jinja, chat_template.json, "
                       "tokenizer_config.json \"chat_template\")",
                       model_dir.c_str());
}

}  // namespace smolvlm

#include "chat_template_mistral.hpp"  // the mistral_v7 renderer
