// smolvlm/text/grammar.hpp — GBNF grammars (llama.cpp's syntax), compiled once for
// constrained decoding.
//
// Syntax (what llama.cpp's grammars/README.md describes):
//
//   root   ::= object                # the start rule is "root" (or the name passed in)
//   object ::= "{" ws ( pair ( "," ws pair )* )? "}"
//   pair   ::= [a-z_]+ ":" ws [^"\\]{1,8}
//   ws     ::= | " " | "\n" [ \t]{0,20}   # an empty alternative is fine
//
//   * a rule is `name ::= alternatives`; names are [a-zA-Z0-9_-]+, used before or after
//     their definition; a rule defined twice is an error;
//   * alternatives `|`, groups `( )`, repetition `* + ?`, `{m}`, `{m,}`, `{m,n}`, `{,n}`
//     (applied to the whole preceding literal, class, group or rule name);
//   * literals "..." and classes [a-z] / negated [^...] hold Unicode code points, with the
//     escapes \n \t \r \f \v \\ \" \' \[ \] \- \^ \/ \xHH \uHHHH \UHHHHHHHH;
//   * `.` is any code point; `#` starts a comment; a rule continues over several lines
//     inside ( ) or after a `|` (also when the next line starts with `|`).
//
// compile_gbnf() parses the text and checks it once: syntax errors, undefined rules, a
// missing root, empty classes, left recursion (`a ::= a "x" | "y"`: the stack would grow
// without consuming input) and rules that can never produce a finite string (`a ::= "x" a`)
// are all errors with a line and column, so the matcher never hangs at decode time.
//
// The compiled form is a pushdown automaton over code points, close to llama.cpp's:
// every rule is a list of alternatives, each a run of elements ending in `end`; an
// element matches one code point from a character set, or calls a rule. Repetitions and
// groups become helper rules here (x* is `R ::= x R |`, x{2,4} is `x x R2`, `R2 ::= x R1 |`,
// `R1 ::= x |`), so the matcher only knows sets, calls and ends.
// text/grammar_matcher.hpp walks it; text/json_schema.hpp writes GBNF from a JSON Schema.
#pragma once

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "../core/status.hpp"
#include "../io/json.hpp"  // detail::utf8_sequence_length, detail::utf8_append

namespace smolvlm {

inline constexpr std::uint32_t k_max_code_point = 0x10FFFF;

// An inclusive range of code points.
struct cp_range {
    std::uint32_t lo = 0, hi = 0;
};

namespace detail {
class gbnf_parser;
}

class grammar {
public:
    // Element encoding: kind in the top two bits, a set or rule index below.
    enum class elem_kind : std::uint8_t { end = 0, set = 1, ref = 2 };
    static constexpr std::uint32_t k_index_mask = 0x3fffffffu;
    static constexpr std::uint32_t k_infinite = 0xffffffffu;  // min length of a rule that never completes
    static elem_kind kind_of(std::uint32_t e) { return elem_kind(e >> 30); }
    static std::uint32_t index_of(std::uint32_t e) { return e & k_index_mask; }
    static std::uint32_t make_set(std::uint32_t i) { return (1u << 30) | i; }
    static std::uint32_t make_ref(std::uint32_t i) { return (2u << 30) | i; }

    grammar() = default;

    std::uint32_t root() const { return root_; }
    std::size_t n_rules() const { return names_.size(); }
    std::size_t n_elements() const { return elems_.size(); }
    std::size_t n_sets() const { return set_begin_.empty() ? 0 : set_begin_.size() - 1; }
    const std::string& rule_name(std::uint32_t r) const { return names_[r]; }

    // Positions (in elements) where the alternatives of rule r start.
    const std::uint32_t* alts_begin(std::uint32_t r) const { return alt_starts_.data() + rule_alts_[r]; }
    const std::uint32_t* alts_end(std::uint32_t r) const { return alt_starts_.data() + rule_alts_[r + 1]; }
    std::uint32_t element(std::uint32_t pos) const { return elems_[pos]; }

    bool set_contains(std::uint32_t set, std::uint32_t cp) const {
        if (cp < 128) return (ascii_[2 * set + (cp >> 6)] >> (cp & 63)) & 1u;
        const cp_range* b = ranges_.data() + set_begin_[set];
        const cp_range* e = ranges_.data() + set_begin_[set + 1];
        // First range with hi >= cp.
        const cp_range* it = std::lower_bound(b, e, cp, [](const cp_range& r, std::uint32_t c) { return r.hi < c; });
        return it != e && it->lo <= cp;
    }
    // Does the set hold any code point in [lo, hi]?
    bool set_intersects(std::uint32_t set, std::uint32_t lo, std::uint32_t hi) const {
        const cp_range* b = ranges_.data() + set_begin_[set];
        const cp_range* e = ranges_.data() + set_begin_[set + 1];
        const cp_range* it = std::lower_bound(b, e, lo, [](const cp_range& r, std::uint32_t c) { return r.hi < c; });
        return it != e && it->lo <= hi;
    }
    const cp_range* set_ranges_begin(std::uint32_t set) const { return ranges_.data() + set_begin_[set]; }
    const cp_range* set_ranges_end(std::uint32_t set) const { return ranges_.data() + set_begin_[set + 1]; }

