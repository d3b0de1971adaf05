// smolvlm/pipeline/session.hpp — one conversation over a shared model.
//
// Threads: a model may be shared by sessions running on different threads at once; a
// thread_pool must not be, so give each concurrently running session its own pool (or none).
//
// A session owns the KV cache, the decoder scratch, the sampler state and the ids
// already in the cache. Several sessions may run over one `model` at once (the model
// is read-only). Prefill is batched (the whole new part of the prompt goes through
// each layer together, in chunks of `max_chunk` tokens), then tokens are decoded one
// at a time. Starting a new turn reuses the cached prefix: only tokens after the
// longest common prefix with the previous conversation are computed again.
//
//   session s(m, {.n_ctx = 2048}, &pool);
//   s.prefill(ids, image_rows, n_image_rows);     // logits of the last prompt token
//   s.generate(opts, on_token);                   // sample, stream, stop on EOS
//
// Structured output: generate_options::grammar points at a grammar_matcher
// (text/grammar_matcher.hpp) over this model's vocabulary (grammar_vocab_for(m)); then
// only tokens the grammar allows are sampled, and generation ends when the grammar is
// complete. Near max_new_tokens, tokens whose shortest completion no longer fits the tokens
// left are refused, so an output cut by the limit still parses (see generate()).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "../core/parallel.hpp"
#include "../core/status.hpp"
#include "../model/llama.hpp"
#include "../nn/context.hpp"
#include "../text/bpe.hpp"
#include "../text/grammar_matcher.hpp"
#include "../model/family.hpp"
#include "loader.hpp"
#include "sampler.hpp"

namespace smolvlm {

struct session_options {
    std::int64_t n_ctx = 4096;      // KV cache capacity in tokens
    std::int64_t max_chunk = 256;   // prefill tokens per forward pass (bounds scratch memory)
    std::size_t max_bytes = 0;      // cap on what the session allocates (0: no cap); over it init() fails
    dtype kv_type = dtype::f32;     // KV cache storage: f32 (exact) or f16 (half the memory; ~2.4e-4 rounding)
};

struct generate_options {
    std::int64_t max_new_tokens = 256;
    sampling_params sampling;
    bool ignore_eos = false;             // generate exactly max_new_tokens
    std::vector<token_id> stop_ids;      // empty: the model's stop ids

    // Constrained decoding. The matcher (caller-owned, over grammar_vocab_for(model)) starts
    // from its current state: reset() it for a new output, or feed it forced text first.
    // Null: unconstrained (the loop is then exactly the plain one).
    grammar_matcher* grammar = nullptr;
    grammar_sampling grammar_mode = grammar_sampling::check_first;  // or full_mask
    // Keep the output completable within max_new_tokens: when the grammar's shortest completion
    // after a token (in bytes) would exceed the tokens left after it, the token is refused. An
    // output stopped by the limit then still matches the grammar whenever every byte can be a
    // token of its own (byte-level vocabularies: SmolLM2 / SmolVLM, SmolLM3) and the limit is at
    // least the shortest completion at the start.
    bool grammar_fit_budget = true;
};

// The grammar's view of a model's vocabulary: every token's bytes (special tokens left out),
// the model's stop ids as end tokens. Build once per model; share it between matchers.
inline grammar_vocab grammar_vocab_for(const model& m) { return grammar_vocab::from_tokenizer(m.tok(), m.stop_ids()); }

// Called for every generated token with its id and the text it completes (may be empty
// while a UTF-8 character is incomplete). Return false to stop (cancellation).
using token_callback = std::function<bool(token_id id, std::string_view piece)>;

struct generation_stats {
    std::int64_t prompt_tokens = 0;      // tokens in the prompt
    std::int64_t prefill_tokens = 0;     // of which actually computed (the rest came from the cache)
    double prefill_ms = 0.0;
    std::int64_t gen_tokens = 0;
    double decode_ms = 0.0;
    bool stopped_by_eos = false;
    bool cancelled = false;
    // Constrained decoding (generate_options::grammar):
    bool stopped_by_grammar = false;     // the grammar was complete and allowed nothing more
    double grammar_ms = 0.0;             // time in grammar checks, masks and accepts
    std::int64_t grammar_masks = 0;      // steps that needed the full token mask (the sampled token was refused)
    std::int64_t grammar_budget_steps = 0;  // steps where the max_new_tokens budget narrowed the choice
};

class session {
public:
    session(const model& m, const session_options& opt = {}, thread_pool* pool = nullptr)
        : m_(m), opt_(opt), dec_(m.config().text, m.weights().text) {
        ctx_.pool = pool;
        ctx_.kt = m.kernels();
    }

