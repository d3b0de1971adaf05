// smolvlm/text/bpe.hpp — byte-level BPE tokenizer read from a Hugging Face tokenizer.json.
//
// Reproduces the Rust `tokenizers` library for the configuration SmolLM2 / SmolVLM
// ship (no normalizer, no post-processor, ByteLevel decoder):
//
//   encode(text):
//     1. added tokens (tokenizer.json "added_tokens", e.g. <image>, <end_of_utterance>)
//        are found first in the raw text, leftmost-longest; the text between them
//        goes through steps 2-5.
//     2. Digits(individual_digits): every numeric character (Nd, Nl, No: '7', '²',
//        '½', '٣', 'Ⅻ') becomes a piece of its own.
//     3. ByteLevel split of the rest with the GPT-2 pattern, implemented by hand:
//          's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//        first alternative that matches wins (leftmost-first, as Oniguruma).
//     4. each piece's bytes are spelled in the GPT-2 byte alphabet; a byte without
//        a vocabulary entry is dropped (the reference has no unk token and does the
//        same: in SmolLM2's vocab 0x04 0x06 0x13 0x14 0x16 0x1D 0xC0 0xC1 0xF1..0xFF).
//     5. BPE: repeatedly merge the adjacent pair with the lowest merge rank
//        (ties: leftmost), exactly the priority-queue walk of tokenizers' Word::merge_all.
//     No BOS/EOS is added.
//   decode(ids): tokens -> GPT-2 alphabet -> bytes (a token with a character outside
//     the alphabet contributes its own UTF-8 bytes), then lossy UTF-8 (U+FFFD).
//
// Thread safety: a loaded tokenizer is immutable; encode/decode are const and may be
// called from several threads. There is no word cache: BPE on a typical 4-byte
// piece is a few hash probes, cheaper than a cache lookup would be.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../core/status.hpp"
#include "../io/file.hpp"
#include "../io/json.hpp"
#include "unicode.hpp"

namespace smolvlm {

using token_id = std::int32_t;
inline constexpr token_id k_no_token = -1;

// One entry of tokenizer.json "added_tokens".
struct added_token {
    std::string content;
    token_id id = k_no_token;
    bool special = false;      // skipped by decode(skip_special = true); not matched when parse_special = false
    bool lstrip = false;       // the match swallows whitespace on its left
    bool rstrip = false;       // ... and on its right
    bool single_word = false;  // only matches when not inside a word
    bool normalized = false;   // (no normalizer in supported files: no effect)
};

// Ids of the tokens the SmolVLM pipeline uses; k_no_token when absent.
struct special_token_ids {
    token_id eos = k_no_token;               // tokenizer_config.json "eos_token" when known
    token_id end_of_utterance = k_no_token;  // <end_of_utterance>
    token_id image = k_no_token;             // <image>
    token_id fake_image = k_no_token;        // <fake_token_around_image>
    token_id global_image = k_no_token;      // <global-img>
    token_id im_start = k_no_token;          // <|im_start|>
    token_id im_end = k_no_token;            // <|im_end|>
    token_id endoftext = k_no_token;         // <|endoftext|>
};

class tokenizer {
public:
    tokenizer() = default;

    // Load tokenizer.json. `path` is the file, or a model directory holding it.
    // When tokenizer_config.json sits next to it, its "eos_token" names eos.
    static result<tokenizer> load_file(const std::string& path);
    // From memory. tokenizer_config_json may be empty.
    static result<tokenizer> load_json(std::string_view tokenizer_json, std::string_view tokenizer_config_json = {});

    // Text -> ids. parse_special = false leaves special added tokens as plain text.
    // Input should be UTF-8; an invalid byte is tokenized as a lone symbol (never fails).
    std::vector<token_id> encode(std::string_view text, bool parse_special = true) const;
    void encode_append(std::string_view text, std::vector<token_id>& out, bool parse_special = true) const;