    // Fewest bytes (UTF-8) that finish the alternative from element `pos` on (0 at its end).
    std::uint32_t min_rest(std::uint32_t pos) const { return min_rest_[pos]; }
    std::uint32_t rule_min_length(std::uint32_t r) const { return min_len_[r]; }

    // The compiled grammar written back as GBNF (helper rules included): for debugging,
    // and compile_gbnf(to_gbnf()) accepts the same language.
    std::string to_gbnf() const;

private:
    friend class detail::gbnf_parser;
    std::vector<std::string> names_;         // [n_rules]
    std::vector<std::uint32_t> rule_alts_;   // [n_rules + 1] into alt_starts_
    std::vector<std::uint32_t> alt_starts_;  // element position of each alternative
    std::vector<std::uint32_t> elems_;       // all alternatives, each ending in `end`
    std::vector<std::uint32_t> set_begin_;   // [n_sets + 1] into ranges_
    std::vector<cp_range> ranges_;           // sorted, disjoint, non-adjacent per set
    std::vector<std::uint64_t> ascii_;       // [n_sets * 2] bitmap of code points 0..127
    std::vector<std::uint32_t> min_len_;     // [n_rules]
    std::vector<std::uint32_t> min_rest_;    // [n_elements]
    std::uint32_t root_ = 0;
};

// Parse and check GBNF text; `root` names the start rule.
result<grammar> compile_gbnf(std::string_view text, std::string_view root = "root");

// ---- GBNF writing helpers (also used by text/json_schema.hpp) ------------------------

namespace detail {

inline void gbnf_append_hex(std::string& out, char prefix, std::uint32_t v, int digits) {
    static const char* hex = "0123456789ABCDEF";
    out.push_back('\\');
    out.push_back(prefix);
    for (int k = digits - 1; k >= 0; --k) out.push_back(hex[(v >> (4 * k)) & 15u]);
}

// One code point as it may appear inside a GBNF literal ("...") or class ([...]).
inline void gbnf_append_char(std::string& out, std::uint32_t cp, bool in_class) {
    switch (cp) {
        case '\n': out += "\\n"; return;
        case '\r': out += "\\r"; return;
        case '\t': out += "\\t"; return;
        case '\\': out += "\\\\"; return;
        default: break;
    }
    if (!in_class && cp == '"') {
        out += "\\\"";
        return;
    }
    if (in_class && (cp == ']' || cp == '[' || cp == '-' || cp == '^')) {
        out.push_back('\\');
        out.push_back(char(cp));
        return;
    }
    if (cp < 0x20 || cp == 0x7f) {
        gbnf_append_hex(out, 'x', cp, 2);
    } else if (cp < 0x80) {
        out.push_back(char(cp));
    } else if ((cp >= 0xd800 && cp <= 0xdfff) || cp > k_max_code_point) {
        gbnf_append_hex(out, 'U', cp, 8);
    } else if ((cp >= 0x80 && cp < 0xa0) || cp == 0xad || (cp >= 0x300 && cp <= 0x36f) || (cp >= 0x2000 && cp <= 0x206f) ||
               (cp >= 0xd7b0 && cp <= 0xf8ff) || (cp >= 0xfe00 && cp <= 0xfe0f) || cp >= 0xfff0) {
        if (cp <= 0xffff)
            gbnf_append_hex(out, 'u', cp, 4);
        else
            gbnf_append_hex(out, 'U', cp, 8);
    } else {
        utf8_append(out, cp);
    }
}

// A GBNF literal for raw UTF-8 text (invalid bytes are written as \xHH... which GBNF reads
// as code points, so callers pass valid UTF-8).
inline std::string gbnf_literal(std::string_view text) {
    std::string out = "\"";
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    for (std::size_t i = 0; i < text.size();) {
        std::uint32_t cp = s[i];
        int len = utf8_sequence_length(s, i, text.size(), &cp);
        if (len == 0) {
            cp = s[i];
            len = 1;
        }
        gbnf_append_char(out, cp, false);
        i += std::size_t(len);
    }
    out.push_back('"');
    return out;
}

// A GBNF class for a sorted, disjoint list of ranges ("[a-z0-9]").
inline std::string gbnf_class(const cp_range* b, const cp_range* e) {
    std::string out = "[";
    for (const cp_range* r = b; r != e; ++r) {
        gbnf_append_char(out, r->lo, true);
        if (r->hi != r->lo) {
            if (r->hi > r->lo + 1) out.push_back('-');
            gbnf_append_char(out, r->hi, true);
        }
    }
    out.push_back(']');
    return out;
}

// Sort and merge ranges in place; drop the surrogate block (no UTF-8 text holds it).
inline void normalize_ranges(std::vector<cp_range>& v) {
    std::vector<cp_range> tmp;
    tmp.reserve(v.size() + 1);
    for (const cp_range& r : v) {
        if (r.lo > r.hi) continue;
        if (r.hi < 0xd800 || r.lo > 0xdfff) {
            tmp.push_back(r);
            continue;
        }
        if (r.lo < 0xd800) tmp.push_back({r.lo, 0xd7ff});
        if (r.hi > 0xdfff) tmp.push_back({0xe000, r.hi});
    }
    std::sort(tmp.begin(), tmp.end(), [](const cp_range& a, const cp_range& b) { return a.lo < b.lo; });
    v.clear();
    for (const cp_range& r : tmp) {
        if (!v.empty() && r.lo <= v.back().hi + 1) {
            v.back().hi = std::max(v.back().hi, r.hi);
        } else {
            v.push_back(r);
        }
    }
}

// Complement over [0, U+10FFFF] of a normalized list (surrogates stay out).
inline std::vector<cp_range> complement_ranges(const std::vector<cp_range>& v) {
    std::vector<cp_range> out;
    std::uint32_t next = 0;
    for (const cp_range& r : v) {
        if (r.lo > next) out.push_back({next, r.lo - 1});
        next = r.hi + 1;
    }
    if (next <= k_max_code_point) out.push_back({next, k_max_code_point});
    normalize_ranges(out);
    return out;
}

inline bool gbnf_name_char(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

}  // namespace detail

// ---- the parser ---------------------------------------------------------------------

namespace detail {

// Builds the private parts of a grammar (friend of grammar).
class gbnf_parser {
public:
    struct rule_build {
        std::string name;
        std::vector<std::vector<std::uint32_t>> alts;  // elements (set / ref), no `end`
        std::size_t def_offset = 0;                    // where defined (or created)
        std::size_t ref_offset = 0;                    // first reference
        bool defined = false;
        bool synthetic = false;
        std::uint32_t owner = 0;  // the user rule a helper rule was made for
    };

