// smolvlm/io/json.hpp — a JSON parser (RFC 8259) and a small writer.
//
// Used for config.json, tokenizer.json (3.5 MB) and safetensors headers, all of
// which may be hostile. The parser:
//   * accepts exactly RFC 8259 (no comments, no trailing commas, no NaN, no
//     leading zeros, no control characters inside strings), UTF-8 validated;
//   * decodes \uXXXX escapes including surrogate pairs (lone surrogates are errors);
//   * limits nesting depth (default 128) so a "[[[[..." file cannot exhaust the stack;
//   * reports errors with the byte offset, line and column.
// Numbers keep their exact int64 value when they are integers that fit.
// Objects keep member order; duplicate keys are kept (find() returns the first);
// callers that must reject duplicates (safetensors) check has_duplicate_keys().
#pragma once

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/status.hpp"

namespace smolvlm {

class json_value {
public:
    enum class kind : std::uint8_t { null, boolean, number, string, array, object };
    using member = std::pair<std::string, json_value>;

    json_value() = default;

    kind type() const { return kind_; }
    bool is_null() const { return kind_ == kind::null; }
    bool is_bool() const { return kind_ == kind::boolean; }
    bool is_number() const { return kind_ == kind::number; }
    bool is_integer() const { return kind_ == kind::number && is_int_; }
    bool is_string() const { return kind_ == kind::string; }
    bool is_array() const { return kind_ == kind::array; }
    bool is_object() const { return kind_ == kind::object; }

    bool as_bool() const { return bool_; }
    double as_number() const { return num_; }
    std::int64_t as_int() const { return is_int_ ? int_ : std::int64_t(num_); }
    const std::string& as_string() const { return str_; }
    const std::vector<json_value>& items() const { return arr_; }
    const std::vector<member>& members() const { return obj_; }
    std::size_t size() const { return kind_ == kind::array ? arr_.size() : kind_ == kind::object ? obj_.size() : 0; }
    const json_value& operator[](std::size_t i) const { return arr_[i]; }

    // First member named key, or null when absent / not an object.
    const json_value* find(std::string_view key) const {
        if (kind_ != kind::object) return nullptr;
        for (const auto& m : obj_)
            if (m.first == key) return &m.second;
        return nullptr;
    }
    // Walk "a.b.c" through nested objects.
    const json_value* find_path(std::string_view dotted) const {
        const json_value* v = this;
        while (v) {
            std::size_t dot = dotted.find('.');
            v = v->find(dotted.substr(0, dot));
            if (dot == std::string_view::npos) return v;
            dotted.remove_prefix(dot + 1);
        }
        return nullptr;
    }
    bool has_duplicate_keys() const;

    // Builders (used by writers and tests).
    static json_value make_null() { return json_value(); }
    static json_value make_bool(bool b) { json_value v; v.kind_ = kind::boolean; v.bool_ = b; return v; }
    static json_value make_number(double d) { json_value v; v.kind_ = kind::number; v.num_ = d; return v; }
    static json_value make_int(std::int64_t i) {
        json_value v;
        v.kind_ = kind::number;
        v.is_int_ = true;
        v.int_ = i;
        v.num_ = double(i);
        return v;
    }
    static json_value make_string(std::string s) { json_value v; v.kind_ = kind::string; v.str_ = std::move(s); return v; }
    static json_value make_array() { json_value v; v.kind_ = kind::array; return v; }
    static json_value make_object() { json_value v; v.kind_ = kind::object; return v; }
    std::vector<json_value>& items_mut() { return arr_; }
    std::vector<member>& members_mut() { return obj_; }

private:
    friend class json_parser;
    kind kind_ = kind::null;
    bool bool_ = false;
    bool is_int_ = false;
    std::int64_t int_ = 0;
    double num_ = 0.0;
    std::string str_;
    std::vector<json_value> arr_;
    std::vector<member> obj_;
};

inline bool json_value::has_duplicate_keys() const {
    if (kind_ != kind::object) return false;
    // Small objects: quadratic scan is fine; large ones: sort copies of the keys.
    if (obj_.size() <= 32) {
        for (std::size_t i = 0; i < obj_.size(); ++i)
            for (std::size_t j = i + 1; j < obj_.size(); ++j)
                if (obj_[i].first == obj_[j].first) return true;
        return false;
    }
    std::vector<std::string_view> keys;
    keys.reserve(obj_.size());
    for (const auto& m : obj_) keys.emplace_back(m.first);
    std::sort(keys.begin(), keys.end());
    for (std::size_t i = 1; i < keys.size(); ++i)
        if (keys[i] == keys[i - 1]) return true;
    return false;
}

struct json_options {
    int max_depth = 128;                          // nesting limit
    std::size_t max_bytes = std::size_t(1) << 30;  // refuse larger documents
};

namespace detail {

// Decode one UTF-8 sequence at s[i..n); returns its length (1..4) or 0 when invalid
// (overlong forms, surrogates and values above U+10FFFF are invalid).
inline int utf8_sequence_length(const unsigned char* s, std::size_t i, std::size_t n, std::uint32_t* cp) {
    const unsigned char c = s[i];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int len;
    std::uint32_t v;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        v = c & 0x1fu;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        v = c & 0x0fu;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        v = c & 0x07u;
    } else {
        return 0;
    }
    if (i + std::size_t(len) > n) return 0;
    for (int k = 1; k < len; ++k) {
        const unsigned char d = s[i + std::size_t(k)];
        if ((d & 0xc0u) != 0x80u) return 0;
        v = (v << 6) | (d & 0x3fu);
    }
    if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10ffff)) || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