    // Ids -> UTF-8 text. Unknown ids are skipped, like the reference.
    std::string decode(const token_id* ids, std::size_t n, bool skip_special = false) const;
    std::string decode(const std::vector<token_id>& ids, bool skip_special = false) const {
        return decode(ids.data(), ids.size(), skip_special);
    }

    // Token string as stored in the vocabulary (GPT-2 alphabet: " the" is "Ġthe");
    // empty for an unknown id.
    std::string_view id_to_token(token_id id) const {
        return valid_id(id) ? std::string_view(tokens_[std::size_t(id)]) : std::string_view();
    }
    // Raw bytes a token decodes to (" the"); empty for an unknown id.
    std::string_view token_bytes(token_id id) const {
        return valid_id(id) ? std::string_view(bytes_[std::size_t(id)]) : std::string_view();
    }
    // Id of a vocabulary or added-token string, k_no_token when absent.
    token_id token_to_id(std::string_view token) const {
        if (index_.empty()) return k_no_token;
        for (std::size_t i = hash_string(token) & index_mask_;; i = (i + 1) & index_mask_) {
            const token_id id = index_[i];
            if (id == k_no_token) return k_no_token;
            if (tokens_[std::size_t(id)] == token) return id;
        }
    }
    bool valid_id(token_id id) const { return id >= 0 && std::size_t(id) < tokens_.size() && present_[std::size_t(id)]; }
    bool is_special(token_id id) const { return valid_id(id) && special_[std::size_t(id)]; }
    // Largest id + 1 (49280 for SmolVLM): the size an embedding table must have.
    std::size_t vocab_size() const { return tokens_.size(); }
    std::size_t n_merges() const { return n_merges_; }
    const std::vector<added_token>& added_tokens() const { return added_; }
    const special_token_ids& special_ids() const { return special_ids_; }
    token_id eos_id() const { return special_ids_.eos; }
    // <row_{row}_col_{col}> (1-based), k_no_token when the vocabulary lacks it.
    token_id row_col_id(int row, int col) const {
        char buf[40];
        std::snprintf(buf, sizeof buf, "<row_%d_col_%d>", row, col);
        return token_to_id(buf);
    }

private:
    struct merge_entry {
        std::uint64_t key = ~std::uint64_t(0);  // (left << 32) | right; all ones = empty slot
        std::uint32_t rank = 0;
        token_id result = k_no_token;
    };
    struct symbol {
        token_id id;
        std::int32_t prev, next;
        bool alive;
    };
    struct heap_item {
        std::uint32_t rank;
        std::int32_t pos;
        token_id result;
    };
    struct scratch {
        std::vector<symbol> symbols;
        std::vector<heap_item> heap;
    };

    // String -> id index: open addressing over ids, keys live in tokens_.
    static std::size_t hash_string(std::string_view v) {
        std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
        for (char c : v) h = (h ^ std::uint8_t(c)) * 0x100000001b3ull;
        return std::size_t(h ^ (h >> 29));
    }
    void index_insert(token_id id) {  // a later insert of the same string wins
        std::size_t i = hash_string(tokens_[std::size_t(id)]) & index_mask_;
        while (index_[i] != k_no_token && tokens_[std::size_t(index_[i])] != tokens_[std::size_t(id)])
            i = (i + 1) & index_mask_;
        index_[i] = id;
    }

