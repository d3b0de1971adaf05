// smolvlm/text/grammar_matcher.hpp — constrained decoding: which tokens a grammar allows next.
//
//   auto g = compile_gbnf(text);                                  // or grammar_from_json_schema()
//   auto v = grammar_vocab::from_tokenizer(tok, {tok.eos_id()});  // once per tokenizer
//   grammar_matcher m(*g, v);
//   for (;;) {
//       float* logits = forward(...);
//       int id = sample_with_grammar(m, logits, n_vocab, [&](float* l) { return smp.sample(l, n_vocab, hist); }, scratch);
//       if (id < 0 || !m.accept_token(id) || m.is_finished()) break;
//   }
//
// State. As in llama.cpp, the parse state is a set of stacks: each stack is a path through
// the rules (the element to match on top, the places to return to below). The empty stack
// means "root is complete". Stacks are hash-consed into a tree of nodes (pos, parent), so a
// stack is one id and stacks share their common bottoms.
//
// Bytes, not code points. Tokens are byte strings and may end inside a UTF-8 sequence. The
// matcher walks a lazily built DFA whose state is (set of stacks, pending UTF-8 prefix):
// a lead or continuation byte keeps the stacks whose top class still holds a code point
// with that prefix (strict UTF-8: no overlong forms, surrogates or values above U+10FFFF);
// the last byte of a code point advances them. Transitions are computed once per (state,
// byte) and stored in a 256-entry table of the state; what a stack becomes after its top
// matched is computed once per stack node. Both depend only on the grammar, so they are
// kept for the life of the matcher (reset() keeps them).
//
// Masks. allowed_tokens() walks a trie of the vocabulary (grammar_vocab) in preorder:
// a node's state is its parent's state through one transition, a dead transition skips
// the whole subtree, so shared prefixes are checked once. Masks are cached per DFA state
// (the state is the full stack set, so equal states have equal masks). End tokens (EOS)
// are allowed exactly when the root is complete and no UTF-8 sequence is pending.
//
// A state that loops to itself on some ASCII bytes (in a JSON string: the printable ones but '"' and
// '\\') takes a whole trie subtree spelled only with those bytes at once: bytes present in
// each subtree are precomputed, so the walk visits only subtrees that hold a '"', a '\\' or
// non-ASCII bytes there. Cached stacks, states and tables are capped
// (grammar_matcher_options::max_cache_bytes); over the cap they restart from the current
// state, which is all the matcher needs.
//
// Threads: grammar and grammar_vocab are immutable and may be shared; a matcher is one
// sequence's state plus its caches (copyable, e.g. to fork a beam), not thread-safe.
//
// Checks made by compile_gbnf (no left recursion through a growing stack, every reachable
// rule can complete) guarantee that every closure is finite and that every accepted
// prefix can be completed; whether the vocabulary can spell the completion is up to it
// (SmolLM2 has no token for bytes 0xF1..0xFF, say): a mask with no token is reported as 0.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "grammar.hpp"

namespace smolvlm {

// One bit per token.
class token_mask {
public:
    token_mask() = default;
    explicit token_mask(std::size_t n) { resize(n); }
    void resize(std::size_t n) {
        n_ = n;
        w_.assign((n + 63) / 64, 0);
    }
    std::size_t size() const { return n_; }
    bool test(std::int64_t id) const {
        return id >= 0 && std::size_t(id) < n_ && ((w_[std::size_t(id) >> 6] >> (std::size_t(id) & 63)) & 1u);
    }
    void set(std::int64_t id) { w_[std::size_t(id) >> 6] |= std::uint64_t(1) << (std::size_t(id) & 63); }
    void clear_all() { std::fill(w_.begin(), w_.end(), 0); }
    std::size_t count() const {
        std::size_t c = 0;
        for (std::uint64_t w : w_) c += std::size_t(popcount(w));
        return c;
    }
    const std::uint64_t* words() const { return w_.data(); }
    std::uint64_t* words() { return w_.data(); }
    std::size_t n_words() const { return w_.size(); }

    // Calls f(id) for every set bit, in increasing id order.
    template <class F>
    void for_each(F&& f) const {
        for (std::size_t k = 0; k < w_.size(); ++k)
            for (std::uint64_t w = w_[k]; w; w &= w - 1) f(std::int32_t(k * 64 + std::size_t(ctz(w))));
    }

    static int popcount(std::uint64_t w) {
#if defined(__GNUC__) || defined(__clang__)
        return __builtin_popcountll(w);
#else
        int c = 0;
        for (; w; w &= w - 1) ++c;
        return c;
#endif
    }
    static int ctz(std::uint64_t w) {
#if defined(__GNUC__) || defined(__clang__)
        return __builtin_ctzll(w);
#else
        int c = 0;
        while (!(w & 1u)) {
            w >>= 1;
            ++c;
        }
        return c;
#endif
    }

private:
    std::vector<std::uint64_t> w_;
    std::size_t n_ = 0;
};

// The vocabulary as the grammar sees it: the bytes of every token, in a trie. Immutable
// once built; one per tokenizer, shared by any number of matchers.
class grammar_vocab {
public:
    grammar_vocab() = default;

