// smolvlm/model/llama.hpp — the Llama-style decoder (SmolLM2 / SmolLM3 / the SmolVLM text model).
//
// One call runs a chunk of n tokens (given as embeddings) through every layer at
// positions n_past .. n_past+n-1, appends their keys and values to the KV cache and
// returns the final hidden states or logits. Prefill passes the whole prompt (in
// chunks); decoding passes one token at a time. Mirrors LlamaModel.forward:
//
//   h = embeds                                          // [n, D]
//   for each layer:                                     // LlamaDecoderLayer
//       a = rms_norm(h) ; q,k,v = a Wq, a Wk, a Wv      // q: [n, Hq, hd], k/v: [n, Hkv, hd]
//       rope(q, k) unless the layer is NoPE (SmolLM3)
//       cache k, v ; o = attention(q, K, V, causal)     // o: [n, Hq*hd]
//       h = h + o Wo
//       m = rms_norm(h) ; h = h + down(silu(m Wg) * (m Wu))
//   h = rms_norm(h) ; logits = h Wlm                    // [n, vocab]
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "../core/status.hpp"
#include "../core/tensor.hpp"
#include "../nn/activation.hpp"
#include "../nn/attention.hpp"
#include "../nn/context.hpp"
#include "../nn/norm.hpp"
#include "../nn/rope.hpp"
#include "config.hpp"
#include "weights.hpp"

namespace smolvlm {

// Keys and values of every layer for up to `capacity` positions (f32).
struct kv_cache {
    std::int64_t capacity = 0;
    std::int64_t n_past = 0;          // positions filled
    std::int64_t row = 0;             // n_kv_heads * head_dim
    std::vector<tensor<float>> k, v;  // per layer: [capacity, n_kv_heads, hd]

    static std::size_t bytes_needed(const text_config& t, std::int64_t capacity) {
        return std::size_t(2) * std::size_t(t.num_hidden_layers) * std::size_t(capacity) *
               std::size_t(t.num_key_value_heads * t.head_dim) * sizeof(float);
    }

    status init(const text_config& t, std::int64_t cap) {
        if (cap <= 0) return status(errc::invalid_argument, "KV cache capacity must be positive");
        capacity = cap;
        n_past = 0;
        row = t.num_key_value_heads * t.head_dim;
        k.clear();
        v.clear();
        k.resize(std::size_t(t.num_hidden_layers));
        v.resize(std::size_t(t.num_hidden_layers));
        for (std::size_t l = 0; l < k.size(); ++l) {
            SMOLVLM_TRY(k[l].resize({cap, row}));
            SMOLVLM_TRY(v[l].resize({cap, row}));
        }
        return status::ok();
    }
    // Forget positions >= n (to rewind a conversation).
    void truncate(std::int64_t n) { n_past = std::min(n_past, std::max<std::int64_t>(n, 0)); }
};

// Optional capture of intermediate states (tests, --dump).
struct llama_trace {
    bool capture_layers = false;
    std::vector<std::vector<float>> layer_outputs;  // per layer: [n, D]
    std::vector<float> final_hidden;                // [n, D] after the final norm
};

// Reusable buffers for chunks of up to max_tokens tokens.
struct llama_scratch {
    std::int64_t max_tokens = 0;
    tensor<float> h, a, q, k, v, o, gate, up;

    static std::size_t bytes_needed(const text_config& t, std::int64_t n) {
        const std::size_t D = std::size_t(t.hidden_size), Q = std::size_t(t.num_attention_heads * t.head_dim),
                          KV = std::size_t(t.num_key_value_heads * t.head_dim), F = std::size_t(t.intermediate_size);
        return std::size_t(n) * (2 * D + 2 * Q + 2 * KV + 2 * F) * sizeof(float);
    }

    status init(const text_config& t, std::int64_t n) {
        max_tokens = n;
        const std::int64_t D = t.hidden_size, Q = t.num_attention_heads * t.head_dim,
                           KV = t.num_key_value_heads * t.head_dim, F = t.intermediate_size;
        SMOLVLM_TRY(h.resize({n, D}));
        SMOLVLM_TRY(a.resize({n, D}));
        SMOLVLM_TRY(q.resize({n, Q}));
        SMOLVLM_TRY(k.resize({n, KV}));
        SMOLVLM_TRY(v.resize({n, KV}));
        SMOLVLM_TRY(o.resize({n, Q}));
        SMOLVLM_TRY(gate.resize({n, F}));
        SMOLVLM_TRY(up.resize({n, F}));
        return status::ok();
    }
};

// Look up token embeddings: out[i, :] = embed[ids[i], :] as f32.  out: [n, D]
inline status embed_tokens(const text_weights& w, const std::int32_t* ids, std::int64_t n, float* out) {
    const std::int64_t D = w.embed.cols;
    for (std::int64_t i = 0; i < n; ++i) {
        if (ids[i] < 0 || ids[i] >= w.embed.rows)
            return status::fmt(errc::invalid_argument, "token id %d is outside the vocabulary (%lld)", int(ids[i]),
                               (long long)w.embed.rows);
        const std::size_t off = std::size_t(ids[i]) * std::size_t(D);
        const std::uint8_t* base = static_cast<const std::uint8_t*>(w.embed.data);
        convert_to_f32(w.embed.type, base + off * dtype_size(w.embed.type), out + i * D, std::size_t(D));
    }
    return status::ok();
}

class llama_decoder {
public:
    llama_decoder(const text_config& cfg, const text_weights& w) : cfg_(cfg), w_(w), rope_(cfg.head_dim, cfg.rope_theta) {}

