// smolvlm/text/json_schema.hpp — JSON Schema to GBNF, and the "any JSON value" grammar.
//
//   auto g = grammar_from_json_schema(R"({"type":"object","properties":{"hp":{"type":"integer",
//                                         "minimum":0,"maximum":100}},"required":["hp"]})");
//   // root ::= "{" space hp-kv ... "}" space  — see json_schema_to_gbnf() for the text.
//
// What is supported (anything else that constrains values is an errc::unsupported error
// naming the keyword and where it is; annotations such as title, description, default,
// examples, $schema, $id, $comment are ignored):
//   type (a name or a list: ["string", "null"]), const, enum, anyOf, oneOf (as anyOf: the
//     branches are not checked to be exclusive), allOf (one schema, or objects without
//     additionalProperties: false, merged), $ref to "#", "#/$defs/..", "#/definitions/..",
//     any local JSON pointer (recursion is fine; a recursion that can never end, such as a
//     required self-reference, is the grammar compiler's "can never produce a finite string"),
//     true / {} (any value); false is an error.
//   object: properties in schema order (each optional one may be left out), required (a
//     required name that has no schema takes any value, after the declared ones),
//     additionalProperties false / true / a schema. Absent means true (the JSON Schema rule;
//     json_schema_options::strict_objects makes it false). Extra properties come after the
//     declared ones, with plain keys (no escapes) that differ from every declared name; two
//     extra properties may share a key (a context-free grammar cannot keep them distinct),
//     so use additionalProperties: false (or strict_objects) when the reader needs that.
//   array: items (a schema, or an array = draft-7 tuple with additionalItems), prefixItems,
//     minItems, maxItems.
//   string: minLength / maxLength (code points, an escape counts as one), pattern (a regex
//     subset: literals, escapes \d \w \s \D \W \S \n \t \uHHHH ..., classes, ., groups (?:),
//     alternation, * + ? {m} {m,} {m,n}, lazy forms, ^ and $ at the ends of top-level
//     branches; no lookaround, backreferences, \b or inline flags), format date, time,
//     date-time, uuid (other formats are annotations, as the spec says by default).
//   integer: minimum, maximum, exclusiveMinimum, exclusiveMaximum, exactly (a digit-range
//     grammar, no leading zeros); unbounded sides stop at 16 digits, bounds are clamped to
//     int64 (what io/json.hpp keeps exactly).
//   number: minimum / maximum with integer values, exactly (no exponent then); without
//     bounds: -?int(.frac)?(e[+-]?dd)? with at most 16 integer digits, 16 fraction digits
//     and a 2-digit exponent, so every output parses as a finite double.
//   boolean, null.
// Whitespace: after every token, `space ::= | " " | "\n" [ \t]{0,20}` — pretty printing is
// possible, a run of whitespace is bounded. Strings: no raw control characters or DEL; \u
// escapes never name a lone surrogate (io/json.hpp refuses them).
#pragma once

#include <cmath>
#include <cstdarg>
#include <deque>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "../core/status.hpp"
#include "../io/json.hpp"
#include "grammar.hpp"