    explicit gbnf_parser(std::string_view text) : s_(text.data()), n_(text.size()) {}

    result<grammar> run(std::string_view root_name);

private:
    static constexpr std::uint32_t k_unbounded = 0xffffffffu;
    static constexpr std::uint32_t k_max_repeat = 100000;  // {m,n} bounds above this are refused
    static constexpr std::size_t k_max_elements = std::size_t(1) << 24;

#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    status error_at(std::size_t offset, const char* format, ...) const {
        char what[200];
        va_list ap;
        va_start(ap, format);
        std::vsnprintf(what, sizeof what, format, ap);
        va_end(ap);
        std::size_t line, col;
        line_col(offset, &line, &col);
        return status::fmt(errc::bad_format, "grammar: line %zu, column %zu: %s", line, col, what);
    }

    // 1-based line and column (in code points) of a byte offset.
    void line_col(std::size_t offset, std::size_t* line, std::size_t* col) const {
        *line = 1;
        *col = 1;
        for (std::size_t k = 0; k < offset && k < n_; ++k) {
            const unsigned char c = static_cast<unsigned char>(s_[k]);
            if (c == '\n') {
                ++*line;
                *col = 1;
            } else if ((c & 0xc0u) != 0x80u) {
                ++*col;
            }
        }
    }

    bool at(char c) const { return i_ < n_ && s_[i_] == c; }
    unsigned char cur() const { return i_ < n_ ? static_cast<unsigned char>(s_[i_]) : 0; }

    void skip_space(bool newline_ok) {
        while (i_ < n_) {
            const char c = s_[i_];
            if (c == ' ' || c == '\t') {
                ++i_;
            } else if (c == '#') {
                while (i_ < n_ && s_[i_] != '\n' && s_[i_] != '\r') ++i_;
            } else if ((c == '\n' || c == '\r') && newline_ok) {
                ++i_;
            } else {
                break;
            }
        }
    }

    // name ::= ahead?
    bool at_rule_start() const {
        std::size_t k = i_;
        while (k < n_ && detail::gbnf_name_char(static_cast<unsigned char>(s_[k]))) ++k;
        if (k == i_) return false;
        while (k < n_ && (s_[k] == ' ' || s_[k] == '\t')) ++k;
        return k + 3 <= n_ && s_[k] == ':' && s_[k + 1] == ':' && s_[k + 2] == '=';
    }

    std::string parse_name() {
        const std::size_t b = i_;
        while (i_ < n_ && detail::gbnf_name_char(static_cast<unsigned char>(s_[i_]))) ++i_;
        return std::string(s_ + b, i_ - b);
    }

    std::uint32_t rule_id(const std::string& name, std::size_t offset) {
        auto it = by_name_.find(name);
        if (it != by_name_.end()) return it->second;
        const std::uint32_t id = std::uint32_t(rules_.size());
        rules_.emplace_back();
        rules_.back().name = name;
        rules_.back().ref_offset = offset;
        rules_.back().def_offset = offset;
        rules_.back().owner = id;
        by_name_.emplace(name, id);
        return id;
    }

    std::uint32_t new_helper(std::uint32_t owner, std::size_t offset) {
        const std::uint32_t id = std::uint32_t(rules_.size());
        rules_.emplace_back();
        rule_build& r = rules_.back();
        r.name = rules_[owner].name + "-" + std::to_string(++helper_count_);
        r.def_offset = r.ref_offset = offset;
        r.defined = true;
        r.synthetic = true;
        r.owner = owner;
        return id;
    }

    std::uint32_t intern_set(std::vector<cp_range> ranges) {
        detail::normalize_ranges(ranges);
        std::string key(reinterpret_cast<const char*>(ranges.data()), ranges.size() * sizeof(cp_range));
        auto it = set_index_.find(key);
        if (it != set_index_.end()) return it->second;
        const std::uint32_t id = std::uint32_t(sets_.size());
        sets_.push_back(std::move(ranges));
        set_index_.emplace(std::move(key), id);
        return id;
    }