    static std::uint64_t pair_key(token_id a, token_id b) { return (std::uint64_t(std::uint32_t(a)) << 32) | std::uint32_t(b); }
    static std::size_t hash_key(std::uint64_t k) {
        k ^= k >> 33;
        k *= 0xff51afd7ed558ccdull;
        k ^= k >> 33;
        return std::size_t(k);
    }
    const merge_entry* find_merge(token_id a, token_id b) const {
        if (merges_.empty()) return nullptr;
        const std::uint64_t k = pair_key(a, b);
        std::size_t i = hash_key(k) & mask_;
        for (;;) {
            const merge_entry& e = merges_[i];
            if (e.key == k) return &e;
            if (e.key == ~std::uint64_t(0)) return nullptr;
            i = (i + 1) & mask_;
        }
    }
    void insert_merge(token_id a, token_id b, std::uint32_t rank, token_id res) {
        const std::uint64_t k = pair_key(a, b);
        std::size_t i = hash_key(k) & mask_;
        while (merges_[i].key != ~std::uint64_t(0) && merges_[i].key != k) i = (i + 1) & mask_;
        merges_[i].key = k;  // a repeated pair keeps the later rank, like the reference's HashMap
        merges_[i].rank = rank;
        merges_[i].result = res;
    }

    status build(const json_value& root, std::string_view config_json);
    void encode_text(const unsigned char* s, std::size_t n, std::vector<token_id>& out, scratch& sc) const;
    void encode_piece(const unsigned char* s, std::size_t n, std::vector<token_id>& out, scratch& sc) const;
    // Leftmost-longest added-token match in s[from, n): sets [*start, *end) (after
    // lstrip/rstrip) and returns the token index, or -1.
    int find_added(const unsigned char* s, std::size_t n, std::size_t from, bool parse_special, std::size_t* start,
                   std::size_t* end) const;