    // token_bytes[id]: the bytes the token decodes to; empty = never allowed (special and
    // control tokens). end_ids: tokens that end generation (EOS, <end_of_utterance>).
    static grammar_vocab build(const std::vector<std::string>& token_bytes, const std::vector<std::int32_t>& end_ids);

    // From a tokenizer with vocab_size(), valid_id(id), is_special(id) and token_bytes(id)
    // (text/bpe.hpp's). Special tokens are left out; end_ids empty = {tok.eos_id()}.
    template <class Tokenizer>
    static grammar_vocab from_tokenizer(const Tokenizer& tok, std::vector<std::int32_t> end_ids = {}) {
        std::vector<std::string> bytes(tok.vocab_size());
        for (std::size_t id = 0; id < bytes.size(); ++id) {
            const auto t = std::int32_t(id);
            if (tok.valid_id(t) && !tok.is_special(t)) bytes[id] = std::string(tok.token_bytes(t));
        }
        if (end_ids.empty() && tok.eos_id() >= 0) end_ids.push_back(tok.eos_id());
        return build(bytes, end_ids);
    }

    std::size_t size() const { return n_tokens_; }
    std::string_view token_bytes(std::int32_t id) const {
        if (id < 0 || std::size_t(id) >= n_tokens_) return {};
        return std::string_view(bytes_.data() + bytes_begin_[std::size_t(id)],
                                bytes_begin_[std::size_t(id) + 1] - bytes_begin_[std::size_t(id)]);
    }
    bool is_end(std::int32_t id) const { return id >= 0 && std::size_t(id) < n_tokens_ && is_end_[std::size_t(id)]; }
    const std::vector<std::int32_t>& end_ids() const { return end_ids_; }
    std::size_t n_trie_nodes() const { return node_byte_.size(); }

private:
    friend class grammar_matcher;
    std::size_t n_tokens_ = 0;
    std::vector<std::uint32_t> bytes_begin_;  // [n_tokens + 1] into bytes_
    std::string bytes_;
    std::vector<std::int32_t> end_ids_;
    std::vector<std::uint8_t> is_end_;
    // Trie in preorder, root left out. Node i spells its parent's string + node_byte_[i];
    // its subtree is [i, node_end_[i]); its tokens are trie_tokens_[node_tok_[i] .. node_tok_[i+1]).
    std::vector<std::uint8_t> node_byte_;
    std::vector<std::uint16_t> node_depth_;  // 1 for the root's children
    std::vector<std::uint32_t> node_end_;
    std::vector<std::uint32_t> node_tok_;
    std::vector<std::int32_t> trie_tokens_;
    // Bytes that occur in node i's subtree (itself included), when all are ASCII: lets the
    // walk take a whole subtree at once from a state that loops on those bytes.
    std::vector<std::uint64_t> node_sub_lo_, node_sub_hi_;  // bytes 0..63, 64..127
    std::vector<std::uint8_t> node_ascii_;                  // 1 = subtree is all ASCII
    std::size_t max_depth_ = 0;
};

inline grammar_vocab grammar_vocab::build(const std::vector<std::string>& token_bytes,
                                          const std::vector<std::int32_t>& end_ids) {
    grammar_vocab v;
    v.n_tokens_ = token_bytes.size();
    v.bytes_begin_.reserve(token_bytes.size() + 1);
    v.bytes_begin_.push_back(0);
    for (const auto& b : token_bytes) {
        v.bytes_ += b;
        v.bytes_begin_.push_back(std::uint32_t(v.bytes_.size()));
    }
    v.is_end_.assign(token_bytes.size(), 0);
    for (std::int32_t id : end_ids)
        if (id >= 0 && std::size_t(id) < token_bytes.size() && !v.is_end_[std::size_t(id)]) {
            v.is_end_[std::size_t(id)] = 1;
            v.end_ids_.push_back(id);
        }

    // Sorted token strings give the trie in preorder: a string's new nodes start below
    // its longest common prefix with the previous string.
    constexpr std::size_t max_len = 0xffff;
    std::vector<std::int32_t> order;
    for (std::size_t id = 0; id < token_bytes.size(); ++id)
        if (!token_bytes[id].empty() && token_bytes[id].size() <= max_len && !v.is_end_[id])
            order.push_back(std::int32_t(id));
    std::sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
        const int c = token_bytes[std::size_t(a)].compare(token_bytes[std::size_t(b)]);
        return c < 0 || (c == 0 && a < b);
    });
    std::vector<std::uint32_t> open;  // open[d-1]: node at depth d on the current path
    std::vector<std::uint32_t> tok_node, parent;
    const std::string* prev = nullptr;
    for (std::int32_t id : order) {
        const std::string& s = token_bytes[std::size_t(id)];
        std::size_t lcp = 0;
        if (prev)
            while (lcp < s.size() && lcp < prev->size() && s[lcp] == (*prev)[lcp]) ++lcp;
        while (open.size() > lcp) {  // close the nodes below the common prefix
            v.node_end_[open.back()] = std::uint32_t(v.node_byte_.size());
            open.pop_back();
        }
        for (std::size_t d = lcp; d < s.size(); ++d) {
            parent.push_back(open.empty() ? 0xffffffffu : open.back());
            open.push_back(std::uint32_t(v.node_byte_.size()));
            v.node_byte_.push_back(static_cast<std::uint8_t>(s[d]));
            v.node_depth_.push_back(std::uint16_t(d + 1));
            v.node_end_.push_back(0);
        }
        tok_node.push_back(open.back());
        v.max_depth_ = std::max(v.max_depth_, s.size());
        prev = &s;
    }
    while (!open.empty()) {
        v.node_end_[open.back()] = std::uint32_t(v.node_byte_.size());
        open.pop_back();
    }
    v.node_tok_.assign(v.node_byte_.size() + 1, 0);
    for (std::uint32_t n : tok_node) ++v.node_tok_[n + 1];
    for (std::size_t i = 1; i < v.node_tok_.size(); ++i) v.node_tok_[i] += v.node_tok_[i - 1];
    v.trie_tokens_ = order;  // tok_node is nondecreasing, so order already matches the CSR
    const std::size_t nn = v.node_byte_.size();
    v.node_sub_lo_.assign(nn, 0);
    v.node_sub_hi_.assign(nn, 0);
    v.node_ascii_.assign(nn, 1);
    for (std::size_t i = nn; i-- > 0;) {  // children come after their parent
        const std::uint8_t b = v.node_byte_[i];
        if (b < 64)
            v.node_sub_lo_[i] |= std::uint64_t(1) << b;
        else if (b < 128)
            v.node_sub_hi_[i] |= std::uint64_t(1) << (b - 64);
        else
            v.node_ascii_[i] = 0;
        const std::uint32_t p = parent[i];
        if (p != 0xffffffffu) {
            v.node_sub_lo_[p] |= v.node_sub_lo_[i];
            v.node_sub_hi_[p] |= v.node_sub_hi_[i];
            v.node_ascii_[p] &= v.node_ascii_[i];
        }
    }
    return v;
}