    // One character of a literal or class: an escape or a UTF-8 code point.
    status parse_char(std::uint32_t* cp) {
        const std::size_t start = i_;
        if (i_ >= n_) return error_at(start, "unexpected end of grammar");
        const unsigned char c = cur();
        if (c == '\\') {
            ++i_;
            if (i_ >= n_) return error_at(start, "unterminated escape");
            const char e = s_[i_++];
            int digits = 0;
            switch (e) {
                case 'n': *cp = '\n'; return status::ok();
                case 'r': *cp = '\r'; return status::ok();
                case 't': *cp = '\t'; return status::ok();
                case 'f': *cp = '\f'; return status::ok();
                case 'v': *cp = '\v'; return status::ok();
                case '\\': case '"': case '\'': case '[': case ']': case '-': case '^': case '/':
                    *cp = std::uint32_t(static_cast<unsigned char>(e));
                    return status::ok();
                case 'x': digits = 2; break;
                case 'u': digits = 4; break;
                case 'U': digits = 8; break;
                default: return error_at(start, "unknown escape '\\%c'", e);
            }
            std::uint32_t v = 0;
            for (int k = 0; k < digits; ++k) {
                const unsigned char h = cur();
                std::uint32_t d;
                if (h >= '0' && h <= '9') d = std::uint32_t(h - '0');
                else if (h >= 'a' && h <= 'f') d = std::uint32_t(h - 'a' + 10);
                else if (h >= 'A' && h <= 'F') d = std::uint32_t(h - 'A' + 10);
                else return error_at(i_, "escape '\\%c' needs %d hex digits", e, digits);
                v = (v << 4) | d;
                ++i_;
            }
            if (v > k_max_code_point) return error_at(start, "code point U+%X is beyond U+10FFFF", unsigned(v));
            *cp = v;
            return status::ok();
        }
        if (c == '\n' || c == '\r') return error_at(start, "unexpected end of line");
        const int len = detail::utf8_sequence_length(reinterpret_cast<const unsigned char*>(s_), i_, n_, cp);
        if (len == 0) return error_at(start, "invalid UTF-8");
        i_ += std::size_t(len);
        return status::ok();
    }

    status parse_literal(std::vector<std::uint32_t>& seq) {
        const std::size_t start = i_;
        ++i_;  // '"'
        for (;;) {
            if (i_ >= n_ || s_[i_] == '\n' || s_[i_] == '\r') return error_at(start, "unterminated literal");
            if (s_[i_] == '"') {
                ++i_;
                return status::ok();
            }
            std::uint32_t cp;
            SMOLVLM_TRY(parse_char(&cp));
            if (cp >= 0xd800 && cp <= 0xdfff)
                return error_at(start, "literal holds a surrogate code point U+%X", unsigned(cp));
            seq.push_back(grammar::make_set(intern_set({{cp, cp}})));
        }
    }

    status parse_class(std::vector<std::uint32_t>& seq) {
        const std::size_t start = i_;
        ++i_;  // '['
        bool negated = false;
        if (at('^')) {
            negated = true;
            ++i_;
        }
        std::vector<cp_range> ranges;
        for (;;) {
            if (i_ >= n_ || s_[i_] == '\n' || s_[i_] == '\r') return error_at(start, "unterminated character class");
            if (s_[i_] == ']') {
                ++i_;
                break;
            }
            std::uint32_t lo = 0, hi = 0;
            SMOLVLM_TRY(parse_char(&lo));
            hi = lo;
            if (at('-') && i_ + 1 < n_ && s_[i_ + 1] != ']') {
                ++i_;
                const std::size_t hi_at = i_;
                SMOLVLM_TRY(parse_char(&hi));
                if (hi < lo) return error_at(hi_at, "range end U+%X is below its start U+%X", unsigned(hi), unsigned(lo));
            }
            ranges.push_back({lo, hi});
        }
        if (ranges.empty() && !negated) return error_at(start, "empty character class");
        detail::normalize_ranges(ranges);
        if (negated) ranges = detail::complement_ranges(ranges);
        if (ranges.empty()) return error_at(start, "character class matches nothing");
        seq.push_back(grammar::make_set(intern_set(std::move(ranges))));
        return status::ok();
    }

    status parse_uint(std::uint32_t* v, bool* present) {
        *present = false;
        std::uint64_t x = 0;
        while (i_ < n_ && s_[i_] >= '0' && s_[i_] <= '9') {
            *present = true;
            x = x * 10 + std::uint64_t(s_[i_] - '0');
            if (x > k_max_repeat) return error_at(i_, "repetition count above %u", unsigned(k_max_repeat));
            ++i_;
        }
        *v = std::uint32_t(x);
        return status::ok();
    }

