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
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "../core/parallel.hpp"
#include "../core/status.hpp"
#include "../model/llama.hpp"
#include "../nn/context.hpp"
#include "../text/bpe.hpp"
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
};

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
        const std::vector<token_id> stops = g.stop_ids.empty() ? m_.stop_ids() : g.stop_ids;
        sampler smp(g.sampling);
        stream_decoder text(m_.tok(), /*skip_special=*/true);
        std::vector<float> work(logits_.size());
        const auto t0 = std::chrono::steady_clock::now();
        for (std::int64_t step = 0; step < g.max_new_tokens; ++step) {
            std::memcpy(work.data(), logits_.data(), work.size() * sizeof(float));
            const token_id id = smp.sample(work.data(), std::int64_t(work.size()), ids_);
            ++stats_.gen_tokens;
            if (out) out->push_back(id);
            bool is_stop = false;
            for (token_id s : stops) is_stop = is_stop || s == id;
            const std::string piece = (is_stop && !g.ignore_eos) ? text.finish() : text.push(id);
            if (on_token && !on_token(id, piece)) {
                stats_.cancelled = true;
                ids_.push_back(id);  // keep the cache and ids consistent: the token is sampled, not yet run
                cache_sync_pending_ = true;
                break;
            }
            if (is_stop && !g.ignore_eos) {
                stats_.stopped_by_eos = true;
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