struct grammar_matcher_options {
    std::size_t max_cached_masks = 1024;           // masks kept (FIFO); 6 KB each for 49k tokens
    std::size_t max_cache_bytes = std::size_t(96) << 20;  // stacks, states, transition tables:
                                                   // over this, the caches restart (state kept)
};

class grammar_matcher {
public:
    static constexpr std::uint32_t k_infinite = grammar::k_infinite;

    // g and v must outlive the matcher.
    grammar_matcher(const grammar& g, const grammar_vocab& v, const grammar_matcher_options& opt = {})
        : g_(&g), v_(&v), opt_(opt) {
        clear_caches();
        start_ = initial_state();
        cur_ = start_;
    }

    // Back to the start of the grammar; caches are kept (reuse a matcher across requests).
    void reset() {
        cur_ = start_;
        ended_ = false;
    }

    const grammar& grammar_ref() const { return *g_; }
    const grammar_vocab& vocab() const { return *v_; }

    // The root is complete here: end tokens are allowed.
    bool can_end() const { return !ended_ && states_[cur_].can_end; }
    // An end token was accepted, or the root is complete and nothing can follow.
    bool is_finished() const {
        if (ended_) return true;
        const dfa_state& s = states_[cur_];
        return s.can_end && s.n_stacks == 1;
    }

    // Would the token be accepted now? Does not change the state.
    bool is_allowed(std::int32_t id) {
        if (ended_) return false;
        if (v_->is_end(id)) return states_[cur_].can_end;
        return walk(cur_, v_->token_bytes(id)) != k_dead;
    }

    // Advance by a token; false (state unchanged) when the grammar does not allow it.
    bool accept_token(std::int32_t id) {
        maybe_restart();
        if (ended_) return false;
        if (v_->is_end(id)) {
            if (!states_[cur_].can_end) return false;
            ended_ = true;
            return true;
        }
        const std::uint32_t t = walk(cur_, v_->token_bytes(id));
        if (t == k_dead) return false;
        cur_ = t;
        return true;
    }

    // Advance by raw bytes (text forced into the output); false, state unchanged, if rejected.
    bool accept_bytes(std::string_view bytes) {
        maybe_restart();
        if (ended_) return false;
        const std::uint32_t t = walk(cur_, bytes);
        if (t == k_dead) return false;
        cur_ = t;
        return true;
    }

    // Tokens allowed now, one bit per vocabulary entry. The reference stays valid until the
    // next call on the matcher.
    const token_mask& allowed_tokens() {
        maybe_restart();
        if (ended_) {
            empty_mask_.resize(v_->size());
            return empty_mask_;
        }
        dfa_state& s = states_[cur_];
        if (s.mask != k_none) {
            ++stats_.mask_hits;
            return masks_[s.mask];
        }
        ++stats_.mask_misses;
        const std::uint32_t slot = take_mask_slot(cur_);
        compute_mask(cur_, masks_[slot]);
        return masks_[slot];
    }
    void fill_mask(token_mask& out) { out = allowed_tokens(); }