    const text_config& config() const { return cfg_; }

    // Run n tokens (embeddings [n, D]) through all layers; appends to the cache.
    // On return scratch.h holds the final-normed hidden states [n, D].
    status forward(const nn::context& ctx, kv_cache& cache, llama_scratch& s, const float* embeds, std::int64_t n,
                   llama_trace* trace = nullptr) const {
        if (n <= 0) return status(errc::invalid_argument, "no tokens to run");
        if (n > s.max_tokens) return status(errc::invalid_argument, "chunk larger than the scratch buffers");
        if (cache.n_past + n > cache.capacity)
            return status::fmt(errc::no_memory, "context full: %lld + %lld tokens exceed the KV cache of %lld",
                               (long long)cache.n_past, (long long)n, (long long)cache.capacity);
        const std::int64_t D = cfg_.hidden_size, hd = cfg_.head_dim;
        const std::int64_t Hq = cfg_.num_attention_heads, Hkv = cfg_.num_key_value_heads;
        const std::int64_t Q = Hq * hd, KV = Hkv * hd, F = cfg_.intermediate_size;
        const float eps = float(cfg_.rms_norm_eps);
        const std::int64_t pos0 = cache.n_past;
        float* h = s.h.data();
        float* a = s.a.data();
        std::memcpy(h, embeds, std::size_t(n * D) * sizeof(float));
        if (trace && trace->capture_layers) trace->layer_outputs.clear();

        for (std::size_t l = 0; l < w_.layers.size(); ++l) {
            const llama_layer_weights& L = w_.layers[l];
            // --- self attention ---                                  LlamaAttention.forward
            nn::rms_norm(ctx, h, a, L.attn_norm.data(), n, D, eps);    // a = input_layernorm(h)
            nn::linear(ctx, L.q, a, n, s.q.data(), bias(L.q_bias));     // q: [n, Hq, hd]
            nn::linear(ctx, L.k, a, n, s.k.data(), bias(L.k_bias));     // k: [n, Hkv, hd]
            nn::linear(ctx, L.v, a, n, s.v.data(), bias(L.v_bias));     // v: [n, Hkv, hd]
            if (L.use_rope) {
                rope_.apply(s.q.data(), n, Hq, pos0);
                rope_.apply(s.k.data(), n, Hkv, pos0);
            }
            float* kc = cache.k[l].data() + pos0 * KV;                  // append to the cache
            float* vc = cache.v[l].data() + pos0 * KV;
            std::memcpy(kc, s.k.data(), std::size_t(n * KV) * sizeof(float));
            std::memcpy(vc, s.v.data(), std::size_t(n * KV) * sizeof(float));
            nn::attention_shape as;
            as.n_q = n;
            as.n_kv = pos0 + n;
            as.n_heads = Hq;
            as.n_kv_heads = Hkv;
            as.head_dim = hd;
            as.q_stride = Q;
            as.kv_stride = KV;
            as.out_stride = Q;
            as.causal = true;
            as.q_pos0 = pos0;
            nn::attention(ctx, as, s.q.data(), cache.k[l].data(), cache.v[l].data(), s.o.data());  // o: [n, Hq*hd]
            nn::linear(ctx, L.o, s.o.data(), n, a, bias(L.o_bias));     // a = o_proj(o)
            nn::add_inplace(h, a, n * D);                               // h = h + attn
            // --- MLP ---                                               LlamaMLP.forward
            nn::rms_norm(ctx, h, a, L.mlp_norm.data(), n, D, eps);     // a = post_attention_layernorm(h)
            nn::linear(ctx, L.gate, a, n, s.gate.data(), bias(L.gate_bias));  // [n, F]
            nn::linear(ctx, L.up, a, n, s.up.data(), bias(L.up_bias));        // [n, F]
            nn::swiglu(ctx, s.gate.data(), s.up.data(), n * F);        // silu(gate) * up
            nn::linear(ctx, L.down, s.gate.data(), n, a, bias(L.down_bias));  // [n, D]
            nn::add_inplace(h, a, n * D);                               // h = h + mlp
            if (trace && trace->capture_layers) trace->layer_outputs.emplace_back(h, h + n * D);
        }
        nn::rms_norm(ctx, h, h, w_.final_norm.data(), n, D, eps);      // model.norm
        if (trace) trace->final_hidden.assign(h, h + n * D);
        cache.n_past += n;
        return status::ok();
    }

    // logits[r, :] = hidden[r, :] · lm_head^T for rows r in [0, n).  logits: [n, vocab]
    void logits(const nn::context& ctx, const float* hidden, std::int64_t n, float* out) const {
        nn::linear(ctx, w_.lm_head, hidden, n, out);
    }

private:
    static const float* bias(const std::vector<float>& b) { return b.empty() ? nullptr : b.data(); }

    const text_config& cfg_;
    const text_weights& w_;
    nn::rope_table rope_;
};

}  // namespace smolvlm
