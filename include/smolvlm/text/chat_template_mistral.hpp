// smolvlm/text/chat_template_mistral.hpp — the Mistral Small 3.1 (2503) chat template,
// written out in C++ (included by text/chat_template.hpp; the kind is mistral_v7).
//
// The Jinja source (chat_template.json of mistralai/Mistral-Small-3.1-24B-Instruct-2503):
//   "<s>"
//   "[SYSTEM_PROMPT]" + system + "[/SYSTEM_PROMPT]"   system = the first message's
//       content[0].text when it is a system message (then skipped), else the default:
//       "You are Mistral Small 3, a Large Language Model (LLM) created by Mistral AI, ...
//        The current date is " + strftime_now("%Y-%m-%d") + ". ..."
//   for each remaining message:
//       user       "[INST]" + parts + "[/INST]"   text as is, each image "[IMG]"
//       system     "[SYSTEM_PROMPT]" + content + "[/SYSTEM_PROMPT]"
//       assistant  content (its first part) + "</s>"
//   no generation prompt: the text ends with "[/INST]" and the model answers.
// Differences, all where the Jinja template would fail: a chat_message does not say whether
// its content was a string or a list, so a leading system message is read like the list form
// (transformers 5.25 raises on the string form); video parts and unknown roles are errors
// here as there.
//
// The date: chat_options::today_date when set — ISO "2026-12-07" or SmolLM3's "07 December
// 2026" form (what a --date option stores) — else the local date.
#pragma once

#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "../core/status.hpp"
#include "chat_template.hpp"

namespace smolvlm {
namespace detail {

// "2026-12-07" from chat_options::today_date ("2026-12-07" or "07 December 2026"); empty
// input: the local date. Anything else is an error.
inline result<std::string> mistral_template_date(const std::string& given) {
    static const char* const months[12] = {"January", "February", "March",     "April",   "May",      "June",
                                           "July",    "August",   "September", "October", "November", "December"};
    int y = 0, m = 0, d = 0;
    if (given.empty()) {
        const std::time_t now = std::time(nullptr);
        std::tm tm{};
#if defined(_WIN32)
        localtime_s(&tm, &now);
#else
        localtime_r(&now, &tm);
#endif
        y = tm.tm_year + 1900;
        m = tm.tm_mon + 1;
        d = tm.tm_mday;
    } else {
        char month[16] = {0};
        char tail = 0;
        if (std::sscanf(given.c_str(), "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3 && given.size() == 10) {
            // ISO
        } else if (std::sscanf(given.c_str(), "%2d %15s %d%c", &d, month, &y, &tail) == 3) {
            m = 0;
            for (int i = 0; i < 12; ++i)
                if (std::strcmp(month, months[i]) == 0) m = i + 1;
        } else {
            m = 0;
        }
        if (m < 1 || m > 12 || d < 1 || d > 31 || y < 1 || y > 9999)
            return status::fmt(errc::invalid_argument, "chat template date '%.40s': want YYYY-MM-DD", given.c_str());
    }
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
    return std::string(buf);
}

inline result<std::string> render_mistral_v7(const std::vector<chat_message>& msgs, const chat_options& opt) {
    SMOLVLM_ASSIGN_OR_RETURN(std::string today, mistral_template_date(opt.today_date));
    std::string out = "<s>";
    std::size_t first = 0;
    std::string system;
    if (!msgs.empty() && msgs[0].role == "system") {
        // messages[0]['content'][0]['text']
        if (msgs[0].content.empty() || msgs[0].content[0].type != chat_part::kind::text)
            return status(errc::invalid_argument, "chat template mistral: the system message must start with text");
        system = msgs[0].content[0].text;
        first = 1;
    } else {
        system = "You are Mistral Small 3, a Large Language Model (LLM) created by Mistral AI, a French startup "
                 "headquartered in Paris.\nYour knowledge base was last updated on 2023-10-01. The current date is " +
                 today +
                 ".\n\nWhen you're not sure about some information, you say that you don't have the information and "
                 "don't make up anything.\nIf the user's question is not clear, ambiguous, or does not provide enough "
                 "context for you to accurately answer the question, you do not try to answer it right away and you "
                 "rather ask the user to clarify their request (e.g. \"What are some good restaurants around me?\" => "
                 "\"Where are you?\" or \"When is the next flight to Tokyo\" => \"Where do you travel from?\")";
    }
    out += "[SYSTEM_PROMPT]" + system + "[/SYSTEM_PROMPT]";
    for (std::size_t i = first; i < msgs.size(); ++i) {
        const chat_message& m = msgs[i];
        if (m.role == "user") {
            out += "[INST]";
            for (const chat_part& p : m.content) {
                if (p.type == chat_part::kind::text) out += p.text;
                else if (p.type == chat_part::kind::image) out += "[IMG]";
                else return status(errc::unsupported, "chat template mistral: only text and image blocks are supported "
                                                      "in message content");
            }
            out += "[/INST]";
        } else if (m.role == "system") {
            out += "[SYSTEM_PROMPT]";
            for (const chat_part& p : m.content) {
                if (p.type != chat_part::kind::text)
                    return status(errc::unsupported, "chat template mistral: a later system message must be text");
                out += p.text;
            }
            out += "[/SYSTEM_PROMPT]";
        } else if (m.role == "assistant") {
            // content (string) or content[0]['text'] (list)
            if (!m.content.empty()) {
                if (m.content[0].type != chat_part::kind::text)
                    return status(errc::unsupported, "chat template mistral: an assistant message must start with text");
                out += m.content[0].text;
            }
            out += "</s>";
        } else {
            return status::fmt(errc::invalid_argument,
                               "chat template mistral: role '%.32s' (only user, system and assistant roles are supported)",
                               m.role.c_str());
        }
    }
    return out;
}

}  // namespace detail
}  // namespace smolvlm
