// smolvlm/text/tokenizer_steps.hpp — the configurable stages of a tokenizer.json, read from
// JSON and applied like the Rust `tokenizers` library does:
//
//   normalizer     null | Sequence | Prepend | Replace (String / Regex pattern) | Strip
//   pre_tokenizer  null | Sequence | Split (String / Regex, 5 behaviors, invert) |
//                  ByteLevel (add_prefix_space, use_regex = GPT-2 pattern) | Digits |
//                  Metaspace (replacement, prepend_scheme, split) | Whitespace | WhitespaceSplit
//   post_processor null | TemplateProcessing (single / pair, special tokens with ids) |
//                  ByteLevel (offsets only: no effect on ids) | Sequence
//   decoder        null | Sequence | ByteLevel | ByteFallback | Fuse | Strip | Replace |
//                  Metaspace | BPEDecoder
// Any other type (NFC, NFKC, Lowercase, BertNormalizer, Precompiled, BertPreTokenizer,
// Punctuation, UnicodeScripts, RobertaProcessing, BertProcessing, WordPiece, CTC, ...) is a
// load error naming it (errc::unsupported), as is a field of the wrong JSON type
// (errc::bad_format). The model (BPE), added tokens and the orchestration are in bpe.hpp.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/status.hpp"
#include "../io/json.hpp"
#include "regex.hpp"
#include "unicode.hpp"