    std::vector<std::string> tokens_;  // [vocab_size] vocabulary spelling
    std::vector<std::string> bytes_;   // [vocab_size] decoded bytes
    std::vector<std::uint8_t> present_, special_;
    std::vector<token_id> index_;  // [power of two] hash slots, k_no_token = empty
    std::size_t index_mask_ = 0;
    token_id byte_ids_[256] = {};  // id of each single-byte token, k_no_token if none
    std::vector<merge_entry> merges_;
    std::size_t mask_ = 0, n_merges_ = 0;
    std::vector<added_token> added_;
    bool added_first_byte_[256] = {};
    special_token_ids special_ids_;
};

// ---- loading ----------------------------------------------------------------------

namespace detail {

inline std::string byte_level_spelling(std::uint8_t b) {
    std::string s;
    utf8_append(s, byte_to_unicode(b));
    return s;
}

// The ByteLevel decoder's rule for one token: map every character back to its byte;
// if any character is outside the alphabet, use the token's own UTF-8 bytes.
inline std::string byte_level_decode_token(const std::string& token) {
    std::string out;
    out.reserve(token.size());
    const auto* s = reinterpret_cast<const unsigned char*>(token.data());
    for (std::size_t i = 0; i < token.size();) {
        std::uint32_t cp;
        i += next_code_point(s, i, token.size(), &cp);
        const int b = cp == k_invalid_code_point ? -1 : unicode_to_byte(cp);
        if (b < 0) return token;
        out.push_back(char(b));
    }
    return out;
}

inline bool is_word_char(std::uint32_t cp) {
    const char_class k = char_class_of(cp);
    return k == char_class::letter || k == char_class::number || cp == '_';
}

}  // namespace detail

inline result<tokenizer> tokenizer::load_file(const std::string& path) {
    const bool is_json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
    const std::string file = is_json ? path : path_join(path, "tokenizer.json");
    if (!file_exists(file.c_str())) {
        if (is_json) return status::fmt(errc::io, "tokenizer: cannot open '%s'", file.c_str());
        return status::fmt(errc::io,
                           "tokenizer: '%s' has no tokenizer.json (only the Hugging Face fast-tokenizer file is "
                           "supported)",
                           path.c_str());
    }
    SMOLVLM_ASSIGN_OR_RETURN(std::string text, read_text_file(file.c_str()));
    std::string config;
    const std::string config_path = path_join(path_dirname(file), "tokenizer_config.json");
    if (file_exists(config_path.c_str())) {
        SMOLVLM_ASSIGN_OR_RETURN(config, read_text_file(config_path.c_str()));
    }
    auto r = load_json(text, config);
    if (!r.is_ok()) {
        status s = r.error();
        return s.prepend((file + ": ").c_str());
    }
    return r;
}

inline result<tokenizer> tokenizer::load_json(std::string_view tokenizer_json, std::string_view tokenizer_config_json) {
    SMOLVLM_ASSIGN_OR_RETURN(json_value root, parse_json(tokenizer_json));
    tokenizer t;
    SMOLVLM_TRY(t.build(root, tokenizer_config_json));
    return t;
}

inline status tokenizer::build(const json_value& root, std::string_view config_json) {
    if (!root.is_object()) return status(errc::bad_format, "tokenizer.json: top level is not an object");
    const json_value* model = root.find("model");
    if (!model || !model->is_object()) return status(errc::bad_format, "tokenizer.json: no \"model\" object");
    const json_value* type = model->find("type");
    if (type && (!type->is_string() || type->as_string() != "BPE"))
        return status(errc::unsupported, "tokenizer.json: model.type is not \"BPE\"");

    // Refuse pipeline stages we do not implement instead of silently tokenizing differently.
    const json_value* norm = root.find("normalizer");
    if (norm && !norm->is_null()) return status(errc::unsupported, "tokenizer.json: a normalizer is not supported");
    if (const json_value* pre = root.find("pre_tokenizer")) {
        bool ok = false;
        if (pre->is_object()) {
            const json_value* pt = pre->find("type");
            const json_value* seq = pre->find("pretokenizers");
            if (pt && pt->is_string() && pt->as_string() == "Sequence" && seq && seq->is_array() && seq->size() == 2) {
                const json_value* a = (*seq)[0].find("type");
                const json_value* b = (*seq)[1].find("type");
                const json_value* ind = (*seq)[0].find("individual_digits");
                const json_value* aps = (*seq)[1].find("add_prefix_space");
                const json_value* rx = (*seq)[1].find("use_regex");
                ok = a && a->is_string() && a->as_string() == "Digits" && ind && ind->is_bool() && ind->as_bool() &&
                     b && b->is_string() && b->as_string() == "ByteLevel" && !(aps && aps->is_bool() && aps->as_bool()) &&
                     !(rx && rx->is_bool() && !rx->as_bool());
            }
        }
        if (!ok)
            return status(errc::unsupported,
                          "tokenizer.json: only pre_tokenizer Sequence[Digits(individual_digits), ByteLevel(no prefix "
                          "space)] is supported");
    }
    for (const char* key : {"dropout", "continuing_subword_prefix", "end_of_word_suffix"}) {
        const json_value* v = model->find(key);
        if (v && !v->is_null()) return status::fmt(errc::unsupported, "tokenizer.json: model.%s is not supported", key);
    }
    for (const char* key : {"byte_fallback", "ignore_merges"}) {
        const json_value* v = model->find(key);
        if (v && v->is_bool() && v->as_bool())
            return status::fmt(errc::unsupported, "tokenizer.json: model.%s = true is not supported", key);
    }
    const json_value* unk = model->find("unk_token");
    if (unk && !unk->is_null()) return status(errc::unsupported, "tokenizer.json: model.unk_token is not supported");

    // Vocabulary.
    const json_value* vocab = model->find("vocab");
    if (!vocab || !vocab->is_object() || vocab->size() == 0)
        return status(errc::bad_format, "tokenizer.json: model.vocab is missing or empty");
    constexpr std::int64_t k_max_vocab = std::int64_t(1) << 22;  // 4M ids: far above any real vocabulary
    std::int64_t max_id = -1;
    for (const auto& m : vocab->members()) {
        if (!m.second.is_integer() || m.second.as_int() < 0 || m.second.as_int() >= k_max_vocab)
            return status::fmt(errc::bad_format, "tokenizer.json: vocab entry has a bad id (must be 0..%lld)",
                               static_cast<long long>(k_max_vocab - 1));
        max_id = std::max(max_id, m.second.as_int());
    }
    const json_value* added = root.find("added_tokens");
    if (added && !added->is_null() && !added->is_array())
        return status(errc::bad_format, "tokenizer.json: added_tokens is not an array");
    if (added && added->is_array()) {
        for (const auto& a : added->items()) {
            const json_value* id = a.find("id");
            const json_value* content = a.find("content");
            if (!id || !id->is_integer() || id->as_int() < 0 || id->as_int() >= k_max_vocab || !content ||
                !content->is_string() || content->as_string().empty())
                return status(errc::bad_format, "tokenizer.json: an added token lacks a valid id or content");
            max_id = std::max(max_id, id->as_int());
        }
    }
    const std::size_t n_ids = std::size_t(max_id + 1);
    tokens_.assign(n_ids, std::string());
    bytes_.assign(n_ids, std::string());
    present_.assign(n_ids, 0);
    special_.assign(n_ids, 0);
    std::size_t n_slots = 16;
    while (n_slots < 2 * (vocab->size() + (added ? added->size() : 0)) + 16) n_slots *= 2;
    index_.assign(n_slots, k_no_token);
    index_mask_ = n_slots - 1;
    for (const auto& m : vocab->members()) {
        const auto id = std::size_t(m.second.as_int());
        if (present_[id])
            return status::fmt(errc::bad_format, "tokenizer.json: id %zu appears twice in the vocab", id);
        present_[id] = 1;
        tokens_[id] = m.first;
        bytes_[id] = detail::byte_level_decode_token(m.first);
        index_insert(token_id(id));
    }
    // Every model-vocab token must be reachable by BPE from single bytes; bytes are
    // looked up in their GPT-2 spelling.
    for (int b = 0; b < 256; ++b) {
        byte_ids_[b] = token_to_id(detail::byte_level_spelling(std::uint8_t(b)));
    }

    // Merges: ["a b", ...] or [["a", "b"], ...]; rank = position.
    const json_value* merges = model->find("merges");
    if (!merges || !merges->is_array()) return status(errc::bad_format, "tokenizer.json: model.merges is missing");
    n_merges_ = merges->size();
    std::size_t cap = 16;
    while (cap < n_merges_ * 2 + 16) cap *= 2;
    merges_.assign(cap, merge_entry());
    mask_ = cap - 1;
    std::string joined;
    for (std::size_t r = 0; r < n_merges_; ++r) {
        const json_value& m = (*merges)[r];
        std::string_view left, right;
        if (m.is_string()) {
            const std::string& s = m.as_string();
            const std::size_t sp = s.find(' ');
            if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
                return status::fmt(errc::bad_format, "tokenizer.json: merge %zu is not \"a b\"", r);
            left = std::string_view(s).substr(0, sp);
            right = std::string_view(s).substr(sp + 1);
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
            left = m[0].as_string();
            right = m[1].as_string();
        } else {
            return status::fmt(errc::bad_format, "tokenizer.json: merge %zu is neither \"a b\" nor [a, b]", r);
        }
        joined.assign(left.data(), left.size());
        joined.append(right.data(), right.size());
        const token_id ia = token_to_id(left), ib = token_to_id(right), ij = token_to_id(joined);
        if (ia == k_no_token || ib == k_no_token || ij == k_no_token)
            return status::fmt(errc::bad_format, "tokenizer.json: merge %zu uses a token that is not in the vocab", r);
        insert_merge(ia, ib, std::uint32_t(r), ij);
    }

    // Added tokens: they override the vocab entry of the same id (decode uses them first).
    added_.clear();
    std::memset(added_first_byte_, 0, sizeof added_first_byte_);
    if (added && added->is_array()) {
        for (const auto& a : added->items()) {
            added_token t;
            t.id = token_id(a.find("id")->as_int());
            t.content = a.find("content")->as_string();
            auto flag = [&](const char* k) {
                const json_value* v = a.find(k);
                return v && v->is_bool() && v->as_bool();
            };
            t.special = flag("special");
            t.lstrip = flag("lstrip");
            t.rstrip = flag("rstrip");
            t.single_word = flag("single_word");
            t.normalized = flag("normalized");
            const auto id = std::size_t(t.id);
            present_[id] = 1;
            special_[id] = t.special ? 1 : 0;
            tokens_[id] = t.content;
            bytes_[id] = detail::byte_level_decode_token(t.content);
            index_insert(t.id);
            added_first_byte_[std::uint8_t(t.content[0])] = true;
            added_.push_back(std::move(t));
        }
    }

    // Named special tokens.
    special_ids_ = special_token_ids();
    special_ids_.end_of_utterance = token_to_id("<end_of_utterance>");
    special_ids_.image = token_to_id("<image>");
    special_ids_.fake_image = token_to_id("<fake_token_around_image>");
    special_ids_.global_image = token_to_id("<global-img>");
    special_ids_.im_start = token_to_id("<|im_start|>");
    special_ids_.im_end = token_to_id("<|im_end|>");
    special_ids_.endoftext = token_to_id("<|endoftext|>");
    if (!config_json.empty()) {
        auto cfg = parse_json(config_json);
        if (!cfg.is_ok()) {
            status s = cfg.error();
            return s.prepend("tokenizer_config.json: ");
        }
        if (const json_value* eos = cfg.value().find("eos_token")) {
            const json_value* c = eos->is_object() ? eos->find("content") : eos;
            if (c && c->is_string()) {
                special_ids_.eos = token_to_id(c->as_string());
                if (special_ids_.eos == k_no_token)
                    return status::fmt(errc::bad_format, "tokenizer_config.json: eos_token '%.80s' is not in the vocab",
                                       c->as_string().c_str());
            }
        }
    }
    return status::ok();
}

// ---- encoding ---------------------------------------------------------------------

inline int tokenizer::find_added(const unsigned char* s, std::size_t n, std::size_t from, bool parse_special,
                                 std::size_t* start, std::size_t* end) const {
    for (std::size_t i = from; i < n; ++i) {
        if (!added_first_byte_[s[i]]) continue;
        int best = -1;
        std::size_t best_len = 0;
        for (std::size_t k = 0; k < added_.size(); ++k) {
            const added_token& t = added_[k];
            if (t.special && !parse_special) continue;
            const std::size_t len = t.content.size();
            if (len <= best_len || len > n - i || std::memcmp(s + i, t.content.data(), len) != 0) continue;
            if (t.single_word) {
                // Not glued to a word character on either side.
                std::uint32_t cp;
                if (i > 0) {
                    std::size_t p = i - 1;
                    while (p > 0 && (s[p] & 0xc0) == 0x80) --p;
                    next_code_point(s, p, n, &cp);
                    if (detail::is_word_char(cp)) continue;
                }
                if (i + len < n) {
                    next_code_point(s, i + len, n, &cp);
                    if (detail::is_word_char(cp)) continue;
                }
            }
            best = int(k);
            best_len = len;
        }
        if (best < 0) continue;
        std::size_t a = i, b = i + best_len;
        const added_token& t = added_[std::size_t(best)];
        // Whitespace swallowed by lstrip/rstrip (ASCII and Unicode White_Space).
        if (t.lstrip) {
            while (a > from) {
                std::size_t p = a - 1;
                while (p > from && (s[p] & 0xc0) == 0x80) --p;
                std::uint32_t cp;
                next_code_point(s, p, n, &cp);
                if (char_class_of(cp) != char_class::space) break;
                a = p;
            }
        }
        if (t.rstrip) {
            while (b < n) {
                std::uint32_t cp;
                const std::size_t len = next_code_point(s, b, n, &cp);
                if (char_class_of(cp) != char_class::space) break;
                b += len;
            }
        }
        *start = a;
        *end = b;
        return best;
    }
    return -1;
}

inline void tokenizer::encode_append(std::string_view text, std::vector<token_id>& out, bool parse_special) const {
    if (tokens_.empty()) return;  // default-constructed: nothing to encode with
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    scratch sc;
    std::size_t pos = 0;
    while (pos < n) {
        std::size_t a = n, b = n;
        const int k = added_.empty() ? -1 : find_added(s, n, pos, parse_special, &a, &b);
        if (k < 0) {
            encode_text(s + pos, n - pos, out, sc);
            break;
        }
        encode_text(s + pos, a - pos, out, sc);
        out.push_back(added_[std::size_t(k)].id);
        pos = b;
    }
}

inline std::vector<token_id> tokenizer::encode(std::string_view text, bool parse_special) const {
    std::vector<token_id> out;
    out.reserve(text.size() / 3 + 4);
    encode_append(text, out, parse_special);
    return out;
}

// Steps 2 and 3 on text with no added tokens: Digits split, then the GPT-2 pattern.
inline void tokenizer::encode_text(const unsigned char* s, std::size_t n, std::vector<token_id>& out,
                                   scratch& sc) const {
    // cls(i): class and length of the character at i (i < e).
    auto cls = [&](std::size_t i, std::size_t* len) {
        std::uint32_t cp;
        *len = next_code_point(s, i, n, &cp);
        return char_class_of(cp);
    };
    // End of the run of characters of class k starting at i (bounded by e).
    auto run_end = [&](std::size_t i, std::size_t e, char_class k) {
        while (i < e) {
            std::size_t len;
            if (cls(i, &len) != k) break;
            i += len;
        }
        return i;
    };
    std::size_t i = 0;
    while (i < n) {
        // Digits pre-tokenizer: a numeric character is a piece of its own ...
        std::size_t len;
        char_class k = cls(i, &len);
        if (k == char_class::number) {
            encode_piece(s + i, len, out, sc);
            i += len;
            continue;
        }
        // ... and the pattern runs on the text up to the next numeric character.
        std::size_t e = i;
        while (e < n) {
            std::size_t l;
            if (cls(e, &l) == char_class::number) break;
            e += l;
        }
        while (i < e) {
            k = cls(i, &len);
            std::size_t j;  // end of this match
            if (s[i] == '\'' && i + 1 < e &&
                (s[i + 1] == 's' || s[i + 1] == 't' || s[i + 1] == 'm' || s[i + 1] == 'd')) {
                j = i + 2;  // 's 't 'm 'd
            } else if (s[i] == '\'' && i + 2 < e &&
                       ((s[i + 1] == 'r' && s[i + 2] == 'e') || (s[i + 1] == 'v' && s[i + 2] == 'e') ||
                        (s[i + 1] == 'l' && s[i + 2] == 'l'))) {
                j = i + 3;  // 're 've 'll
            } else if (k == char_class::space) {
                // Whitespace: ' ' followed by a non-space joins that word ( ?\p{L}+ etc.).
                std::size_t l2 = 0;
                const char_class k2 = (s[i] == ' ' && i + 1 < e) ? cls(i + 1, &l2) : char_class::space;
                if (k2 != char_class::space) {
                    j = run_end(i + 1, e, k2);
                } else {
                    // \s+(?!\S): the whole run if it reaches the end, else give back the
                    // last character; a single space before \S falls to \s+.
                    const std::size_t r = run_end(i, e, char_class::space);
                    j = r;
                    if (r < e) {
                        std::size_t last = r - 1;
                        while ((s[last] & 0xc0) == 0x80) --last;
                        if (last > i) j = last;
                    }
                }
            } else {
                j = run_end(i, e, k);  // \p{L}+, \p{N}+ or [^\s\p{L}\p{N}]+
            }
            encode_piece(s + i, j - i, out, sc);
            i = j;
        }
    }
}

// Steps 4 and 5 on one piece.
inline void tokenizer::encode_piece(const unsigned char* s, std::size_t n, std::vector<token_id>& out,
                                    scratch& sc) const {
    auto& sym = sc.symbols;
    sym.clear();
    for (std::size_t i = 0; i < n; ++i) {
        const token_id id = byte_ids_[s[i]];
        if (id == k_no_token) continue;  // no vocab entry: dropped, as the reference does
        const auto at = std::int32_t(sym.size());
        sym.push_back(symbol{id, at - 1, at + 1, true});
    }
    if (sym.empty()) return;
    sym.back().next = -1;
    if (sym.size() == 1) {
        out.push_back(sym[0].id);
        return;
    }
    // Priority queue of candidate merges, lowest (rank, position) first.
    auto& heap = sc.heap;
    heap.clear();
    auto later = [](const heap_item& x, const heap_item& y) {
        return x.rank != y.rank ? x.rank > y.rank : x.pos > y.pos;
    };
    auto push = [&](std::int32_t pos) {
        const symbol& a = sym[std::size_t(pos)];
        if (a.next < 0) return;
        if (const merge_entry* m = find_merge(a.id, sym[std::size_t(a.next)].id)) {
            heap.push_back(heap_item{m->rank, pos, m->result});
            std::push_heap(heap.begin(), heap.end(), later);
        }
    };
    for (std::int32_t p = 0; p + 1 < std::int32_t(sym.size()); ++p) push(p);
    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end(), later);
        const heap_item top = heap.back();
        heap.pop_back();
        symbol& a = sym[std::size_t(top.pos)];
        if (!a.alive || a.next < 0) continue;
        symbol& b = sym[std::size_t(a.next)];
        // Stale entry: the pair at this position changed since it was queued.
        const merge_entry* m = find_merge(a.id, b.id);
        if (!m || m->result != top.result) continue;
        a.id = top.result;
        b.alive = false;
        a.next = b.next;
        if (a.next >= 0) sym[std::size_t(a.next)].prev = top.pos;
        if (a.prev >= 0) push(a.prev);
        push(top.pos);
    }
    for (std::int32_t p = 0; p >= 0; p = sym[std::size_t(p)].next) out.push_back(sym[std::size_t(p)].id);
}