    // Forget the cached masks (transition tables stay): for benchmarks and tests.
    void drop_masks() {
        for (std::uint32_t& o : mask_owner_) {
            if (o != k_none) states_[o].mask = k_none;
            o = k_none;
        }
    }

    // logits[id] = -inf for every disallowed id (ids past the vocabulary included).
    // Returns how many ids stay allowed (0: the vocabulary cannot continue the grammar).
    std::size_t apply_to_logits(float* logits, std::int64_t n) {
        const token_mask& m = allowed_tokens();
        const float ninf = -std::numeric_limits<float>::infinity();
        std::size_t kept = 0;
        const std::uint64_t* w = m.words();
        for (std::int64_t base = 0; base < n; base += 64) {
            const std::size_t k = std::size_t(base) >> 6;
            const std::uint64_t bits = k < m.n_words() ? w[k] : 0;
            const std::int64_t lim = std::min<std::int64_t>(64, n - base);
            if (bits == ~std::uint64_t(0) && lim == 64) {
                kept += 64;
                continue;
            }
            for (std::int64_t j = 0; j < lim; ++j) {
                if ((bits >> j) & 1u)
                    ++kept;
                else
                    logits[base + j] = ninf;
            }
        }
        return kept;
    }

    // Fewest bytes that complete the root from here (0 when can_end()); inside a multi-byte
    // character the pending character counts whole (an over-estimate by its bytes already read).
    std::uint32_t min_remaining() {
        if (ended_) return 0;
        return state_cost(cur_);
    }
    // Same after the token; k_infinite when the token is not allowed.
    std::uint32_t min_remaining_after(std::int32_t id) {
        if (ended_) return k_infinite;
        if (v_->is_end(id)) return states_[cur_].can_end ? 0 : k_infinite;
        const std::uint32_t t = walk(cur_, v_->token_bytes(id));
        return t == k_dead ? k_infinite : state_cost(t);
    }

    struct matcher_stats {
        std::size_t mask_hits = 0, mask_misses = 0, restarts = 0;
        std::size_t n_stack_nodes = 0, n_states = 0, n_tables = 0, cache_bytes = 0;
    };
    matcher_stats stats() const {
        matcher_stats s = stats_;
        s.n_stack_nodes = nodes_.size();
        s.n_states = states_.size();
        s.n_tables = trans_.size() / 256;
        s.cache_bytes = cache_bytes();
        return s;
    }

private:
    static constexpr std::uint32_t k_none = 0xffffffffu;
    static constexpr std::uint32_t k_dead = 0xfffffffeu;
    static constexpr std::uint32_t k_unknown = 0xfffffffdu;

    struct stack_node {
        std::uint32_t pos;     // element: a set on top, a return position below
        std::uint32_t parent;  // node id; 0 = bottom
    };
    struct dfa_state {
        std::uint32_t stacks_begin = 0, n_stacks = 0;  // sorted node ids in stack_pool_ (0 = empty stack)
        std::uint32_t partial = 0;                     // pending UTF-8 prefix, 0 = none
        std::uint32_t table = k_none;                  // transition table index
        std::uint32_t mask = k_none;                   // mask slot
        std::uint32_t cost = k_none;                   // min_remaining, lazily
        std::uint32_t hash = 0;
        bool can_end = false;
    };

    // Open addressing: slot = (hash << 32) | (id + 1); 0 = empty.
    class id_table {
    public:
        void clear(std::size_t cap = 1024) {
            slots_.assign(cap, 0);
            count_ = 0;
        }
        template <class Eq>
        std::uint32_t find(std::uint32_t h, Eq&& eq) const {
            const std::size_t mask = slots_.size() - 1;
            for (std::size_t i = h & mask;; i = (i + 1) & mask) {
                const std::uint64_t s = slots_[i];
                if (s == 0) return k_none;
                if (std::uint32_t(s >> 32) == h && eq(std::uint32_t(s) - 1)) return std::uint32_t(s) - 1;
            }
        }
        void insert(std::uint32_t h, std::uint32_t id) {
            if ((count_ + 1) * 2 > slots_.size()) grow();
            put(h, id);
            ++count_;
        }
        std::size_t bytes() const { return slots_.size() * sizeof(std::uint64_t); }

    private:
        void put(std::uint32_t h, std::uint32_t id) {
            const std::size_t mask = slots_.size() - 1;
            std::size_t i = h & mask;
            while (slots_[i] != 0) i = (i + 1) & mask;
            slots_[i] = (std::uint64_t(h) << 32) | (std::uint64_t(id) + 1);
        }
        void grow() {
            std::vector<std::uint64_t> old;
            old.swap(slots_);
            slots_.assign(old.size() * 2, 0);
            for (std::uint64_t s : old)
                if (s) put(std::uint32_t(s >> 32), std::uint32_t(s) - 1);
        }
        std::vector<std::uint64_t> slots_;
        std::size_t count_ = 0;
    };

    static std::uint32_t mix(std::uint64_t x) {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdull;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53ull;
        x ^= x >> 33;
        return std::uint32_t(x);
    }

