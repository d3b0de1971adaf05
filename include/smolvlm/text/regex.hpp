// smolvlm/text/regex.hpp — the regular expressions of tokenizer.json, with Oniguruma semantics.
//
// The Rust `tokenizers` library compiles the Split / Replace patterns of tokenizer.json with
// Oniguruma (onig crate, Ruby syntax, no options) and walks them with find_iter. This is a
// small backtracking matcher for the subset those files use, e.g.
//   GPT-2 / SmolLM2  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   Llama-3 / SmolLM3 (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?...
//   Tekken / Mistral  [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|...
// with the same results:
//   * leftmost-first alternation and greedy / lazy (*? +? ?? {m,n}?) / possessive (*+ ++ ?+)
//     quantifiers, backtracking in priority order; the first match found wins;
//   * groups (...), (?:...), (?<name>...), atomic (?>...), lookahead (?=...) (?!...) (atomic,
//     like Oniguruma's), options (?i:...), (?-i:...) and (?i) (to the end of the group, with
//     the alternatives after it: a(?i)b|c = a(?i:b|c));
//   * classes [...] with negation, ranges and escapes; \s = White_Space, \d = \p{Nd}, \w =
//     Alphabetic|M|Nd|Pc|Join_Control, \h = [0-9a-fA-F], \p{..} \P{..} \p{^..} with general
//     categories (L, Lu, Letter, Uppercase_Letter, ...; Unicode 16.0 as Oniguruma 6.9.10);
//     . = any character but \n; ^ $ are line anchors (Ruby), \A \z \Z \b \B;
//   * escapes \t \n \r \f \v \a \e \xHH \x{H...} \uHHHH \0oo and \<punctuation>; a '{' that
//     does not start a valid interval is a literal (Ruby syntax);
//   * case-insensitive matching of ASCII: a letter matches its other case, and k / s also
//     match U+212A KELVIN SIGN / U+017F LONG S (Unicode simple case folding, as Oniguruma).
// Anything else is a compile error naming the construct (errc::unsupported): back-references,
// lookbehind, \G \K \R \X, POSIX brackets, nested classes and &&, scripts and binary
// properties in \p{}, (?m) (?x), case-insensitive non-ASCII letters and multi-character case
// folds ("ss" vs "ß"), nested quantifiers (a**), and '{m,n}+' (a nested repeat in Ruby syntax).
//
// Subjects must be valid UTF-8 to get Oniguruma's answers (the tokenizer makes its input
// valid first); invalid bytes are read as single non-matching-anything-but-negations
// characters and never make the matcher read out of bounds or loop.
// Matching is bounded: every search has a step budget (instructions plus characters consumed
// by a repeat), k_default_max_steps by default; past it the search returns step_limit (the
// onig crate panics on its retry limit instead).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/status.hpp"
#include "unicode.hpp"

namespace smolvlm {

enum class regex_result : std::uint8_t { match, no_match, step_limit };

namespace detail {

// A character class: ASCII answers from a bitmap, other code points from the items.
struct rx_set {
    // word_bare: \\w outside [...]; set_ref: another class (lo = its index); not_newline: '.'
    enum item_kind : std::uint8_t { range, categories, space, word, word_bare, hex, set_ref, not_newline };
    struct item {
        item_kind kind;
        bool negated;
        std::uint32_t lo, hi;  // range: [lo, hi]; categories: bit mask over general_category in lo
    };
    std::uint64_t ascii[2] = {0, 0};  // final answer (negation applied) for code points < 128
    std::vector<item> items;
    bool negated = false;

    bool item_contains(const item& it, std::uint32_t cp, int* gc_cache, const rx_set* all) const {
        bool in = false;
        switch (it.kind) {
            case range: in = cp >= it.lo && cp <= it.hi; break;
            case categories:
                if (*gc_cache < 0) *gc_cache = int(general_category_of(cp));
                in = (it.lo >> *gc_cache) & 1u;
                break;
            case space: in = is_white_space(cp); break;
            case word: in = is_word_char(cp); break;
            case word_bare: in = is_word_char(cp, true); break;
            case hex: in = (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'f') || (cp >= 'A' && cp <= 'F'); break;
            case set_ref: in = all[it.lo].contains(cp, all); break;
            case not_newline: in = cp != '\n'; break;
        }
        return in != it.negated;
    }
    // `all` is the pattern's class table (for set_ref items).
    bool raw_contains(std::uint32_t cp, const rx_set* all) const {  // union of the items, before the class's negation
        int gc = -1;
        for (const item& it : items)
            if (item_contains(it, cp, &gc, all)) return true;
        return false;
    }
    bool contains(std::uint32_t cp, const rx_set* all) const {
        if (cp < 128) return (ascii[cp >> 6] >> (cp & 63)) & 1u;
        return contains_slow(cp, all);
    }
    bool contains_slow(std::uint32_t cp, const rx_set* all) const {
        if (cp > 0x10FFFF) return negated;  // an invalid byte: only negated classes take it
        return raw_contains(cp, all) != negated;
    }
    // Fill the ASCII bitmap; with case_fold, ASCII letters also take their other case and
    // k / s also U+212A / U+017F (the only non-ASCII simple case folds onto ASCII letters).
    void finalize(bool case_fold, const rx_set* all = nullptr) {
        bool in[128];
        for (std::uint32_t c = 0; c < 128; ++c) in[c] = raw_contains(c, all);
        if (case_fold) {
            bool folded[128];
            for (std::uint32_t c = 0; c < 128; ++c) {
                folded[c] = in[c];
                if (c >= 'a' && c <= 'z') folded[c] = folded[c] || in[c - 32];
                if (c >= 'A' && c <= 'Z') folded[c] = folded[c] || in[c + 32];
            }
            if (folded[std::size_t('k')]) items.push_back(item{range, false, 0x212A, 0x212A});
            if (folded[std::size_t('s')]) items.push_back(item{range, false, 0x17F, 0x17F});
            for (std::uint32_t c = 0; c < 128; ++c) in[c] = folded[c];
        }
        ascii[0] = ascii[1] = 0;
        for (std::uint32_t c = 0; c < 128; ++c)
            if (in[c] != negated) ascii[c >> 6] |= std::uint64_t(1) << (c & 63);
    }
};

enum class rx_op : std::uint8_t {
    match,     // the whole pattern matched
    chr,       // a = code point
    set,       // a = class index
    any,       // any character but '\n'
    split,     // continue at a, on failure at b; min != 0: skip to b unless class min - 1 holds the next char
    jmp,       // a = target
    bol, eol, text_begin, text_end, text_end_nl, word_boundary, not_word_boundary,
    repeat,    // one-character item (kind / a) repeated min..max times; mode 0 greedy, 1 lazy, 2 possessive
    look,      // lookahead / atomic group: sub-program at pc + 1 .. (ends with sub_end); continue at b
    sub_end,
    mark,      // slot a = position (empty-loop check)
    check,     // if position == slot a (the loop body matched empty) jump to b
};

enum : std::uint8_t { rx_look_pos = 0, rx_look_neg = 1, rx_atomic = 2 };

struct rx_inst {
    rx_op op = rx_op::match;
    std::uint8_t mode = 0;          // repeat: greedy/lazy/possessive; look: rx_look_*
    rx_op kind = rx_op::match;      // repeat: chr / set / any
    std::uint32_t a = 0, b = 0;
    std::uint32_t min = 0, max = 0;  // repeat bounds; max = k_rx_inf for unbounded
};

inline constexpr std::uint32_t k_rx_inf = 0xFFFFFFFFu;

struct rx_frame {
    std::uint32_t kind;  // 0 alternative, 1 greedy give-back, 2 lazy extend, 3 restore slot
    std::uint32_t pc;
    std::size_t pos, aux;
};

}  // namespace detail

// Reusable matcher memory: pass one to repeated searches to avoid allocations.
struct regex_scratch {
    std::vector<detail::rx_frame> stack;
    std::vector<std::size_t> slots;
    std::size_t steps = 0, max_steps = 0;
    bool limit_hit = false;
};

class regex {
public:
    static constexpr std::size_t k_default_max_steps = 10000000;