    // Bytes a session with these options needs (KV cache + scratch + logits), on a pool of
    // `threads` threads (prefill attention keeps one block of scores per thread).
    static std::size_t memory_required(const model_config& cfg, const session_options& opt, int threads = 1) {
        return kv_cache::bytes_needed(cfg.text, opt.n_ctx, opt.kv_type) +
               llama_scratch::bytes_needed(cfg.text, opt.max_chunk, opt.n_ctx, threads) +
               std::size_t(cfg.text.vocab_size) * sizeof(float) +
               std::size_t(opt.max_chunk * cfg.text.hidden_size) * sizeof(float);
    }

    // Allocate the cache and scratch (called lazily by prefill).
    status init() {
        if (ready_) return status::ok();
        const text_config& t = m_.config().text;
        if (opt_.n_ctx <= 0 || opt_.max_chunk <= 0) return status(errc::invalid_argument, "n_ctx and max_chunk must be positive");
        if (t.sliding_window > 0 && opt_.n_ctx > t.sliding_window)  // within the window it changes nothing
            return status::fmt(errc::unsupported, "the model attends through a sliding window of %lld tokens, which this "
                               "engine does not implement: use a context of at most that (-c %lld)",
                               (long long)t.sliding_window, (long long)t.sliding_window);
        const int threads = ctx_.pool ? ctx_.pool->size() : 1;
        const std::size_t need = memory_required(m_.config(), opt_, threads);
        if (opt_.max_bytes != 0 && need > opt_.max_bytes)
            return status::fmt(errc::no_memory, "the session needs %zu bytes (KV cache for %lld tokens + scratch), over the "
                               "cap of %zu", need, (long long)opt_.n_ctx, opt_.max_bytes);
        SMOLVLM_TRY(cache_.init(t, opt_.n_ctx, opt_.kv_type));
        SMOLVLM_TRY(scratch_.init(t, opt_.max_chunk, opt_.n_ctx, threads));
        logits_.assign(std::size_t(t.vocab_size), 0.0f);
        embeds_.assign(std::size_t(opt_.max_chunk * t.hidden_size), 0.0f);
        ready_ = true;
        return status::ok();
    }

    const nn::context& context() const { return ctx_; }
    const std::vector<token_id>& tokens() const { return ids_; }
    const std::vector<float>& logits() const { return logits_; }
    std::int64_t n_past() const { return cache_.n_past; }
    const generation_stats& stats() const { return stats_; }
    void reset() {
        cache_.truncate(0);
        ids_.clear();
    }

    // Run the prompt `ids` (the whole conversation so far). Rows of `image_rows`
    // ([n_image_rows, hidden]) replace, in order, the embeddings of the tokens equal to
    // the model's image_token_id. Reuses the longest cached prefix.
    status prefill(const std::vector<token_id>& ids, const float* image_rows = nullptr, std::int64_t n_image_rows = 0,
                   llama_trace* trace = nullptr) {
        SMOLVLM_TRY(prefill_begin(ids, image_rows, n_image_rows, trace));
        while (!prefill_done()) SMOLVLM_TRY(prefill_step(opt_.max_chunk));
        return status::ok();
    }

