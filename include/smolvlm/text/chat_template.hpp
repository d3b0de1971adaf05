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
//   smollm3  (SmolLM3-3B chat_template.jinja), every branch, as transformers renders it
//            (Jinja2 sandbox, trim_blocks, lstrip_blocks); checked byte for byte against
//            transformers on tests/text/data/smollm3_template_cases.json:
//       "<|im_start|>system\n", then
//         - "/system_override" in the system message: that message without the flags
//           below and without "/system_override", rstripped, + "<|im_end|>\n";
//         - else "## Metadata" (knowledge cutoff, "Today Date: DD Month YYYY", "Reasoning
//           Mode: /think|/no_think") + "## Custom Instructions" (the system message with
//           "/no_think" and "/think" removed and rstripped, or a default text: the long
//           reasoning prompt in /think mode, a short one in /no_think mode) + "\n\n";
//           with tools (kwargs xml_tools / python_tools, or `tools`) a "### Tools" section
//           (each tool printed as Python's str() of it) closed by "\n\n<|im_end|>\n".
//           NOTE: as in the template, without tools the system block is NOT closed by
//           <|im_end|>.
//       reasoning mode: kwarg enable_thinking (default true); a first system message
//       containing "/no_think" forces /no_think, else one containing "/think" forces /think.
//       user: "<|im_start|>user\n" + content + "<|im_end|>\n"; tool: the same (as a user turn);
//       assistant: "<|im_start|>assistant\n" (+ "<think>\n\n</think>\n" in /no_think mode)
//       + content.lstrip("\n") + "<|im_end|>\n"; any other role (and a system message after
//       the first) prints nothing. Content that is not a string (a list of parts: see
//       chat_message::content_is_list) renders as "", as in the template.
//       generation prompt: "<|im_start|>assistant\n" (+ "<think>\n\n</think>\n" in /no_think).
//       The {% generation %} markers only build training masks: they print nothing.
//
// Template kwargs (chat_options::kwargs, a JSON object, as llama.cpp's server and
// transformers' apply_chat_template(**kwargs) pass them): smollm3 reads enable_thinking
// (true/false), xml_tools / python_tools / tools (lists), and, without a system message,
// system_message / custom_instructions (strings); a value of another type is an error (the
// Jinja template would silently misread it: the string "false" is true there). Other keys
// are ignored, as by the template.
//
//   mistral_v7  (Mistral Small 3.1 2503 chat_template.json): text/chat_template_mistral.hpp.
//
// Text-only templates (chatml, smollm3) reject image and video parts with an error
// (the Jinja templates would silently print nothing for such a message). Text that is
// not valid UTF-8 is an error for every template.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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
    // The content was given as a list of parts (Hugging Face `[{"type": "text", ...}]`)
    // rather than as a string. Templates that read the content as a string (smollm3) then
    // see "" as the Jinja template does; smolvlm reads the parts either way.
    bool content_is_list = false;

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
    std::string today_date;       // "Today Date:" line, e.g. "14 July 2025" (see parse_template_date); empty = today
                                  // (mistral_v7 reads it too, or an ISO "2025-07-14")
    // Template kwargs: a JSON object (null = none), e.g. {"enable_thinking": false,
    // "xml_tools": [...]}; its enable_thinking overrides the field above. See the top of the file.
    json_value kwargs;
    // apply_chat_template's `tools`: a JSON list of tool schemas (null = none).
    json_value tools;
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

// ---- Python's str() / repr() of JSON values (Jinja's `string` filter on a tool dict) ----

// str.isprintable for one code point: not Cc Cf Cs Co Cn Zl Zp Zs, except the space. The
// general categories are Unicode 16's; the reference Python's own (3.11: Unicode 14) only
// differ on code points assigned since.
inline bool py_isprintable(std::uint32_t cp) {
    if (cp == ' ') return true;
    switch (general_category_of(cp)) {
        case general_category::Cc: case general_category::Cf: case general_category::Cs: case general_category::Co:
        case general_category::Cn: case general_category::Zl: case general_category::Zp: case general_category::Zs:
            return false;
        default: return true;
    }
}