namespace smolvlm {

struct json_schema_options {
    bool strict_objects = false;  // additionalProperties absent = false instead of true
};

result<std::string> json_schema_to_gbnf(const json_value& schema, const json_schema_options& opt = {});
result<std::string> json_schema_to_gbnf(std::string_view schema_json, const json_schema_options& opt = {});
result<grammar> grammar_from_json_schema(std::string_view schema_json, const json_schema_options& opt = {});
result<grammar> grammar_from_json_schema(const json_value& schema, const json_schema_options& opt = {});

// Any JSON value (the CLI's --json): the same rules the schema converter uses.
std::string json_any_value_gbnf();
result<grammar> json_any_value_grammar();

namespace detail {

// The building blocks, by name. Every schema grammar pulls in the ones it uses.
struct json_primitive {
    const char* name;
    const char* body;
    const char* deps;  // space-separated
};

inline const json_primitive* json_primitives() {
    static const json_primitive table[] = {
        {"space", R"(| " " | "\n" [ \t]{0,20})", ""},
        {"value", "object | array | string | number | boolean | null",
         "object array string number boolean null"},
        {"object", R"("{" space ( string ":" space value ( "," space string ":" space value )* )? "}" space)",
         "space string value"},
        {"array", R"("[" space ( value ( "," space value )* )? "]" space)", "space value"},
        {"string", R"("\"" char* "\"" space)", "char space"},
        {"char", R"([^"\\\x00-\x1F\x7F] | "\\" ( ["\\/bfnrt] | "u" esc-bmp | "u" [dD] [89abAB] hex hex "\\u" [dD] [c-fC-F] hex hex ))",
         "esc-bmp hex"},
        {"esc-bmp", "[0-9a-cA-CeEfF] hex hex hex | [dD] [0-7] hex hex", "hex"},
        {"hex", "[0-9a-fA-F]", ""},
        {"number", R"("-"? integral ( "." [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,2} )? space)", "integral space"},
        {"integer", R"("-"? integral space)", "integral space"},
        {"integral", R"("0" | [1-9] [0-9]{0,15})", ""},
        {"boolean", R"(( "true" | "false" ) space)", "space"},
        {"null", R"("null" space)", "space"},
        {"date", R"([0-9]{4} "-" ( "0" [1-9] | "1" [0-2] ) "-" ( "0" [1-9] | [12] [0-9] | "3" [01] ))", ""},
        {"time",
         R"(( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ":" [0-5] [0-9] ( "." [0-9]{1,6} )? ( "Z" | [+-] ( [01] [0-9] | "2" [0-3] ) ":" [0-5] [0-9] ))",
         ""},
        {"date-time", R"(date "T" time)", "date time"},
        {"uuid", R"(hex{8} "-" hex{4} "-" hex{4} "-" hex{4} "-" hex{12})", "hex"},
        {nullptr, nullptr, nullptr},
    };
    return table;
}

// Decimal digits of v.
inline int count_digits(std::uint64_t v) {
    int n = 1;
    while (v >= 10) {
        v /= 10;
        ++n;
    }
    return n;
}

inline std::uint64_t pow10_u64(int n) {
    std::uint64_t p = 1;
    for (int k = 0; k < n; ++k) p *= 10;
    return p;
}

// Alternatives (GBNF sequences) for the digit strings of equal length in [x, y].
inline void digit_range_same_len(const std::string& x, const std::string& y, const std::string& prefix,
                                 std::vector<std::string>& out) {
    if (x == y) {
        out.push_back(prefix + (x.empty() ? std::string() : " \"" + x + "\""));
        return;
    }
    std::size_t k = 0;
    while (x[k] == y[k]) ++k;
    const std::string p = k ? prefix + " \"" + x.substr(0, k) + "\"" : prefix;
    const std::string xs = x.substr(k + 1), ys = y.substr(k + 1);
    const std::size_t rest = xs.size();
    const bool x_min = xs.find_first_not_of('0') == std::string::npos;
    const bool y_max = ys.find_first_not_of('9') == std::string::npos;
    const char lo_d = char(x[k] + (x_min ? 0 : 1));
    const char hi_d = char(y[k] - (y_max ? 0 : 1));
    if (!x_min) digit_range_same_len(xs, std::string(rest, '9'), p + " \"" + x[k] + "\"", out);
    if (lo_d <= hi_d) {
        std::string s = p + " ";
        if (lo_d == hi_d)
            s += std::string("\"") + lo_d + "\"";
        else
            s += std::string("[") + lo_d + "-" + hi_d + "]";
        if (rest) s += " [0-9]{" + std::to_string(rest) + "}";
        out.push_back(s);
    }
    if (!y_max) digit_range_same_len(std::string(rest, '0'), ys, p + " \"" + y[k] + "\"", out);
}

// Alternatives for the non-negative integers in [a, b], written without leading zeros.
inline void digit_range(std::uint64_t a, std::uint64_t b, std::vector<std::string>& out) {
    for (int len = count_digits(a); len <= count_digits(b); ++len) {
        const std::uint64_t first = len == 1 ? 0 : pow10_u64(len - 1);
        const std::uint64_t last = len >= 20 ? ~std::uint64_t(0) : pow10_u64(len) - 1;
        const std::uint64_t lo = std::max(a, first), hi = std::min(b, last);
        if (lo <= hi) digit_range_same_len(std::to_string(lo), std::to_string(hi), "", out);
    }
}

inline std::string join_alternatives(const std::vector<std::string>& alts) {
    if (alts.size() == 1) return alts[0];
    std::string s = "(";
    for (std::size_t k = 0; k < alts.size(); ++k) {
        if (k) s += " |";
        s += alts[k];
    }
    s += " )";
    return s;
}

// GBNF for the integers in [lo, hi] (lo <= hi): no leading zeros, no "-0".
inline std::string integer_range_gbnf(std::int64_t lo, std::int64_t hi) {
    std::vector<std::string> alts;
    if (lo < 0) {  // "-" then magnitudes [max(1, -hi), -lo]
        const std::uint64_t mag_lo = hi < 0 ? std::uint64_t(-(hi + 1)) + 1 : 1;
        const std::uint64_t mag_hi = std::uint64_t(-(lo + 1)) + 1;
        std::vector<std::string> neg;
        digit_range(mag_lo, mag_hi, neg);
        alts.push_back(" \"-\" " + join_alternatives(neg));
    }
    if (hi >= 0) digit_range(std::uint64_t(std::max<std::int64_t>(lo, 0)), std::uint64_t(hi), alts);
    return join_alternatives(alts);
}

// ---- regex subset -> GBNF for the JSON-encoded string content ------------------------------

class regex_converter {
public:
    explicit regex_converter(std::string_view p) : p_(p) {}

    // An expression over JSON string characters (between the quotes). `any_char` names
    // the rule for one character of any kind (used where the pattern is not anchored).
    result<std::string> run(const std::string& any_char) {
        std::vector<std::string> branches;
        for (;;) {
            bool start_anchor = false;
            if (at('^')) {
                start_anchor = true;
                ++i_;
            }
            std::string seq;
            bool end_anchor = false;
            SMOLVLM_TRY(parse_seq(seq, true, &end_anchor));
            std::string b;
            if (!start_anchor) b += " " + any_char + "*";
            b += seq;
            if (!end_anchor) b += " " + any_char + "*";
            branches.push_back(b);
            if (at('|')) {
                ++i_;
                continue;
            }
            if (i_ < p_.size()) return error("unmatched ')'");
            break;
        }
        return join_alternatives(branches);
    }

    // Code point sets as GBNF over JSON string characters: raw where JSON allows it,
    // escaped for '"', '\' and control characters.
    static result<std::string> encode_set(std::vector<cp_range> s) {
        normalize_ranges(s);
        if (s.empty()) return status(errc::unsupported, "pattern: a character class matches nothing");
        std::vector<std::string> alts;
        std::vector<cp_range> raw;
        bool quote = false, backslash = false;
        std::vector<std::uint32_t> controls;
        for (const cp_range& r : s) {
            for (std::uint32_t c = r.lo; c <= r.hi && c < 0x20; ++c) controls.push_back(c);
            if (r.lo <= '"' && '"' <= r.hi) quote = true;
            if (r.lo <= '\\' && '\\' <= r.hi) backslash = true;
            // raw part: r minus [0, 0x1f], '"', '\'
            std::uint32_t lo = std::max<std::uint32_t>(r.lo, 0x20);
            const std::uint32_t hi = r.hi;
            while (lo <= hi) {
                std::uint32_t end = hi;
                if (lo <= '"' && '"' <= end) end = '"' - 1;
                if (lo <= '\\' && '\\' <= end) end = std::min<std::uint32_t>(end, '\\' - 1);
                if (lo == '"' || lo == '\\') {
                    ++lo;
                    continue;
                }
                raw.push_back({lo, end});
                lo = end + 1;
            }
        }
        if (!raw.empty()) {
            if (raw.size() == 1 && raw[0].lo == raw[0].hi) {
                std::string lit = "\"";
                gbnf_append_char(lit, raw[0].lo, false);
                alts.push_back(lit + "\"");
            } else {
                alts.push_back(gbnf_class(raw.data(), raw.data() + raw.size()));
            }
        }
        if (quote) alts.push_back(R"("\\\"")");
        if (backslash) alts.push_back(R"("\\\\")");
        // Control characters: their short escapes, and \u00XX.
        std::string short_forms;
        for (std::uint32_t c : controls) {
            const char* f = c == '\b' ? "b" : c == '\f' ? "f" : c == '\n' ? "n" : c == '\r' ? "r" : c == '\t' ? "t" : "";
            short_forms += f;
        }
        if (short_forms.size() == 1) alts.push_back(std::string(R"("\\)") + short_forms + "\"");
        if (short_forms.size() > 1) alts.push_back(R"("\\" [)" + short_forms + "]");
        if (controls.size() == 32) {
            alts.push_back(R"("\\u00" [01] [0-9a-fA-F])");
        } else {
            for (std::uint32_t c : controls) {
                static const char* hex_lo = "0123456789abcdef";
                static const char* hex_up = "0123456789ABCDEF";
                std::string a = std::string(R"("\\u00)") + hex_lo[c >> 4] + "\" ";
                const char d = hex_lo[c & 15], u = hex_up[c & 15];
                a += d == u ? std::string("\"") + d + "\"" : std::string("[") + d + u + "]";
                alts.push_back(a);
            }
        }
        if (alts.size() == 1) return alts[0];
        std::string out = "(";
        for (std::size_t k = 0; k < alts.size(); ++k) {
            if (k) out += " |";
            out += " " + alts[k];
        }
        return out + " )";
    }

private:
    status error(const char* what) const {
        return status::fmt(errc::unsupported, "pattern: %s at offset %zu of \"%.*s\"", what, i_, int(std::min<std::size_t>(p_.size(), 80)),
                           p_.data());
    }
    bool at(char c) const { return i_ < p_.size() && p_[i_] == c; }

    static void add_class_escape(char e, std::vector<cp_range>& s) {
        std::vector<cp_range> base;
        const char lower = char(e | 0x20);
        if (lower == 'd') {
            base = {{'0', '9'}};
        } else if (lower == 'w') {
            base = {{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}};
        } else {  // s: ECMAScript white space and line terminators
            base = {{'\t', '\r'}, {' ', ' '}, {0xa0, 0xa0}, {0x1680, 0x1680}, {0x2000, 0x200a}, {0x2028, 0x2029},
                    {0x202f, 0x202f}, {0x205f, 0x205f}, {0x3000, 0x3000}, {0xfeff, 0xfeff}};
        }
        normalize_ranges(base);
        if (e != lower) base = complement_ranges(base);  // \D \W \S
        s.insert(s.end(), base.begin(), base.end());
    }

    status parse_hex(int digits, std::uint32_t* v) {
        *v = 0;
        for (int k = 0; k < digits; ++k) {
            if (i_ >= p_.size()) return error("truncated escape");
            const char h = p_[i_];
            std::uint32_t d;
            if (h >= '0' && h <= '9') d = std::uint32_t(h - '0');
            else if (h >= 'a' && h <= 'f') d = std::uint32_t(h - 'a' + 10);
            else if (h >= 'A' && h <= 'F') d = std::uint32_t(h - 'A' + 10);
            else return error("bad hex digit in escape");
            *v = (*v << 4) | d;
            ++i_;
        }
        return status::ok();
    }

    // After a backslash: a set (\d ...) or one code point. in_class: \b is backspace.
    status parse_escape(std::vector<cp_range>& s, bool in_class) {
        if (i_ >= p_.size()) return error("pattern ends with a backslash");
        const char e = p_[i_++];
        std::uint32_t cp;
        switch (e) {
            case 'd': case 'D': case 'w': case 'W': case 's': case 'S': add_class_escape(e, s); return status::ok();
            case 'n': cp = '\n'; break;
            case 'r': cp = '\r'; break;
            case 't': cp = '\t'; break;
            case 'f': cp = '\f'; break;
            case 'v': cp = '\v'; break;
            case '0': cp = 0; break;
            case 'b':
                if (!in_class) return error("\\b (word boundary) is not supported");
                cp = 8;
                break;
            case 'B': return error("\\B (word boundary) is not supported");
            case 'x': SMOLVLM_TRY(parse_hex(2, &cp)); break;
            case 'u':
                if (at('{')) {
                    ++i_;
                    cp = 0;
                    std::size_t n = 0;
                    while (i_ < p_.size() && p_[i_] != '}' && n < 7) {
                        std::uint32_t d;
                        SMOLVLM_TRY(parse_hex(1, &d));
                        cp = (cp << 4) | d;
                        ++n;
                    }
                    if (!at('}') || n == 0) return error("bad \\u{...} escape");
                    ++i_;
                } else {
                    SMOLVLM_TRY(parse_hex(4, &cp));
                    if (cp >= 0xd800 && cp <= 0xdbff && i_ + 1 < p_.size() && p_[i_] == '\\' && p_[i_ + 1] == 'u') {
                        const std::size_t save = i_;
                        i_ += 2;
                        std::uint32_t lo;
                        if (parse_hex(4, &lo).is_ok() && lo >= 0xdc00 && lo <= 0xdfff)
                            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        else
                            i_ = save;
                    }
                }
                if (cp > k_max_code_point) return error("code point beyond U+10FFFF");
                break;
            case 'c': return error("\\c control escapes are not supported");
            case 'k': return error("named backreferences are not supported");
            case 'p': case 'P': return error("\\p{...} Unicode properties are not supported");
            default:
                if (e >= '1' && e <= '9') return error("backreferences are not supported");
                if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z')) return error("unknown escape");
                cp = std::uint32_t(static_cast<unsigned char>(e));
                if (cp >= 0x80) {  // an escaped non-ASCII character: take the whole code point
                    --i_;
                    SMOLVLM_TRY(next_cp(&cp));
                }
                break;
        }
        s.push_back({cp, cp});
        return status::ok();
    }

    status next_cp(std::uint32_t* cp) {
        const int len = utf8_sequence_length(reinterpret_cast<const unsigned char*>(p_.data()), i_, p_.size(), cp);
        if (len == 0) return error("invalid UTF-8");
        i_ += std::size_t(len);
        return status::ok();
    }

    status parse_class(std::vector<cp_range>& out) {
        ++i_;  // '['
        bool negated = false;
        if (at('^')) {
            negated = true;
            ++i_;
        }
        std::vector<cp_range> s;
        bool first = true;
        for (;;) {
            if (i_ >= p_.size()) return error("unterminated character class");
            if (p_[i_] == ']' && !first) {
                ++i_;
                break;
            }
            if (p_[i_] == ']' && first) {  // ECMAScript: [] matches nothing, [^] anything
                ++i_;
                break;
            }
            first = false;
            std::vector<cp_range> item;
            if (p_[i_] == '\\') {
                ++i_;
                SMOLVLM_TRY(parse_escape(item, true));
            } else {
                std::uint32_t cp = 0;
                SMOLVLM_TRY(next_cp(&cp));
                item.push_back({cp, cp});
            }
            // a range a-b (only between two single characters)
            if (item.size() == 1 && item[0].lo == item[0].hi && at('-') && i_ + 1 < p_.size() && p_[i_ + 1] != ']') {
                ++i_;
                std::vector<cp_range> hi_item;
                if (p_[i_] == '\\') {
                    ++i_;
                    SMOLVLM_TRY(parse_escape(hi_item, true));
                } else {
                    std::uint32_t cp = 0;
                    SMOLVLM_TRY(next_cp(&cp));
                    hi_item.push_back({cp, cp});
                }
                if (hi_item.size() != 1 || hi_item[0].lo != hi_item[0].hi) return error("class range ends in a class escape");
                if (hi_item[0].lo < item[0].lo) return error("class range out of order");
                item[0].hi = hi_item[0].lo;
            }
            s.insert(s.end(), item.begin(), item.end());
        }
        normalize_ranges(s);
        if (negated) s = complement_ranges(s);
        out = std::move(s);
        return status::ok();
    }

    // {m}, {m,}, {m,n} at i_; false (i_ unchanged) when it is not one (then '{' is literal).
    bool parse_braces(std::string& q) {
        std::size_t k = i_ + 1;
        auto number = [&](std::string& d) {
            while (k < p_.size() && p_[k] >= '0' && p_[k] <= '9' && d.size() < 6) d.push_back(p_[k++]);
        };
        std::string m, n;
        number(m);
        if (m.empty()) return false;
        bool comma = false;
        if (k < p_.size() && p_[k] == ',') {
            comma = true;
            ++k;
            number(n);
        }
        if (k >= p_.size() || p_[k] != '}') return false;
        i_ = k + 1;
        q = "{" + m + (comma ? "," + n : std::string()) + "}";
        return true;
    }

    status parse_seq(std::string& out, bool top, bool* end_anchor) {
        for (;;) {
            if (i_ >= p_.size()) return status::ok();
            const char c = p_[i_];
            if (c == '|' || c == ')') return status::ok();
            if (c == '$') {
                ++i_;
                if (top && (i_ == p_.size() || p_[i_] == '|')) {
                    *end_anchor = true;
                    return status::ok();
                }
                --i_;
                return error("'$' is only supported at the end of the pattern or of a top-level branch");
            }
            if (c == '^') return error("'^' is only supported at the start of the pattern or of a top-level branch");
            std::string atom;
            if (c == '(') {
                ++i_;
                if (at('?')) {
                    if (i_ + 1 < p_.size() && p_[i_ + 1] == ':') {
                        i_ += 2;
                    } else if (i_ + 2 < p_.size() && p_[i_ + 1] == '<' && p_[i_ + 2] != '=' && p_[i_ + 2] != '!') {
                        const std::size_t close = p_.find('>', i_);
                        if (close == std::string_view::npos) return error("unterminated group name");
                        i_ = close + 1;
                    } else if (i_ + 1 < p_.size() && p_[i_ + 1] == 'P' && i_ + 2 < p_.size() && p_[i_ + 2] == '<') {
                        const std::size_t close = p_.find('>', i_);
                        if (close == std::string_view::npos) return error("unterminated group name");
                        i_ = close + 1;
                    } else {
                        return error("lookaround and inline flags are not supported");
                    }
                }
                std::vector<std::string> alts;
                for (;;) {
                    std::string s;
                    bool dummy = false;
                    SMOLVLM_TRY(parse_seq(s, false, &dummy));
                    alts.push_back(s);
                    if (at('|')) {
                        ++i_;
                        continue;
                    }
                    break;
                }
                if (!at(')')) return error("unclosed '('");
                ++i_;
                atom = "(";
                for (std::size_t k = 0; k < alts.size(); ++k) {
                    if (k) atom += " |";
                    atom += alts[k];
                }
                atom += " )";
            } else if (c == '[') {
                std::vector<cp_range> s;
                SMOLVLM_TRY(parse_class(s));
                auto e = encode_set(std::move(s));
                if (!e) return e.error();
                atom = e.value();
            } else if (c == '.') {
                ++i_;
                auto e = encode_set(complement_ranges({{'\n', '\n'}, {'\r', '\r'}, {0x2028, 0x2029}}));
                if (!e) return e.error();
                atom = e.value();
            } else if (c == '\\') {
                ++i_;
                std::vector<cp_range> s;
                SMOLVLM_TRY(parse_escape(s, false));
                auto e = encode_set(std::move(s));
                if (!e) return e.error();
                atom = e.value();
            } else if (c == '*' || c == '+' || c == '?') {
                return error("nothing to repeat");
            } else {
                std::uint32_t cp;
                if (c == '{') {
                    std::string q;
                    const std::size_t save = i_;
                    if (parse_braces(q)) {
                        i_ = save;
                        return error("nothing to repeat");
                    }
                }
                SMOLVLM_TRY(next_cp(&cp));
                auto e = encode_set({{cp, cp}});
                if (!e) return e.error();
                atom = e.value();
            }
            // quantifier
            std::string q;
            if (at('*') || at('+') || at('?')) {
                q = std::string(1, p_[i_]);
                ++i_;
            } else if (at('{')) {
                parse_braces(q);
            }
            if (!q.empty()) {
                if (at('?')) ++i_;  // lazy: same language
                else if (at('+')) return error("possessive quantifiers are not supported");
                if (at('*') || at('+') || at('{')) {
                    std::string q2;
                    const std::size_t save = i_;
                    if (at('{') && !parse_braces(q2)) {
                        i_ = save;
                    } else {
                        i_ = save;
                        return error("nothing to repeat");
                    }
                }
                if (atom.front() != '(') atom = "( " + atom + " )";
                atom += q;
            }
            out += " " + atom;
        }
    }

    std::string_view p_;
    std::size_t i_ = 0;
};

class json_schema_converter {
public:
    json_schema_converter(const json_value& root, const json_schema_options& opt) : root_(root), opt_(opt) {
        for (const json_primitive* p = json_primitives(); p->name; ++p) reserved_.insert(p->name);
        reserved_.insert("root");
    }

    result<std::string> run() {
        std::string body;
        SMOLVLM_TRY(expr(root_, "root", "#", body));
        std::string out = "root ::= " + trim(body) + "\n";
        for (const auto& r : rules_) out += r.first + " ::= " + trim(r.second) + "\n";
        for (const json_primitive* p = json_primitives(); p->name; ++p)
            if (used_.count(p->name)) out += std::string(p->name) + " ::= " + p->body + "\n";
        return out;
    }

private:
    static std::string trim(const std::string& s) {
        const std::size_t b = s.find_first_not_of(' ');
        return b == std::string::npos ? std::string() : s.substr(b);
    }

    static std::string sanitize(std::string_view hint) {
        std::string out;
        for (char c : hint) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
            if (ok)
                out.push_back(c);
            else if (!out.empty() && out.back() != '-')
                out.push_back('-');
        }
        while (!out.empty() && out.back() == '-') out.pop_back();
        if (out.size() > 40) out.resize(40);
        return out.empty() ? std::string("item") : out;
    }

    // Use a building block (and the ones it needs).
    std::string prim(const char* name) {
        if (used_.insert(name).second) {
            for (const json_primitive* p = json_primitives(); p->name; ++p)
                if (std::string_view(p->name) == name) {
                    std::string deps = p->deps;
                    std::size_t k = 0;
                    while (k < deps.size()) {
                        std::size_t e = deps.find(' ', k);
                        if (e == std::string::npos) e = deps.size();
                        if (e > k) prim(deps.substr(k, e - k).c_str());
                        k = e + 1;
                    }
                }
        }
        return name;
    }

    std::string fresh_name(std::string_view hint) {
        const std::string base = sanitize(hint);
        std::string name = base;
        for (int k = 1; reserved_.count(name) || names_.count(name); ++k) name = base + "-" + std::to_string(k);
        names_.insert(name);
        return name;
    }

    // A rule for body (an identical body reuses its rule).
    std::string add_rule(std::string_view hint, const std::string& body) {
        auto it = by_body_.find(body);
        if (it != by_body_.end()) return it->second;
        const std::string name = fresh_name(hint);
        rules_.emplace_back(name, body);
        by_body_.emplace(body, name);
        return name;
    }

#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    static status fail(errc code, const std::string& path, const char* format, ...) {
        char what[180];
        va_list ap;
        va_start(ap, format);
        std::vsnprintf(what, sizeof what, format, ap);
        va_end(ap);
        return status::fmt(code, "json schema at %.60s: %s", path.c_str(), what);
    }