    // The same in slices, for callers that must keep a frame rate: prefill_begin() checks
    // the prompt and finds the cached prefix (cheap); each prefill_step(n) runs at most n
    // more tokens through the decoder. `image_rows` must stay valid until prefill_done().
    status prefill_begin(const std::vector<token_id>& ids, const float* image_rows = nullptr,
                         std::int64_t n_image_rows = 0, llama_trace* trace = nullptr) {
        SMOLVLM_TRY(init());
        pending_.clear();
        if (ids.empty()) return status(errc::invalid_argument, "empty prompt");
        const text_config& t = m_.config().text;
        const std::int64_t n = std::int64_t(ids.size());
        if (n > cache_.capacity)
            return status::fmt(errc::no_memory, "prompt of %lld tokens does not fit the context of %lld (use a larger -c)",
                               (long long)n, (long long)cache_.capacity);
        const token_id image_id = token_id(m_.config().image_token_id);
        std::int64_t n_img = 0;
        for (token_id id : ids) {
            if (id < 0 || id >= t.vocab_size)
                return status::fmt(errc::invalid_argument, "token id %d is outside the vocabulary", int(id));
            if (m_.config().has_vision && id == image_id) ++n_img;
        }
        if (n_img != 0 && n_img != n_image_rows)
            return status::fmt(errc::invalid_argument, "prompt has %lld image tokens but %lld image feature rows were given",
                               (long long)n_img, (long long)n_image_rows);
        if (n_img != 0 && !image_rows) return status(errc::invalid_argument, "image feature rows are null");

        // Longest common prefix with what the cache holds; keep at least one token to run.
        std::int64_t p = 0;
        while (p < std::int64_t(ids_.size()) && p < n && ids_[std::size_t(p)] == ids[std::size_t(p)]) ++p;
        if (p == n) --p;
        if (trace) p = 0;  // a trace wants every position
        cache_.truncate(p);
        ids_.assign(ids.begin(), ids.begin() + p);
        img_row_ = 0;
        for (std::int64_t i = 0; i < p; ++i)
            if (m_.config().has_vision && ids[std::size_t(i)] == image_id) ++img_row_;
        pending_ = ids;
        cursor_ = p;
        image_rows_ = image_rows;
        n_image_rows_ = n_image_rows;
        trace_ = trace;
        trace_inputs_.clear();
        if (trace) {
            trace->layer_outputs.clear();
            trace->final_hidden.clear();
        }
        stats_ = generation_stats();
        stats_.prompt_tokens = n;
        stats_.prefill_tokens = n - p;
        return status::ok();
    }

    bool prefill_done() const { return cursor_ >= std::int64_t(pending_.size()); }
    std::int64_t prefill_tokens_left() const { return std::int64_t(pending_.size()) - cursor_; }

    status prefill_step(std::int64_t max_tokens) {
        if (prefill_done()) return status::ok();
        if (max_tokens <= 0) return status(errc::invalid_argument, "prefill_step needs a positive token count");
        const auto t0 = std::chrono::steady_clock::now();
        const text_config& t = m_.config().text;
        const std::int64_t D = t.hidden_size, n = std::int64_t(pending_.size());
        const token_id image_id = token_id(m_.config().image_token_id);
        const std::int64_t c0 = cursor_;
        const std::int64_t c1 = std::min({n, c0 + max_tokens, c0 + opt_.max_chunk});
        // The chunk's input embeddings, image-token rows spliced in (model/family.hpp).
        SMOLVLM_TRY(embed_prompt(m_.weights().text, pending_.data() + c0, c1 - c0, m_.config().has_vision ? image_id : -1,
                                 image_rows_, n_image_rows_, img_row_, embeds_.data()));
        if (trace_) trace_inputs_.insert(trace_inputs_.end(), embeds_.data(), embeds_.data() + (c1 - c0) * D);
        llama_trace chunk_trace;
        chunk_trace.capture_layers = trace_ && trace_->capture_layers;
        status st = dec_.forward(ctx_, cache_, scratch_, embeds_.data(), c1 - c0, trace_ ? &chunk_trace : nullptr);
        if (!st.is_ok()) {
            pending_.clear();
            cursor_ = 0;
            return st;
        }
        if (trace_) append_trace(*trace_, chunk_trace);
        ids_.insert(ids_.end(), pending_.begin() + c0, pending_.begin() + c1);
        if (c1 == n) dec_.logits(ctx_, scratch_.h.data() + (c1 - c0 - 1) * D, 1, logits_.data());
        cursor_ = c1;
        stats_.prefill_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        return status::ok();
    }