    // ---- caches ----------------------------------------------------------------------

    void clear_caches() {
        nodes_.assign(1, stack_node{0, 0});  // node 0: the empty stack / bottom
        succ_begin_.assign(1, k_none);
        succ_count_.assign(1, 0);
        node_cost_.assign(1, 0);
        succ_pool_.clear();
        node_index_.clear(4096);
        states_.clear();
        stack_pool_.clear();
        state_index_.clear(1024);
        trans_.clear();
        for (std::uint32_t& o : mask_owner_) o = k_none;
    }

    std::size_t cache_bytes() const {
        return nodes_.size() * (sizeof(stack_node) + 12) + succ_pool_.size() * 4 + node_index_.bytes() +
               states_.size() * sizeof(dfa_state) + stack_pool_.size() * 4 + state_index_.bytes() + trans_.size() * 4;
    }

    // Over budget: drop everything but the current state, rebuilt from its stacks.
    void maybe_restart() {
        if (cache_bytes() <= opt_.max_cache_bytes) return;
        ++stats_.restarts;
        std::vector<std::vector<std::uint32_t>> stacks;  // positions, bottom first
        const dfa_state s = states_[cur_];
        for (std::uint32_t k = 0; k < s.n_stacks; ++k) {
            std::vector<std::uint32_t> path;
            for (std::uint32_t n = stack_pool_[s.stacks_begin + k]; n != 0; n = nodes_[n].parent) path.push_back(nodes_[n].pos);
            std::reverse(path.begin(), path.end());
            stacks.push_back(std::move(path));
        }
        clear_caches();
        std::vector<std::uint32_t> ids;
        for (const auto& path : stacks) {
            std::uint32_t parent = 0;
            for (std::uint32_t pos : path) parent = intern_node(pos, parent);
            ids.push_back(parent);
        }
        std::sort(ids.begin(), ids.end());
        cur_ = intern_state(s.partial, ids);
        start_ = initial_state();
    }

    std::uint32_t intern_node(std::uint32_t pos, std::uint32_t parent) {
        const std::uint32_t h = mix((std::uint64_t(pos) << 32) | parent);
        const std::uint32_t found =
            node_index_.find(h, [&](std::uint32_t id) { return nodes_[id].pos == pos && nodes_[id].parent == parent; });
        if (found != k_none) return found;
        const std::uint32_t id = std::uint32_t(nodes_.size());
        nodes_.push_back({pos, parent});
        succ_begin_.push_back(k_none);
        succ_count_.push_back(0);
        node_cost_.push_back(k_none);
        node_index_.insert(h, id);
        return id;
    }

    std::uint32_t intern_state(std::uint32_t partial, const std::vector<std::uint32_t>& ids) {
        std::uint64_t hv = 0x9e3779b97f4a7c15ull ^ partial;
        for (std::uint32_t id : ids) hv = (hv ^ id) * 0x100000001b3ull;
        const std::uint32_t h = mix(hv);
        const std::uint32_t found = state_index_.find(h, [&](std::uint32_t s) {
            const dfa_state& st = states_[s];
            return st.partial == partial && st.n_stacks == ids.size() &&
                   std::equal(ids.begin(), ids.end(), stack_pool_.begin() + st.stacks_begin);
        });
        if (found != k_none) return found;
        dfa_state st;
        st.stacks_begin = std::uint32_t(stack_pool_.size());
        st.n_stacks = std::uint32_t(ids.size());
        st.partial = partial;
        st.hash = h;
        st.can_end = partial == 0 && !ids.empty() && ids[0] == 0;
        stack_pool_.insert(stack_pool_.end(), ids.begin(), ids.end());
        const std::uint32_t id = std::uint32_t(states_.size());
        states_.push_back(st);
        state_index_.insert(h, id);
        return id;
    }

    // ---- closure: from (pos, parent) to the stacks whose top is a set ------------------

    bool visit(std::uint64_t key) {
        if ((visit_count_ + 1) * 2 > visit_keys_.size()) {
            std::vector<std::uint64_t> old_keys;
            std::vector<std::uint32_t> old_stamp;
            old_keys.swap(visit_keys_);
            old_stamp.swap(visit_stamp_);
            const std::size_t cap = std::max<std::size_t>(64, old_keys.size() * 2);
            visit_keys_.assign(cap, 0);
            visit_stamp_.assign(cap, 0);
            visit_count_ = 0;
            for (std::size_t i = 0; i < old_keys.size(); ++i)
                if (old_stamp[i] == visit_gen_) put_visit(old_keys[i]);
        }
        return put_visit(key);
    }
    bool put_visit(std::uint64_t key) {
        const std::size_t mask = visit_keys_.size() - 1;
        for (std::size_t i = mix(key) & mask;; i = (i + 1) & mask) {
            if (visit_stamp_[i] != visit_gen_) {
                visit_stamp_[i] = visit_gen_;
                visit_keys_[i] = key;
                ++visit_count_;
                return true;
            }
            if (visit_keys_[i] == key) return false;
        }
    }