// repr(str): single quotes unless the text has ' and no "; \\ \' \t \n \r escaped; other
// non-printable code points as \xhh, \uhhhh or \Uhhhhhhhh. `s` is valid UTF-8.
inline void py_repr_string(std::string& out, const std::string& s) {
    const char q = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
    out += q;
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    for (std::size_t i = 0; i < s.size();) {
        std::uint32_t cp = 0;
        const std::size_t len = next_code_point(p, i, s.size(), &cp);
        if (cp == '\\' || cp == std::uint32_t(q)) {
            out += '\\';
            out += char(cp);
        } else if (cp == '\t') {
            out += "\\t";
        } else if (cp == '\n') {
            out += "\\n";
        } else if (cp == '\r') {
            out += "\\r";
        } else if (!py_isprintable(cp)) {
            char buf[16];
            if (cp < 0x100) std::snprintf(buf, sizeof buf, "\\x%02x", unsigned(cp));
            else if (cp < 0x10000) std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(cp));
            else std::snprintf(buf, sizeof buf, "\\U%08x", unsigned(cp));
            out += buf;
        } else {
            out.append(s, i, len);
        }
        i += len;
    }
    out += q;
}

// repr(float): the shortest digits that read back to the same double, in fixed notation
// when the decimal exponent is in [-4, 16), else as d.ddde+XX ("1e-05", "1.5e+16").
inline void py_repr_float(std::string& out, double v) {
    if (std::isnan(v)) {
        out += "nan";
        return;
    }
    if (std::isinf(v)) {
        out += v < 0 ? "-inf" : "inf";
        return;
    }
    if (std::signbit(v)) out += '-';
    v = std::fabs(v);
    if (v == 0.0) {
        out += "0.0";
        return;
    }
    char buf[40];
    for (int prec = 0; prec < 17; ++prec) {  // shortest %.{prec}e that round-trips
        std::snprintf(buf, sizeof buf, "%.*e", prec, v);
        if (std::strtod(buf, nullptr) == v) break;
    }
    std::string digits;
    const char* e = buf;
    for (; *e && *e != 'e'; ++e)
        if (*e >= '0' && *e <= '9') digits += *e;
    const int exp10 = std::atoi(e + 1);
    while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
    const int decpt = exp10 + 1;  // value = 0.DIGITS * 10^decpt
    const int nd = int(digits.size());
    if (decpt <= -4 || decpt > 16) {
        out += digits[0];
        if (nd > 1) {
            out += '.';
            out.append(digits, 1, std::string::npos);
        }
        std::snprintf(buf, sizeof buf, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
        out += buf;
    } else if (decpt <= 0) {
        out += "0.";
        out.append(std::size_t(-decpt), '0');
        out += digits;
    } else if (decpt >= nd) {
        out += digits;
        out.append(std::size_t(decpt - nd), '0');
        out += ".0";
    } else {
        out.append(digits, 0, std::size_t(decpt));
        out += '.';
        out.append(digits, std::size_t(decpt), std::string::npos);
    }
}

// str(value) as Python prints the json.loads of it (repr inside lists and dicts; a
// top-level string prints as itself). A repeated key keeps its first place and last value,
// as a Python dict does.
inline void py_str(std::string& out, const json_value& v, bool top = true) {
    switch (v.type()) {
        case json_value::kind::null: out += "None"; return;
        case json_value::kind::boolean: out += v.as_bool() ? "True" : "False"; return;
        case json_value::kind::number:
            if (v.is_integer()) out += std::to_string(v.as_int());
            else py_repr_float(out, v.as_number());
            return;
        case json_value::kind::string:
            if (top) out += v.as_string();
            else py_repr_string(out, v.as_string());
            return;
        case json_value::kind::array:
            out += '[';
            for (std::size_t i = 0; i < v.items().size(); ++i) {
                if (i) out += ", ";
                py_str(out, v.items()[i], false);
            }
            out += ']';
            return;
        case json_value::kind::object: {
            out += '{';
            const auto& m = v.members();
            bool first = true;
            for (std::size_t i = 0; i < m.size(); ++i) {
                bool seen = false;
                for (std::size_t j = 0; j < i && !seen; ++j) seen = m[j].first == m[i].first;
                if (seen) continue;
                std::size_t last = i;
                for (std::size_t j = i + 1; j < m.size(); ++j)
                    if (m[j].first == m[i].first) last = j;
                if (!first) out += ", ";
                first = false;
                py_repr_string(out, m[i].first);
                out += ": ";
                py_str(out, m[last].second, false);
            }
            out += '}';
            return;
        }
    }
}

// ---- SmolLM3 ---------------------------------------------------------------------------------

// A template kwarg, or null when absent (or JSON null).
inline const json_value* template_kwarg(const chat_options& opt, const char* key) {
    if (!opt.kwargs.is_object()) return nullptr;
    const json_value* v = opt.kwargs.find(key);
    return v && !v->is_null() ? v : nullptr;
}

inline const char* json_kind_name(const json_value& v) {
    switch (v.type()) {
        case json_value::kind::null: return "null";
        case json_value::kind::boolean: return "a boolean";
        case json_value::kind::number: return "a number";
        case json_value::kind::string: return "a string";
        case json_value::kind::array: return "a list";
        case json_value::kind::object: return "an object";
    }
    return "?";
}

// A list-valued kwarg (tools): null when absent; an error for another type.
inline status list_kwarg(const chat_options& opt, const char* key, const json_value** out) {
    *out = template_kwarg(opt, key);
    if (*out && !(*out)->is_array())
        return status::fmt(errc::invalid_argument, "chat template kwarg %s must be a list of tools, not %s", key,
                           json_kind_name(**out));
    return status::ok();
}

inline bool truthy_list(const json_value* v) { return v && v->is_array() && v->size() > 0; }

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
    if (msgs.empty()) return status(errc::invalid_argument, "chat template smollm3: no messages");
    if (!opt.kwargs.is_null() && !opt.kwargs.is_object())
        return status::fmt(errc::invalid_argument, "chat template kwargs must be a JSON object, not %s",
                           json_kind_name(opt.kwargs));
    // ---- template kwargs ----
    bool think = opt.enable_thinking;                       // {% set enable_thinking = true %} unless given
    if (const json_value* et = template_kwarg(opt, "enable_thinking")) {
        if (!et->is_bool())
            return status::fmt(errc::invalid_argument, "chat template kwarg enable_thinking must be true or false, not %s",
                               json_kind_name(*et));
        think = et->as_bool();
    }
    if (opt.kwargs.is_object()) {
        if (const json_value* et = opt.kwargs.find("enable_thinking"); et && et->is_null())
            return status(errc::invalid_argument, "chat template kwarg enable_thinking must be true or false, not null");
    }
    const json_value *xml_tools = nullptr, *python_tools = nullptr, *kw_tools = nullptr;
    SMOLVLM_TRY(list_kwarg(opt, "xml_tools", &xml_tools));
    SMOLVLM_TRY(list_kwarg(opt, "python_tools", &python_tools));
    SMOLVLM_TRY(list_kwarg(opt, "tools", &kw_tools));
    if (!opt.tools.is_null() && !opt.tools.is_array())
        return status::fmt(errc::invalid_argument, "tools must be a list, not %s", json_kind_name(opt.tools));
    if (kw_tools && opt.tools.is_array())
        return status(errc::invalid_argument, "tools given twice (as the tools list and as a template kwarg)");
    const json_value* tools = opt.tools.is_array() ? &opt.tools : kw_tools;

    // ---- header (system message) ----
    std::string out = "<|im_start|>system\n";
    std::string system_message, custom_instructions, content;
    bool has_custom = false;  // custom_instructions is defined
    if (msgs[0].role == "system") {
        if (msgs[0].content_is_list)
            return status(errc::invalid_argument,
                          "chat template smollm3: the system message's content must be a string (the template calls "
                          "replace() on it)");
        SMOLVLM_TRY(text_content(msgs[0], chat_template_kind::smollm3, &system_message));
        if (contains(system_message, "/no_think")) think = false;
        else if (contains(system_message, "/think")) think = true;
        custom_instructions = py_rstrip(replace_all(replace_all(system_message, "/no_think", ""), "/think", ""));
        has_custom = true;
    } else {  // the template then reads the variables from its kwargs, if any
        for (const char* key : {"system_message", "custom_instructions"}) {
            const json_value* v = template_kwarg(opt, key);
            if (v && !v->is_string())
                return status::fmt(errc::invalid_argument, "chat template kwarg %s must be a string, not %s", key,
                                   json_kind_name(*v));
            if (!v) continue;
            if (!is_valid_utf8(v->as_string().data(), v->as_string().size()))
                return status::fmt(errc::invalid_argument, "chat template kwarg %s is not valid UTF-8", key);
            if (key[0] == 's') system_message = v->as_string();
            else custom_instructions = v->as_string(), has_custom = true;
        }
    }
    if (contains(system_message, "/system_override")) {
        if (!has_custom) return status(errc::invalid_argument, "chat template smollm3: 'custom_instructions' is undefined");
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

        if (truthy_list(xml_tools) || truthy_list(python_tools) || truthy_list(tools)) {
            out += "### Tools\n\n";
            if (truthy_list(xml_tools) || truthy_list(tools)) {
                const json_value* list = truthy_list(tools) ? tools : xml_tools;  // {% set xml_tools = tools %}
                out += "You may call one or more functions to assist with the user query.\nYou are provided with "
                       "function signatures within <tools></tools> XML tags:\n\n<tools>\n";
                for (const json_value& t : list->items()) {
                    py_str(out, t);
                    out += "\n";
                }
                out += "</tools>\n\nFor each function call, return a json object with function name and arguments "
                       "within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, "
                       "\"arguments\": <args-json-object>}\n</tool_call>";
            }
            if (truthy_list(python_tools)) {
                out += "When you send a message containing Python code between '<code>' and '</code>' tags, it will be "
                       "executed in a stateful Jupyter notebook environment, and you will then be given the output to "
                       "continued reasoning in an agentic loop.\n\nYou can use the following tools in your python code "
                       "like regular functions:\n<tools>\n";
                for (const json_value& t : python_tools->items()) {
                    py_str(out, t);
                    out += "\n";
                }
                out += "</tools>\n\nThe state persists between code executions: so variables that you define in one "
                       "step are still available thereafter.";
            }
            out += "\n\n<|im_end|>\n";
        }
    }
    // ---- main loop ----
    for (const chat_message& m : msgs) {
        SMOLVLM_TRY(text_content(m, chat_template_kind::smollm3, &content));
        if (m.content_is_list) content.clear();  // `message.content if message.content is string else ""`
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
    // ---- generation prompt ----
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

// "YYYY-MM-DD" (a real calendar date, years 1..9999) in that format: "2026-12-07" ->
// "07 December 2026". The date the smollm3 template prints (chat_options::today_date).
inline result<std::string> parse_template_date(std::string_view iso) {
    auto digits = [&](std::size_t at, std::size_t n, int* v) {
        *v = 0;
        for (std::size_t i = at; i < at + n; ++i) {
            if (i >= iso.size() || iso[i] < '0' || iso[i] > '9') return false;
            *v = *v * 10 + (iso[i] - '0');
        }
        return true;
    };
    int y = 0, m = 0, d = 0;
    if (iso.size() != 10 || iso[4] != '-' || iso[7] != '-' || !digits(0, 4, &y) || !digits(5, 2, &m) ||
        !digits(8, 2, &d))
        return status::fmt(errc::invalid_argument, "date '%.40s' is not YYYY-MM-DD", std::string(iso).c_str());
    static const int k_days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1 || m < 1 || m > 12 || d < 1 || d > k_days[m - 1] || (m == 2 && d == 29 && !leap))
        return status::fmt(errc::invalid_argument, "date '%.40s' is not a calendar date", std::string(iso).c_str());
    return format_template_date(y, m, d);
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
    for (std::size_t i = 0; i < msgs->size(); ++i)
        for (const chat_part& p : (*msgs)[i].content)
            if (!is_valid_utf8(p.text.data(), p.text.size()))
                return status::fmt(errc::invalid_argument, "message %zu (%.20s): the text is not valid UTF-8", i + 1,
                                   (*msgs)[i].role.c_str());
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