    // JSON pointer inside the root document.
    result<const json_value*> resolve(const std::string& ref, const std::string& path) {
        if (ref.empty() || ref[0] != '#')
            return fail(errc::unsupported, path, "$ref \"%.60s\": only local references (#/...) are supported", ref.c_str());
        const json_value* v = &root_;
        std::size_t k = 1;
        while (k < ref.size()) {
            if (ref[k] != '/') return fail(errc::unsupported, path, "$ref \"%.60s\": not a JSON pointer", ref.c_str());
            ++k;
            std::size_t e = ref.find('/', k);
            if (e == std::string::npos) e = ref.size();
            std::string tok;
            for (std::size_t j = k; j < e; ++j) {
                if (ref[j] == '~' && j + 1 < e && (ref[j + 1] == '0' || ref[j + 1] == '1')) {
                    tok.push_back(ref[j + 1] == '0' ? '~' : '/');
                    ++j;
                } else if (ref[j] == '%' && j + 2 < e) {
                    auto hexv = [](char h) {
                        return h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                    };
                    const int a = hexv(ref[j + 1]), b = hexv(ref[j + 2]);
                    if (a < 0 || b < 0) {
                        tok.push_back(ref[j]);
                    } else {
                        tok.push_back(char(a * 16 + b));
                        j += 2;
                    }
                } else {
                    tok.push_back(ref[j]);
                }
            }
            const json_value* next = nullptr;
            if (v->is_object()) {
                next = v->find(tok);
            } else if (v->is_array()) {
                std::size_t idx = 0;
                bool ok = !tok.empty();
                for (char c : tok) {
                    if (c < '0' || c > '9') ok = false;
                    idx = idx * 10 + std::size_t(c - '0');
                }
                if (ok && idx < v->size()) next = &(*v)[idx];
            }
            if (!next) return fail(errc::invalid_argument, path, "$ref \"%.60s\" points at nothing", ref.c_str());
            v = next;
            k = e;
        }
        return v;
    }