    regex() = default;

    // Compile an Oniguruma (Ruby syntax) pattern; errc::unsupported names what is not supported.
    static result<regex> compile(std::string_view pattern);
    // A pattern matching `text` literally (tokenizers' {"String": ...} patterns).
    static regex literal(std::string_view text);

    // Leftmost match starting at or after `from` in s (anchors and lookarounds see all of s).
    regex_result search(std::string_view s, std::size_t from, std::size_t* match_start, std::size_t* match_end,
                        regex_scratch& sc, std::size_t max_steps = k_default_max_steps) const;
    regex_result search(std::string_view s, std::size_t from, std::size_t* match_start, std::size_t* match_end) const {
        regex_scratch sc;
        return search(s, from, match_start, match_end, sc);
    }

    // Every match of onig's find_iter, in order: f(start, end) for each; an empty match right
    // after the previous match is skipped. Returns no_match when the walk ended normally.
    template <class F>
    regex_result for_each_match(std::string_view s, regex_scratch& sc, F&& f,
                                std::size_t max_steps = k_default_max_steps) const {
        std::size_t last_end = 0, last_match_end = std::string_view::npos;
        while (last_end <= s.size()) {
            std::size_t ms = 0, me = 0;
            const regex_result r = search(s, last_end, &ms, &me, sc, max_steps);
            if (r != regex_result::match) return r;
            if (ms == me && last_match_end == me) {
                if (last_end >= s.size()) break;
                last_end += next_len(s, last_end);
                continue;
            }
            last_end = me;
            last_match_end = me;
            f(ms, me);
        }
        return regex_result::no_match;
    }

    bool empty() const { return prog_.empty(); }
    const std::string& pattern() const { return pattern_; }

private:
    friend struct regex_compiler;

    static std::size_t next_len(std::string_view s, std::size_t i) {
        std::uint32_t cp;
        return next_code_point(reinterpret_cast<const unsigned char*>(s.data()), i, s.size(), &cp);
    }

    std::size_t run(const unsigned char* s, std::size_t n, std::uint32_t pc, std::size_t pos, regex_scratch& sc) const;
    bool item_match(const detail::rx_inst& in, std::uint32_t cp) const {
        switch (in.kind) {
            case detail::rx_op::chr: return cp == in.a;
            case detail::rx_op::set: return sets_[in.a].contains(cp, sets_.data());
            default: return cp != '\n';  // any
        }
    }

    std::string pattern_;
    std::vector<detail::rx_inst> prog_;
    std::vector<detail::rx_set> sets_;
    // For guarded splits (rx_inst::max = table row + 1): per ASCII character, the first
    // instruction of the chain of guarded splits whose guard accepts it (chains of
    // alternatives are skipped in one step).
    std::vector<std::uint32_t> ascii_skip_;
    std::uint32_t n_slots_ = 0;
    bool anchored_start_ = false;  // starts with \A: only position 0 can match
};

// ---- compiler ---------------------------------------------------------------------

struct regex_compiler {
    enum class nk : std::uint8_t { empty, chr, set, any, cat, alt, repeat, look, assertion };
    struct node {
        nk kind = nk::empty;
        std::uint8_t mode = 0;      // repeat: 0 greedy 1 lazy 2 possessive; look: rx_look_*
        detail::rx_op assertion = detail::rx_op::match;
        std::uint32_t cp = 0;       // chr; set: class index
        std::uint32_t min = 0, max = 0;
        std::vector<int> kids;
    };

    static constexpr int k_max_depth = 64;
    static constexpr std::uint32_t k_max_repeat = 100000;      // Oniguruma's ONIG_MAX_REPEAT_NUM
    static constexpr std::size_t k_max_program = 1u << 20;     // instructions

    std::string_view pat;
    std::size_t pos = 0;
    std::vector<node> nodes;
    std::vector<detail::rx_set> sets;
    status err;

