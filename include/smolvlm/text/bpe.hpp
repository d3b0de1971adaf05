// smolvlm/text/bpe.hpp — BPE tokenizer read from a Hugging Face tokenizer.json, with the
// results of the Rust `tokenizers` library (Tokenizer::encode / decode):
//
//   encode(text):
//     0. text must be UTF-8: invalid bytes are replaced like String::from_utf8_lossy (each
//        maximal ill-formed subpart becomes U+FFFD; the Rust API takes &str and cannot see
//        them), or rejected with encode_options::strict_utf8.
//     1. added tokens with normalized = false are found in the raw text (leftmost-longest
//        over all of them; a match of a special token is skipped when parse_special is off,
//        a single_word token is skipped when glued to a word character; lstrip / rstrip
//        swallow the whitespace around the match) — AddedVocabulary::find_matches;
//     2. every other piece: normalizer, then added tokens with normalized = true;
//     3. pre_tokenizer on what is left (Split with its regex, ByteLevel, Digits, ...);
//     4. the BPE model on each pre-token: with ignore_merges a pre-token that is itself in the
//        vocabulary is one id; else its characters (with continuing_subword_prefix /
//        end_of_word_suffix) are looked up — missing ones go to <0xXX> byte tokens
//        (byte_fallback), to unk_token (fuse_unk merges runs), or are dropped — and merged
//        by rank, lowest first, leftmost on ties (Word::merge_all);
//     5. add_special_tokens: the post-processor's template (e.g. Mistral's "<s> $A").
//   decode(ids): each id's token (added token content first, then the vocabulary; unknown
//     ids are skipped, specials too with skip_special), then the decoder chain (ByteLevel:
//     GPT-2 alphabet -> bytes -> lossy UTF-8); no decoder joins the tokens with spaces.
//   Stage types and what is not supported: tokenizer_steps.hpp; regex subset: regex.hpp.
//   Added token ids are assigned like the Rust loader does (the vocabulary's id when the
//   content is in it, else the next free id in file order), not read from "id".
//
// Thread safety: a loaded tokenizer is immutable; encode/decode are const and may be
// called from several threads.
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
#include "regex.hpp"
#include "tokenizer_steps.hpp"
#include "unicode.hpp"

namespace smolvlm {

using token_id = std::int32_t;
inline constexpr token_id k_no_token = -1;

// One entry of tokenizer.json "added_tokens".
struct added_token {
    std::string content;
    token_id id = k_no_token;  // as assigned on load (see the file comment)
    bool special = false;      // skipped by decode(skip_special = true); not matched when parse_special = false
    bool lstrip = false;       // the match swallows whitespace on its left
    bool rstrip = false;       // ... and on its right
    bool single_word = false;  // only matches when not glued to a word character
    bool normalized = true;    // matched after the normalizer, in the normalized text
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

struct encode_options {
    bool add_special_tokens = false;  // apply the post-processor template (BOS/EOS); Rust's add_special_tokens
    bool parse_special = true;        // match special added tokens in the text (false = Rust's encode_special_tokens)
    bool strict_utf8 = false;         // invalid UTF-8 is an error instead of U+FFFD
};

class tokenizer {
public:
    tokenizer() = default;

    // Load tokenizer.json. `path` is the file, or a model directory holding it.
    // When tokenizer_config.json sits next to it, its "eos_token" names eos.
    static result<tokenizer> load_file(const std::string& path);
    // From memory. tokenizer_config_json may be empty.
    static result<tokenizer> load_json(std::string_view tokenizer_json, std::string_view tokenizer_config_json = {});

    // Text -> ids, with errors: invalid UTF-8 under strict_utf8, a pre-tokenizer pattern
    // over its step budget (a pathological custom pattern; the Rust library panics there).
    result<std::vector<token_id>> try_encode(std::string_view text, const encode_options& opt = encode_options()) const;
    // A pair of sequences (the post-processor's pair template; without one, A then B).
    result<std::vector<token_id>> try_encode_pair(std::string_view a, std::string_view b,
                                                  const encode_options& opt = encode_options()) const;
    // Text -> ids without special-token insertion; never fails (on an error: empty).
    // parse_special = false leaves special added tokens as plain text.
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
    // Bytes a token decodes to on its own (" the"; ByteLevel rule); empty for an unknown id.
    std::string_view token_bytes(token_id id) const {
        return valid_id(id) ? std::string_view(bytes_[std::size_t(id)]) : std::string_view();
    }
    // Id of an added-token or vocabulary string, k_no_token when absent.
    token_id token_to_id(std::string_view token) const {
        const token_id a = lookup(added_index_, added_mask_, token, true);
        return a != k_no_token ? a : lookup(model_index_, model_mask_, token, false);
    }
    bool valid_id(token_id id) const { return id >= 0 && std::size_t(id) < tokens_.size() && present_[std::size_t(id)]; }
    bool is_special(token_id id) const { return valid_id(id) && special_[std::size_t(id)]; }
    // Largest id + 1 (49280 for SmolVLM): the size an embedding table must have.
    std::size_t vocab_size() const { return tokens_.size(); }
    std::size_t n_merges() const { return n_merges_; }
    const std::vector<added_token>& added_tokens() const { return added_; }
    const special_token_ids& special_ids() const { return special_ids_; }
    token_id eos_id() const { return special_ids_.eos; }
    // Ids the post-processor adds around one sequence (pair = false) or two (true).
    std::size_t num_special_tokens_to_add(bool pair) const {
        std::size_t k = 0;
        for (const auto& p : pair ? post_.pair : post_.single) k += p.ids.size();
        return post_.has_template ? k : 0;
    }
    // True when decoding is the concatenation of token_bytes (a ByteLevel decoder): the
    // stream decoder then works byte by byte.
    bool byte_level_decoding() const { return byte_stream_; }
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
    // Leftmost-longest matcher over added-token contents: a byte trie in a flat hash.
    struct added_trie {
        std::vector<std::uint64_t> keys;       // (node << 8 | byte) + 1; 0 = empty slot
        std::vector<std::uint32_t> children;
        std::vector<std::int32_t> terminal;    // per node: index into added_, or -1
        std::size_t mask = 0;
        bool first_byte[256] = {};
        bool empty() const { return terminal.size() <= 1; }
        std::uint32_t child(std::uint32_t node, std::uint8_t b) const {
            const std::uint64_t k = ((std::uint64_t(node) << 8) | b) + 1;
            for (std::size_t i = std::size_t(k * 0x9E3779B97F4A7C15ull >> 20) & mask;; i = (i + 1) & mask) {
                if (keys[i] == k) return children[i];
                if (keys[i] == 0) return 0;
            }
        }
    };
    // Per-call cache of pre-token -> ids (the reference keeps a similar word cache).
    struct word_cache {
        static constexpr std::size_t k_max_entries = 16384, k_max_key = 64;
        std::vector<std::uint32_t> slots;  // entry index + 1; 0 = empty
        struct entry {
            std::uint32_t key_off, key_len, ids_off, ids_len;
        };
        std::vector<entry> entries;
        std::string keys;
        std::vector<token_id> ids;
    };
    struct scratch {
        word_cache cache;
        std::vector<symbol> symbols;
        std::vector<heap_item> heap;
        regex_scratch rx;
        std::vector<std::vector<tokenizer_steps::span_flag>> spans, kept;  // per pre-tokenizer step
        std::vector<std::string> buf, tmp;                                  // per pre-tokenizer step
        std::string word;
    };