    status check_keywords(const json_value& s, const std::string& path) {
        static const char* const unsupported[] = {
            "contains", "minContains", "maxContains", "minProperties", "maxProperties", "patternProperties",
            "propertyNames", "dependentRequired", "dependentSchemas", "dependencies", "if", "then", "else", "not",
            "unevaluatedProperties", "unevaluatedItems", "$dynamicRef", "$recursiveRef", "contentSchema", nullptr};
        for (const auto& m : s.members()) {
            for (const char* const* u = unsupported; *u; ++u)
                if (m.first == *u) return fail(errc::unsupported, path, "keyword \"%s\" is not supported", *u);
            if (m.first == "uniqueItems" && m.second.is_bool() && m.second.as_bool())
                return fail(errc::unsupported, path, "\"uniqueItems\": true is not supported");
            if (m.first == "multipleOf" && !(m.second.is_number() && m.second.as_number() == 1.0 && type_is(s, "integer")))
                return fail(errc::unsupported, path, "keyword \"multipleOf\" is not supported");
        }
        return status::ok();
    }

    static bool type_is(const json_value& s, const char* t) {
        const json_value* ty = s.find("type");
        return ty && ty->is_string() && ty->as_string() == t;
    }

    // Which type a schema without "type" describes, from its keywords ("" = any value).
    static std::string implied_type(const json_value& s) {
        static const char* const obj[] = {"properties", "required", "additionalProperties", nullptr};
        static const char* const arr[] = {"items", "prefixItems", "minItems", "maxItems", "additionalItems", nullptr};
        static const char* const str[] = {"minLength", "maxLength", "pattern", "format", nullptr};
        static const char* const num[] = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", nullptr};
        for (const char* const* k = obj; *k; ++k)
            if (s.find(*k)) return "object";
        for (const char* const* k = arr; *k; ++k)
            if (s.find(*k)) return "array";
        for (const char* const* k = str; *k; ++k)
            if (s.find(*k)) return "string";
        for (const char* const* k = num; *k; ++k)
            if (s.find(*k)) return "number";
        return "";
    }