    // ---- errors and lexing
    int fail(errc code, const char* what) {  // records the first error; returns -1 (no node)
        if (err.is_ok()) err = status::fmt(code, "regex: %s at offset %zu in /%.120s/", what, pos, std::string(pat).c_str());
        return -1;
    }
    bool at_end() const { return pos >= pat.size(); }
    std::uint32_t peek_cp(std::size_t* len) const {
        std::uint32_t cp;
        *len = next_code_point(reinterpret_cast<const unsigned char*>(pat.data()), pos, pat.size(), &cp);
        return cp;
    }
    bool eat(char c) {
        if (!at_end() && pat[pos] == c) {
            ++pos;
            return true;
        }
        return false;
    }
    int add(node n) {
        nodes.push_back(std::move(n));
        return int(nodes.size()) - 1;
    }
    static bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
    static std::uint32_t hex_val(char c) {
        return std::uint32_t(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }

    // ---- properties: \p{...} names (Oniguruma: case and '_', '-', ' ' are ignored)
    static bool category_mask(std::string_view name, std::uint32_t* mask) {
        std::string k;
        for (char c : name) {
            if (c == '_' || c == '-' || c == ' ') continue;
            k.push_back(char(c >= 'A' && c <= 'Z' ? c + 32 : c));
        }
        using g = general_category;
        auto bit = [](g x) { return std::uint32_t(1) << int(x); };
        auto span = [&](g a, g b) {
            std::uint32_t m = 0;
            for (int i = int(a); i <= int(b); ++i) m |= std::uint32_t(1) << i;
            return m;
        };
        struct entry { const char* s; const char* l; std::uint32_t m; };
        const entry table[] = {
            {"l", "letter", span(g::Lu, g::Lo)},
            {"lu", "uppercaseletter", bit(g::Lu)},
            {"ll", "lowercaseletter", bit(g::Ll)},
            {"lt", "titlecaseletter", bit(g::Lt)},
            {"lm", "modifierletter", bit(g::Lm)},
            {"lo", "otherletter", bit(g::Lo)},
            {"lc", "casedletter", bit(g::Lu) | bit(g::Ll) | bit(g::Lt)},
            {"l&", "casedletter", bit(g::Lu) | bit(g::Ll) | bit(g::Lt)},
            {"m", "mark", span(g::Mn, g::Me)},
            {"mn", "nonspacingmark", bit(g::Mn)},
            {"mc", "spacingmark", bit(g::Mc)},
            {"me", "enclosingmark", bit(g::Me)},
            {"n", "number", span(g::Nd, g::No)},
            {"nd", "decimalnumber", bit(g::Nd)},
            {"nl", "letternumber", bit(g::Nl)},
            {"no", "othernumber", bit(g::No)},
            {"p", "punctuation", span(g::Pc, g::Po)},
            {"pc", "connectorpunctuation", bit(g::Pc)},
            {"pd", "dashpunctuation", bit(g::Pd)},
            {"ps", "openpunctuation", bit(g::Ps)},
            {"pe", "closepunctuation", bit(g::Pe)},
            {"pi", "initialpunctuation", bit(g::Pi)},
            {"pf", "finalpunctuation", bit(g::Pf)},
            {"po", "otherpunctuation", bit(g::Po)},
            {"s", "symbol", span(g::Sm, g::So)},
            {"sm", "mathsymbol", bit(g::Sm)},
            {"sc", "currencysymbol", bit(g::Sc)},
            {"sk", "modifiersymbol", bit(g::Sk)},
            {"so", "othersymbol", bit(g::So)},
            {"z", "separator", span(g::Zs, g::Zp)},
            {"zs", "spaceseparator", bit(g::Zs)},
            {"zl", "lineseparator", bit(g::Zl)},
            {"zp", "paragraphseparator", bit(g::Zp)},
            {"c", "other", bit(g::Cn) | span(g::Cc, g::Co)},
            {"cc", "control", bit(g::Cc)},
            {"cf", "format", bit(g::Cf)},
            {"cs", "surrogate", bit(g::Cs)},
            {"co", "privateuse", bit(g::Co)},
            {"cn", "unassigned", bit(g::Cn)},
            {"any", "any", (std::uint32_t(1) << k_general_category_count) - 1},
        };
        for (const entry& e : table)
            if (k == e.s || k == e.l) {
                *mask = e.m;
                return true;
            }
        return false;
    }

    // After '\p' or '\P' (pos at '{'): the class item, or an error.
    bool parse_property(bool negated, detail::rx_set::item* out) {
        if (!eat('{')) return fail(errc::unsupported, "\\p without {name}") == 0;
        if (eat('^')) negated = !negated;
        const std::size_t close = pat.find('}', pos);
        if (close == std::string_view::npos) return fail(errc::bad_format, "unterminated \\p{") == 0;
        const std::string_view name = pat.substr(pos, close - pos);
        std::uint32_t mask = 0;
        if (!category_mask(name, &mask)) {
            char what[96];
            std::snprintf(what, sizeof what, "unsupported property \\p{%.40s} (only general categories)",
                          std::string(name).c_str());
            return fail(errc::unsupported, what) == 0;
        }
        pos = close + 1;
        *out = detail::rx_set::item{detail::rx_set::categories, negated, mask, 0};
        return true;
    }

    // Escapes that stand for a class: \s \S \d \D \w \W \h \H \p \P. pos is after the
    // letter. Returns true and fills *out when c is one of them.
    bool class_escape(char c, detail::rx_set::item* out, bool* ok) {
        using it = detail::rx_set;
        *ok = true;
        switch (c) {
            case 's': *out = it::item{it::space, false, 0, 0}; return true;
            case 'S': *out = it::item{it::space, true, 0, 0}; return true;
            case 'd': *out = it::item{it::categories, false, 1u << int(general_category::Nd), 0}; return true;
            case 'D': *out = it::item{it::categories, true, 1u << int(general_category::Nd), 0}; return true;
            case 'w': *out = it::item{it::word, false, 0, 0}; return true;
            case 'W': *out = it::item{it::word, true, 0, 0}; return true;
            case 'h': *out = it::item{it::hex, false, 0, 0}; return true;
            case 'H': *out = it::item{it::hex, true, 0, 0}; return true;
            case 'p': *ok = parse_property(false, out); return true;
            case 'P': *ok = parse_property(true, out); return true;
            default: return false;
        }
    }

    // Escapes that stand for one character (pos after the backslash's letter c).
    // Returns false with an error set for unsupported ones.
    bool char_escape(std::uint32_t c, std::uint32_t* cp) {
        switch (c) {
            case 't': *cp = 0x09; return true;
            case 'n': *cp = 0x0A; return true;
            case 'r': *cp = 0x0D; return true;
            case 'f': *cp = 0x0C; return true;
            case 'v': *cp = 0x0B; return true;
            case 'a': *cp = 0x07; return true;
            case 'e': *cp = 0x1B; return true;
            case '0': {
                std::uint32_t v = 0;
                for (int k = 0; k < 2 && !at_end() && pat[pos] >= '0' && pat[pos] <= '7'; ++k) v = v * 8 + (pat[pos++] - '0');
                *cp = v;
                return true;
            }
            case 'x': {
                std::uint32_t v = 0;
                if (eat('{')) {
                    int nd = 0;
                    while (!at_end() && is_hex(pat[pos]) && nd < 8) v = v * 16 + hex_val(pat[pos++]), ++nd;
                    if (nd == 0 || !eat('}') || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
                        return fail(errc::bad_format, "bad \\x{...} escape") == 0;
                } else {
                    int nd = 0;
                    while (nd < 2 && !at_end() && is_hex(pat[pos])) v = v * 16 + hex_val(pat[pos++]), ++nd;
                    if (nd == 0) return fail(errc::bad_format, "bad \\x escape") == 0;
                    if (v >= 0x80) return fail(errc::unsupported, "\\xHH above 0x7F (a raw byte in Oniguruma)") == 0;
                }
                *cp = v;
                return true;
            }
            case 'u': {
                std::uint32_t v = 0;
                for (int k = 0; k < 4; ++k) {
                    if (at_end() || !is_hex(pat[pos])) return fail(errc::bad_format, "bad \\uHHHH escape") == 0;
                    v = v * 16 + hex_val(pat[pos++]);
                }
                if (v >= 0xD800 && v <= 0xDFFF) return fail(errc::unsupported, "surrogate \\u escape") == 0;
                *cp = v;
                return true;
            }
            default: break;
        }
        if (c < 128 && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '1' && c <= '9'))) {
            char what[64];
            std::snprintf(what, sizeof what, "unsupported escape \\%c", char(c));
            return fail(errc::unsupported, what) == 0;
        }
        *cp = c;  // \. \\ \/ \- \' ... and non-ASCII: the character itself
        return true;
    }