    // String -> id indexes: open addressing over ids, keys live in tokens_ / added_.
    static std::size_t hash_string(std::string_view v) {
        std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a
        for (char c : v) h = (h ^ std::uint8_t(c)) * 0x100000001b3ull;
        return std::size_t(h ^ (h >> 29));
    }
    std::string_view key_of(token_id id, bool added) const {
        return added ? std::string_view(added_[std::size_t(added_slot_[std::size_t(id)])].content)
                     : std::string_view(tokens_[std::size_t(id)]);
    }
    token_id lookup(const std::vector<token_id>& index, std::size_t mask, std::string_view key, bool added) const {
        if (index.empty()) return k_no_token;
        for (std::size_t i = hash_string(key) & mask;; i = (i + 1) & mask) {
            const token_id id = index[i];
            if (id == k_no_token) return k_no_token;
            if (key_of(id, added) == key) return id;
        }
    }
    void index_insert(std::vector<token_id>& index, std::size_t mask, token_id id, bool added) {
        const std::string_view key = key_of(id, added);
        std::size_t i = hash_string(key) & mask;
        while (index[i] != k_no_token && key_of(index[i], added) != key) i = (i + 1) & mask;
        index[i] = id;
    }
    token_id model_id(std::string_view s) const { return lookup(model_index_, model_mask_, s, false); }

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
    status build_model(const json_value& model);
    status build_added(const json_value* added);
    void build_trie(added_trie& t, bool normalized_pass) const;

    status encode_sequence(std::string_view text, const encode_options& opt, std::vector<token_id>& out,
                           scratch& sc) const;
    status encode_normalized_piece(std::string_view piece, bool at_start, bool parse_special, std::vector<token_id>& out,
                                   scratch& sc) const;
    // AddedVocabulary::find_matches: calls on_text(start, end) for the text between
    // accepted matches and on_token(added index) for each match.
    template <class OnText, class OnToken>
    void split_added(std::string_view s, const added_trie& trie, bool parse_special, OnText&& on_text,
                     OnToken&& on_token) const;
    status pre_tokenize(std::string_view piece, bool at_start, std::size_t step, std::vector<token_id>& out,
                        scratch& sc) const;
    void bpe_word(std::string_view w, std::vector<token_id>& out, scratch& sc) const;
    void bpe_word_cached(std::string_view w, std::vector<token_id>& out, scratch& sc) const;
    token_id char_id(std::string_view ch, std::uint32_t cp, bool first, bool last, scratch& sc) const;
    void post_process(const std::vector<token_id>& a, const std::vector<token_id>* b, bool add_special,
                      std::vector<token_id>& out) const;

    std::vector<std::string> tokens_;  // [vocab_size] token string (added content overrides)
    std::vector<std::string> bytes_;   // [vocab_size] ByteLevel-decoded bytes
    std::vector<std::uint8_t> present_, special_;
    std::vector<std::int32_t> added_slot_;  // [vocab_size] index into added_, or -1
    std::vector<token_id> model_index_, added_index_;  // [power of two] hash slots, k_no_token = empty
    std::size_t model_mask_ = 0, added_mask_ = 0;
    token_id small_char_ids_[512] = {};  // vocabulary id of each one-character token below U+0200
    std::vector<merge_entry> merges_;
    std::size_t mask_ = 0, n_merges_ = 0;
    std::vector<added_token> added_;
    added_trie raw_trie_, normalized_trie_;
    std::vector<std::string> special_contents_;  // contents of special added tokens (decode filter)
    special_token_ids special_ids_;

    // model options
    bool ignore_merges_ = false, byte_fallback_ = false, fuse_unk_ = false;
    token_id unk_id_ = k_no_token;
    std::string prefix_, suffix_;  // continuing_subword_prefix, end_of_word_suffix
    token_id byte_fallback_ids_[256] = {};

    std::vector<tokenizer_steps::normalizer_step> normalizers_;
    std::vector<tokenizer_steps::pre_tokenizer_step> pre_;
    tokenizer_steps::post_processor post_;
    std::vector<tokenizer_steps::decoder_step> decoders_;
    bool byte_stream_ = false;