    // Seeds in work_; sorted, unique node ids appended to out.
    void run_closure(std::vector<std::uint32_t>& out) {
        if (++visit_gen_ == 0) {  // stamp wrapped: forget all
            std::fill(visit_stamp_.begin(), visit_stamp_.end(), 0);
            visit_gen_ = 1;
        }
        visit_count_ = 0;
        const grammar& g = *g_;
        while (!work_.empty()) {
            const stack_node w = work_.back();
            work_.pop_back();
            if (!visit((std::uint64_t(w.pos) << 32) | w.parent)) continue;
            const std::uint32_t e = g.element(w.pos);
            switch (grammar::kind_of(e)) {
                case grammar::elem_kind::end:
                    if (w.parent == 0)
                        out.push_back(0);
                    else
                        work_.push_back(nodes_[w.parent]);
                    break;
                case grammar::elem_kind::set: out.push_back(intern_node(w.pos, w.parent)); break;
                case grammar::elem_kind::ref: {
                    const std::uint32_t r = grammar::index_of(e);
                    // A call in tail position returns straight to our caller: the stack does not grow.
                    const std::uint32_t ret = grammar::kind_of(g.element(w.pos + 1)) == grammar::elem_kind::end
                                                  ? w.parent
                                                  : intern_node(w.pos + 1, w.parent);
                    for (const std::uint32_t* a = g.alts_end(r); a != g.alts_begin(r);) work_.push_back({*--a, ret});
                    break;
                }
            }
        }
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
    }

    std::uint32_t initial_state() {
        work_.clear();
        const grammar& g = *g_;
        for (const std::uint32_t* a = g.alts_end(g.root()); a != g.alts_begin(g.root());) work_.push_back({*--a, 0});
        std::vector<std::uint32_t> out;
        run_closure(out);
        return intern_state(0, out);
    }

    // Stacks that follow node s once its top set has matched a code point.
    void successors(std::uint32_t s, std::uint32_t* begin, std::uint32_t* count) {
        if (succ_begin_[s] == k_none) {
            work_.clear();
            work_.push_back({nodes_[s].pos + 1, nodes_[s].parent});
            succ_tmp_.clear();
            run_closure(succ_tmp_);
            succ_begin_[s] = std::uint32_t(succ_pool_.size());
            succ_count_[s] = std::uint32_t(succ_tmp_.size());
            succ_pool_.insert(succ_pool_.end(), succ_tmp_.begin(), succ_tmp_.end());
        }
        *begin = succ_begin_[s];
        *count = succ_count_[s];
    }

    // ---- transitions ------------------------------------------------------------------

    // Pending UTF-8 prefix: value bits, bytes still needed, total length.
    static std::uint32_t pack_partial(std::uint32_t value, std::uint32_t need, std::uint32_t len) {
        return 0x80000000u | (len << 26) | (need << 24) | value;
    }
    // Code points a prefix can still become, clipped to valid UTF-8 for its length.
    static bool prefix_range(std::uint32_t value, std::uint32_t need, std::uint32_t len, std::uint32_t* lo,
                             std::uint32_t* hi) {
        static const std::uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        static const std::uint32_t max_cp[5] = {0, 0x7f, 0x7ff, 0xffff, 0x10ffff};
        std::uint32_t a = value << (6 * need);
        std::uint32_t b = a | ((1u << (6 * need)) - 1);
        a = std::max(a, min_cp[len]);
        b = std::min(b, max_cp[len]);
        if (a > b) return false;
        if (a >= 0xd800 && b <= 0xdfff) return false;
        *lo = a;
        *hi = b;
        return true;
    }

    std::uint32_t compute_transition(std::uint32_t state, std::uint8_t b) {
        const dfa_state s = states_[state];  // copy: the vectors may grow below
        const grammar& g = *g_;
        std::uint32_t value, need, len;
        if (s.partial == 0) {
            if (b < 0x80) return advance(s, b, 0);
            if (b >= 0xc2 && b <= 0xdf) {
                len = 2;
                value = b & 0x1fu;
            } else if (b >= 0xe0 && b <= 0xef) {
                len = 3;
                value = b & 0x0fu;
            } else if (b >= 0xf0 && b <= 0xf4) {
                len = 4;
                value = b & 0x07u;
            } else {
                return k_dead;
            }
            need = len - 1;
        } else {
            if ((b & 0xc0u) != 0x80u) return k_dead;
            value = ((s.partial & 0x1fffffu) << 6) | (b & 0x3fu);
            need = ((s.partial >> 24) & 3u) - 1;
            len = (s.partial >> 26) & 7u;
        }
        std::uint32_t lo, hi;
        if (!prefix_range(value, need, len, &lo, &hi)) return k_dead;
        if (need == 0) return advance(s, value, 0);
        // Keep the stacks whose top set can still match.
        tmp_.clear();
        for (std::uint32_t k = 0; k < s.n_stacks; ++k) {
            const std::uint32_t id = stack_pool_[s.stacks_begin + k];
            if (id != 0 && g.set_intersects(grammar::index_of(g.element(nodes_[id].pos)), lo, hi)) tmp_.push_back(id);
        }
        if (tmp_.empty()) return k_dead;
        return intern_state(pack_partial(value, need, len), tmp_);
    }