    // Can a case-insensitive (?i) literal be matched exactly? ASCII: yes (see rx_set::finalize);
    // other characters only when their category has no case mappings.
    static bool caseless_ok(std::uint32_t cp) {
        if (cp < 128) return true;
        const general_category g = general_category_of(cp);
        using gc = general_category;
        return g == gc::Lo || g == gc::Nd || (g >= gc::Pc && g <= gc::Sk) || (g >= gc::Zs && g <= gc::Cf) ||
               g == gc::Co;
    }

    int literal_node(std::uint32_t cp, bool ci) {
        const bool letter = (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
        if (!ci || !letter) {
            if (ci && !caseless_ok(cp)) {
                fail(errc::unsupported, "case-insensitive (?i) matching of a non-ASCII cased character");
                return -1;
            }
            node n;
            n.kind = nk::chr;
            n.cp = cp;
            return add(n);
        }
        detail::rx_set s;
        s.items.push_back(detail::rx_set::item{detail::rx_set::range, false, cp, cp});
        s.finalize(true);
        sets.push_back(std::move(s));
        node n;
        n.kind = nk::set;
        n.cp = std::uint32_t(sets.size() - 1);
        n.min = cp | 0x20;  // remember the letter for the multi-character fold check
        return add(n);
    }

    // [...] (pos after '[').
    int parse_class(bool ci) {
        detail::rx_set s;
        if (eat('^')) s.negated = true;
        bool first = true;
        for (;;) {
            if (at_end()) {
                fail(errc::bad_format, "unterminated [...] class");
                return -1;
            }
            const char c = pat[pos];
            if (c == ']' && !first) {
                ++pos;
                break;
            }
            first = false;
            if (c == '[') {
                fail(errc::unsupported, pos + 1 < pat.size() && pat[pos + 1] == ':' ? "POSIX bracket [:...:]"
                                                                                     : "nested class [...[...]]");
                return -1;
            }
            if (c == '&' && pos + 1 < pat.size() && pat[pos + 1] == '&') {
                fail(errc::unsupported, "class intersection &&");
                return -1;
            }
            std::uint32_t lo;
            if (c == '\\') {
                ++pos;
                if (at_end()) {
                    fail(errc::bad_format, "pattern ends with a backslash");
                    return -1;
                }
                std::size_t len;
                const std::uint32_t e = peek_cp(&len);
                pos += len;
                detail::rx_set::item it{};
                bool ok = true;
                if (e < 128 && class_escape(char(e), &it, &ok)) {
                    if (!ok) return -1;
                    if (ci && !(it.kind == detail::rx_set::space || it.kind == detail::rx_set::hex ||
                                (it.kind == detail::rx_set::categories && it.lo == (1u << int(general_category::Nd))))) {
                        fail(errc::unsupported, "case-insensitive (?i) class with \\w or \\p{...}");
                        return -1;
                    }
                    s.items.push_back(it);
                    if (!at_end() && pat[pos] == '-' && pos + 1 < pat.size() && pat[pos + 1] != ']') {
                        fail(errc::unsupported, "range from a class escape");
                        return -1;
                    }
                    continue;
                }
                if (e == 'b') lo = 0x08;  // backspace inside a class
                else if (!char_escape(e, &lo)) return -1;
            } else {
                std::size_t len;
                lo = peek_cp(&len);
                if (lo == detail::k_invalid_code_point) {
                    fail(errc::bad_format, "invalid UTF-8 in the pattern");
                    return -1;
                }
                pos += len;
            }
            std::uint32_t hi = lo;
            if (!at_end() && pat[pos] == '-' && pos + 1 < pat.size() && pat[pos + 1] != ']') {
                ++pos;
                if (pat[pos] == '\\') {
                    ++pos;
                    if (at_end()) {
                        fail(errc::bad_format, "pattern ends with a backslash");
                        return -1;
                    }
                    std::size_t len;
                    const std::uint32_t e = peek_cp(&len);
                    pos += len;
                    if (e < 128 && std::strchr("sSdDwWhHpP", int(e)) != nullptr) {
                        fail(errc::unsupported, "range to a class escape");
                        return -1;
                    }
                    if (!char_escape(e, &hi)) return -1;
                } else if (pat[pos] == '[') {
                    fail(errc::unsupported, "nested class [...[...]]");
                    return -1;
                } else {
                    std::size_t len;
                    hi = peek_cp(&len);
                    if (hi == detail::k_invalid_code_point) {
                        fail(errc::bad_format, "invalid UTF-8 in the pattern");
                        return -1;
                    }
                    pos += len;
                }
                if (hi < lo) {
                    fail(errc::bad_format, "empty range in class");
                    return -1;
                }
            }
            if (ci && (hi >= 128 && !(lo == hi && caseless_ok(lo)))) {
                fail(errc::unsupported, "case-insensitive (?i) class with non-ASCII characters");
                return -1;
            }
            s.items.push_back(detail::rx_set::item{detail::rx_set::range, false, lo, hi});
        }
        s.finalize(ci);
        sets.push_back(std::move(s));
        node n;
        n.kind = nk::set;
        n.cp = std::uint32_t(sets.size() - 1);
        return add(n);
    }

    // {m}, {m,}, {,n}, {m,n} at pos (on '{'); false (pos unchanged) when it is not one,
    // which makes the '{' a literal (Ruby syntax).
    bool parse_interval(std::uint32_t* mn, std::uint32_t* mx) {
        std::size_t p = pos + 1;
        auto number = [&](std::uint32_t* v) {
            const std::size_t s = p;
            std::uint64_t x = 0;
            while (p < pat.size() && pat[p] >= '0' && pat[p] <= '9') {
                x = x * 10 + std::uint64_t(pat[p] - '0');
                if (x > 0xFFFFFFF) x = 0xFFFFFFF;
                ++p;
            }
            *v = std::uint32_t(x);
            return p > s;
        };
        std::uint32_t a = 0, b = 0;
        const bool has_a = number(&a);
        if (p < pat.size() && pat[p] == ',') {
            ++p;
            const bool has_b = number(&b);
            if (!has_a && !has_b) return false;
            if (!has_a) a = 0;
            if (!has_b) b = detail::k_rx_inf;
        } else {
            if (!has_a) return false;
            b = a;
        }
        if (p >= pat.size() || pat[p] != '}') return false;
        pos = p + 1;
        *mn = a;
        *mx = b;
        return true;
    }

    int parse_alt(bool ci, int depth) {
        if (depth > k_max_depth) {
            fail(errc::unsupported, "groups nested too deeply");
            return -1;
        }
        std::vector<int> alts;
        for (;;) {
            const int c = parse_cat(ci, depth);
            if (c < 0) return -1;
            alts.push_back(c);
            if (!eat('|')) break;
        }
        if (alts.size() == 1) return alts[0];
        node n;
        n.kind = nk::alt;
        n.kids = std::move(alts);
        return add(n);
    }

    int parse_cat(bool ci, int depth) {
        std::vector<int> items;
        while (!at_end() && pat[pos] != '|' && pat[pos] != ')') {
            // (?i) / (?-i): the rest of the group, alternatives included, gets the option.
            if (pat.compare(pos, 4, "(?i)") == 0 || pat.compare(pos, 5, "(?-i)") == 0) {
                const bool on = pat[pos + 2] == 'i';
                pos += on ? 4 : 5;
                const int rest = parse_alt(on, depth + 1);
                if (rest < 0) return -1;
                items.push_back(rest);
                break;
            }
            const int a = parse_atom(ci, depth);
            if (a < 0) return -1;
            const int q = parse_quantifier(a);
            if (q < 0) return -1;
            if (nodes[std::size_t(q)].kind != nk::empty) items.push_back(q);
        }
        // Multi-character case folds ("ss" = "ß", "st" = "ﬆ", "ff" "fi" "fl") are not supported.
        for (std::size_t i = 0; i + 1 < items.size(); ++i) {
            const node& x = nodes[std::size_t(items[i])];
            const node& y = nodes[std::size_t(items[i + 1])];
            if (x.kind == nk::set && y.kind == nk::set && x.min && y.min) {
                const char p = char(x.min), q = char(y.min);
                if ((p == 's' && (q == 's' || q == 't')) || (p == 'f' && (q == 'f' || q == 'i' || q == 'l'))) {
                    fail(errc::unsupported, "case-insensitive (?i) sequence with a multi-character case fold");
                    return -1;
                }
            }
        }
        if (items.size() == 1) return items[0];
        node n;
        n.kind = items.empty() ? nk::empty : nk::cat;
        n.kids = std::move(items);
        return add(n);
    }

    int parse_quantifier(int atom) {
        if (at_end()) return atom;
        std::uint32_t mn = 0, mx = 0;
        const char c = pat[pos];
        bool interval = false;
        if (c == '*') mn = 0, mx = detail::k_rx_inf, ++pos;
        else if (c == '+') mn = 1, mx = detail::k_rx_inf, ++pos;
        else if (c == '?') mn = 0, mx = 1, ++pos;
        else if (c == '{' && parse_interval(&mn, &mx)) interval = true;
        else return atom;
        const node& target = nodes[std::size_t(atom)];
        const nk k = target.kind;
        bool anchor = k == nk::assertion || k == nk::look;
        if (k == nk::alt)
            for (int kid : target.kids)
                anchor = anchor || nodes[std::size_t(kid)].kind == nk::assertion || nodes[std::size_t(kid)].kind == nk::look;
        if (anchor) {  // Oniguruma: "target of repeat operator is invalid" (for alternatives too)
            fail(errc::unsupported, "quantifier on an assertion or lookahead");
            return -1;
        }
        if (k == nk::empty) {
            fail(errc::bad_format, "quantifier without a target");
            return -1;
        }
        if ((mx != detail::k_rx_inf && mx > k_max_repeat) || (mn > k_max_repeat)) {
            fail(errc::unsupported, "repeat count above 100000");
            return -1;
        }
        if (mx != detail::k_rx_inf && mn > mx) {
            fail(errc::bad_format, "{m,n} with m > n");
            return -1;
        }
        std::uint8_t mode = 0;
        if (eat('?')) mode = 1;
        else if (!at_end() && pat[pos] == '+') {
            if (interval) {
                fail(errc::unsupported, "'{m,n}+' (a nested repeat in Ruby syntax)");
                return -1;
            }
            ++pos;
            mode = 2;
        }
        if (!at_end() && (pat[pos] == '*' || pat[pos] == '+' || pat[pos] == '?' ||
                          (pat[pos] == '{' && [&] {
                              std::size_t save = pos;
                              std::uint32_t a, b;
                              const bool r = parse_interval(&a, &b);
                              pos = save;
                              return r;
                          }()))) {
            fail(errc::unsupported, "nested quantifier");
            return -1;
        }
        node n;
        n.kind = nk::repeat;
        n.mode = mode;
        n.min = mn;
        n.max = mx;
        n.kids.push_back(atom);
        return add(n);
    }

    int parse_atom(bool ci, int depth) {
        std::size_t len;
        const std::uint32_t c = peek_cp(&len);
        if (c == detail::k_invalid_code_point) {
            fail(errc::bad_format, "invalid UTF-8 in the pattern");
            return -1;
        }
        switch (c) {
            case '(': return parse_group(ci, depth);
            case '[': ++pos; return parse_class(ci);
            case '.': {
                ++pos;
                node n;
                n.kind = nk::any;
                return add(n);
            }
            case '^':
            case '$': {
                ++pos;
                node n;
                n.kind = nk::assertion;
                n.assertion = c == '^' ? detail::rx_op::bol : detail::rx_op::eol;
                return add(n);
            }
            case '*':
            case '+':
            case '?':
                fail(errc::bad_format, "quantifier without a target");
                return -1;
            case '{': {
                std::uint32_t a, b;
                const std::size_t save = pos;
                if (parse_interval(&a, &b)) {
                    pos = save;
                    fail(errc::bad_format, "quantifier without a target");
                    return -1;
                }
                ++pos;
                return literal_node('{', ci);
            }
            case '\\': return parse_escape(ci);
            default: pos += len; return literal_node(c, ci);
        }
    }

    int parse_escape(bool ci) {
        ++pos;
        if (at_end()) {
            fail(errc::bad_format, "pattern ends with a backslash");
            return -1;
        }
        std::size_t len;
        const std::uint32_t e = peek_cp(&len);
        pos += len;
        node n;
        n.kind = nk::assertion;
        switch (e) {
            case 'A': n.assertion = detail::rx_op::text_begin; return add(n);
            case 'z': n.assertion = detail::rx_op::text_end; return add(n);
            case 'Z': n.assertion = detail::rx_op::text_end_nl; return add(n);
            case 'b': n.assertion = detail::rx_op::word_boundary; return add(n);
            case 'B': n.assertion = detail::rx_op::not_word_boundary; return add(n);
            default: break;
        }
        detail::rx_set::item it{};
        bool ok = true;
        if (e < 128 && class_escape(char(e), &it, &ok)) {
            if (!ok) return -1;
            if (ci && !(it.kind == detail::rx_set::space || it.kind == detail::rx_set::hex ||
                        (it.kind == detail::rx_set::categories && it.lo == (1u << int(general_category::Nd))))) {
                fail(errc::unsupported, "case-insensitive (?i) \\w or \\p{...}");
                return -1;
            }
            detail::rx_set s;
            if (it.kind == detail::rx_set::word) it.kind = detail::rx_set::word_bare;
            s.items.push_back(it);
            s.finalize(false);
            sets.push_back(std::move(s));
            node m;
            m.kind = nk::set;
            m.cp = std::uint32_t(sets.size() - 1);
            return add(m);
        }
        std::uint32_t cp;
        if (!char_escape(e, &cp)) return -1;
        return literal_node(cp, ci);
    }

    int parse_group(bool ci, int depth) {
        ++pos;  // '('
        node n;
        bool look = false;
        bool inner_ci = ci;
        if (eat('?')) {
            if (at_end()) {
                fail(errc::bad_format, "unterminated group");
                return -1;
            }
            const char c = pat[pos];
            if (c == ':') {
                ++pos;
            } else if (c == '=' || c == '!' || c == '>') {
                ++pos;
                look = true;
                n.kind = nk::look;
                n.mode = c == '=' ? detail::rx_look_pos : c == '!' ? detail::rx_look_neg : detail::rx_atomic;
            } else if (c == '<' && pos + 1 < pat.size() && (pat[pos + 1] == '=' || pat[pos + 1] == '!')) {
                fail(errc::unsupported, "lookbehind (?<=...) / (?<!...)");
                return -1;
            } else if (c == '<' || c == '\'') {
                const char close = c == '<' ? '>' : '\'';
                const std::size_t e = pat.find(close, pos + 1);
                if (e == std::string_view::npos) {
                    fail(errc::bad_format, "unterminated group name");
                    return -1;
                }
                pos = e + 1;  // a named group matches like a plain group (captures are not reported)
            } else if (c == '#') {
                const std::size_t e = pat.find(')', pos);
                if (e == std::string_view::npos) {
                    fail(errc::bad_format, "unterminated (?#...) comment");
                    return -1;
                }
                pos = e + 1;
                node m;
                m.kind = nk::empty;
                return add(m);
            } else if (c == 'i' || c == '-') {
                // (?i:...) / (?-i:...); the isolated (?i) form is handled in parse_cat.
                bool on = true;
                if (eat('-')) on = false;
                if (!eat('i') || !eat(':')) {
                    fail(errc::unsupported, "group option other than (?i:...) / (?-i:...)");
                    return -1;
                }
                inner_ci = on;
            } else {
                char what[96];
                std::snprintf(what, sizeof what, "group (?%c...) (options other than i are unsupported)", c);
                fail(errc::unsupported, what);
                return -1;
            }
        }
        const int body = parse_alt(inner_ci, depth + 1);
        if (body < 0) return -1;
        if (!eat(')')) {
            fail(errc::bad_format, "missing ')'");
            return -1;
        }
        if (!look) return body;
        n.kids.push_back(body);
        return add(n);
    }

    // ---- properties of the tree
    bool nullable(int id) const {
        const node& n = nodes[std::size_t(id)];
        switch (n.kind) {
            case nk::empty: case nk::assertion: case nk::look: return true;
            case nk::chr: case nk::set: case nk::any: return false;
            case nk::cat:
                for (int k : n.kids)
                    if (!nullable(k)) return false;
                return true;
            case nk::alt:
                for (int k : n.kids)
                    if (nullable(k)) return true;
                return false;
            case nk::repeat: return n.min == 0 || nullable(n.kids[0]);
        }
        return true;
    }

    // ---- first-character sets (guards that let a split skip a branch without backtracking)
    // Adds to `items` what can start a match of node id; false when unknown (a lookahead or
    // an assertion comes first). *can_be_empty: the node can match the empty string.
    bool first_items(int id, std::vector<detail::rx_set::item>& items, bool* can_be_empty) const {
        using it = detail::rx_set;
        const node& n = nodes[std::size_t(id)];
        switch (n.kind) {
            case nk::empty: *can_be_empty = true; return true;
            case nk::chr: items.push_back(it::item{it::range, false, n.cp, n.cp}); *can_be_empty = false; return true;
            case nk::set: items.push_back(it::item{it::set_ref, false, n.cp, 0}); *can_be_empty = false; return true;
            case nk::any: items.push_back(it::item{it::not_newline, false, 0, 0}); *can_be_empty = false; return true;
            case nk::look: case nk::assertion: return false;
            case nk::cat:
                for (int k : n.kids) {
                    bool e = false;
                    if (!first_items(k, items, &e)) return false;
                    if (!e) {
                        *can_be_empty = false;
                        return true;
                    }
                }
                *can_be_empty = true;
                return true;
            case nk::alt: {
                bool any_empty = false;
                for (int k : n.kids) {
                    bool e = false;
                    if (!first_items(k, items, &e)) return false;
                    any_empty = any_empty || e;
                }
                *can_be_empty = any_empty;
                return true;
            }
            case nk::repeat: {
                bool e = false;
                if (!first_items(n.kids[0], items, &e)) return false;
                *can_be_empty = e || n.min == 0;
                return true;
            }
        }
        return false;
    }
    // 1 + the index of a class of the characters that can start node id, or 0 (no guard).
    std::uint32_t guard_for(int id) {
        std::vector<detail::rx_set::item> items;
        bool empty = false;
        if (!first_items(id, items, &empty) || empty || items.empty() || items.size() > 64) return 0;
        detail::rx_set g;
        g.items = std::move(items);
        g.finalize(false, sets.data());
        sets.push_back(std::move(g));
        return std::uint32_t(sets.size());
    }

    // ---- code generation
    std::vector<detail::rx_inst> prog;
    std::uint32_t n_slots = 0;

    std::uint32_t here() const { return std::uint32_t(prog.size()); }
    std::uint32_t emit(detail::rx_inst in) {
        prog.push_back(in);
        return here() - 1;
    }
    bool too_big() {
        if (prog.size() > k_max_program) {
            fail(errc::unsupported, "pattern too large once its repeats are expanded");
            return true;
        }
        return false;
    }

    bool gen(int id) {
        using detail::rx_inst;
        using detail::rx_op;
        if (too_big()) return false;
        const node& n = nodes[std::size_t(id)];
        switch (n.kind) {
            case nk::empty: return true;
            case nk::chr: emit(rx_inst{rx_op::chr, 0, rx_op::match, n.cp, 0, 0, 0}); return true;
            case nk::set: emit(rx_inst{rx_op::set, 0, rx_op::match, n.cp, 0, 0, 0}); return true;
            case nk::any: emit(rx_inst{rx_op::any, 0, rx_op::match, 0, 0, 0, 0}); return true;
            case nk::assertion: emit(rx_inst{n.assertion, 0, rx_op::match, 0, 0, 0, 0}); return true;
            case nk::cat:
                for (int k : n.kids)
                    if (!gen(k)) return false;
                return true;
            case nk::alt: {
                std::vector<std::uint32_t> jumps;
                for (std::size_t i = 0; i < n.kids.size(); ++i) {
                    if (i + 1 < n.kids.size()) {
                        const std::uint32_t sp = emit(rx_inst{rx_op::split, 0, rx_op::match, 0, 0, guard_for(n.kids[i]), 0});
                        prog[sp].a = here();
                        if (!gen(n.kids[i])) return false;
                        jumps.push_back(emit(rx_inst{rx_op::jmp, 0, rx_op::match, 0, 0, 0, 0}));
                        prog[sp].b = here();
                    } else if (!gen(n.kids[i])) {
                        return false;
                    }
                }
                for (std::uint32_t j : jumps) prog[j].a = here();
                return true;
            }
            case nk::look: {
                const std::uint32_t lk = emit(rx_inst{rx_op::look, n.mode, rx_op::match, 0, 0, 0, 0});
                if (!gen(n.kids[0])) return false;
                emit(rx_inst{rx_op::sub_end, 0, rx_op::match, 0, 0, 0, 0});
                prog[lk].b = here();
                return true;
            }
            case nk::repeat: return gen_repeat(n);
        }
        return false;
    }

    bool gen_repeat(const node& n) {
        using detail::rx_inst;
        using detail::rx_op;
        const node& kid = nodes[std::size_t(n.kids[0])];
        if (kid.kind == nk::chr || kid.kind == nk::set || kid.kind == nk::any) {
            rx_inst in{rx_op::repeat, n.mode, kid.kind == nk::chr ? rx_op::chr : kid.kind == nk::set ? rx_op::set : rx_op::any,
                       kid.cp, 0, n.min, n.max};
            emit(in);
            return true;
        }
        if (n.mode == 2) {  // possessive = atomic greedy repeat
            const std::uint32_t lk = emit(rx_inst{rx_op::look, detail::rx_atomic, rx_op::match, 0, 0, 0, 0});
            node g = n;
            g.mode = 0;
            if (!gen_repeat(g)) return false;
            emit(rx_inst{rx_op::sub_end, 0, rx_op::match, 0, 0, 0, 0});
            prog[lk].b = here();
            return true;
        }
        const bool lazy = n.mode == 1;
        for (std::uint32_t i = 0; i < n.min; ++i)
            if (!gen(n.kids[0])) return false;
        if (n.max == detail::k_rx_inf) {
            const bool empty_check = nullable(n.kids[0]);
            const std::uint32_t slot = empty_check ? n_slots++ : 0;
            const std::uint32_t loop = emit(rx_inst{rx_op::split, 0, rx_op::match, 0, 0, 0, 0});
            const std::uint32_t body = here();
            if (empty_check) emit(rx_inst{rx_op::mark, 0, rx_op::match, slot, 0, 0, 0});
            if (!gen(n.kids[0])) return false;
            const std::uint32_t chk = empty_check ? emit(rx_inst{rx_op::check, 0, rx_op::match, slot, 0, 0, 0}) : 0;
            emit(rx_inst{rx_op::jmp, 0, rx_op::match, loop, 0, 0, 0});
            const std::uint32_t exit = here();
            prog[loop].a = lazy ? exit : body;
            prog[loop].b = lazy ? body : exit;
            if (!lazy && !empty_check) prog[loop].min = guard_for(n.kids[0]);
            if (empty_check) prog[chk].b = exit;
            return true;
        }
        std::vector<std::uint32_t> splits;
        for (std::uint32_t i = n.min; i < n.max; ++i) {
            const std::uint32_t sp = emit(rx_inst{rx_op::split, 0, rx_op::match, 0, 0, 0, 0});
            splits.push_back(sp);
            prog[sp].a = here();  // patched below for lazy
            if (!gen(n.kids[0])) return false;
        }
        const std::uint32_t exit = here();
        for (std::uint32_t sp : splits) {
            const std::uint32_t body = prog[sp].a;
            prog[sp].a = lazy ? exit : body;
            prog[sp].b = lazy ? body : exit;
        }
        return true;
    }
};

inline result<regex> regex::compile(std::string_view pattern) {
    regex_compiler c;
    c.pat = pattern;
    const int root = c.parse_alt(false, 0);
    if (root < 0) return c.err;
    if (!c.at_end()) {
        c.fail(errc::bad_format, "unmatched ')'");
        return c.err;
    }
    if (!c.gen(root)) return c.err;
    c.emit(detail::rx_inst{detail::rx_op::match, 0, detail::rx_op::match, 0, 0, 0, 0});
    if (c.too_big()) return c.err;
    regex r;
    r.pattern_ = std::string(pattern);
    r.prog_ = std::move(c.prog);
    r.sets_ = std::move(c.sets);
    r.n_slots_ = c.n_slots;
    r.anchored_start_ = r.prog_[0].op == detail::rx_op::text_begin;
    for (std::size_t pc = 0; pc < r.prog_.size(); ++pc) {
        detail::rx_inst& in = r.prog_[pc];
        if (in.op != detail::rx_op::split || in.min == 0) continue;
        in.max = std::uint32_t(r.ascii_skip_.size() / 128 + 1);
        for (std::uint32_t c = 0; c < 128; ++c) {
            std::uint32_t t = std::uint32_t(pc);
            while (r.prog_[t].op == detail::rx_op::split && r.prog_[t].min != 0 &&
                   !r.sets_[r.prog_[t].min - 1].contains(c, r.sets_.data()))
                t = r.prog_[t].b;
            r.ascii_skip_.push_back(t);
        }
    }
    return r;
}

inline regex regex::literal(std::string_view text) {
    regex r;
    r.pattern_ = std::string(text);
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    for (std::size_t i = 0; i < text.size();) {
        std::uint32_t cp;
        i += next_code_point(s, i, text.size(), &cp);
        r.prog_.push_back(detail::rx_inst{detail::rx_op::chr, 0, detail::rx_op::match, cp, 0, 0, 0});
    }
    r.prog_.push_back(detail::rx_inst{detail::rx_op::match, 0, detail::rx_op::match, 0, 0, 0, 0});
    return r;
}

// ---- matcher ----------------------------------------------------------------------

// Backtracking from pc at pos; the end of the first match in priority order, or npos.
// Frames pushed here are popped before returning (lookaheads and atomic groups are atomic).
inline std::size_t regex::run(const unsigned char* s, std::size_t n, std::uint32_t pc, std::size_t pos,
                              regex_scratch& sc) const {
    using detail::rx_frame;
    using detail::rx_op;
    constexpr std::size_t npos = std::string_view::npos;
    const std::size_t base = sc.stack.size();
    auto prev_boundary = [&](std::size_t p, std::size_t lo) {
        --p;
        while (p > lo && (s[p] & 0xC0) == 0x80) --p;
        return p;
    };
    auto char_at = [&](std::size_t p, std::size_t* len) {
        std::uint32_t cp;
        *len = next_code_point(s, p, n, &cp);
        return cp;
    };
    auto word_before = [&](std::size_t p) {
        if (p == 0) return false;
        std::size_t len;
        return is_word_char(char_at(prev_boundary(p, 0), &len), true);
    };
    auto word_at = [&](std::size_t p) {
        if (p >= n) return false;
        std::size_t len;
        return is_word_char(char_at(p, &len), true);
    };
    for (;;) {
        bool ok = true;
        if (++sc.steps > sc.max_steps) {
            sc.limit_hit = true;
            sc.stack.resize(base);
            return npos;
        }
        const detail::rx_inst& in = prog_[pc];
        switch (in.op) {
            case rx_op::match:
            case rx_op::sub_end: sc.stack.resize(base); return pos;
            case rx_op::chr:
            case rx_op::set:
            case rx_op::any: {
                if (pos >= n) {
                    ok = false;
                    break;
                }
                std::size_t len;
                const std::uint32_t cp = s[pos] < 0x80 ? (len = 1, s[pos]) : char_at(pos, &len);
                const bool m = in.op == rx_op::chr   ? cp == in.a
                               : in.op == rx_op::set ? sets_[in.a].contains(cp, sets_.data())
                                                     : cp != '\n';
                if (m) {
                    pos += len;
                    ++pc;
                } else {
                    ok = false;
                }
                break;
            }
            case rx_op::split:
                if (in.min) {  // first-character guard of branch a
                    if (pos < n && s[pos] < 0x80) {
                        const std::uint32_t t = ascii_skip_[(in.max - 1) * 128 + s[pos]];
                        if (t != pc) {
                            pc = t;
                            break;
                        }
                    } else {
                        std::size_t len;
                        if (pos >= n || !sets_[in.min - 1].contains_slow(char_at(pos, &len), sets_.data())) {
                            pc = in.b;
                            break;
                        }
                    }
                }
                sc.stack.push_back(rx_frame{0, in.b, pos, 0});
                pc = in.a;
                break;
            case rx_op::jmp: pc = in.a; break;
            case rx_op::bol: ok = pos == 0 || s[pos - 1] == '\n'; ++pc; break;
            case rx_op::eol: ok = pos == n || s[pos] == '\n'; ++pc; break;
            case rx_op::text_begin: ok = pos == 0; ++pc; break;
            case rx_op::text_end: ok = pos == n; ++pc; break;
            case rx_op::text_end_nl: ok = pos == n || (pos + 1 == n && s[pos] == '\n'); ++pc; break;
            case rx_op::word_boundary: ok = word_before(pos) != word_at(pos); ++pc; break;
            case rx_op::not_word_boundary: ok = word_before(pos) == word_at(pos); ++pc; break;
            case rx_op::repeat: {
                const std::size_t start = pos;
                std::uint32_t count = 0;
                // The mandatory part.
                while (count < in.min) {
                    if (pos >= n) break;
                    std::size_t len;
                    const std::uint32_t cp = s[pos] < 0x80 ? (len = 1, s[pos]) : char_at(pos, &len);
                    if (!item_match(in, cp)) break;
                    pos += len;
                    ++count;
                }
                sc.steps += count;
                if (count < in.min) {
                    ok = false;
                    break;
                }
                if (in.mode == 1) {  // lazy: continue now, extend on backtrack
                    if (count < in.max) sc.stack.push_back(rx_frame{2, pc, pos, count});
                    ++pc;
                    break;
                }
                const std::size_t lo = pos;
                while (count < in.max && pos < n) {
                    std::size_t len;
                    const std::uint32_t cp = s[pos] < 0x80 ? (len = 1, s[pos]) : char_at(pos, &len);
                    if (!item_match(in, cp)) break;
                    pos += len;
                    ++count;
                }
                sc.steps += pos - lo;
                if (in.mode == 0 && pos > lo) sc.stack.push_back(rx_frame{1, pc + 1, pos, lo});
                (void)start;
                ++pc;
                break;
            }
            case rx_op::look: {
                const std::size_t e = run(s, n, pc + 1, pos, sc);
                if (sc.limit_hit) {
                    sc.stack.resize(base);
                    return npos;
                }
                if (in.mode == detail::rx_look_neg) ok = e == npos;
                else if (in.mode == detail::rx_look_pos) ok = e != npos;
                else {
                    ok = e != npos;
                    if (ok) pos = e;
                }
                pc = in.b;
                break;
            }
            case rx_op::mark:
                sc.stack.push_back(rx_frame{3, in.a, sc.slots[in.a], 0});
                sc.slots[in.a] = pos;
                ++pc;
                break;
            case rx_op::check: pc = sc.slots[in.a] == pos ? in.b : pc + 1; break;
        }
        if (ok) continue;
        // Backtrack: resume at the most recent choice point.
        for (;;) {
            if (sc.stack.size() == base) return npos;
            if (++sc.steps > sc.max_steps) {
                sc.limit_hit = true;
                sc.stack.resize(base);
                return npos;
            }
            rx_frame& f = sc.stack.back();
            if (f.kind == 0) {
                pc = f.pc;
                pos = f.pos;
                sc.stack.pop_back();
                break;
            }
            if (f.kind == 1) {  // greedy: give back one character
                const std::size_t cur = prev_boundary(f.pos, f.aux);
                pc = f.pc;
                pos = cur;
                if (cur > f.aux) f.pos = cur;
                else sc.stack.pop_back();
                break;
            }
            if (f.kind == 2) {  // lazy: take one more character
                const detail::rx_inst& r = prog_[f.pc];
                if (f.pos >= n) {
                    sc.stack.pop_back();
                    continue;
                }
                std::size_t len;
                const std::uint32_t cp = char_at(f.pos, &len);
                if (!item_match(r, cp)) {
                    sc.stack.pop_back();
                    continue;
                }
                pc = f.pc + 1;
                pos = f.pos + len;
                if (f.aux + 1 < r.max) {
                    f.pos = pos;
                    ++f.aux;
                } else {
                    sc.stack.pop_back();
                }
                break;
            }
            sc.slots[f.pc] = f.pos;  // restore a loop slot
            sc.stack.pop_back();
        }
    }
}

inline regex_result regex::search(std::string_view text, std::size_t from, std::size_t* match_start,
                                  std::size_t* match_end, regex_scratch& sc, std::size_t max_steps) const {
    if (prog_.empty() || from > text.size()) return regex_result::no_match;
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    sc.stack.clear();
    sc.slots.assign(n_slots_, std::string_view::npos);
    sc.steps = 0;
    sc.max_steps = max_steps;
    sc.limit_hit = false;
    for (std::size_t start = from;;) {
        const std::size_t e = run(s, n, 0, start, sc);
        if (sc.limit_hit) return regex_result::step_limit;
        if (e != std::string_view::npos) {
            *match_start = start;
            *match_end = e;
            return regex_result::match;
        }
        if (start >= n || anchored_start_) break;
        std::uint32_t cp;
        start += next_code_point(s, start, n, &cp);
    }
    return regex_result::no_match;
}

}  // namespace smolvlm