    // x{min,max} on seq[start..): see the header comment for the helper rules it makes.
    status apply_repeat(std::uint32_t owner, std::vector<std::uint32_t>& seq, std::size_t start, std::uint32_t min,
                        std::uint32_t max, std::size_t offset) {
        std::vector<std::uint32_t> unit(seq.begin() + std::ptrdiff_t(start), seq.end());
        seq.resize(start);
        if (unit.empty()) return status::ok();  // ""* is just ""
        if (unit.size() > 1) {
            const std::uint32_t g = new_helper(owner, offset);
            rules_[g].alts.push_back(std::move(unit));
            unit.assign(1, grammar::make_ref(g));
        }
        const std::size_t extra = max == k_unbounded ? 1 : std::size_t(max - min);
        if (seq.size() + std::size_t(min) + extra > k_max_elements) return error_at(offset, "grammar too large");
        for (std::uint32_t k = 0; k < min; ++k) seq.push_back(unit[0]);
        if (max == k_unbounded) {
            const std::uint32_t r = new_helper(owner, offset);
            rules_[r].alts.push_back({unit[0], grammar::make_ref(r)});
            rules_[r].alts.emplace_back();
            seq.push_back(grammar::make_ref(r));
        } else if (max > min) {
            std::uint32_t prev = k_unbounded;
            for (std::uint32_t k = 0; k < max - min; ++k) {
                const std::uint32_t r = new_helper(owner, offset);
                std::vector<std::uint32_t> alt{unit[0]};
                if (prev != k_unbounded) alt.push_back(grammar::make_ref(prev));
                rules_[r].alts.push_back(std::move(alt));
                rules_[r].alts.emplace_back();
                prev = r;
            }
            seq.push_back(grammar::make_ref(prev));
        }
        return status::ok();
    }

    status parse_postfix(std::uint32_t owner, std::vector<std::uint32_t>& seq, std::size_t start, bool nested) {
        while (i_ < n_) {
            const char c = s_[i_];
            const std::size_t op_at = i_;
            std::uint32_t min = 0, max = 0;
            if (c == '*') {
                min = 0, max = k_unbounded;
                ++i_;
            } else if (c == '+') {
                min = 1, max = k_unbounded;
                ++i_;
            } else if (c == '?') {
                min = 0, max = 1;
                ++i_;
            } else if (c == '{') {
                ++i_;
                skip_space(false);
                bool has_min = false, has_max = false;
                SMOLVLM_TRY(parse_uint(&min, &has_min));
                skip_space(false);
                if (at(',')) {
                    ++i_;
                    skip_space(false);
                    SMOLVLM_TRY(parse_uint(&max, &has_max));
                    if (!has_max) max = k_unbounded;
                    if (!has_min) min = 0;
                    if (!has_min && !has_max) return error_at(op_at, "'{,}' needs a bound");
                } else {
                    if (!has_min) return error_at(op_at, "expected a number after '{'");
                    max = min;
                }
                skip_space(false);
                if (!at('}')) return error_at(i_, "expected '}' to close the repetition");
                ++i_;
                if (max < min) return error_at(op_at, "repetition {%u,%u} has max below min", unsigned(min), unsigned(max));
            } else {
                break;
            }
            if (start == seq.size() && last_was_empty_) {
                // an empty literal or an empty group repeated: still nothing
            } else if (start == seq.size()) {
                return error_at(op_at, "repetition operator without an expression before it");
            }
            SMOLVLM_TRY(apply_repeat(owner, seq, start, min, max, op_at));
            skip_space(nested);
        }
        return status::ok();
    }

    status parse_sequence(std::uint32_t owner, std::vector<std::uint32_t>& seq, bool nested) {
        for (;;) {
            if (i_ >= n_) return status::ok();
            const unsigned char c = cur();
            const std::size_t start = seq.size();
            const std::size_t at_offset = i_;
            last_was_empty_ = false;
            if (c == '"') {
                SMOLVLM_TRY(parse_literal(seq));
                last_was_empty_ = seq.size() == start;
            } else if (c == '[') {
                SMOLVLM_TRY(parse_class(seq));
            } else if (c == '.') {
                ++i_;
                seq.push_back(grammar::make_set(intern_set({{0, k_max_code_point}})));
            } else if (c == '(') {
                ++i_;
                skip_space(true);
                std::vector<std::vector<std::uint32_t>> sub;
                SMOLVLM_TRY(parse_alternates(owner, sub, true));
                if (!at(')')) return error_at(at_offset, "unclosed '('");
                ++i_;
                if (sub.size() == 1) {  // a plain group: inline it
                    seq.insert(seq.end(), sub[0].begin(), sub[0].end());
                    last_was_empty_ = sub[0].empty();
                } else {
                    const std::uint32_t g = new_helper(owner, at_offset);
                    rules_[g].alts = std::move(sub);
                    seq.push_back(grammar::make_ref(g));
                }
            } else if (detail::gbnf_name_char(c)) {
                const std::string name = parse_name();
                skip_space(false);
                if (i_ + 3 <= n_ && s_[i_] == ':' && s_[i_ + 1] == ':' && s_[i_ + 2] == '=')
                    return error_at(at_offset, "expected end of line before the next rule '%s'", name.c_str());
                seq.push_back(grammar::make_ref(rule_id(name, at_offset)));
            } else if (c == '|' || c == ')' || c == '\n' || c == '\r') {
                return status::ok();
            } else if (c == '*' || c == '+' || c == '?' || c == '{') {
                return error_at(i_, "repetition operator without an expression before it");
            } else {
                if (c >= 0x20 && c < 0x7f) return error_at(i_, "unexpected character '%c'", c);
                return error_at(i_, "unexpected character 0x%02X", unsigned(c));
            }
            skip_space(nested);
            SMOLVLM_TRY(parse_postfix(owner, seq, start, nested));
            if (seq.size() > k_max_elements) return error_at(at_offset, "grammar too large");
        }
    }