inline void utf8_append(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(char(cp));
    } else if (cp < 0x800) {
        out.push_back(char(0xc0 | (cp >> 6)));
        out.push_back(char(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        out.push_back(char(0xe0 | (cp >> 12)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(char(0x80 | (cp & 0x3f)));
    } else {
        out.push_back(char(0xf0 | (cp >> 18)));
        out.push_back(char(0x80 | ((cp >> 12) & 0x3f)));
        out.push_back(char(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(char(0x80 | (cp & 0x3f)));
    }
}

}  // namespace detail

class json_parser {
public:
    json_parser(std::string_view text, const json_options& opt)
        : s_(reinterpret_cast<const unsigned char*>(text.data())), n_(text.size()), opt_(opt) {}

    result<json_value> parse() {
        if (n_ > opt_.max_bytes) return status::fmt(errc::unsupported, "json: document of %zu bytes is over the limit", n_);
        json_value root;
        skip_ws();
        SMOLVLM_TRY(parse_value(root, 0));
        skip_ws();
        if (i_ != n_) return error("unexpected data after the JSON value");
        return root;
    }

private:
    status error(const char* what) const {
        std::size_t line = 1, col = 1;
        for (std::size_t k = 0; k < i_ && k < n_; ++k) {
            if (s_[k] == '\n') {
                ++line;
                col = 1;
            } else {
                ++col;
            }
        }
        return status::fmt(errc::bad_format, "json: %s at byte %zu (line %zu, column %zu)", what, i_, line, col);
    }

    void skip_ws() {
        while (i_ < n_ && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
    }

    bool literal(const char* word) {
        const std::size_t len = std::strlen(word);
        if (n_ - i_ < len || std::memcmp(s_ + i_, word, len) != 0) return false;
        i_ += len;
        return true;
    }

    status parse_value(json_value& out, int depth) {
        if (i_ >= n_) return error("unexpected end of input, expected a value");
        switch (s_[i_]) {
            case '{': return parse_object(out, depth + 1);
            case '[': return parse_array(out, depth + 1);
            case '"':
                out.kind_ = json_value::kind::string;
                return parse_string(out.str_);
            case 't':
                if (!literal("true")) return error("invalid literal");
                out.kind_ = json_value::kind::boolean;
                out.bool_ = true;
                return status::ok();
            case 'f':
                if (!literal("false")) return error("invalid literal");
                out.kind_ = json_value::kind::boolean;
                out.bool_ = false;
                return status::ok();
            case 'n':
                if (!literal("null")) return error("invalid literal");
                out.kind_ = json_value::kind::null;
                return status::ok();
            default: return parse_number(out);
        }
    }

    status parse_object(json_value& out, int depth) {
        if (depth > opt_.max_depth) return error("nesting deeper than the limit");
        out.kind_ = json_value::kind::object;
        ++i_;  // '{'
        skip_ws();
        if (i_ < n_ && s_[i_] == '}') {
            ++i_;
            return status::ok();
        }
        for (;;) {
            skip_ws();
            if (i_ >= n_ || s_[i_] != '"') return error("expected a string key");
            out.obj_.emplace_back();
            SMOLVLM_TRY(parse_string(out.obj_.back().first));
            skip_ws();
            if (i_ >= n_ || s_[i_] != ':') return error("expected ':'");
            ++i_;
            skip_ws();
            SMOLVLM_TRY(parse_value(out.obj_.back().second, depth));
            skip_ws();
            if (i_ >= n_) return error("unexpected end of input in an object");
            if (s_[i_] == ',') {
                ++i_;
                continue;
            }
            if (s_[i_] == '}') {
                ++i_;
                return status::ok();
            }
            return error("expected ',' or '}'");
        }
    }

    status parse_array(json_value& out, int depth) {
        if (depth > opt_.max_depth) return error("nesting deeper than the limit");
        out.kind_ = json_value::kind::array;
        ++i_;  // '['
        skip_ws();
        if (i_ < n_ && s_[i_] == ']') {
            ++i_;
            return status::ok();
        }
        for (;;) {
            skip_ws();
            out.arr_.emplace_back();
            SMOLVLM_TRY(parse_value(out.arr_.back(), depth));
            skip_ws();
            if (i_ >= n_) return error("unexpected end of input in an array");
            if (s_[i_] == ',') {
                ++i_;
                continue;
            }
            if (s_[i_] == ']') {
                ++i_;
                return status::ok();
            }
            return error("expected ',' or ']'");
        }
    }

    bool hex4(std::uint32_t* v) {
        if (n_ - i_ < 4) return false;
        std::uint32_t r = 0;
        for (int k = 0; k < 4; ++k) {
            const unsigned char c = s_[i_ + std::size_t(k)];
            r <<= 4;
            if (c >= '0' && c <= '9')
                r |= std::uint32_t(c - '0');
            else if (c >= 'a' && c <= 'f')
                r |= std::uint32_t(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                r |= std::uint32_t(c - 'A' + 10);
            else
                return false;
        }
        i_ += 4;
        *v = r;
        return true;
    }

    status parse_string(std::string& out) {
        ++i_;  // opening quote
        const std::size_t start = i_;
        // Fast path: a run of plain ASCII/UTF-8 without escapes.
        for (;;) {
            if (i_ >= n_) return error("unterminated string");
            const unsigned char c = s_[i_];
            if (c == '"') {
                out.assign(reinterpret_cast<const char*>(s_ + start), i_ - start);
                ++i_;
                return status::ok();
            }
            if (c == '\\' || c >= 0x80 || c < 0x20) break;
            ++i_;
        }
        out.assign(reinterpret_cast<const char*>(s_ + start), i_ - start);
        for (;;) {
            if (i_ >= n_) return error("unterminated string");
            const unsigned char c = s_[i_];
            if (c == '"') {
                ++i_;
                return status::ok();
            }
            if (c < 0x20) return error("control character in a string");
            if (c == '\\') {
                if (++i_ >= n_) return error("unterminated escape");
                const unsigned char e = s_[i_++];
                switch (e) {
                    case '"': out.push_back('"'); break;
                    case '\\': out.push_back('\\'); break;
                    case '/': out.push_back('/'); break;
                    case 'b': out.push_back('\b'); break;
                    case 'f': out.push_back('\f'); break;
                    case 'n': out.push_back('\n'); break;
                    case 'r': out.push_back('\r'); break;
                    case 't': out.push_back('\t'); break;
                    case 'u': {
                        std::uint32_t cp;
                        if (!hex4(&cp)) return error("invalid \\u escape");
                        if (cp >= 0xdc00 && cp <= 0xdfff) return error("lone low surrogate in \\u escape");
                        if (cp >= 0xd800 && cp <= 0xdbff) {
                            std::uint32_t lo;
                            if (n_ - i_ < 2 || s_[i_] != '\\' || s_[i_ + 1] != 'u')
                                return error("high surrogate not followed by a low surrogate");
                            i_ += 2;
                            if (!hex4(&lo) || lo < 0xdc00 || lo > 0xdfff)
                                return error("high surrogate not followed by a low surrogate");
                            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        }
                        detail::utf8_append(out, cp);
                        break;
                    }
                    default: --i_; return error("invalid escape character");
                }
                continue;
            }
            if (c >= 0x80) {
                std::uint32_t cp;
                const int len = detail::utf8_sequence_length(s_, i_, n_, &cp);
                if (len == 0) return error("invalid UTF-8 in a string");
                out.append(reinterpret_cast<const char*>(s_ + i_), std::size_t(len));
                i_ += std::size_t(len);
                continue;
            }
            out.push_back(char(c));
            ++i_;
        }
    }

    status parse_number(json_value& out) {
        const std::size_t start = i_;
        if (i_ < n_ && s_[i_] == '-') ++i_;
        if (i_ >= n_) return error("invalid number");
        if (s_[i_] == '0') {
            ++i_;
            if (i_ < n_ && s_[i_] >= '0' && s_[i_] <= '9') return error("leading zero in a number");
        } else if (s_[i_] >= '1' && s_[i_] <= '9') {
            while (i_ < n_ && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
        } else {
            return error(s_[i_] == '-' || (s_[i_] >= '0' && s_[i_] <= '9') ? "invalid number" : "unexpected character");
        }
        bool integral = true;
        if (i_ < n_ && s_[i_] == '.') {
            integral = false;
            ++i_;
            if (i_ >= n_ || s_[i_] < '0' || s_[i_] > '9') return error("digit expected after '.'");
            while (i_ < n_ && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
        }
        if (i_ < n_ && (s_[i_] == 'e' || s_[i_] == 'E')) {
            integral = false;
            ++i_;
            if (i_ < n_ && (s_[i_] == '+' || s_[i_] == '-')) ++i_;
            if (i_ >= n_ || s_[i_] < '0' || s_[i_] > '9') return error("digit expected in exponent");
            while (i_ < n_ && s_[i_] >= '0' && s_[i_] <= '9') ++i_;
        }
        const char* b = reinterpret_cast<const char*>(s_ + start);
        const char* e = reinterpret_cast<const char*>(s_ + i_);
        out.kind_ = json_value::kind::number;
        if (integral) {
            std::int64_t v = 0;
            auto r = std::from_chars(b, e, v);
            if (r.ec == std::errc() && r.ptr == e) {
                out.is_int_ = true;
                out.int_ = v;
                out.num_ = double(v);
                return status::ok();
            }
        }
        double d = 0.0;
        auto r = std::from_chars(b, e, d);
        if (r.ptr != e) return error("invalid number");
        if (r.ec == std::errc::result_out_of_range) {
            // Overflow to +-inf is not representable in JSON data we use; underflow is 0.
            bool neg = *b == '-';
            bool big = false;
            // crude check of the exponent sign to tell overflow from underflow
            for (const char* p = b; p < e; ++p)
                if (*p == 'e' || *p == 'E') big = p[1] != '-';
            if (big || integral) return error("number out of range");
            d = neg ? -0.0 : 0.0;
        }
        out.num_ = d;
        return status::ok();
    }

    const unsigned char* s_;
    std::size_t n_;
    std::size_t i_ = 0;
    json_options opt_;
};

inline result<json_value> parse_json(std::string_view text, const json_options& opt = {}) {
    return json_parser(text, opt).parse();
}

// ---- writing ------------------------------------------------------------------------------

// Append s as a JSON string literal (quotes included). Invalid UTF-8 bytes become U+FFFD.
inline void json_append_string(std::string& out, std::string_view s) {
    static const char* hex = "0123456789abcdef";
    out.push_back('"');
    const auto* u = reinterpret_cast<const unsigned char*>(s.data());
    for (std::size_t i = 0; i < s.size();) {
        const unsigned char c = u[i];
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(char(c));
            ++i;
        } else if (c < 0x20) {
            switch (c) {
                case '\n': out += "\\n"; break;
                case '\r': out += "\\r"; break;
                case '\t': out += "\\t"; break;
                case '\b': out += "\\b"; break;
                case '\f': out += "\\f"; break;
                default:
                    out += "\\u00";
                    out.push_back(hex[c >> 4]);
                    out.push_back(hex[c & 15]);
            }
            ++i;
        } else if (c < 0x80) {
            out.push_back(char(c));
            ++i;
        } else {
            std::uint32_t cp;
            const int len = detail::utf8_sequence_length(u, i, s.size(), &cp);
            if (len == 0) {
                out += "\xef\xbf\xbd";
                ++i;
            } else {
                out.append(s.data() + i, std::size_t(len));
                i += std::size_t(len);
            }
        }
    }
    out.push_back('"');
}

// Serialise a value compactly (no spaces). Numbers: integers exactly, others with 17 digits.
inline void json_write(std::string& out, const json_value& v) {
    switch (v.type()) {
        case json_value::kind::null: out += "null"; break;
        case json_value::kind::boolean: out += v.as_bool() ? "true" : "false"; break;
        case json_value::kind::number: {
            char buf[40];
            if (v.is_integer()) {
                std::snprintf(buf, sizeof buf, "%lld", (long long)v.as_int());
            } else {
                std::snprintf(buf, sizeof buf, "%.17g", v.as_number());
                // Keep it a non-integer on reparse: 2.0 is written "2.0", not "2".
                if (!std::strpbrk(buf, ".eEn")) std::strncat(buf, ".0", sizeof buf - std::strlen(buf) - 1);
            }
            out += buf;
            break;
        }
        case json_value::kind::string: json_append_string(out, v.as_string()); break;
        case json_value::kind::array:
            out.push_back('[');
            for (std::size_t i = 0; i < v.items().size(); ++i) {
                if (i) out.push_back(',');
                json_write(out, v.items()[i]);
            }
            out.push_back(']');
            break;
        case json_value::kind::object:
            out.push_back('{');
            for (std::size_t i = 0; i < v.members().size(); ++i) {
                if (i) out.push_back(',');
                json_append_string(out, v.members()[i].first);
                out.push_back(':');
                json_write(out, v.members()[i].second);
            }
            out.push_back('}');
            break;
    }
}

}  // namespace smolvlm