namespace smolvlm {
namespace tokenizer_steps {

// ---- JSON field helpers ---------------------------------------------------------------

inline status field_bool(const json_value& obj, const char* where, const char* key, bool dflt, bool* out) {
    const json_value* v = obj.find(key);
    if (!v || v->is_null()) {
        *out = dflt;
        return status::ok();
    }
    if (!v->is_bool()) return status::fmt(errc::bad_format, "tokenizer.json: %s.%s is not a boolean", where, key);
    *out = v->as_bool();
    return status::ok();
}

inline status field_string(const json_value& obj, const char* where, const char* key, const std::string* dflt,
                           std::string* out) {
    const json_value* v = obj.find(key);
    if (!v || v->is_null()) {
        if (!dflt) return status::fmt(errc::bad_format, "tokenizer.json: %s has no string \"%s\"", where, key);
        *out = *dflt;
        return status::ok();
    }
    if (!v->is_string()) return status::fmt(errc::bad_format, "tokenizer.json: %s.%s is not a string", where, key);
    *out = v->as_string();
    return status::ok();
}

inline status field_uint(const json_value& obj, const char* where, const char* key, std::uint32_t* out) {
    const json_value* v = obj.find(key);
    if (!v || !v->is_integer() || v->as_int() < 0 || v->as_int() > 0x7fffffff)
        return status::fmt(errc::bad_format, "tokenizer.json: %s.%s is not a non-negative integer", where, key);
    *out = std::uint32_t(v->as_int());
    return status::ok();
}

inline status type_of(const json_value& obj, const char* where, std::string* out) {
    if (!obj.is_object()) return status::fmt(errc::bad_format, "tokenizer.json: %s is not an object", where);
    const json_value* t = obj.find("type");
    if (!t || !t->is_string()) return status::fmt(errc::bad_format, "tokenizer.json: %s has no string \"type\"", where);
    *out = t->as_string();
    return status::ok();
}

// {"String": "..."} (matched literally) or {"Regex": "..."} (Oniguruma syntax).
inline status pattern_field(const json_value& obj, const char* where, regex* out) {
    const json_value* p = obj.find("pattern");
    if (!p || !p->is_object() || p->size() != 1)
        return status::fmt(errc::bad_format, "tokenizer.json: %s.pattern is not {\"String\": ...} or {\"Regex\": ...}",
                           where);
    if (const json_value* s = p->find("String")) {
        if (!s->is_string()) return status::fmt(errc::bad_format, "tokenizer.json: %s.pattern.String is not a string", where);
        *out = regex::literal(s->as_string());
        return status::ok();
    }
    if (const json_value* r = p->find("Regex")) {
        if (!r->is_string()) return status::fmt(errc::bad_format, "tokenizer.json: %s.pattern.Regex is not a string", where);
        auto c = regex::compile(r->as_string());
        if (!c.is_ok()) {
            status e = c.error();
            char ctx[64];
            std::snprintf(ctx, sizeof ctx, "tokenizer.json: %s: ", where);
            return e.prepend(ctx);
        }
        *out = std::move(c).value();
        return status::ok();
    }
    return status::fmt(errc::bad_format, "tokenizer.json: %s.pattern is not {\"String\": ...} or {\"Regex\": ...}", where);
}

// The code point of a one-character string (Metaspace replacement, Strip content).
inline status single_char(const std::string& s, const char* where, std::uint32_t* cp) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    if (s.empty() || next_code_point(p, 0, s.size(), cp) != s.size() || *cp == detail::k_invalid_code_point)
        return status::fmt(errc::bad_format, "tokenizer.json: %s is not a single character", where);
    return status::ok();
}

inline std::size_t char_len_at(std::string_view s, std::size_t i, std::uint32_t* cp) {
    return next_code_point(reinterpret_cast<const unsigned char*>(s.data()), i, s.size(), cp);
}

// ---- splitting with a behavior (NormalizedString::split) ------------------------------

enum class split_behavior : std::uint8_t { removed, isolated, merged_with_previous, merged_with_next, contiguous };

inline bool parse_behavior(const std::string& s, split_behavior* b) {
    if (s == "Removed") *b = split_behavior::removed;
    else if (s == "Isolated") *b = split_behavior::isolated;
    else if (s == "MergedWithPrevious") *b = split_behavior::merged_with_previous;
    else if (s == "MergedWithNext") *b = split_behavior::merged_with_next;
    else if (s == "Contiguous") *b = split_behavior::contiguous;
    else return false;
    return true;
}

struct span_flag {
    std::size_t start, end;
    bool is_match;
};

// Covering, ordered (range, is_match) spans -> the kept ranges, per behavior (empty ranges
// are dropped later, as PreTokenizedString::split does).
inline void apply_behavior(const std::vector<span_flag>& m, split_behavior b, std::vector<span_flag>& out) {
    out.clear();
    switch (b) {
        case split_behavior::isolated:
            for (const auto& s : m) out.push_back(span_flag{s.start, s.end, false});
            return;
        case split_behavior::removed:
            for (const auto& s : m)
                if (!s.is_match) out.push_back(span_flag{s.start, s.end, false});
            return;
        case split_behavior::contiguous: {
            bool prev = false;
            for (const auto& s : m) {
                if (s.is_match == prev && !out.empty()) out.back().end = s.end;
                else out.push_back(span_flag{s.start, s.end, false});
                prev = s.is_match;
            }
            return;
        }
        case split_behavior::merged_with_previous: {
            bool prev = false;
            for (const auto& s : m) {
                if (s.is_match && !prev && !out.empty()) out.back().end = s.end;
                else out.push_back(span_flag{s.start, s.end, false});
                prev = s.is_match;
            }
            return;
        }
        case split_behavior::merged_with_next: {
            bool prev = false;
            for (std::size_t k = m.size(); k-- > 0;) {
                const auto& s = m[k];
                if (s.is_match && !prev && !out.empty()) out.back().start = s.start;
                else out.push_back(span_flag{s.start, s.end, false});
                prev = s.is_match;
            }
            for (std::size_t i = 0, j = out.size(); i + 1 < j; ++i, --j) std::swap(out[i], out[j - 1]);
            return;
        }
    }
}

// Pattern::find_matches for a regex: matches and the gaps between them, covering s.
inline regex_result regex_spans(const regex& re, std::string_view s, regex_scratch& sc, std::vector<span_flag>& out) {
    out.clear();
    if (s.empty()) {
        out.push_back(span_flag{0, 0, false});
        return regex_result::no_match;
    }
    std::size_t prev = 0;
    const regex_result r = re.for_each_match(s, sc, [&](std::size_t a, std::size_t b) {
        if (prev != a) out.push_back(span_flag{prev, a, false});
        out.push_back(span_flag{a, b, true});
        prev = b;
    });
    if (prev != s.size()) out.push_back(span_flag{prev, s.size(), false});
    return r;
}

// Pattern::find_matches for a character predicate: each matching char is its own span.
template <class Pred>
inline void char_spans(std::string_view s, Pred pred, std::vector<span_flag>& out) {
    out.clear();
    if (s.empty()) {
        out.push_back(span_flag{0, 0, false});
        return;
    }
    std::size_t last = 0;
    for (std::size_t i = 0; i < s.size();) {
        std::uint32_t cp;
        const std::size_t len = char_len_at(s, i, &cp);
        if (pred(cp)) {
            if (last < i) out.push_back(span_flag{last, i, false});
            out.push_back(span_flag{i, i + len, true});
            last = i + len;
        }
        i += len;
    }
    if (last < s.size()) out.push_back(span_flag{last, s.size(), false});
}

// ---- normalizers ------------------------------------------------------------------------

struct normalizer_step {
    enum class kind : std::uint8_t { prepend, replace, strip } k = kind::prepend;
    std::string text;  // prepend: the prefix; replace: the content
    regex pattern;     // replace
    bool left = false, right = false;  // strip
};

inline status parse_normalizer(const json_value& v, std::vector<normalizer_step>& out, int depth = 0) {
    if (v.is_null()) return status::ok();
    if (depth > 16) return status(errc::bad_format, "tokenizer.json: normalizer nested too deeply");
    std::string type;
    SMOLVLM_TRY(type_of(v, "normalizer", &type));
    if (type == "Sequence") {
        const json_value* list = v.find("normalizers");
        if (!list || !list->is_array())
            return status(errc::bad_format, "tokenizer.json: normalizer Sequence has no \"normalizers\" array");
        for (const auto& n : list->items()) SMOLVLM_TRY(parse_normalizer(n, out, depth + 1));
        return status::ok();
    }
    normalizer_step s;
    if (type == "Prepend") {
        s.k = normalizer_step::kind::prepend;
        SMOLVLM_TRY(field_string(v, "normalizer Prepend", "prepend", nullptr, &s.text));
    } else if (type == "Replace") {
        s.k = normalizer_step::kind::replace;
        SMOLVLM_TRY(pattern_field(v, "normalizer Replace", &s.pattern));
        SMOLVLM_TRY(field_string(v, "normalizer Replace", "content", nullptr, &s.text));
    } else if (type == "Strip") {
        s.k = normalizer_step::kind::strip;
        SMOLVLM_TRY(field_bool(v, "normalizer Strip", "strip_left", true, &s.left));
        SMOLVLM_TRY(field_bool(v, "normalizer Strip", "strip_right", true, &s.right));
    } else {
        return status::fmt(errc::unsupported,
                           "tokenizer.json: normalizer '%.40s' is not supported (supported: Sequence, Prepend, Replace, "
                           "Strip)",
                           type.c_str());
    }
    out.push_back(std::move(s));
    return status::ok();
}

// Apply the normalizers to one piece. *at_start tracks whether its first character still
// comes from original offset 0 (for Metaspace prepend_scheme "first").
inline status normalize(const std::vector<normalizer_step>& steps, std::string& s, bool* at_start, regex_scratch& sc) {
    std::vector<span_flag> spans;
    for (const normalizer_step& n : steps) {
        switch (n.k) {
            case normalizer_step::kind::prepend:
                if (!s.empty()) s.insert(0, n.text);
                break;
            case normalizer_step::kind::strip: {
                std::size_t a = 0, b = s.size();
                if (n.left)
                    while (a < b) {
                        std::uint32_t cp;
                        const std::size_t len = char_len_at(s, a, &cp);
                        if (!is_white_space(cp)) break;
                        a += len;
                    }
                if (n.right)
                    while (b > a) {
                        std::size_t p = b - 1;
                        while (p > a && (static_cast<unsigned char>(s[p]) & 0xC0) == 0x80) --p;
                        std::uint32_t cp;
                        char_len_at(s, p, &cp);
                        if (!is_white_space(cp)) break;
                        b = p;
                    }
                if (a > 0) *at_start = false;
                s = s.substr(a, b - a);
                break;
            }
            case normalizer_step::kind::replace: {
                if (regex_spans(n.pattern, s, sc, spans) == regex_result::step_limit)
                    return status(errc::unsupported, "tokenizer: normalizer Replace pattern exceeded its step budget");
                std::string out;
                for (const span_flag& f : spans) {
                    if (f.is_match) {
                        if (f.start == 0 && n.text.empty() && f.end > 0) *at_start = false;
                        out += n.text;
                    } else {
                        out.append(s, f.start, f.end - f.start);
                    }
                }
                s.swap(out);
                break;
            }
        }
    }
    return status::ok();
}

// ---- pre-tokenizers ---------------------------------------------------------------------

enum class prepend_scheme : std::uint8_t { first, never, always };

struct pre_tokenizer_step {
    enum class kind : std::uint8_t { split, byte_level, digits, metaspace, whitespace, whitespace_split } k =
        kind::split;
    regex pattern;  // split
    split_behavior behavior = split_behavior::isolated;
    bool invert = false;
    bool add_prefix_space = false, use_regex = true;  // byte_level
    bool individual_digits = false;                   // digits
    std::string replacement;                          // metaspace
    std::uint32_t replacement_cp = 0;
    prepend_scheme scheme = prepend_scheme::always;
    bool split = true;
};

// The GPT-2 pattern of the ByteLevel pre-tokenizer (use_regex = true).
inline constexpr const char* k_gpt2_pattern = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

inline status parse_pre_tokenizer(const json_value& v, std::vector<pre_tokenizer_step>& out, int depth = 0) {
    if (v.is_null()) return status::ok();
    if (depth > 16) return status(errc::bad_format, "tokenizer.json: pre_tokenizer nested too deeply");
    std::string type;
    SMOLVLM_TRY(type_of(v, "pre_tokenizer", &type));
    if (type == "Sequence") {
        const json_value* list = v.find("pretokenizers");
        if (!list || !list->is_array())
            return status(errc::bad_format, "tokenizer.json: pre_tokenizer Sequence has no \"pretokenizers\" array");
        for (const auto& p : list->items()) SMOLVLM_TRY(parse_pre_tokenizer(p, out, depth + 1));
        return status::ok();
    }
    pre_tokenizer_step s;
    if (type == "Split") {
        s.k = pre_tokenizer_step::kind::split;
        SMOLVLM_TRY(pattern_field(v, "pre_tokenizer Split", &s.pattern));
        std::string b;
        SMOLVLM_TRY(field_string(v, "pre_tokenizer Split", "behavior", nullptr, &b));
        if (!parse_behavior(b, &s.behavior))
            return status::fmt(errc::bad_format, "tokenizer.json: pre_tokenizer Split: unknown behavior '%.40s'", b.c_str());
        SMOLVLM_TRY(field_bool(v, "pre_tokenizer Split", "invert", false, &s.invert));
    } else if (type == "ByteLevel") {
        s.k = pre_tokenizer_step::kind::byte_level;
        SMOLVLM_TRY(field_bool(v, "pre_tokenizer ByteLevel", "add_prefix_space", true, &s.add_prefix_space));
        SMOLVLM_TRY(field_bool(v, "pre_tokenizer ByteLevel", "use_regex", true, &s.use_regex));
        if (s.use_regex) {
            auto re = regex::compile(k_gpt2_pattern);
            if (!re.is_ok()) return re.error();
            s.pattern = std::move(re).value();
        }
    } else if (type == "Digits") {
        s.k = pre_tokenizer_step::kind::digits;
        SMOLVLM_TRY(field_bool(v, "pre_tokenizer Digits", "individual_digits", false, &s.individual_digits));
    } else if (type == "Metaspace") {
        s.k = pre_tokenizer_step::kind::metaspace;
        SMOLVLM_TRY(field_string(v, "pre_tokenizer Metaspace", "replacement", nullptr, &s.replacement));
        SMOLVLM_TRY(single_char(s.replacement, "pre_tokenizer Metaspace.replacement", &s.replacement_cp));
        std::string scheme;
        const std::string always = "always";
        SMOLVLM_TRY(field_string(v, "pre_tokenizer Metaspace", "prepend_scheme", &always, &scheme));
        if (scheme == "first") s.scheme = prepend_scheme::first;
        else if (scheme == "never") s.scheme = prepend_scheme::never;
        else if (scheme == "always") s.scheme = prepend_scheme::always;
        else
            return status::fmt(errc::bad_format, "tokenizer.json: pre_tokenizer Metaspace: unknown prepend_scheme '%.40s'",
                               scheme.c_str());
        if (const json_value* aps = v.find("add_prefix_space"); aps && aps->is_bool() && !aps->as_bool()) {
            if (s.scheme != prepend_scheme::never)
                return status(errc::bad_format,
                              "tokenizer.json: pre_tokenizer Metaspace: add_prefix_space does not match prepend_scheme");
        }
        SMOLVLM_TRY(field_bool(v, "pre_tokenizer Metaspace", "split", true, &s.split));
    } else if (type == "Whitespace") {
        s.k = pre_tokenizer_step::kind::whitespace;
    } else if (type == "WhitespaceSplit") {
        s.k = pre_tokenizer_step::kind::whitespace_split;
    } else {
        return status::fmt(errc::unsupported,
                           "tokenizer.json: pre_tokenizer '%.40s' is not supported (supported: Sequence, Split, "
                           "ByteLevel, Digits, Metaspace, Whitespace, WhitespaceSplit)",
                           type.c_str());
    }
    out.push_back(std::move(s));
    return status::ok();
}

// Rust regex \w (Whitespace pre-tokenizer): Oniguruma's Word plus the join controls.
inline bool is_rust_word_char(std::uint32_t cp) { return is_word_char(cp) || cp == 0x200C || cp == 0x200D; }

// ---- post-processor ---------------------------------------------------------------------

struct template_piece {
    bool is_sequence = false;
    bool sequence_b = false;     // $B (else $A)
    std::vector<std::int32_t> ids;  // special token: its ids
};

struct post_processor {
    bool has_template = false;
    std::vector<template_piece> single, pair;
};

inline status parse_template(const json_value* t, const json_value* specials, const char* which,
                             std::vector<template_piece>& out) {
    if (!t || !t->is_array())
        return status::fmt(errc::bad_format, "tokenizer.json: post_processor TemplateProcessing.%s is not an array", which);
    for (const auto& p : t->items()) {
        template_piece tp;
        if (const json_value* seq = p.find("Sequence")) {
            const json_value* id = seq->find("id");
            if (!id || !id->is_string() || (id->as_string() != "A" && id->as_string() != "B"))
                return status::fmt(errc::bad_format, "tokenizer.json: TemplateProcessing.%s: Sequence id is not A or B", which);
            tp.is_sequence = true;
            tp.sequence_b = id->as_string() == "B";
        } else if (const json_value* sp = p.find("SpecialToken")) {
            const json_value* id = sp->find("id");
            if (!id || !id->is_string())
                return status::fmt(errc::bad_format, "tokenizer.json: TemplateProcessing.%s: SpecialToken without id", which);
            const json_value* def = specials ? specials->find(id->as_string()) : nullptr;
            const json_value* ids = def ? def->find("ids") : nullptr;
            if (!ids || !ids->is_array())
                return status::fmt(errc::bad_format,
                                   "tokenizer.json: TemplateProcessing.%s uses special token '%.60s' missing from "
                                   "special_tokens",
                                   which, id->as_string().c_str());
            for (const auto& x : ids->items()) {
                if (!x.is_integer() || x.as_int() < 0 || x.as_int() > 0x7fffffff)
                    return status::fmt(errc::bad_format, "tokenizer.json: TemplateProcessing special token '%.60s': bad id",
                                       id->as_string().c_str());
                tp.ids.push_back(std::int32_t(x.as_int()));
            }
        } else {
            return status::fmt(errc::bad_format,
                               "tokenizer.json: TemplateProcessing.%s: piece is neither Sequence nor SpecialToken", which);
        }
        out.push_back(std::move(tp));
    }
    return status::ok();
}

inline status parse_post_processor(const json_value& v, post_processor& out, int depth = 0) {
    if (v.is_null()) return status::ok();
    if (depth > 16) return status(errc::bad_format, "tokenizer.json: post_processor nested too deeply");
    std::string type;
    SMOLVLM_TRY(type_of(v, "post_processor", &type));
    if (type == "Sequence") {
        const json_value* list = v.find("processors");
        if (!list || !list->is_array())
            return status(errc::bad_format, "tokenizer.json: post_processor Sequence has no \"processors\" array");
        for (const auto& p : list->items()) SMOLVLM_TRY(parse_post_processor(p, out, depth + 1));
        return status::ok();
    }
    if (type == "ByteLevel") return status::ok();  // trims offsets only
    if (type == "TemplateProcessing") {
        if (out.has_template)
            return status(errc::unsupported, "tokenizer.json: two TemplateProcessing post-processors in a Sequence");
        const json_value* specials = v.find("special_tokens");
        if (specials && !specials->is_object())
            return status(errc::bad_format, "tokenizer.json: TemplateProcessing.special_tokens is not an object");
        SMOLVLM_TRY(parse_template(v.find("single"), specials, "single", out.single));
        SMOLVLM_TRY(parse_template(v.find("pair"), specials, "pair", out.pair));
        out.has_template = true;
        return status::ok();
    }
    return status::fmt(errc::unsupported,
                       "tokenizer.json: post_processor '%.40s' is not supported (supported: TemplateProcessing, "
                       "ByteLevel, Sequence)",
                       type.c_str());
}

// ---- decoders ---------------------------------------------------------------------------

struct decoder_step {
    enum class kind : std::uint8_t { byte_level, byte_fallback, fuse, strip, replace, metaspace, bpe } k =
        kind::byte_level;
    std::string text;         // replace: content; bpe: suffix; metaspace: replacement
    regex pattern;            // replace
    std::uint32_t cp = 0;     // strip: content char; metaspace: replacement char
    std::uint32_t start = 0, stop = 0;  // strip
    prepend_scheme scheme = prepend_scheme::always;
};

inline status parse_decoder(const json_value& v, std::vector<decoder_step>& out, int depth = 0) {
    if (v.is_null()) return status::ok();
    if (depth > 16) return status(errc::bad_format, "tokenizer.json: decoder nested too deeply");
    std::string type;
    SMOLVLM_TRY(type_of(v, "decoder", &type));
    if (type == "Sequence") {
        const json_value* list = v.find("decoders");
        if (!list || !list->is_array())
            return status(errc::bad_format, "tokenizer.json: decoder Sequence has no \"decoders\" array");
        for (const auto& d : list->items()) SMOLVLM_TRY(parse_decoder(d, out, depth + 1));
        return status::ok();
    }
    decoder_step d;
    if (type == "ByteLevel") {
        d.k = decoder_step::kind::byte_level;
    } else if (type == "ByteFallback") {
        d.k = decoder_step::kind::byte_fallback;
    } else if (type == "Fuse") {
        d.k = decoder_step::kind::fuse;
    } else if (type == "Strip") {
        d.k = decoder_step::kind::strip;
        std::string c;
        SMOLVLM_TRY(field_string(v, "decoder Strip", "content", nullptr, &c));
        SMOLVLM_TRY(single_char(c, "decoder Strip.content", &d.cp));
        SMOLVLM_TRY(field_uint(v, "decoder Strip", "start", &d.start));
        SMOLVLM_TRY(field_uint(v, "decoder Strip", "stop", &d.stop));
    } else if (type == "Replace") {
        d.k = decoder_step::kind::replace;
        SMOLVLM_TRY(pattern_field(v, "decoder Replace", &d.pattern));
        SMOLVLM_TRY(field_string(v, "decoder Replace", "content", nullptr, &d.text));
    } else if (type == "Metaspace") {
        d.k = decoder_step::kind::metaspace;
        SMOLVLM_TRY(field_string(v, "decoder Metaspace", "replacement", nullptr, &d.text));
        SMOLVLM_TRY(single_char(d.text, "decoder Metaspace.replacement", &d.cp));
        std::string scheme;
        const std::string always = "always";
        SMOLVLM_TRY(field_string(v, "decoder Metaspace", "prepend_scheme", &always, &scheme));
        if (scheme == "first") d.scheme = prepend_scheme::first;
        else if (scheme == "never") d.scheme = prepend_scheme::never;
        else if (scheme == "always") d.scheme = prepend_scheme::always;
        else return status::fmt(errc::bad_format, "tokenizer.json: decoder Metaspace: unknown prepend_scheme '%.40s'", scheme.c_str());
        if (const json_value* aps = v.find("add_prefix_space"); aps && aps->is_bool() && !aps->as_bool())
            d.scheme = prepend_scheme::never;
    } else if (type == "BPEDecoder") {
        d.k = decoder_step::kind::bpe;
        const std::string dflt = "</w>";
        SMOLVLM_TRY(field_string(v, "decoder BPEDecoder", "suffix", &dflt, &d.text));
    } else {
        return status::fmt(errc::unsupported,
                           "tokenizer.json: decoder '%.40s' is not supported (supported: Sequence, ByteLevel, "
                           "ByteFallback, Fuse, Strip, Replace, Metaspace, BPEDecoder)",
                           type.c_str());
    }
    out.push_back(std::move(d));
    return status::ok();
}

// The ByteLevel decoder's rule for one token: every character mapped back to its byte; if
// any character is outside the GPT-2 alphabet, the token's own UTF-8 bytes.
inline void byte_level_decode_append(std::string_view token, std::string& out) {
    const std::size_t mark = out.size();
    const auto* s = reinterpret_cast<const unsigned char*>(token.data());
    for (std::size_t i = 0; i < token.size();) {
        std::uint32_t cp;
        i += next_code_point(s, i, token.size(), &cp);
        const int b = cp == detail::k_invalid_code_point ? -1 : unicode_to_byte(cp);
        if (b < 0) {
            out.resize(mark);
            out.append(token.data(), token.size());
            return;
        }
        out.push_back(char(b));
    }
}

// Run the decoder chain on the token strings (Decoder::decode_chain of each, in order).
inline status run_decoders(const std::vector<decoder_step>& steps, std::vector<std::string>& tokens, regex_scratch& sc) {
    std::vector<span_flag> spans;
    for (const decoder_step& d : steps) {
        switch (d.k) {
            case decoder_step::kind::byte_level: {
                std::string bytes;
                for (const auto& t : tokens) byte_level_decode_append(t, bytes);
                tokens.assign(1, utf8_decode_lossy(bytes));
                break;
            }
            case decoder_step::kind::fuse: {
                std::string all;
                for (const auto& t : tokens) all += t;
                tokens.assign(1, std::move(all));
                break;
            }
            case decoder_step::kind::byte_fallback: {
                std::vector<std::string> out;
                std::string pending;  // bytes of consecutive <0xXX> tokens
                std::size_t n_pending = 0;
                auto flush = [&] {
                    if (n_pending == 0) return;
                    if (is_valid_utf8(pending.data(), pending.size())) out.push_back(pending);
                    else
                        for (std::size_t k = 0; k < n_pending; ++k) out.push_back("\xEF\xBF\xBD");
                    pending.clear();
                    n_pending = 0;
                };
                auto hexv = [](char c) {
                    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
                };
                for (auto& t : tokens) {
                    int hi = -1, lo = -1;
                    if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') {
                        hi = hexv(t[3]);
                        lo = hexv(t[4]);
                    }
                    if (hi >= 0 && lo >= 0) {
                        pending.push_back(char(hi * 16 + lo));
                        ++n_pending;
                    } else {
                        flush();
                        out.push_back(std::move(t));
                    }
                }
                flush();
                tokens.swap(out);
                break;
            }
            case decoder_step::kind::strip:
                for (auto& t : tokens) {
                    std::vector<std::pair<std::size_t, std::uint32_t>> chars;  // (byte offset, cp)
                    for (std::size_t i = 0; i < t.size();) {
                        std::uint32_t cp;
                        const std::size_t len = char_len_at(t, i, &cp);
                        chars.emplace_back(i, cp);
                        i += len;
                    }
                    std::size_t a = 0, b = chars.size();
                    for (std::size_t i = 0; i < d.start && i < chars.size() && chars[i].second == d.cp; ++i) a = i + 1;
                    for (std::size_t i = 0; i < d.stop && i < chars.size(); ++i) {
                        const std::size_t idx = chars.size() - i - 1;
                        if (chars[idx].second != d.cp) break;
                        b = idx;
                    }
                    if (b < a) b = a;
                    const std::size_t ba = a < chars.size() ? chars[a].first : t.size();
                    const std::size_t bb = b < chars.size() ? chars[b].first : t.size();
                    t = t.substr(ba, bb - ba);
                }
                break;
            case decoder_step::kind::replace:
                for (auto& t : tokens) {
                    if (regex_spans(d.pattern, t, sc, spans) == regex_result::step_limit)
                        return status(errc::unsupported, "tokenizer: decoder Replace pattern exceeded its step budget");
                    std::string out;
                    for (const auto& f : spans) {
                        if (f.is_match) out += d.text;
                        else out.append(t, f.start, f.end - f.start);
                    }
                    t.swap(out);
                }
                break;
            case decoder_step::kind::metaspace:
                for (std::size_t i = 0; i < tokens.size(); ++i) {
                    std::string out;
                    const std::string& t = tokens[i];
                    for (std::size_t k = 0; k < t.size();) {
                        std::uint32_t cp;
                        const std::size_t len = char_len_at(t, k, &cp);
                        if (cp == d.cp) {
                            if (!(i == 0 && d.scheme != prepend_scheme::never)) out.push_back(' ');
                        } else {
                            out.append(t, k, len);
                        }
                        k += len;
                    }
                    tokens[i].swap(out);
                }
                break;
            case decoder_step::kind::bpe:
                for (std::size_t i = 0; i < tokens.size(); ++i) {
                    if (d.text.empty()) continue;
                    const char* rep = i + 1 == tokens.size() ? "" : " ";
                    std::string& t = tokens[i];
                    std::string out;
                    for (std::size_t k = 0; k < t.size();) {
                        if (t.compare(k, d.text.size(), d.text) == 0) {
                            out += rep;
                            k += d.text.size();
                        } else {
                            out.push_back(t[k++]);
                        }
                    }
                    t.swap(out);
                }
                break;
        }
    }
    return status::ok();
}

}  // namespace tokenizer_steps
}  // namespace smolvlm