    status parse_alternates(std::uint32_t owner, std::vector<std::vector<std::uint32_t>>& alts, bool nested) {
        for (;;) {
            alts.emplace_back();
            std::vector<std::uint32_t> seq;
            SMOLVLM_TRY(parse_sequence(owner, seq, nested));
            alts.back() = std::move(seq);
            if (at('|')) {
                ++i_;
                const std::size_t after_bar = i_;
                skip_space(true);
                if (!nested && (i_ >= n_ || at_rule_start())) {  // "a ::= x |" then the next rule
                    alts.emplace_back();
                    i_ = after_bar;
                    skip_space(false);
                    return status::ok();
                }
                continue;
            }
            if (!nested) {  // "|" at the start of a following line continues the rule
                const std::size_t save = i_;
                skip_space(true);
                if (at('|')) {
                    ++i_;
                    const std::size_t after_bar = i_;
                    skip_space(true);
                    if (i_ >= n_ || at_rule_start()) {
                        alts.emplace_back();
                        i_ = after_bar;
                        skip_space(false);
                        return status::ok();
                    }
                    continue;
                }
                i_ = save;
            }
            return status::ok();
        }
    }

    status parse_rule() {
        const std::size_t start = i_;
        const std::string name = parse_name();
        if (name.empty()) {
            if (cur() >= 0x20 && cur() < 0x7f) return error_at(start, "expected a rule name, found '%c'", cur());
            return error_at(start, "expected a rule name");
        }
        skip_space(false);
        if (!(i_ + 3 <= n_ && s_[i_] == ':' && s_[i_ + 1] == ':' && s_[i_ + 2] == '='))
            return error_at(i_, "expected '::=' after rule name '%s'", name.c_str());
        i_ += 3;
        skip_space(true);
        const std::uint32_t id = rule_id(name, start);
        if (rules_[id].defined) {
            std::size_t line, col;
            line_col(rules_[id].def_offset, &line, &col);
            return error_at(start, "rule '%s' is defined twice (first at line %zu, column %zu)", name.c_str(), line, col);
        }
        rules_[id].defined = true;
        rules_[id].def_offset = start;
        std::vector<std::vector<std::uint32_t>> alts;
        SMOLVLM_TRY(parse_alternates(id, alts, false));
        rules_[id].alts = std::move(alts);
        skip_space(false);
        if (at(')')) return error_at(i_, "unmatched ')'");
        if (i_ < n_ && s_[i_] != '\n' && s_[i_] != '\r') return error_at(i_, "expected end of line after rule '%s'", name.c_str());
        return status::ok();
    }

    status check(std::uint32_t root);