    // The embeddings that went into the last traced prefill: [n, hidden].
    const std::vector<float>& traced_inputs() const { return trace_inputs_; }

    // Append one token (e.g. the sampled one) and compute the next logits.
    status push(token_id id) {
        SMOLVLM_TRY(init());
        const text_config& t = m_.config().text;
        if (id < 0 || id >= t.vocab_size) return status(errc::invalid_argument, "token id outside the vocabulary");
        SMOLVLM_TRY(embed_tokens(m_.weights().text, &id, 1, embeds_.data()));
        SMOLVLM_TRY(dec_.forward(ctx_, cache_, scratch_, embeds_.data(), 1));
        dec_.logits(ctx_, scratch_.h.data(), 1, logits_.data());
        ids_.push_back(id);
        return status::ok();
    }

    // Sample / stream / stop. Call after prefill. Generated ids are appended to `out`.
    status generate(const generate_options& g, const token_callback& on_token, std::vector<token_id>* out = nullptr) {
        if (!ready_ || ids_.empty()) return status(errc::invalid_argument, "generate() needs a prefill first");
        if (!prefill_done()) return status(errc::invalid_argument, "generate() called before the prefill finished");
        grammar_matcher* gm = g.grammar;
        if (gm && gm->vocab().size() != m_.tok().vocab_size())
            return status::fmt(errc::invalid_argument, "the grammar's vocabulary has %zu tokens, the model's tokenizer %zu "
                               "(build it with grammar_vocab_for(model))", gm->vocab().size(), m_.tok().vocab_size());
        const std::vector<token_id> stops = g.stop_ids.empty() ? m_.stop_ids() : g.stop_ids;
        sampler smp(g.sampling);
        stream_decoder text(m_.tok(), /*skip_special=*/true);
        std::vector<float> work(logits_.size()), grammar_scratch;
        const std::int64_t n_vocab = std::int64_t(work.size());
        const auto t0 = std::chrono::steady_clock::now();
        for (std::int64_t step = 0; step < g.max_new_tokens; ++step) {
            std::memcpy(work.data(), logits_.data(), work.size() * sizeof(float));
            token_id id;
            if (!gm) {
                id = smp.sample(work.data(), n_vocab, ids_);
            } else {
                const auto tg = std::chrono::steady_clock::now();
                if (gm->is_finished()) {  // complete before anything was generated
                    stats_.stopped_by_grammar = true;
                    break;
                }
                id = sample_constrained(g, *gm, smp, work, grammar_scratch, g.max_new_tokens - step - 1);
                if (id < 0 || !gm->accept_token(id))
                    return status(errc::unsupported, "grammar: no token of the vocabulary can continue the output here");
                stats_.grammar_ms += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - tg).count();
            }
            ++stats_.gen_tokens;
            if (out) out->push_back(id);
            bool is_stop = false;
            for (token_id s : stops) is_stop = is_stop || s == id;
            // With a grammar, an end token it accepted ends the output even under ignore_eos.
            const bool ends = is_stop && (!g.ignore_eos || gm);
            const bool complete = gm && !ends && gm->is_finished();  // nothing may follow: stop here
            std::string piece = ends ? text.finish() : text.push(id);
            if (complete) piece += text.finish();
            if (on_token && !on_token(id, piece)) {
                stats_.cancelled = true;
                ids_.push_back(id);  // keep the cache and ids consistent: the token is sampled, not yet run
                cache_sync_pending_ = true;
                break;
            }
            if (ends || complete) {
                (ends ? stats_.stopped_by_eos : stats_.stopped_by_grammar) = true;
                ids_.push_back(id);
                cache_sync_pending_ = true;
                break;
            }
            if (step + 1 == g.max_new_tokens) {  // last token: no need to run it now
                ids_.push_back(id);
                cache_sync_pending_ = true;
                if (on_token) {
                    const std::string rest = text.finish();
                    if (!rest.empty()) on_token(-1, rest);
                }
                break;
            }
            SMOLVLM_TRY(push(id));
        }
        stats_.decode_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (cache_sync_pending_) {
            // ids_ ends with a token whose K/V are not in the cache yet: the next prefill's
            // prefix match must not count it.
            cache_.truncate(std::int64_t(ids_.size()) - 1);
            ids_.pop_back();
            cache_sync_pending_ = false;
        }
        return status::ok();
    }

private:
    // One constrained draw: the caller's sampler over the tokens the grammar allows
    // (sample_with_grammar), then, when fit_budget, a check that the token's shortest
    // completion fits in the `left` tokens after it. -1 when nothing can continue.
    token_id sample_constrained(const generate_options& g, grammar_matcher& gm, sampler& smp, std::vector<float>& work,
                                std::vector<float>& scratch, std::int64_t left) {
        const std::int64_t n = std::int64_t(work.size());
        auto draw = [&](float* l) { return smp.sample(l, n, ids_); };
        const std::vector<float>& original = logits_;  // `work` is a copy the draws may change
        const bool budget = g.grammar_fit_budget;
        const std::size_t masks_before = gm.stats().mask_hits + gm.stats().mask_misses;
        token_id id = sample_with_grammar(gm, work.data(), n, draw, scratch, g.grammar_mode);
        const std::size_t masks_after = gm.stats().mask_hits + gm.stats().mask_misses;
        stats_.grammar_masks += std::int64_t(masks_after - masks_before);
        if (id < 0 || !budget || std::int64_t(gm.min_remaining_after(id)) <= left) return id;
        // Over budget: keep the allowed tokens whose completion fits; if none does, the one
        // closest to completion (highest logit among equals).
        ++stats_.grammar_budget_steps;
        const float ninf = -std::numeric_limits<float>::infinity();
        token_id closest = -1;
        std::uint32_t closest_cost = grammar_matcher::k_infinite;
        std::size_t kept = 0;
        std::memcpy(work.data(), original.data(), work.size() * sizeof(float));
        const token_mask& allowed = gm.allowed_tokens();
        std::vector<std::int32_t> ids;
        allowed.for_each([&](std::int32_t t) { ids.push_back(t); });
        std::vector<std::uint8_t> keep(std::size_t(n), 0);
        for (std::int32_t t : ids) {
            if (t >= n) continue;
            const std::uint32_t c = gm.min_remaining_after(t);
            if (std::int64_t(c) <= left) {
                keep[std::size_t(t)] = 1;
                ++kept;
            }
            if (c < closest_cost || (c == closest_cost && closest >= 0 && original[std::size_t(t)] > original[std::size_t(closest)])) {
                closest_cost = c;
                closest = t;
            }
        }
        if (kept == 0) return closest;
        for (std::int64_t t = 0; t < n; ++t)
            if (!keep[std::size_t(t)]) work[std::size_t(t)] = ninf;
        id = smp.sample(work.data(), n, ids_);
        return (id >= 0 && id < n && keep[std::size_t(id)]) ? id : closest;
    }

    static void append_trace(llama_trace& dst, const llama_trace& src) {
        if (dst.layer_outputs.size() < src.layer_outputs.size()) dst.layer_outputs.resize(src.layer_outputs.size());
        for (std::size_t l = 0; l < src.layer_outputs.size(); ++l)
            dst.layer_outputs[l].insert(dst.layer_outputs[l].end(), src.layer_outputs[l].begin(), src.layer_outputs[l].end());
        dst.final_hidden.insert(dst.final_hidden.end(), src.final_hidden.begin(), src.final_hidden.end());
    }

    const model& m_;
    session_options opt_;
    nn::context ctx_;
    llama_decoder dec_;
    kv_cache cache_;
    llama_scratch scratch_;
    std::vector<float> logits_, embeds_, trace_inputs_;
    std::vector<token_id> ids_;
    generation_stats stats_;
    bool ready_ = false;
    bool cache_sync_pending_ = false;
    // prefill in progress
    std::vector<token_id> pending_;
    std::int64_t cursor_ = 0, img_row_ = 0, n_image_rows_ = 0;
    const float* image_rows_ = nullptr;
    llama_trace* trace_ = nullptr;
};

}  // namespace smolvlm