    std::uint32_t advance(const dfa_state& s, std::uint32_t cp, std::uint32_t partial) {
        const grammar& g = *g_;
        tmp_.clear();
        for (std::uint32_t k = 0; k < s.n_stacks; ++k) {
            const std::uint32_t id = stack_pool_[s.stacks_begin + k];
            if (id == 0 || !g.set_contains(grammar::index_of(g.element(nodes_[id].pos)), cp)) continue;
            std::uint32_t b, c;
            successors(id, &b, &c);
            tmp_.insert(tmp_.end(), succ_pool_.begin() + b, succ_pool_.begin() + b + c);
        }
        if (tmp_.empty()) return k_dead;
        std::sort(tmp_.begin(), tmp_.end());
        tmp_.erase(std::unique(tmp_.begin(), tmp_.end()), tmp_.end());
        return intern_state(partial, tmp_);
    }

    std::uint32_t table_of(std::uint32_t state) {
        std::uint32_t t = states_[state].table;
        if (t == k_none) {
            t = std::uint32_t(trans_.size() / 256);
            trans_.resize(trans_.size() + 256, k_unknown);
            states_[state].table = t;
        }
        return t;
    }

    std::uint32_t transition(std::uint32_t state, std::uint8_t b) {
        const std::uint32_t t = table_of(state);
        std::uint32_t next = trans_[std::size_t(t) * 256 + b];
        if (next == k_unknown) {
            next = compute_transition(state, b);
            trans_[std::size_t(t) * 256 + b] = next;
        }
        return next;
    }

    std::uint32_t walk(std::uint32_t state, std::string_view bytes) {
        if (bytes.empty()) return k_dead;  // a token must make progress
        for (char c : bytes) {
            state = transition(state, static_cast<std::uint8_t>(c));
            if (state == k_dead) return k_dead;
        }
        return state;
    }

    // ---- masks --------------------------------------------------------------------------

    std::uint32_t take_mask_slot(std::uint32_t state) {
        std::uint32_t slot;
        if (masks_.size() < std::max<std::size_t>(1, opt_.max_cached_masks)) {
            slot = std::uint32_t(masks_.size());
            masks_.emplace_back(v_->size());
            mask_owner_.push_back(k_none);
        } else {  // FIFO eviction
            slot = next_slot_;
            next_slot_ = (next_slot_ + 1) % std::uint32_t(masks_.size());
        }
        if (mask_owner_[slot] != k_none) states_[mask_owner_[slot]].mask = k_none;
        mask_owner_[slot] = state;
        states_[state].mask = slot;
        return slot;
    }

    void compute_mask(std::uint32_t state, token_mask& out) {
        const grammar_vocab& v = *v_;
        out.clear_all();
        if (states_[state].can_end)
            for (std::int32_t id : v.end_ids_) out.set(id);
        const std::size_t n = v.node_byte_.size();
        if (depth_state_.size() < v.max_depth_ + 1) {
            depth_state_.resize(v.max_depth_ + 1);
            depth_table_.resize(v.max_depth_ + 1);
        }
        depth_state_[0] = state;
        depth_table_[0] = table_of(state);
        // ASCII bytes on which the state loops to itself: a subtree spelled only with
        // them is allowed whole (inside a JSON string that is most of the vocabulary).
        std::uint64_t loop_lo = 0, loop_hi = 0;
        for (std::uint32_t b = 0; b < 128; ++b)
            if (transition(state, std::uint8_t(b)) == state) {
                if (b < 64)
                    loop_lo |= std::uint64_t(1) << b;
                else
                    loop_hi |= std::uint64_t(1) << (b - 64);
            }
        const std::uint64_t* sub_lo = v.node_sub_lo_.data();
        const std::uint64_t* sub_hi = v.node_sub_hi_.data();
        const std::uint8_t* ascii = v.node_ascii_.data();
        const std::uint8_t* bytes = v.node_byte_.data();
        const std::uint16_t* depth = v.node_depth_.data();
        const std::uint32_t* ends = v.node_end_.data();
        const std::uint32_t* tok = v.node_tok_.data();
        const std::int32_t* toks = v.trie_tokens_.data();
        std::uint64_t* words = out.words();
        for (std::size_t i = 0; i < n;) {
            const std::size_t d = depth[i];
            if (depth_state_[d - 1] == state && ascii[i] && (sub_lo[i] & ~loop_lo) == 0 && (sub_hi[i] & ~loop_hi) == 0) {
                for (std::uint32_t k = tok[i]; k < tok[ends[i]]; ++k) {
                    const std::uint32_t id = std::uint32_t(toks[k]);
                    words[id >> 6] |= std::uint64_t(1) << (id & 63);
                }
                i = ends[i];
                continue;
            }
            std::uint32_t tb = depth_table_[d - 1];
            if (tb == k_none) {
                tb = table_of(depth_state_[d - 1]);
                depth_table_[d - 1] = tb;
            }
            std::uint32_t next = trans_[std::size_t(tb) * 256 + bytes[i]];
            if (next == k_unknown) {
                next = compute_transition(depth_state_[d - 1], bytes[i]);
                trans_[std::size_t(tb) * 256 + bytes[i]] = next;
            }
            if (next == k_dead) {
                i = ends[i];
                continue;
            }
            for (std::uint32_t k = tok[i]; k < tok[i + 1]; ++k) {
                const std::uint32_t id = std::uint32_t(toks[k]);
                words[id >> 6] |= std::uint64_t(1) << (id & 63);
            }
            if (ends[i] > i + 1) {  // has children
                depth_state_[d] = next;
                depth_table_[d] = states_[next].table;
            }
            ++i;
        }
    }