    const char* s_;
    std::size_t n_;
    std::size_t i_ = 0;
    bool last_was_empty_ = false;
    std::uint32_t helper_count_ = 0;
    std::vector<rule_build> rules_;
    std::unordered_map<std::string, std::uint32_t> by_name_;
    std::vector<std::vector<cp_range>> sets_;
    std::unordered_map<std::string, std::uint32_t> set_index_;
    grammar g_;
};

// Undefined rules, min lengths (productivity), left recursion; fills g_.
inline status gbnf_parser::check(std::uint32_t root) {
    const std::size_t nr = rules_.size();
    for (std::size_t r = 0; r < nr; ++r)
        if (!rules_[r].defined) return error_at(rules_[r].ref_offset, "undefined rule '%s'", rules_[r].name.c_str());

    // Flatten into the compiled arrays.
    grammar& g = g_;
    g.names_.resize(nr);
    g.rule_alts_.assign(nr + 1, 0);
    for (std::size_t r = 0; r < nr; ++r) {
        g.names_[r] = rules_[r].name;
        g.rule_alts_[r] = std::uint32_t(g.alt_starts_.size());
        for (const auto& alt : rules_[r].alts) {
            g.alt_starts_.push_back(std::uint32_t(g.elems_.size()));
            g.elems_.insert(g.elems_.end(), alt.begin(), alt.end());
            g.elems_.push_back(0);  // end
        }
    }
    g.rule_alts_[nr] = std::uint32_t(g.alt_starts_.size());
    g.set_begin_.assign(1, 0);
    g.ascii_.assign(sets_.size() * 2, 0);
    for (std::size_t s = 0; s < sets_.size(); ++s) {
        for (const cp_range& r : sets_[s]) {
            g.ranges_.push_back(r);
            for (std::uint32_t c = r.lo; c <= r.hi && c < 128; ++c) g.ascii_[2 * s + (c >> 6)] |= std::uint64_t(1) << (c & 63);
        }
        g.set_begin_.push_back(std::uint32_t(g.ranges_.size()));
    }
    g.root_ = root;

    // Min lengths in UTF-8 bytes (a set costs the length of its lowest code point): iterate to
    // a fixed point (saturating; k_infinite = never completes). Bytes, not code points, so a
    // byte-level vocabulary always has a token per unit of the count (the session's
    // max_new_tokens budget relies on it).
    constexpr std::uint32_t inf = grammar::k_infinite;
    auto set_bytes = [&](std::uint32_t set) -> std::uint32_t {
        const std::uint32_t lo = g.ranges_[g.set_begin_[set]].lo;
        return lo < 0x80 ? 1u : lo < 0x800 ? 2u : lo < 0x10000 ? 3u : 4u;
    };
    g.min_len_.assign(nr, inf);
    auto alt_cost = [&](std::uint32_t pos) {
        std::uint64_t sum = 0;
        for (;; ++pos) {
            const std::uint32_t e = g.elems_[pos];
            const auto k = grammar::kind_of(e);
            if (k == grammar::elem_kind::end) break;
            const std::uint32_t c = k == grammar::elem_kind::set ? set_bytes(grammar::index_of(e)) : g.min_len_[grammar::index_of(e)];
            if (c == inf) return inf;
            sum += c;
            if (sum >= inf) return inf - 1;
        }
        return std::uint32_t(sum);
    };
    for (bool changed = true; changed;) {
        changed = false;
        // Helper rules are created after the rules they serve: walk backwards first.
        for (std::size_t r = nr; r-- > 0;) {
            std::uint32_t best = g.min_len_[r];
            for (const std::uint32_t* a = g.alts_begin(std::uint32_t(r)); a != g.alts_end(std::uint32_t(r)); ++a)
                best = std::min(best, alt_cost(*a));
            if (best < g.min_len_[r]) {
                g.min_len_[r] = best;
                changed = true;
            }
        }
    }
    g.min_rest_.assign(g.elems_.size(), 0);
    for (std::size_t pos = g.elems_.size(); pos-- > 0;) {
        const std::uint32_t e = g.elems_[pos];
        const auto k = grammar::kind_of(e);
        if (k == grammar::elem_kind::end) {
            g.min_rest_[pos] = 0;
            continue;
        }
        const std::uint32_t c = k == grammar::elem_kind::set ? set_bytes(grammar::index_of(e)) : g.min_len_[grammar::index_of(e)];
        const std::uint32_t rest = g.min_rest_[pos + 1];
        g.min_rest_[pos] = (c == inf || rest == inf) ? inf : std::uint32_t(std::min<std::uint64_t>(std::uint64_t(c) + rest, inf - 1));
    }

    // Rules reachable from the root must be able to complete.
    std::vector<std::uint8_t> reach(nr, 0);
    std::vector<std::uint32_t> todo{root};
    reach[root] = 1;
    while (!todo.empty()) {
        const std::uint32_t r = todo.back();
        todo.pop_back();
        for (const std::uint32_t* a = g.alts_begin(r); a != g.alts_end(r); ++a)
            for (std::uint32_t pos = *a; grammar::kind_of(g.elems_[pos]) != grammar::elem_kind::end; ++pos)
                if (grammar::kind_of(g.elems_[pos]) == grammar::elem_kind::ref) {
                    const std::uint32_t q = grammar::index_of(g.elems_[pos]);
                    if (!reach[q]) {
                        reach[q] = 1;
                        todo.push_back(q);
                    }
                }
    }
    {
        // Every alternative of a rule that never completes calls another such rule: follow
        // the first one from the outermost until a rule repeats, and report that cycle.
        std::uint32_t bad = inf;
        for (std::uint32_t r = 0; r < nr && bad == inf; ++r)
            if (reach[r] && g.min_len_[r] == inf) bad = r;
        if (bad != inf) {
            std::vector<std::uint32_t> path;
            std::vector<std::int32_t> seen(nr, -1);
            std::uint32_t r = bad;
            while (seen[r] < 0) {
                seen[r] = std::int32_t(path.size());
                path.push_back(r);
                std::uint32_t next = r;
                for (std::uint32_t pos = *g.alts_begin(r); grammar::kind_of(g.elems_[pos]) != grammar::elem_kind::end; ++pos) {
                    const std::uint32_t e = g.elems_[pos];
                    if (grammar::kind_of(e) == grammar::elem_kind::ref && g.min_len_[grammar::index_of(e)] == inf) {
                        next = grammar::index_of(e);
                        break;
                    }
                }
                r = next;
            }
            std::string chain;
            std::uint32_t blame = inf;
            for (std::size_t k = std::size_t(seen[r]); k < path.size(); ++k) {
                chain += rules_[path[k]].name + " -> ";
                if (blame == inf && !rules_[path[k]].synthetic) blame = path[k];
                if (chain.size() > 120) break;
            }
            chain += rules_[r].name;
            if (blame == inf) blame = rules_[r].owner;
            return error_at(rules_[blame].def_offset,
                            "rule '%s' can never produce a finite string (it always recurses: %s)",
                            rules_[blame].name.c_str(), chain.c_str());
        }
    }

    // Left recursion. Edge r -> q when q is called after a nullable prefix of an
    // alternative of r; the edge is a tail call when only `end` follows the call. A cycle
    // of tail calls is harmless (the matcher's stack does not grow and it stops at a state
    // it has seen); a cycle through a non-tail call would grow the stack forever.
    struct edge {
        std::uint32_t to;
        bool tail;
    };
    std::vector<std::vector<edge>> out(nr);
    for (std::uint32_t r = 0; r < nr; ++r)
        for (const std::uint32_t* a = g.alts_begin(r); a != g.alts_end(r); ++a)
            for (std::uint32_t pos = *a;; ++pos) {
                const std::uint32_t e = g.elems_[pos];
                if (grammar::kind_of(e) != grammar::elem_kind::ref) break;
                const std::uint32_t q = grammar::index_of(e);
                out[r].push_back({q, grammar::kind_of(g.elems_[pos + 1]) == grammar::elem_kind::end});
                if (g.min_len_[q] != 0) break;
            }
    // Tarjan's strongly connected components, iteratively.
    std::vector<std::int32_t> index(nr, -1), low(nr, 0), comp(nr, -1);
    std::vector<std::uint8_t> on_stack(nr, 0);
    std::vector<std::uint32_t> stk;
    std::vector<std::pair<std::uint32_t, std::size_t>> call;  // (rule, next edge)
    std::int32_t counter = 0, n_comp = 0;
    for (std::uint32_t s = 0; s < nr; ++s) {
        if (index[s] >= 0) continue;
        call.push_back({s, 0});
        index[s] = low[s] = counter++;
        stk.push_back(s);
        on_stack[s] = 1;
        while (!call.empty()) {
            const std::uint32_t v = call.back().first;
            std::size_t& ei = call.back().second;
            if (ei < out[v].size()) {
                const std::uint32_t w = out[v][ei++].to;
                if (index[w] < 0) {
                    index[w] = low[w] = counter++;
                    stk.push_back(w);
                    on_stack[w] = 1;
                    call.push_back({w, 0});
                } else if (on_stack[w]) {
                    low[v] = std::min(low[v], index[w]);
                }
                continue;
            }
            if (low[v] == index[v]) {
                for (;;) {
                    const std::uint32_t w = stk.back();
                    stk.pop_back();
                    on_stack[w] = 0;
                    comp[w] = n_comp;
                    if (w == v) break;
                }
                ++n_comp;
            }
            call.pop_back();
            if (!call.empty()) {
                const std::uint32_t u = call.back().first;
                low[u] = std::min(low[u], low[v]);
            }
        }
    }
    for (std::uint32_t r = 0; r < nr; ++r)
        for (const edge& e : out[r]) {
            if (e.tail || comp[e.to] != comp[r]) continue;
            // Path e.to -> ... -> r inside the component, for the message.
            std::vector<std::int32_t> prev(nr, -1);
            std::vector<std::uint32_t> q{e.to};
            prev[e.to] = std::int32_t(e.to);
            for (std::size_t k = 0; k < q.size() && prev[r] < 0; ++k)
                for (const edge& f : out[q[k]])
                    if (comp[f.to] == comp[r] && prev[f.to] < 0) {
                        prev[f.to] = std::int32_t(q[k]);
                        q.push_back(f.to);
                    }
            std::vector<std::uint32_t> path{r};
            for (std::uint32_t v = r; v != e.to;) {
                v = std::uint32_t(prev[v]);
                path.push_back(v);
            }
            std::string chain = rules_[r].name;
            for (std::size_t k = path.size(); k-- > 0;) {
                chain += " -> ";
                chain += rules_[path[k]].name;
                if (chain.size() > 120) {
                    chain += " ...";
                    break;
                }
            }
            const std::uint32_t blame = rules_[r].synthetic ? rules_[r].owner : r;
            return error_at(rules_[blame].def_offset, "rule '%s' is left-recursive (%s)", rules_[blame].name.c_str(),
                            chain.c_str());
        }
    return status::ok();
}

inline result<grammar> gbnf_parser::run(std::string_view root_name) {
    skip_space(true);
    while (i_ < n_) {
        SMOLVLM_TRY(parse_rule());
        skip_space(true);
    }
    auto it = by_name_.find(std::string(root_name));
    if (it == by_name_.end() || !rules_[it->second].defined) {
        if (rules_.empty()) return status::fmt(errc::bad_format, "grammar: no rules");
        return status::fmt(errc::bad_format, "grammar: no '%.*s' rule (the start rule)", int(root_name.size()),
                           root_name.data());
    }
    // Helper names are "owner-N"; rename any that a user rule also uses.
    for (auto& r : rules_)
        if (r.synthetic)
            while (by_name_.count(r.name)) r.name += "_";
    SMOLVLM_TRY(check(it->second));
    return std::move(g_);
}

}  // namespace detail

inline result<grammar> compile_gbnf(std::string_view text, std::string_view root) {
    return detail::gbnf_parser(text).run(root);
}

inline std::string grammar::to_gbnf() const {
    std::string out;
    for (std::uint32_t r = 0; r < n_rules(); ++r) {
        out += names_[r];
        out += " ::=";
        bool first_alt = true;
        for (const std::uint32_t* a = alts_begin(r); a != alts_end(r); ++a) {
            if (!first_alt) out += " |";
            first_alt = false;
            bool in_lit = false;
            for (std::uint32_t pos = *a; kind_of(elems_[pos]) != elem_kind::end; ++pos) {
                const std::uint32_t e = elems_[pos];
                const std::uint32_t i = index_of(e);
                const bool single = kind_of(e) == elem_kind::set && set_begin_[i + 1] == set_begin_[i] + 1 &&
                                    ranges_[set_begin_[i]].lo == ranges_[set_begin_[i]].hi;
                if (single) {
                    if (!in_lit) out += " \"";
                    in_lit = true;
                    detail::gbnf_append_char(out, ranges_[set_begin_[i]].lo, false);
                    continue;
                }
                if (in_lit) out += "\"";
                in_lit = false;
                out += ' ';
                if (kind_of(e) == elem_kind::set)
                    out += detail::gbnf_class(set_ranges_begin(i), set_ranges_end(i));
                else
                    out += names_[i];
            }
            if (in_lit) out += "\"";
        }
        out += '\n';
    }
    return out;
}

}  // namespace smolvlm