// ---- decoding ---------------------------------------------------------------------

inline std::string tokenizer::decode(const token_id* ids, std::size_t n, bool skip_special) const {
    std::string raw;
    for (std::size_t i = 0; i < n; ++i) {
        if (!valid_id(ids[i]) || (skip_special && special_[std::size_t(ids[i])])) continue;
        raw += bytes_[std::size_t(ids[i])];
    }
    return utf8_decode_lossy(raw);
}

// Incremental decoding for streaming generation: push one id at a time and get back
// only complete UTF-8 characters (a character split across tokens is held until its
// last byte arrives). The concatenation of all push() results and finish() equals
// tokenizer::decode of the whole sequence. The tokenizer must outlive the decoder.
class stream_decoder {
public:
    explicit stream_decoder(const tokenizer& tok, bool skip_special = false) : tok_(&tok), skip_special_(skip_special) {}

    // Text that became complete with this token (often empty or one word).
    std::string push(token_id id) {
        std::string out;
        if (!tok_->valid_id(id) || (skip_special_ && tok_->is_special(id))) return out;
        pending_ += tok_->token_bytes(id);
        const std::size_t used = utf8_decode_lossy(pending_.data(), pending_.size(), out, /*final=*/false);
        pending_.erase(0, used);
        return out;
    }
    // Flush what is left: an unfinished character becomes U+FFFD.
    std::string finish() {
        std::string out;
        utf8_decode_lossy(pending_.data(), pending_.size(), out, /*final=*/true);
        pending_.clear();
        return out;
    }
    void reset() { pending_.clear(); }
    std::size_t pending_bytes() const { return pending_.size(); }

private:
    const tokenizer* tok_;
    bool skip_special_;
    std::string pending_;  // at most 3 bytes of an incomplete character
};

}  // namespace smolvlm