    static bool value_has_type(const json_value& v, const std::string& t) {
        if (t == "null") return v.is_null();
        if (t == "boolean") return v.is_bool();
        if (t == "string") return v.is_string();
        if (t == "array") return v.is_array();
        if (t == "object") return v.is_object();
        if (t == "number") return v.is_number();
        if (t == "integer") return v.is_number() && (v.is_integer() || std::floor(v.as_number()) == v.as_number());
        return false;
    }

    std::string literal_of(const json_value& v) {
        std::string text;
        json_write(text, v);
        return gbnf_literal(text) + " " + prim("space");
    }

    // GBNF expression for schema s (a rule name, or a short expression).
    status expr(const json_value& s, const std::string& hint, const std::string& path, std::string& out) {
        if (++depth_ > 256) return fail(errc::unsupported, path, "schema nested too deeply");
        const status st = expr_inner(s, hint, path, out);
        --depth_;
        return st;
    }

    status expr_inner(const json_value& s, const std::string& hint, const std::string& path, std::string& out) {
        if (s.is_bool()) {
            if (!s.as_bool()) return fail(errc::invalid_argument, path, "schema false matches nothing");
            out = prim("value");
            return status::ok();
        }
        if (!s.is_object()) return fail(errc::bad_format, path, "a schema must be an object or a boolean");
        SMOLVLM_TRY(check_keywords(s, path));

        if (const json_value* ref = s.find("$ref")) {
            if (!ref->is_string()) return fail(errc::bad_format, path, "$ref must be a string");
            const std::string& r = ref->as_string();
            auto it = ref_rules_.find(r);
            if (it != ref_rules_.end()) {
                out = it->second;
                return status::ok();
            }
            SMOLVLM_ASSIGN_OR_RETURN(const json_value* target, resolve(r, path));
            const std::size_t slash = r.rfind('/');
            const std::string name = fresh_name(slash == std::string::npos || slash + 1 >= r.size() ? std::string("ref") : r.substr(slash + 1));
            ref_rules_.emplace(r, name);
            const std::size_t slot = rules_.size();
            rules_.emplace_back(name, std::string());  // filled below; recursion refers to the name
            std::string body;
            SMOLVLM_TRY(expr(*target, name, r, body));
            rules_[slot].second = body;
            out = name;
            return status::ok();
        }
        if (const json_value* c = s.find("const")) {
            out = literal_of(*c);
            return status::ok();
        }
        if (const json_value* e = s.find("enum")) {
            if (!e->is_array() || e->size() == 0) return fail(errc::bad_format, path, "enum must be a non-empty array");
            std::vector<std::string> types;
            SMOLVLM_TRY(types_of(s, path, types));
            std::vector<std::string> alts;
            for (const json_value& v : e->items()) {
                bool ok = types.empty();
                for (const auto& t : types) ok = ok || value_has_type(v, t);
                if (ok) alts.push_back(" " + literal_of(v));
            }
            if (alts.empty()) return fail(errc::invalid_argument, path, "no enum value has the schema's type");
            out = add_rule(hint, join_alternatives(alts));
            return status::ok();
        }
        const json_value* any = s.find("anyOf");
        if (!any) any = s.find("oneOf");
        if (any) {
            if (!any->is_array() || any->size() == 0) return fail(errc::bad_format, path, "anyOf / oneOf must be a non-empty array");
            std::vector<std::string> alts;
            for (std::size_t k = 0; k < any->size(); ++k) {
                std::string a;
                SMOLVLM_TRY(expr((*any)[k], hint + "-" + std::to_string(k), path + "/anyOf/" + std::to_string(k), a));
                alts.push_back(" " + a);
            }
            out = add_rule(hint, join_alternatives(alts));
            return status::ok();
        }
        if (const json_value* all = s.find("allOf")) return all_of(s, *all, hint, path, out);

        std::vector<std::string> types;
        SMOLVLM_TRY(types_of(s, path, types));
        if (types.empty()) {
            const std::string t = implied_type(s);
            if (t.empty()) {
                out = prim("value");
                return status::ok();
            }
            types.push_back(t);
        }
        std::vector<std::string> alts;
        for (const auto& t : types) {
            std::string a;
            SMOLVLM_TRY(typed(s, t, types.size() > 1 ? hint + "-" + t : hint, path, a));
            alts.push_back(" " + a);
        }
        out = alts.size() == 1 ? trim(alts[0]) : add_rule(hint, join_alternatives(alts));
        return status::ok();
    }

    status types_of(const json_value& s, const std::string& path, std::vector<std::string>& types) {
        const json_value* t = s.find("type");
        if (!t) return status::ok();
        auto known = [](const std::string& n) {
            return n == "object" || n == "array" || n == "string" || n == "number" || n == "integer" || n == "boolean" ||
                   n == "null";
        };
        if (t->is_string()) {
            if (!known(t->as_string())) return fail(errc::bad_format, path, "unknown type \"%.40s\"", t->as_string().c_str());
            types.push_back(t->as_string());
            return status::ok();
        }
        if (!t->is_array() || t->size() == 0) return fail(errc::bad_format, path, "type must be a string or a non-empty array");
        for (const auto& v : t->items()) {
            if (!v.is_string() || !known(v.as_string())) return fail(errc::bad_format, path, "bad entry in type");
            types.push_back(v.as_string());
        }
        return status::ok();
    }

    status all_of(const json_value& s, const json_value& all, const std::string& hint, const std::string& path,
                  std::string& out) {
        if (!all.is_array() || all.size() == 0) return fail(errc::bad_format, path, "allOf must be a non-empty array");
        // The other keywords next to allOf count as one more component.
        json_value rest = json_value::make_object();
        for (const auto& m : s.members())
            if (m.first != "allOf") rest.members_mut().push_back(m);
        std::vector<const json_value*> parts;
        for (const auto& p : all.items()) parts.push_back(&p);
        if (!rest.members().empty()) parts.push_back(&rest);
        if (parts.size() == 1) return expr(*parts[0], hint, path + "/allOf/0", out);
        // Several: merge object schemas (properties, required).
        json_value merged = json_value::make_object();
        json_value props = json_value::make_object();
        json_value req = json_value::make_array();
        for (const json_value* p : parts) {
            const json_value* q = p;
            for (int hops = 0; q->is_object() && q->find("$ref") && hops < 32; ++hops) {
                SMOLVLM_ASSIGN_OR_RETURN(q, resolve(q->find("$ref")->as_string(), path));
            }
            if (!q->is_object()) return fail(errc::unsupported, path, "allOf of non-object schemas is not supported");
            for (const auto& m : q->members()) {
                if (m.first == "properties" && m.second.is_object()) {
                    for (const auto& pm : m.second.members()) {
                        if (props.find(pm.first))
                            return fail(errc::unsupported, path, "allOf: property \"%.40s\" appears twice", pm.first.c_str());
                        props.members_mut().push_back(pm);
                    }
                } else if (m.first == "required" && m.second.is_array()) {
                    for (const auto& r : m.second.items()) req.items_mut().push_back(r);
                } else if (m.first == "type") {
                    if (!(m.second.is_string() && m.second.as_string() == "object"))
                        return fail(errc::unsupported, path, "allOf of non-object schemas is not supported");
                } else if (m.first == "additionalProperties") {
                    if (!(m.second.is_bool() && m.second.as_bool()))
                        return fail(errc::unsupported, path, "allOf with additionalProperties is not supported");
                } else if (m.first == "allOf" || m.first == "anyOf" || m.first == "oneOf" || m.first == "$defs" ||
                           m.first == "definitions") {
                    if (m.first != "$defs" && m.first != "definitions")
                        return fail(errc::unsupported, path, "nested %s inside allOf is not supported", m.first.c_str());
                } else if (m.first == "title" || m.first == "description" || m.first == "$comment" || m.first == "$schema" ||
                           m.first == "$id" || m.first == "default" || m.first == "examples") {
                } else {
                    return fail(errc::unsupported, path, "allOf: keyword \"%.40s\" cannot be merged", m.first.c_str());
                }
            }
        }
        merged.members_mut().push_back({"type", json_value::make_string("object")});
        merged.members_mut().push_back({"properties", std::move(props)});
        merged.members_mut().push_back({"required", std::move(req)});
        merged_.push_back(std::move(merged));  // keep alive: rules may point into it by path only
        return typed(merged_.back(), "object", hint, path, out);
    }