    friend class stream_decoder;
};

// ---- loading ----------------------------------------------------------------------

namespace detail {

inline std::string byte_level_spelling(std::uint8_t b) {
    std::string s;
    utf8_append(s, byte_to_unicode(b));
    return s;
}

// UTF-8 of each byte's GPT-2 alphabet character (1 or 2 bytes).
struct byte_level_utf8_table {
    struct entry {
        std::uint8_t s[2];
        std::uint8_t n;
    };
    entry e[256];
    constexpr byte_level_utf8_table() : e() {
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae);
            std::uint32_t cp = std::uint32_t(b);
            if (!printable)
                cp = b <= 0x20 ? 256u + std::uint32_t(b)
                               : (b >= 0x7f && b <= 0xa0) ? 256u + 33u + std::uint32_t(b - 0x7f) : 256u + 67u;
            if (cp < 0x80) {
                e[b].s[0] = std::uint8_t(cp);
                e[b].s[1] = 0;
                e[b].n = 1;
            } else {
                e[b].s[0] = std::uint8_t(0xC0 | (cp >> 6));
                e[b].s[1] = std::uint8_t(0x80 | (cp & 0x3F));
                e[b].n = 2;
            }
        }
    }
};
inline constexpr byte_level_utf8_table k_byte_level_utf8{};

inline std::string byte_level_decode_token(const std::string& token) {
    std::string out;
    tokenizer_steps::byte_level_decode_append(token, out);
    return out;
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

inline status tokenizer::build_model(const json_value& model) {
    const json_value* type = model.find("type");
    if (type && (!type->is_string() || type->as_string() != "BPE"))
        return status::fmt(errc::unsupported, "tokenizer.json: model.type '%.40s' is not supported (only BPE)",
                           type->is_string() ? type->as_string().c_str() : "?");
    const char* where = "model";
    if (const json_value* d = model.find("dropout"); d && !d->is_null()) {
        if (!d->is_number()) return status(errc::bad_format, "tokenizer.json: model.dropout is not a number");
        if (d->as_number() != 0.0)
            return status(errc::unsupported, "tokenizer.json: model.dropout (random merges) is not supported");
    }
    SMOLVLM_TRY(tokenizer_steps::field_bool(model, where, "ignore_merges", false, &ignore_merges_));
    SMOLVLM_TRY(tokenizer_steps::field_bool(model, where, "byte_fallback", false, &byte_fallback_));
    SMOLVLM_TRY(tokenizer_steps::field_bool(model, where, "fuse_unk", false, &fuse_unk_));
    const std::string none;
    SMOLVLM_TRY(tokenizer_steps::field_string(model, where, "continuing_subword_prefix", &none, &prefix_));
    SMOLVLM_TRY(tokenizer_steps::field_string(model, where, "end_of_word_suffix", &none, &suffix_));
    std::string unk;
    SMOLVLM_TRY(tokenizer_steps::field_string(model, where, "unk_token", &none, &unk));
    const bool has_unk = model.find("unk_token") && model.find("unk_token")->is_string();

    // Vocabulary: ids may be sparse; vocab_size() is the largest id + 1 (with added tokens).
    const json_value* vocab = model.find("vocab");
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
    const std::size_t n_ids = std::size_t(max_id + 1);
    tokens_.assign(n_ids, std::string());
    present_.assign(n_ids, 0);
    std::size_t n_slots = 16;
    while (n_slots < 2 * vocab->size() + 16) n_slots *= 2;
    model_index_.assign(n_slots, k_no_token);
    model_mask_ = n_slots - 1;
    for (const auto& m : vocab->members()) {
        const auto id = std::size_t(m.second.as_int());
        if (present_[id]) return status::fmt(errc::bad_format, "tokenizer.json: id %zu appears twice in the vocab", id);
        present_[id] = 1;
        tokens_[id] = m.first;
        index_insert(model_index_, model_mask_, token_id(id), false);
    }
    if (model_index_.size() && vocab->size() != 0) {
        for (const auto& m : vocab->members())  // a repeated key: the reference keeps the last one
            if (model_id(m.first) != token_id(m.second.as_int()))
                return status::fmt(errc::bad_format, "tokenizer.json: vocab key '%.60s' appears twice", m.first.c_str());
    }
    for (std::uint32_t cp = 0; cp < 512; ++cp) {
        std::string s;
        detail::utf8_append(s, cp);
        small_char_ids_[cp] = model_id(s);
    }
    for (int b = 0; b < 256; ++b) {
        char code[8];
        std::snprintf(code, sizeof code, "<0x%02X>", b);
        byte_fallback_ids_[b] = model_id(code);
    }
    if (has_unk) {
        unk_id_ = model_id(unk);
        if (unk_id_ == k_no_token)
            return status::fmt(errc::bad_format, "tokenizer.json: model.unk_token '%.60s' is not in the vocab", unk.c_str());
    }

    // Merges: ["a b", ...] or [["a", "b"], ...]; rank = position. The merged token is
    // a + b without b's continuing_subword_prefix.
    const json_value* merges = model.find("merges");
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
        const std::size_t skip = std::min(prefix_.size(), right.size());
        joined.append(right.data() + skip, right.size() - skip);
        const token_id ia = model_id(left), ib = model_id(right), ij = model_id(joined);
        if (ia == k_no_token || ib == k_no_token || ij == k_no_token)
            return status::fmt(errc::bad_format, "tokenizer.json: merge %zu uses a token that is not in the vocab", r);
        insert_merge(ia, ib, std::uint32_t(r), ij);
    }
    return status::ok();
}

inline status tokenizer::build_added(const json_value* added) {
    added_.clear();
    if (added && !added->is_null() && !added->is_array())
        return status(errc::bad_format, "tokenizer.json: added_tokens is not an array");
    // AddedVocabulary::add_tokens: the id of a content already known (added, then vocab),
    // else the next id after the vocabulary (its number of entries) in file order.
    std::size_t vocab_entries = 0;
    for (auto p : present_) vocab_entries += p;
    std::int64_t next_id = std::int64_t(vocab_entries);
    const std::size_t n_model_ids = tokens_.size();
    std::vector<std::int64_t> assigned;
    std::size_t n_slots = 16;
    const std::size_t n_added = added && added->is_array() ? added->size() : 0;
    while (n_slots < 2 * n_added + 16) n_slots *= 2;
    added_index_.assign(n_slots, k_no_token);
    added_mask_ = n_slots - 1;
    added_slot_.assign(tokens_.size(), -1);
    special_contents_.clear();
    for (std::size_t k = 0; k < n_added; ++k) {
        const json_value& a = (*added)[k];
        if (!a.is_object()) return status(errc::bad_format, "tokenizer.json: an added token is not an object");
        const json_value* content = a.find("content");
        const json_value* idv = a.find("id");
        if (!content || !content->is_string() || !idv || !idv->is_integer() || idv->as_int() < 0)
            return status(errc::bad_format, "tokenizer.json: an added token lacks a valid id or content");
        added_token t;
        t.content = content->as_string();
        const char* where = "added_tokens[]";
        SMOLVLM_TRY(tokenizer_steps::field_bool(a, where, "special", false, &t.special));
        SMOLVLM_TRY(tokenizer_steps::field_bool(a, where, "lstrip", false, &t.lstrip));
        SMOLVLM_TRY(tokenizer_steps::field_bool(a, where, "rstrip", false, &t.rstrip));
        SMOLVLM_TRY(tokenizer_steps::field_bool(a, where, "single_word", false, &t.single_word));
        SMOLVLM_TRY(tokenizer_steps::field_bool(a, where, "normalized", !t.special, &t.normalized));
        if (t.content.empty()) continue;  // ignored by the reference
        if (!is_valid_utf8(t.content.data(), t.content.size()))
            return status(errc::bad_format, "tokenizer.json: an added token is not valid UTF-8");
        token_id id = lookup(added_index_, added_mask_, t.content, true);
        if (id != k_no_token) {
            const added_token& old = added_[std::size_t(added_slot_[std::size_t(id)])];
            if (old.special == t.special && old.lstrip == t.lstrip && old.rstrip == t.rstrip &&
                old.single_word == t.single_word && old.normalized == t.normalized)
                continue;  // the same token again
        } else {
            id = model_id(t.content);
        }
        if (id == k_no_token) {
            if (next_id >= (std::int64_t(1) << 22)) return status(errc::bad_format, "tokenizer.json: too many added tokens");
            id = token_id(next_id++);
            if (std::size_t(id) < n_model_ids && present_[std::size_t(id)])
                return status::fmt(errc::unsupported,
                                   "tokenizer.json: added token '%.60s' would get id %d, which a vocab entry already has "
                                   "(sparse vocab ids)",
                                   t.content.c_str(), int(id));
        }
        if (std::size_t(id) >= tokens_.size()) {
            tokens_.resize(std::size_t(id) + 1);
            present_.resize(std::size_t(id) + 1, 0);
            added_slot_.resize(std::size_t(id) + 1, -1);
        }
        t.id = id;
        if (t.special) special_contents_.push_back(t.content);
        const std::int32_t slot = added_slot_[std::size_t(id)];
        if (slot >= 0) {
            // Same id again (a duplicate content with other flags): the later flags win.
            added_[std::size_t(slot)] = t;
        } else {
            added_slot_[std::size_t(id)] = std::int32_t(added_.size());
            added_.push_back(t);
            index_insert(added_index_, added_mask_, id, true);
        }
        // Decoding shows a normalized token in its normalized form (AddedVocabulary's
        // normalized_cache), which the special-token filter then compares to the raw content.
        std::string shown = t.content;
        if (t.normalized && !normalizers_.empty()) {
            bool at_start = true;
            regex_scratch sc;
            if (!tokenizer_steps::normalize(normalizers_, shown, &at_start, sc).is_ok()) shown = t.content;
        }
        tokens_[std::size_t(id)] = shown;
        present_[std::size_t(id)] = 1;
    }
    return status::ok();
}

inline void tokenizer::build_trie(added_trie& t, bool normalized_pass) const {
    t = added_trie();
    t.terminal.assign(1, -1);
    std::vector<std::string> patterns(added_.size());
    std::size_t total = 0;
    for (std::size_t k = 0; k < added_.size(); ++k) {
        const added_token& a = added_[k];
        if (a.normalized != normalized_pass) continue;
        patterns[k] = a.content;
        if (normalized_pass && !normalizers_.empty()) {  // matched in its normalized form
            bool at_start = true;
            regex_scratch sc;
            if (!tokenizer_steps::normalize(normalizers_, patterns[k], &at_start, sc).is_ok()) patterns[k] = a.content;
        }
        total += patterns[k].size();
    }
    std::size_t cap = 16;
    while (cap < total * 2 + 16) cap *= 2;
    t.keys.assign(cap, 0);
    t.children.assign(cap, 0);
    t.mask = cap - 1;
    for (std::size_t k = 0; k < added_.size(); ++k) {
        const std::string& pattern = patterns[k];
        if (pattern.empty()) continue;
        std::uint32_t node = 0;
        for (char c : pattern) {
            std::uint32_t next = t.child(node, std::uint8_t(c));
            if (next == 0) {
                next = std::uint32_t(t.terminal.size());
                t.terminal.push_back(-1);
                const std::uint64_t key = ((std::uint64_t(node) << 8) | std::uint8_t(c)) + 1;
                std::size_t i = std::size_t(key * 0x9E3779B97F4A7C15ull >> 20) & t.mask;
                while (t.keys[i] != 0) i = (i + 1) & t.mask;
                t.keys[i] = key;
                t.children[i] = next;
            }
            node = next;
        }
        t.terminal[node] = std::int32_t(k);  // a later token with the same pattern wins
        t.first_byte[std::uint8_t(pattern[0])] = true;
    }
}

inline status tokenizer::build(const json_value& root, std::string_view config_json) {
    if (!root.is_object()) return status(errc::bad_format, "tokenizer.json: top level is not an object");
    if (const json_value* v = root.find("version"); v && !v->is_null()) {
        if (!v->is_string() || v->as_string() != "1.0")
            return status(errc::unsupported, "tokenizer.json: version is not \"1.0\"");
    }
    for (const char* key : {"truncation", "padding"}) {
        const json_value* v = root.find(key);
        if (v && !v->is_null())
            return status::fmt(errc::unsupported, "tokenizer.json: %s is not supported (it must be null)", key);
    }
    const json_value* model = root.find("model");
    if (!model || !model->is_object()) return status(errc::bad_format, "tokenizer.json: no \"model\" object");
    SMOLVLM_TRY(build_model(*model));
    static const json_value k_null;
    auto member = [&](const char* k) -> const json_value& {
        const json_value* v = root.find(k);
        return v ? *v : k_null;
    };
    normalizers_.clear();
    pre_.clear();
    decoders_.clear();
    post_ = tokenizer_steps::post_processor();
    SMOLVLM_TRY(tokenizer_steps::parse_normalizer(member("normalizer"), normalizers_));
    SMOLVLM_TRY(tokenizer_steps::parse_pre_tokenizer(member("pre_tokenizer"), pre_));
    SMOLVLM_TRY(tokenizer_steps::parse_post_processor(member("post_processor"), post_));
    SMOLVLM_TRY(tokenizer_steps::parse_decoder(member("decoder"), decoders_));
    for (const auto& p : post_.single)
        if (p.is_sequence && p.sequence_b)
            return status(errc::bad_format, "tokenizer.json: TemplateProcessing.single uses $B");
    byte_stream_ = decoders_.size() == 1 && decoders_[0].k == tokenizer_steps::decoder_step::kind::byte_level;

    SMOLVLM_TRY(build_added(root.find("added_tokens")));  // after the normalizers: normalized forms
    build_trie(raw_trie_, false);
    build_trie(normalized_trie_, true);
    for (const auto* t : {&post_.single, &post_.pair})
        for (const auto& p : *t)
            for (token_id id : p.ids)
                if (!valid_id(id))
                    return status::fmt(errc::bad_format, "tokenizer.json: TemplateProcessing id %d is not in the vocab",
                                       int(id));

    // Special = its token string is the content of a special added token (decode's filter).
    special_.assign(tokens_.size(), 0);
    for (const auto& s : special_contents_)
        for (token_id id : {lookup(added_index_, added_mask_, s, true), model_id(s)})
            if (valid_id(id) && tokens_[std::size_t(id)] == s) special_[std::size_t(id)] = 1;
    bytes_.assign(tokens_.size(), std::string());
    for (std::size_t id = 0; id < tokens_.size(); ++id)
        if (present_[id]) bytes_[id] = detail::byte_level_decode_token(tokens_[id]);

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

template <class OnText, class OnToken>
inline void tokenizer::split_added(std::string_view s, const added_trie& trie, bool parse_special, OnText&& on_text,
                                   OnToken&& on_token) const {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    if (trie.empty()) {
        if (n) on_text(std::size_t(0), n);
        return;
    }
    auto char_before = [&](std::size_t i) {  // the character ending at i (i > 0)
        std::size_t q = i - 1;
        while (q > 0 && (p[q] & 0xC0) == 0x80) --q;
        std::uint32_t cp;
        next_code_point(p, q, n, &cp);
        return std::make_pair(q, cp);
    };
    std::size_t start_offset = 0;  // end of the last accepted match
    std::size_t i = 0;
    while (i < n) {
        // Leftmost-longest trie match at or after i.
        std::size_t ms = n, me = n;
        std::int32_t best = -1;
        for (; i < n; ++i) {
            if (!trie.first_byte[p[i]]) continue;
            std::uint32_t node = 0;
            for (std::size_t j = i; j < n;) {
                node = trie.child(node, p[j]);
                if (node == 0) break;
                ++j;
                if (trie.terminal[node] >= 0) {
                    best = trie.terminal[node];
                    me = j;
                }
            }
            if (best >= 0) {
                ms = i;
                break;
            }
        }
        if (best < 0) break;
        i = me;  // the next search starts after this match, accepted or not
        const added_token& t = added_[std::size_t(best)];
        if (t.special && !parse_special) continue;
        std::size_t start = ms, stop = me;
        if (t.single_word) {
            const bool start_space = start == 0 || !tokenizer_steps::is_rust_word_char(char_before(start).second);
            std::uint32_t cp = 0;
            if (stop < n) next_code_point(p, stop, n, &cp);
            const bool stop_space = stop == n || !tokenizer_steps::is_rust_word_char(cp);
            if (!start_space || !stop_space) continue;
        }
        if (t.lstrip) {
            std::size_t a = start;
            while (a > 0) {
                const auto q = char_before(a);
                if (!is_white_space(q.second)) break;
                a = q.first;
            }
            start = std::max(a, start_offset);
        }
        if (t.rstrip) {
            while (stop < n) {
                std::uint32_t cp;
                const std::size_t len = next_code_point(p, stop, n, &cp);
                if (!is_white_space(cp)) break;
                stop += len;
            }
        }
        if (start_offset < start) on_text(start_offset, start);
        on_token(std::size_t(best));
        start_offset = stop;
    }
    if (start_offset < n) on_text(start_offset, n);
}

inline status tokenizer::encode_sequence(std::string_view text, const encode_options& opt, std::vector<token_id>& out,
                                         scratch& sc) const {
    if (tokens_.empty()) return status::ok();  // default-constructed: nothing to encode with
    std::string cleaned;
    if (!is_valid_utf8(text.data(), text.size())) {
        if (opt.strict_utf8) return status(errc::invalid_argument, "tokenizer: the text is not valid UTF-8");
        utf8_decode_lossy(text.data(), text.size(), cleaned, true);
        text = cleaned;
    }
    status st;
    split_added(
        text, raw_trie_, opt.parse_special,
        [&](std::size_t a, std::size_t b) {
            if (!st.is_ok()) return;
            const std::string_view piece = text.substr(a, b - a);
            if (normalizers_.empty()) {
                st = encode_normalized_piece(piece, a == 0, opt.parse_special, out, sc);
                return;
            }
            std::string norm(piece);
            bool at_start = a == 0;
            st = tokenizer_steps::normalize(normalizers_, norm, &at_start, sc.rx);
            if (st.is_ok()) st = encode_normalized_piece(norm, at_start, opt.parse_special, out, sc);
        },
        [&](std::size_t k) {
            if (st.is_ok()) out.push_back(added_[k].id);
        });
    return st;
}

inline status tokenizer::encode_normalized_piece(std::string_view piece, bool at_start, bool parse_special,
                                                 std::vector<token_id>& out, scratch& sc) const {
    status st;
    split_added(
        piece, normalized_trie_, parse_special,
        [&](std::size_t a, std::size_t b) {
            if (st.is_ok()) st = pre_tokenize(piece.substr(a, b - a), at_start && a == 0, 0, out, sc);
        },
        [&](std::size_t k) {
            if (st.is_ok()) out.push_back(added_[k].id);
        });
    return st;
}

// Pre-tokenizer step `step` on one non-empty piece; each resulting pre-token goes through
// the later steps and finally the model, in order.
inline status tokenizer::pre_tokenize(std::string_view piece, bool at_start, std::size_t step,
                                      std::vector<token_id>& out, scratch& sc) const {
    using tokenizer_steps::pre_tokenizer_step;
    using tokenizer_steps::span_flag;
    using tokenizer_steps::split_behavior;
    if (piece.empty()) return status::ok();
    if (step == pre_.size()) {
        bpe_word_cached(piece, out, sc);
        return status::ok();
    }
    if (sc.spans.size() < pre_.size()) {
        sc.spans.resize(pre_.size());
        sc.kept.resize(pre_.size());
        sc.buf.resize(pre_.size());
        sc.tmp.resize(pre_.size());
    }
    const pre_tokenizer_step& p = pre_[step];
    std::vector<span_flag>& spans = sc.spans[step];
    std::vector<span_flag>& kept = sc.kept[step];
    auto each_kept = [&](std::string_view base) -> status {
        for (const span_flag& f : kept) {
            if (f.end <= f.start) continue;
            SMOLVLM_TRY(pre_tokenize(base.substr(f.start, f.end - f.start), at_start && f.start == 0, step + 1, out, sc));
        }
        return status::ok();
    };
    switch (p.k) {
        case pre_tokenizer_step::kind::split: {
            if (tokenizer_steps::regex_spans(p.pattern, piece, sc.rx, spans) == regex_result::step_limit)
                return status::fmt(errc::unsupported, "tokenizer: pre_tokenizer Split pattern exceeded its step budget on "
                                   "a %zu-byte piece", piece.size());
            if (p.invert)
                for (auto& f : spans) f.is_match = !f.is_match;
            tokenizer_steps::apply_behavior(spans, p.behavior, kept);
            return each_kept(piece);
        }
        case pre_tokenizer_step::kind::digits: {
            tokenizer_steps::char_spans(piece, [](std::uint32_t cp) { return char_class_of(cp) == char_class::number; },
                                        spans);
            tokenizer_steps::apply_behavior(spans, p.individual_digits ? split_behavior::isolated : split_behavior::contiguous,
                                            kept);
            return each_kept(piece);
        }
        case pre_tokenizer_step::kind::whitespace_split: {
            tokenizer_steps::char_spans(piece, [](std::uint32_t cp) { return is_white_space(cp); }, spans);
            tokenizer_steps::apply_behavior(spans, split_behavior::removed, kept);
            return each_kept(piece);
        }
        case pre_tokenizer_step::kind::whitespace: {
            // \w+|[^\w\s]+ (Rust regex), keeping the matches.
            kept.clear();
            for (std::size_t i = 0; i < piece.size();) {
                std::uint32_t cp;
                std::size_t len = tokenizer_steps::char_len_at(piece, i, &cp);
                if (is_white_space(cp)) {
                    i += len;
                    continue;
                }
                const bool word = tokenizer_steps::is_rust_word_char(cp);
                std::size_t j = i + len;
                while (j < piece.size()) {
                    len = tokenizer_steps::char_len_at(piece, j, &cp);
                    if (is_white_space(cp) || tokenizer_steps::is_rust_word_char(cp) != word) break;
                    j += len;
                }
                kept.push_back(span_flag{i, j, true});
                i = j;
            }
            return each_kept(piece);
        }
        case pre_tokenizer_step::kind::metaspace: {
            std::string& s = sc.buf[step];
            s.clear();
            for (char c : piece) {
                if (c == ' ') s += p.replacement;
                else s.push_back(c);
            }
            const bool starts = s.compare(0, p.replacement.size(), p.replacement) == 0;
            if (!starts && (p.scheme == tokenizer_steps::prepend_scheme::always ||
                            (p.scheme == tokenizer_steps::prepend_scheme::first && at_start)))
                s.insert(0, p.replacement);
            if (!p.split) return pre_tokenize(s, at_start, step + 1, out, sc);
            const std::uint32_t rep = p.replacement_cp;
            tokenizer_steps::char_spans(s, [rep](std::uint32_t cp) { return cp == rep; }, spans);
            tokenizer_steps::apply_behavior(spans, split_behavior::merged_with_next, kept);
            return each_kept(s);  // later steps use their own buffers (step + 1 ...)
        }
        case pre_tokenizer_step::kind::byte_level: {
            std::string_view work = piece;
            if (p.add_prefix_space && piece[0] != ' ') {
                sc.tmp[step].assign(" ");
                sc.tmp[step].append(piece.data(), piece.size());
                work = sc.tmp[step];
            }
            if (p.use_regex) {
                if (tokenizer_steps::regex_spans(p.pattern, work, sc.rx, spans) == regex_result::step_limit)
                    return status(errc::unsupported, "tokenizer: ByteLevel pattern exceeded its step budget");
            } else {
                spans.assign(1, span_flag{0, work.size(), false});
            }
            // Iterate over a copy of the spans: the recursion below reuses sc.spans[step] only
            // at deeper steps, but keep the list stable anyway.
            kept.assign(spans.begin(), spans.end());
            for (std::size_t k = 0; k < kept.size(); ++k) {
                const span_flag f = kept[k];
                if (f.end <= f.start) continue;
                std::string& b = sc.buf[step];
                b.clear();
                for (std::size_t i = f.start; i < f.end; ++i) {
                    const auto& e = detail::k_byte_level_utf8.e[std::uint8_t(work[i])];
                    b.append(reinterpret_cast<const char*>(e.s), e.n);
                }
                SMOLVLM_TRY(pre_tokenize(b, at_start && f.start == 0, step + 1, out, sc));
            }
            return status::ok();
        }
    }
    return status::ok();
}

inline void tokenizer::bpe_word_cached(std::string_view w, std::vector<token_id>& out, scratch& sc) const {
    word_cache& c = sc.cache;
    if (w.size() > word_cache::k_max_key) {
        bpe_word(w, out, sc);
        return;
    }
    if (c.slots.empty()) c.slots.assign(1024, 0);
    const std::size_t h = hash_string(w);
    std::size_t mask = c.slots.size() - 1;
    std::size_t i = h & mask;
    for (; c.slots[i] != 0; i = (i + 1) & mask) {
        const word_cache::entry& e = c.entries[c.slots[i] - 1];
        if (std::string_view(c.keys.data() + e.key_off, e.key_len) == w) {
            out.insert(out.end(), c.ids.begin() + std::ptrdiff_t(e.ids_off),
                       c.ids.begin() + std::ptrdiff_t(e.ids_off + e.ids_len));
            return;
        }
    }
    const std::size_t mark = out.size();
    bpe_word(w, out, sc);
    if (c.entries.size() >= word_cache::k_max_entries) return;
    c.entries.push_back(word_cache::entry{std::uint32_t(c.keys.size()), std::uint32_t(w.size()),
                                          std::uint32_t(c.ids.size()), std::uint32_t(out.size() - mark)});
    c.keys.append(w.data(), w.size());
    c.ids.insert(c.ids.end(), out.begin() + std::ptrdiff_t(mark), out.end());
    c.slots[i] = std::uint32_t(c.entries.size());
    if (c.entries.size() * 2 > c.slots.size()) {  // grow and rehash
        c.slots.assign(c.slots.size() * 2, 0);
        mask = c.slots.size() - 1;
        for (std::size_t k = 0; k < c.entries.size(); ++k) {
            const word_cache::entry& e = c.entries[k];
            std::size_t j = hash_string(std::string_view(c.keys.data() + e.key_off, e.key_len)) & mask;
            while (c.slots[j] != 0) j = (j + 1) & mask;
            c.slots[j] = std::uint32_t(k + 1);
        }
    }
}

// The vocabulary id of one character of a word (with the subword prefix / suffix).
inline token_id tokenizer::char_id(std::string_view ch, std::uint32_t cp, bool first, bool last, scratch& sc) const {
    const bool pre = !first && !prefix_.empty(), suf = last && !suffix_.empty();
    if (!pre && !suf) return cp < 512 ? small_char_ids_[cp] : model_id(ch);
    sc.word.clear();
    if (pre) sc.word += prefix_;
    sc.word.append(ch.data(), ch.size());
    if (suf) sc.word += suffix_;
    return model_id(sc.word);
}

// The BPE model on one pre-token (BPE::tokenize).
inline void tokenizer::bpe_word(std::string_view w, std::vector<token_id>& out, scratch& sc) const {
    if (ignore_merges_) {
        const token_id id = model_id(w);
        if (id != k_no_token) {
            out.push_back(id);
            return;
        }
    }
    auto& sym = sc.symbols;
    sym.clear();
    auto add = [&](token_id id) {
        const auto at = std::int32_t(sym.size());
        sym.push_back(symbol{id, at - 1, at + 1, true});
    };
    const auto* s = reinterpret_cast<const unsigned char*>(w.data());
    token_id pending_unk = k_no_token;
    for (std::size_t i = 0; i < w.size();) {
        std::uint32_t cp;
        const std::size_t len = s[i] < 0x80 ? (cp = s[i], 1) : next_code_point(s, i, w.size(), &cp);
        const token_id id = char_id(w.substr(i, len), cp, i == 0, i + len == w.size(), sc);
        if (id != k_no_token) {
            if (pending_unk != k_no_token) add(pending_unk), pending_unk = k_no_token;
            add(id);
        } else {
            bool done = false;
            if (byte_fallback_) {
                bool all = true;
                for (std::size_t k = 0; k < len; ++k) all = all && byte_fallback_ids_[s[i + k]] != k_no_token;
                if (all) {
                    for (std::size_t k = 0; k < len; ++k) add(byte_fallback_ids_[s[i + k]]);
                    done = true;
                }
            }
            if (!done && unk_id_ != k_no_token) {
                if (pending_unk != k_no_token && !fuse_unk_) add(pending_unk);
                pending_unk = unk_id_;
            }
            // else: no entry, no unk token: the character is dropped, as the reference does
        }
        i += len;
    }
    if (pending_unk != k_no_token) add(pending_unk);
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

inline void tokenizer::post_process(const std::vector<token_id>& a, const std::vector<token_id>* b, bool add_special,
                                    std::vector<token_id>& out) const {
    if (!post_.has_template) {
        out.insert(out.end(), a.begin(), a.end());
        if (b) out.insert(out.end(), b->begin(), b->end());
        return;
    }
    for (const auto& p : b ? post_.pair : post_.single) {
        if (p.is_sequence) {
            const std::vector<token_id>& s = p.sequence_b && b ? *b : a;
            out.insert(out.end(), s.begin(), s.end());
        } else if (add_special) {
            out.insert(out.end(), p.ids.begin(), p.ids.end());
        }
    }
}

inline result<std::vector<token_id>> tokenizer::try_encode(std::string_view text, const encode_options& opt) const {
    scratch sc;
    std::vector<token_id> ids;
    ids.reserve(text.size() / 3 + 4);
    SMOLVLM_TRY(encode_sequence(text, opt, ids, sc));
    if (!post_.has_template) return ids;
    std::vector<token_id> out;
    out.reserve(ids.size() + 4);
    post_process(ids, nullptr, opt.add_special_tokens, out);
    return out;
}

inline result<std::vector<token_id>> tokenizer::try_encode_pair(std::string_view a, std::string_view b,
                                                                const encode_options& opt) const {
    scratch sc;
    std::vector<token_id> ia, ib, out;
    SMOLVLM_TRY(encode_sequence(a, opt, ia, sc));
    SMOLVLM_TRY(encode_sequence(b, opt, ib, sc));
    post_process(ia, &ib, opt.add_special_tokens, out);
    return out;
}

inline void tokenizer::encode_append(std::string_view text, std::vector<token_id>& out, bool parse_special) const {
    encode_options opt;
    opt.parse_special = parse_special;
    scratch sc;
    const std::size_t mark = out.size();
    if (!encode_sequence(text, opt, out, sc).is_ok()) out.resize(mark);
}

inline std::vector<token_id> tokenizer::encode(std::string_view text, bool parse_special) const {
    std::vector<token_id> out;
    out.reserve(text.size() / 3 + 4);
    encode_append(text, out, parse_special);
    return out;
}

// ---- decoding ---------------------------------------------------------------------

inline std::string tokenizer::decode(const token_id* ids, std::size_t n, bool skip_special) const {
    if (byte_stream_) {  // ByteLevel decoder: concatenate the bytes, then lossy UTF-8
        std::string raw;
        for (std::size_t i = 0; i < n; ++i) {
            if (!valid_id(ids[i]) || (skip_special && special_[std::size_t(ids[i])])) continue;
            raw += bytes_[std::size_t(ids[i])];
        }
        return utf8_decode_lossy(raw);
    }
    std::vector<std::string> toks;
    for (std::size_t i = 0; i < n; ++i) {
        if (!valid_id(ids[i]) || (skip_special && special_[std::size_t(ids[i])])) continue;
        toks.push_back(tokens_[std::size_t(ids[i])]);
    }
    if (decoders_.empty()) {  // no decoder: tokens joined by spaces
        std::string out;
        for (std::size_t i = 0; i < toks.size(); ++i) {
            if (i) out.push_back(' ');
            out += toks[i];
        }
        return out;
    }
    regex_scratch sc;
    if (!tokenizer_steps::run_decoders(decoders_, toks, sc).is_ok()) return std::string();
    std::string out;
    for (const auto& t : toks) out += t;
    return out;
}

// Incremental decoding for streaming generation: push one id at a time and get back the
// text that became final. With a ByteLevel decoder it works on bytes: only complete UTF-8
// characters are returned (a character split across tokens is held until its last byte
// arrives) and the concatenation of all push() results and finish() equals
// tokenizer::decode of the whole sequence. With other decoders it follows the Rust
// DecodeStream: decode the ids since the last emitted prefix and return what was added,
// holding back text that ends in U+FFFD. The tokenizer must outlive the decoder.
class stream_decoder {
public:
    explicit stream_decoder(const tokenizer& tok, bool skip_special = false) : tok_(&tok), skip_special_(skip_special) {}

    // Text that became complete with this token (often empty or one word).
    std::string push(token_id id) {
        std::string out;
        if (!tok_->valid_id(id) || (skip_special_ && tok_->is_special(id))) return out;
        if (tok_->byte_stream_) {
            pending_ += tok_->token_bytes(id);
            const std::size_t used = utf8_decode_lossy(pending_.data(), pending_.size(), out, /*final=*/false);
            pending_.erase(0, used);
            return out;
        }
        ids_.push_back(id);
        const std::string s = tok_->decode(ids_.data(), ids_.size(), skip_special_);
        if (s.size() > prefix_.size() && !(s.size() >= 3 && s.compare(s.size() - 3, 3, "\xEF\xBF\xBD") == 0) &&
            s.compare(0, prefix_.size(), prefix_) == 0) {
            out = s.substr(prefix_.size());
            const std::size_t new_prefix_index = ids_.size() - prefix_index_;
            ids_.erase(ids_.begin(), ids_.begin() + std::ptrdiff_t(prefix_index_));
            prefix_ = tok_->decode(ids_.data(), ids_.size(), skip_special_);
            prefix_index_ = new_prefix_index;
        }
        return out;
    }
    // Flush what is left: an unfinished character becomes U+FFFD.
    std::string finish() {
        std::string out;
        if (tok_->byte_stream_) {
            utf8_decode_lossy(pending_.data(), pending_.size(), out, /*final=*/true);
        } else {
            const std::string s = tok_->decode(ids_.data(), ids_.size(), skip_special_);
            if (s.size() > prefix_.size() && s.compare(0, prefix_.size(), prefix_) == 0) out = s.substr(prefix_.size());
        }
        reset();
        return out;
    }
    void reset() {
        pending_.clear();
        ids_.clear();
        prefix_.clear();
        prefix_index_ = 0;
    }
    std::size_t pending_bytes() const { return pending_.size(); }

private:
    const tokenizer* tok_;
    bool skip_special_;
    std::string pending_;  // ByteLevel: at most 3 bytes of an incomplete character
    std::vector<token_id> ids_;  // other decoders: ids since the emitted prefix started
    std::string prefix_;
    std::size_t prefix_index_ = 0;
};

}  // namespace smolvlm