    // ---- min remaining ----------------------------------------------------------------

    std::uint32_t node_cost(std::uint32_t n) {
        // Walk up to a known cost, then fill in on the way back down.
        path_.clear();
        while (node_cost_[n] == k_none) {
            path_.push_back(n);
            n = nodes_[n].parent;
        }
        std::uint64_t c = node_cost_[n];
        for (std::size_t k = path_.size(); k-- > 0;) {
            const std::uint32_t r = g_->min_rest(nodes_[path_[k]].pos);
            c = std::min<std::uint64_t>(c + r, k_infinite - 1);
            node_cost_[path_[k]] = std::uint32_t(c);
        }
        return std::uint32_t(c);
    }

    std::uint32_t state_cost(std::uint32_t state) {
        if (states_[state].cost != k_none) return states_[state].cost;
        const dfa_state s = states_[state];
        std::uint32_t best = k_infinite;
        for (std::uint32_t k = 0; k < s.n_stacks; ++k) best = std::min(best, node_cost(stack_pool_[s.stacks_begin + k]));
        // Inside a UTF-8 character the stacks still wait for it: their cost counts it at its
        // set's shortest encoding (possibly 1 byte), but `need` continuation bytes must come
        // first. Adding them may overcount by that set's length: never under, so a budget
        // built on this cost still closes the output in time.
        if (s.partial != 0 && best < k_infinite) best = std::min<std::uint32_t>(best + ((s.partial >> 24) & 3u), k_infinite - 1);
        states_[state].cost = best;
        return best;
    }

    const grammar* g_;
    const grammar_vocab* v_;
    grammar_matcher_options opt_;

    std::vector<stack_node> nodes_;
    std::vector<std::uint32_t> succ_begin_, succ_count_, succ_pool_, node_cost_;
    id_table node_index_;
    std::vector<dfa_state> states_;
    std::vector<std::uint32_t> stack_pool_;
    id_table state_index_;
    std::vector<std::uint32_t> trans_;  // [n_tables * 256]: next state, k_dead or k_unknown

    std::vector<token_mask> masks_;
    std::vector<std::uint32_t> mask_owner_;
    std::uint32_t next_slot_ = 0;
    token_mask empty_mask_;

    std::uint32_t start_ = 0, cur_ = 0;
    bool ended_ = false;
    matcher_stats stats_;

    // scratch
    std::vector<stack_node> work_;
    std::vector<std::uint32_t> tmp_, succ_tmp_, path_, depth_state_, depth_table_;
    std::vector<std::uint64_t> visit_keys_;
    std::vector<std::uint32_t> visit_stamp_;
    std::uint32_t visit_gen_ = 0;
    std::size_t visit_count_ = 0;
};

// How sample_with_grammar treats the logits.
enum class grammar_sampling : std::uint8_t {
    full_mask,    // mask every disallowed token, then sample
    check_first,  // sample unmasked; keep the token if allowed, else mask and sample again
};

// Pick the next token with the caller's sampler, restricted to what the grammar allows.
//   sample(float* logits) -> token id; it may modify the logits (smolvlm::sampler::sample
//   applies its repetition penalty in place), so check_first keeps a copy in `scratch`.
// check_first is llama.cpp's order: most steps accept the first draw and skip the mask.
// For greedy sampling both modes give the same token; with temperature the accepted draw
// has the masked distribution's probabilities too (p(t) + (1 - p(A)) p(t) / p(A) = p(t) / p(A)),
// but top-k / top-p / min-p then see the unmasked candidates first.
// Returns -1 when no token of the vocabulary can continue the grammar.
// The caller then calls m.accept_token(id).
template <class SampleFn>
std::int32_t sample_with_grammar(grammar_matcher& m, float* logits, std::int64_t n_vocab, SampleFn&& sample,
                                 std::vector<float>& scratch, grammar_sampling mode = grammar_sampling::check_first) {
    if (mode == grammar_sampling::check_first) {
        scratch.assign(logits, logits + n_vocab);
        const std::int32_t id = sample(logits);
        if (m.is_allowed(id)) return id;
        std::memcpy(logits, scratch.data(), std::size_t(n_vocab) * sizeof(float));
    }
    if (m.apply_to_logits(logits, n_vocab) == 0) return -1;
    const std::int32_t id = sample(logits);
    return m.is_allowed(id) ? id : -1;
}

}  // namespace smolvlm