    status typed(const json_value& s, const std::string& t, const std::string& hint, const std::string& path,
                 std::string& out) {
        if (t == "null") {
            out = prim("null");
        } else if (t == "boolean") {
            out = prim("boolean");
        } else if (t == "string") {
            return string_type(s, hint, path, out);
        } else if (t == "integer") {
            return integer_type(s, hint, path, out);
        } else if (t == "number") {
            return number_type(s, hint, path, out);
        } else if (t == "array") {
            return array_type(s, hint, path, out);
        } else {
            return object_type(s, hint, path, out);
        }
        return status::ok();
    }

    static status get_count(const json_value& s, const char* key, const std::string& path, std::uint64_t* v, bool* present) {
        *present = false;
        const json_value* x = s.find(key);
        if (!x) return status::ok();
        if (!x->is_number() || x->as_number() < 0 || std::floor(x->as_number()) != x->as_number())
            return fail(errc::bad_format, path, "%s must be a non-negative integer", key);
        *present = true;
        *v = x->as_number() > 1e9 ? std::uint64_t(1e9) : std::uint64_t(x->as_number());
        return status::ok();
    }

    status string_type(const json_value& s, const std::string& hint, const std::string& path, std::string& out) {
        std::uint64_t min_len = 0, max_len = 0;
        bool has_min, has_max;
        SMOLVLM_TRY(get_count(s, "minLength", path, &min_len, &has_min));
        SMOLVLM_TRY(get_count(s, "maxLength", path, &max_len, &has_max));
        if (has_max && max_len < min_len) return fail(errc::invalid_argument, path, "maxLength is below minLength");
        if ((has_min && min_len > 100000) || (has_max && max_len > 100000))
            return fail(errc::unsupported, path, "string lengths above 100000 are not supported");
        const json_value* pat = s.find("pattern");
        const json_value* fmt = s.find("format");
        const char* fmt_rule = nullptr;
        if (fmt && fmt->is_string()) {
            const std::string& f = fmt->as_string();
            if (f == "date" || f == "time" || f == "date-time" || f == "uuid") fmt_rule = f.c_str();
        }
        if (pat) {
            if (!pat->is_string()) return fail(errc::bad_format, path, "pattern must be a string");
            if (has_min || has_max) return fail(errc::unsupported, path, "pattern together with minLength / maxLength is not supported");
            if (fmt_rule) return fail(errc::unsupported, path, "pattern together with format is not supported");
            regex_converter rc(pat->as_string());
            auto body = rc.run(prim("char"));
            if (!body) {
                status e = body.error();
                return fail(e.code(), path, "%s", e.message());
            }
            out = add_rule(hint, R"("\"")" + body.value() + R"( "\"" )" + prim("space"));
            return status::ok();
        }
        if (fmt_rule) {
            if (has_min || has_max) return fail(errc::unsupported, path, "format together with minLength / maxLength is not supported");
            out = add_rule(std::string(fmt_rule) + "-string", R"("\"" )" + prim(fmt_rule) + R"( "\"" )" + prim("space"));
            return status::ok();
        }
        if (!has_min && !has_max) {
            out = prim("string");
            return status::ok();
        }
        std::string rep = "{" + std::to_string(min_len) + "," + (has_max ? std::to_string(max_len) : std::string()) + "}";
        if (has_max && max_len == min_len) rep = "{" + std::to_string(min_len) + "}";
        out = add_rule(hint, R"("\"" )" + prim("char") + rep + R"( "\"" )" + prim("space"));
        return status::ok();
    }

    // Integer bounds from minimum / maximum / exclusive*, clamped to int64.
    status integer_bounds(const json_value& s, const std::string& path, bool* has_lo, std::int64_t* lo, bool* has_hi,
                          std::int64_t* hi) {
        double dlo = -1e300, dhi = 1e300;
        *has_lo = *has_hi = false;
        auto num = [&](const char* key, double* v) -> status {
            const json_value* x = s.find(key);
            if (!x) return status::ok();
            if (x->is_bool()) return status::ok();  // draft-4 exclusive flags: handled below
            if (!x->is_number()) return fail(errc::bad_format, path, "%s must be a number", key);
            *v = x->as_number();
            return status::ok();
        };
        double mn = NAN, mx = NAN, xmn = NAN, xmx = NAN;
        SMOLVLM_TRY(num("minimum", &mn));
        SMOLVLM_TRY(num("maximum", &mx));
        SMOLVLM_TRY(num("exclusiveMinimum", &xmn));
        SMOLVLM_TRY(num("exclusiveMaximum", &xmx));
        const json_value* bx = s.find("exclusiveMinimum");
        const json_value* by = s.find("exclusiveMaximum");
        if (!std::isnan(mn)) dlo = (bx && bx->is_bool() && bx->as_bool()) ? std::floor(mn) + 1 : std::ceil(mn);
        if (!std::isnan(xmn)) dlo = std::max(dlo, std::floor(xmn) + 1);
        if (!std::isnan(mx)) dhi = (by && by->is_bool() && by->as_bool()) ? std::ceil(mx) - 1 : std::floor(mx);
        if (!std::isnan(xmx)) dhi = std::min(dhi, std::ceil(xmx) - 1);
        // Exact int64 values when the schema wrote integers that fit.
        auto exact = [&](const char* key, std::int64_t* v) {
            const json_value* x = s.find(key);
            if (x && x->is_integer()) *v = x->as_int();
            return x && x->is_integer();
        };
        const double lim = 9.2e18;
        if (dlo > -1e300) {
            *has_lo = true;
            *lo = dlo < -lim ? INT64_MIN : dlo > lim ? INT64_MAX : std::int64_t(dlo);
            std::int64_t e;
            if (std::isnan(xmn) && !(bx && bx->is_bool() && bx->as_bool()) && exact("minimum", &e)) *lo = e;
        }
        if (dhi < 1e300) {
            *has_hi = true;
            *hi = dhi > lim ? INT64_MAX : dhi < -lim ? INT64_MIN : std::int64_t(dhi);
            std::int64_t e;
            if (std::isnan(xmx) && !(by && by->is_bool() && by->as_bool()) && exact("maximum", &e)) *hi = e;
        }
        return status::ok();
    }

    status integer_type(const json_value& s, const std::string& hint, const std::string& path, std::string& out) {
        bool has_lo, has_hi;
        std::int64_t lo = 0, hi = 0;
        SMOLVLM_TRY(integer_bounds(s, path, &has_lo, &lo, &has_hi, &hi));
        if (!has_lo && !has_hi) {
            out = prim("integer");
            return status::ok();
        }
        const std::int64_t k16 = 9999999999999999;  // the unbounded side: 16 digits
        if (!has_lo) lo = std::min(-k16, hi);
        if (!has_hi) hi = std::max(k16, lo);
        if (lo > hi)
            return fail(errc::invalid_argument, path, "no integer lies in [%lld, %lld]", (long long)lo, (long long)hi);
        out = add_rule(hint, integer_range_gbnf(lo, hi) + " " + prim("space"));
        return status::ok();
    }

    status number_type(const json_value& s, const std::string& hint, const std::string& path, std::string& out) {
        const json_value* mn = s.find("minimum");
        const json_value* mx = s.find("maximum");
        if (s.find("exclusiveMinimum") || s.find("exclusiveMaximum"))
            return fail(errc::unsupported, path, "exclusiveMinimum / exclusiveMaximum on numbers are not supported (integers are)");
        if (!mn && !mx) {
            out = prim("number");
            return status::ok();
        }
        auto integral = [](const json_value* v) {
            return v->is_number() && std::floor(v->as_number()) == v->as_number() && std::fabs(v->as_number()) < 1e15;
        };
        if ((mn && !integral(mn)) || (mx && !integral(mx)))
            return fail(errc::unsupported, path, "number bounds must be integers below 1e15 (fractional bounds are not supported)");
        const bool has_lo = mn != nullptr, has_hi = mx != nullptr;
        const std::int64_t lo = has_lo ? std::int64_t(mn->as_number()) : 0;
        const std::int64_t hi = has_hi ? std::int64_t(mx->as_number()) : 0;
        if (has_lo && has_hi && lo > hi) return fail(errc::invalid_argument, path, "minimum is above maximum");
        const std::uint64_t k16 = 9999999999999999ull;
        const std::string frac_any = R"(( "." [0-9]{1,16} )?)";
        const std::string frac_zero = R"(( "." "0"{1,16} )?)";
        // Magnitudes [a, b] (b = k16 and open when unbounded): [a, b-1] with any fraction, b exactly.
        auto part = [&](std::uint64_t a, std::uint64_t b, bool open) {
            std::vector<std::string> alts;
            if (open) {
                std::vector<std::string> d;
                digit_range(a, k16, d);
                alts.push_back(" " + join_alternatives(d) + " " + frac_any);
            } else {
                if (b > a) {
                    std::vector<std::string> d;
                    digit_range(a, b - 1, d);
                    alts.push_back(" " + join_alternatives(d) + " " + frac_any);
                }
                alts.push_back(" \"" + std::to_string(b) + "\" " + frac_zero);
            }
            return join_alternatives(alts);
        };
        std::vector<std::string> alts;
        if (!has_lo || lo < 0) {  // x = -y, y in [max(-hi, 0), -lo]
            const std::uint64_t c = has_hi && hi < 0 ? std::uint64_t(-hi) : 0;
            alts.push_back(R"( "-" )" + part(c, has_lo ? std::uint64_t(-lo) : 0, !has_lo));
        }
        if (!has_hi || hi >= 0) {
            const std::uint64_t a = has_lo && lo > 0 ? std::uint64_t(lo) : 0;
            alts.push_back(" " + part(a, has_hi ? std::uint64_t(hi) : 0, !has_hi));
        }
        out = add_rule(hint, join_alternatives(alts) + " " + prim("space"));
        return status::ok();
    }

    status array_type(const json_value& s, const std::string& hint, const std::string& path, std::string& out) {
        std::uint64_t min_items = 0, max_items = 0;
        bool has_min, has_max;
        SMOLVLM_TRY(get_count(s, "minItems", path, &min_items, &has_min));
        SMOLVLM_TRY(get_count(s, "maxItems", path, &max_items, &has_max));
        if (has_max && max_items < min_items) return fail(errc::invalid_argument, path, "maxItems is below minItems");
        if (min_items > 10000 || (has_max && max_items > 10000))
            return fail(errc::unsupported, path, "item counts above 10000 are not supported");
        // Tuple part (prefixItems, or a draft-7 items array) and the schema of the rest.
        std::vector<std::string> tuple;
        const json_value* items = s.find("items");
        const json_value* prefix = s.find("prefixItems");
        const json_value* rest = items;
        bool rest_allowed = true;
        if (items && items->is_array()) {
            prefix = items;
            rest = s.find("additionalItems");
        }
        if (prefix) {
            if (!prefix->is_array()) return fail(errc::bad_format, path, "prefixItems must be an array");
            for (std::size_t k = 0; k < prefix->size(); ++k) {
                std::string e;
                SMOLVLM_TRY(expr((*prefix)[k], hint + "-" + std::to_string(k), path + "/prefixItems/" + std::to_string(k), e));
                tuple.push_back(e);
            }
        }
        std::string rest_expr;
        if (rest && rest->is_bool() && !rest->as_bool()) {
            rest_allowed = false;
        } else if (rest) {
            SMOLVLM_TRY(expr(*rest, hint + "-item", path + "/items", rest_expr));
        } else {
            rest_expr = prim("value");
        }
        const std::string comma = R"("," )" + prim("space") + " ";
        const std::uint64_t k = tuple.size();
        if (!rest_allowed) {
            if (min_items > k) return fail(errc::invalid_argument, path, "minItems is above the number of allowed items");
            if (!has_max || max_items > k) {
                has_max = true;
                max_items = k;
            }
        }
        // seq(j): items j.. (0-based), j > 0 means a comma comes first.
        std::string body;
        std::vector<std::string> closers;
        for (std::uint64_t j = 0; j < k && (!has_max || j < max_items); ++j) {
            std::string piece = (j ? comma : std::string()) + tuple[j];
            if (j >= min_items) {
                body += " (" + piece;
                closers.push_back(" )?");
            } else {
                body += " " + piece;
            }
        }
        if (rest_allowed && (!has_max || max_items > k)) {
            const std::uint64_t lo = min_items > k ? min_items - k : 0;
            const std::string hi = has_max ? std::to_string(max_items - k) : std::string();
            if (k == 0) {
                // first item without a comma
                if (lo == 0) {
                    const std::string more = has_max ? "{0," + std::to_string(max_items - 1) + "}" : "*";
                    body += " ( " + rest_expr + " ( " + comma + rest_expr + " )" + more + " )?";
                } else {
                    const std::string more =
                        "{" + std::to_string(lo - 1) + "," + (has_max ? std::to_string(max_items - 1) : std::string()) + "}";
                    body += " " + rest_expr + " ( " + comma + rest_expr + " )" + more;
                }
            } else {
                body += " ( " + comma + rest_expr + " ){" + std::to_string(lo) + "," + hi + "}";
            }
        }
        for (std::size_t c = closers.size(); c-- > 0;) body += closers[c];
        out = add_rule(hint, R"("[" )" + prim("space") + body + R"( "]" )" + prim("space"));
        return status::ok();
    }

    // JSON string content that is none of `words` (plain characters only, no escapes).
    std::string key_not_in(const std::vector<std::string>& words, const std::string& hint) {
        struct node {
            std::vector<std::pair<std::uint32_t, std::size_t>> kids;
            bool word = false;
        };
        std::vector<node> trie(1);
        for (const auto& w : words) {
            std::size_t n = 0;
            const auto* u = reinterpret_cast<const unsigned char*>(w.data());
            for (std::size_t i = 0; i < w.size();) {
                std::uint32_t cp = u[i];
                int len = utf8_sequence_length(u, i, w.size(), &cp);
                if (len == 0) len = 1;
                i += std::size_t(len);
                std::size_t next = 0;
                for (const auto& kv : trie[n].kids)
                    if (kv.first == cp) next = kv.second;
                if (!next) {
                    next = trie.size();
                    trie[n].kids.push_back({cp, next});
                    trie.emplace_back();
                }
                n = next;
            }
            trie[n].word = true;
        }
        const std::string plain = add_rule("key-char", R"([^"\\\x00-\x1F\x7F])");
        // Rules bottom-up: N(t) = (ε if t is not a word) | [plain - kids] plain* | kid N(kid) ...
        std::vector<std::string> name(trie.size());
        for (std::size_t t = trie.size(); t-- > 0;) {
            std::vector<std::string> alts;
            if (!trie[t].word) alts.push_back("");
            std::vector<cp_range> kids;
            for (const auto& kv : trie[t].kids) kids.push_back({kv.first, kv.first});
            kids.push_back({'"', '"'});
            kids.push_back({'\\', '\\'});
            kids.push_back({0x7f, 0x7f});
            normalize_ranges(kids);
            const std::vector<cp_range> others = complement_ranges(kids);
            std::vector<cp_range> clipped;
            for (const auto& r : others)
                if (r.hi >= 0x20) clipped.push_back({std::max<std::uint32_t>(r.lo, 0x20), r.hi});
            alts.push_back(" " + gbnf_class(clipped.data(), clipped.data() + clipped.size()) + " " + plain + "*");
            for (const auto& kv : trie[t].kids) {
                std::string lit = "\"";
                gbnf_append_char(lit, kv.first, false);
                alts.push_back(" " + lit + "\" " + name[kv.second]);
            }
            std::string body;
            for (std::size_t k = 0; k < alts.size(); ++k) body += (k ? " |" : "") + alts[k];
            name[t] = add_rule(hint + "-key", body);
        }
        return name[0];
    }

    status object_type(const json_value& s, const std::string& hint, const std::string& path, std::string& out) {
        struct prop {
            std::string name, kv;
            bool required = false;
        };
        std::vector<prop> props;
        const json_value* properties = s.find("properties");
        const json_value* required = s.find("required");
        if (properties && !properties->is_object()) return fail(errc::bad_format, path, "properties must be an object");
        if (required && !required->is_array()) return fail(errc::bad_format, path, "required must be an array");
        auto is_required = [&](const std::string& n) {
            if (!required) return false;
            for (const auto& r : required->items())
                if (r.is_string() && r.as_string() == n) return true;
            return false;
        };
        const std::string space = prim("space");
        auto make_kv = [&](const std::string& name, const json_value& sub, std::string& kv) -> status {
            std::string v;
            SMOLVLM_TRY(expr(sub, name, path + "/properties/" + name, v));
            std::string key;
            json_append_string(key, name);
            kv = add_rule(name + "-kv", gbnf_literal(key) + " " + space + R"( ":" )" + space + " " + v);
            return status::ok();
        };
        if (properties)
            for (const auto& m : properties->members()) {
                prop p;
                p.name = m.first;
                p.required = is_required(m.first);
                SMOLVLM_TRY(make_kv(m.first, m.second, p.kv));
                props.push_back(std::move(p));
            }
        if (required)
            for (const auto& r : required->items()) {
                if (!r.is_string()) return fail(errc::bad_format, path, "required must hold strings");
                bool found = false;
                for (const auto& p : props) found = found || p.name == r.as_string();
                if (found) continue;
                prop p;
                p.name = r.as_string();
                p.required = true;
                SMOLVLM_TRY(make_kv(p.name, json_value::make_bool(true), p.kv));
                props.push_back(std::move(p));
            }
        // Extra properties.
        const json_value* add = s.find("additionalProperties");
        std::string extra;
        if (add && add->is_bool() && !add->as_bool()) {
        } else if (!add && opt_.strict_objects) {
        } else {
            std::string v;
            if (add && !add->is_bool()) {
                SMOLVLM_TRY(expr(*add, hint + "-extra", path + "/additionalProperties", v));
            } else {
                v = prim("value");
            }
            std::vector<std::string> names;
            for (const auto& p : props) names.push_back(p.name);
            const std::string key = names.empty() ? R"("\"" )" + prim("char") + R"(* "\"" )" + space
                                                  : R"("\"" )" + key_not_in(names, hint) + R"( "\"" )" + space;
            extra = add_rule(hint + "-extra-kv", key + R"( ":" )" + space + " " + v);
        }
        const std::string comma = R"("," )" + space + " ";
        // tail(i): properties i.. after something was written (each comes with its comma).
        // start(i): properties i.. with nothing written yet.
        const std::size_t n = props.size();
        std::vector<std::string> tail(n + 1);
        tail[n] = extra.empty() ? std::string() : " ( " + comma + extra + " )*";
        for (std::size_t i = n; i-- > 1;) {
            const std::string piece = props[i].required ? " " + comma + props[i].kv : " ( " + comma + props[i].kv + " )?";
            const std::string t = piece + tail[i + 1];
            tail[i] = (n - i > 2) ? " " + add_rule(hint + "-tail", t) : t;
        }
        // Properties before the first required one may all be left out.
        std::size_t first_req = n;
        for (std::size_t i = 0; i < n && first_req == n; ++i)
            if (props[i].required) first_req = i;
        std::string start = first_req < n ? " " + props[first_req].kv + tail[first_req + 1]
                            : extra.empty()  ? std::string()
                                             : " ( " + extra + tail[n] + " )?";
        for (std::size_t i = first_req; i-- > 0;)
            start = " " + add_rule(hint + "-rest", " " + props[i].kv + tail[i + 1] + " |" + start);
        out = add_rule(hint, R"("{" )" + space + start + R"( "}" )" + space);
        return status::ok();
    }

    const json_value& root_;
    json_schema_options opt_;
    std::vector<std::pair<std::string, std::string>> rules_;
    std::unordered_map<std::string, std::string> by_body_, ref_rules_;
    std::unordered_set<std::string> names_, reserved_, used_;
    std::deque<json_value> merged_;  // allOf merges (stable addresses)
    int depth_ = 0;
};

}  // namespace detail

inline result<std::string> json_schema_to_gbnf(const json_value& schema, const json_schema_options& opt) {
    return detail::json_schema_converter(schema, opt).run();
}

inline result<std::string> json_schema_to_gbnf(std::string_view schema_json, const json_schema_options& opt) {
    SMOLVLM_ASSIGN_OR_RETURN(json_value schema, parse_json(schema_json));
    return json_schema_to_gbnf(schema, opt);
}

inline result<grammar> grammar_from_json_schema(const json_value& schema, const json_schema_options& opt) {
    SMOLVLM_ASSIGN_OR_RETURN(std::string text, json_schema_to_gbnf(schema, opt));
    auto g = compile_gbnf(text);
    if (!g) {
        status e = g.error();
        return e.prepend("json schema: ");
    }
    return g;
}

inline result<grammar> grammar_from_json_schema(std::string_view schema_json, const json_schema_options& opt) {
    SMOLVLM_ASSIGN_OR_RETURN(json_value schema, parse_json(schema_json));
    return grammar_from_json_schema(schema, opt);
}

inline std::string json_any_value_gbnf() {
    std::string out = "root ::= value\n";
    for (const detail::json_primitive* p = detail::json_primitives(); p->name; ++p) {
        const std::string n = p->name;
        if (n == "date" || n == "time" || n == "date-time" || n == "uuid") continue;
        out += n + " ::= " + p->body + "\n";
    }
    return out;
}

inline result<grammar> json_any_value_grammar() { return compile_gbnf(json_any_value_gbnf()); }

}  // namespace smolvlm
