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
//       rope(q, k) unless the layer is NoPE (SmolLM3)         // nn/rope.hpp (+ rope_scaling)
//       cache k, v ; o = attention(q, K, V, causal)     // o: [n, Hq*hd]
//       h = h + o Wo
//       m = rms_norm(h) ; h = h + down(silu(m Wg) * (m Wu))
//   h = rms_norm(h) ; logits = h Wlm                    // [n, vocab]
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../core/dtype.hpp"
#include "../core/status.hpp"
#include "../core/tensor.hpp"
#include "../kernels/dispatch.hpp"
#include "../kernels/ggml_blocks.hpp"
#include "../nn/activation.hpp"
#include "../nn/attention.hpp"
#include "../nn/context.hpp"
#include "../nn/linear.hpp"
#include "../nn/norm.hpp"
#include "../nn/rope.hpp"
#include "config.hpp"
#include "weights.hpp"

namespace smolvlm {

// ---- weights ---------------------------------------------------------------------------

// One decoder layer (LlamaDecoderLayer).
struct llama_layer_weights {
    std::vector<float> attn_norm;          // input_layernorm.weight            [hidden]
    kernels::weight_matrix q, k, v, o;     // self_attn.{q,k,v,o}_proj.weight   [n_heads*hd, hidden] ...
    std::vector<float> q_bias, k_bias, v_bias, o_bias;  // only with attention_bias
    std::vector<float> mlp_norm;           // post_attention_layernorm.weight   [hidden]
    kernels::weight_matrix gate, up, down; // mlp.{gate,up,down}_proj.weight    [ffn, hidden] / [hidden, ffn]
    std::vector<float> gate_bias, up_bias, down_bias;   // only with mlp_bias
    bool use_rope = true;                  // SmolLM3 NoPE layers: false
};

struct text_weights {
    kernels::weight_matrix embed;          // embed_tokens.weight [vocab, hidden]
    std::vector<llama_layer_weights> layers;
    std::vector<float> final_norm;         // norm.weight [hidden]
    kernels::weight_matrix lm_head;        // [vocab, hidden]; == embed when tied
};

// The decoder's checkpoint tensors, for a family's tensor-name table. `prefix` is where the
// decoder lives in the checkpoint ("model." for LlamaForCausalLM, "model.text_model." in
// Idefics3), `head` the output head's key; a tied head binds the embedding.
inline void llama_weight_slots(const text_config& t, const std::string& prefix, const std::string& head, bool tied,
                               text_weights& w, std::vector<weight_slot>& out) {
    const std::int64_t D = t.hidden_size, hd = t.head_dim, F = t.intermediate_size;
    const std::int64_t nq = t.num_attention_heads * hd, nkv = t.num_key_value_heads * hd;
    weight_slot emb = weight_slot::mat(prefix + "embed_tokens.weight", t.vocab_size, D, w.embed, /*linear=*/false);
    emb.rows_only = true;  // row lookups: a GGUF's blocks stay as they are (embed_tokens decodes rows)
    out.push_back(std::move(emb));
    out.push_back(weight_slot::vec(prefix + "norm.weight", {D}, w.final_norm));
    weight_slot lm = weight_slot::mat(head, t.vocab_size, D, w.lm_head);
    lm.per_token = lm.is_lm_head = true;
    if (tied) lm.tied_to = &w.embed;
    out.push_back(lm);
    w.layers.resize(std::size_t(t.num_hidden_layers));
    const std::string lp = prefix + "layers.";
    for (std::size_t i = 0; i < w.layers.size(); ++i) {
        llama_layer_weights& L = w.layers[i];
        auto key = [&](const char* rest) { return layer_key(lp, i, rest); };
        auto mat = [&](const char* rest, std::int64_t rows, std::int64_t cols, kernels::weight_matrix& m) {
            weight_slot s = weight_slot::mat(key(rest), rows, cols, m);
            s.per_token = true;
            out.push_back(std::move(s));
        };
        out.push_back(weight_slot::vec(key("input_layernorm.weight"), {D}, L.attn_norm));
        out.push_back(weight_slot::vec(key("post_attention_layernorm.weight"), {D}, L.mlp_norm));
        mat("self_attn.q_proj.weight", nq, D, L.q);
        mat("self_attn.k_proj.weight", nkv, D, L.k);
        mat("self_attn.v_proj.weight", nkv, D, L.v);
        mat("self_attn.o_proj.weight", D, nq, L.o);
        mat("mlp.gate_proj.weight", F, D, L.gate);
        mat("mlp.up_proj.weight", F, D, L.up);
        mat("mlp.down_proj.weight", D, F, L.down);
        if (t.attention_bias) {
            out.push_back(weight_slot::vec(key("self_attn.q_proj.bias"), {nq}, L.q_bias));
            out.push_back(weight_slot::vec(key("self_attn.k_proj.bias"), {nkv}, L.k_bias));
            out.push_back(weight_slot::vec(key("self_attn.v_proj.bias"), {nkv}, L.v_bias));
            out.push_back(weight_slot::vec(key("self_attn.o_proj.bias"), {D}, L.o_bias));
        }
        if (t.mlp_bias) {
            out.push_back(weight_slot::vec(key("mlp.gate_proj.bias"), {F}, L.gate_bias));
            out.push_back(weight_slot::vec(key("mlp.up_proj.bias"), {F}, L.up_bias));
            out.push_back(weight_slot::vec(key("mlp.down_proj.bias"), {D}, L.down_bias));
        }
        L.use_rope = t.use_rope.empty() ? true : bool(t.use_rope[i]);
    }
}

// ---- KV cache ----------------------------------------------------------------------------

// Keys and values of every layer for up to `capacity` positions, stored as f32 (the
// default: what the goldens check) or f16 (half the memory and the bytes each decoded
// token reads; keys and values are rounded to 11 significant bits, ~2.4e-4 relative).
// Per layer and head the positions form one contiguous [capacity, hd] plane (head-major),
// which prefill attention reads in place as a GEMM operand.
struct kv_cache {
    std::int64_t capacity = 0;
    std::int64_t n_past = 0;          // positions filled
    std::int64_t row = 0;             // n_kv_heads * head_dim (one position of all heads)
    std::int64_t n_heads = 0, head_dim = 0;
    dtype type = dtype::f32;          // f32 or f16
    std::vector<tensor<float>> k, v;                // f32: per layer [n_kv_heads, capacity, hd]
    std::vector<tensor<std::uint16_t>> k16, v16;    // f16: the same, as f16 bits

    static bool supported(dtype t) { return t == dtype::f32 || t == dtype::f16; }

    static std::size_t bytes_needed(const text_config& t, std::int64_t capacity, dtype type = dtype::f32) {
        return std::size_t(2) * std::size_t(t.num_hidden_layers) * std::size_t(capacity) *
               std::size_t(t.num_key_value_heads * t.head_dim) * (type == dtype::f16 ? 2 : sizeof(float));
    }

    status init(const text_config& t, std::int64_t cap, dtype kv_type = dtype::f32) {
        if (cap <= 0) return status(errc::invalid_argument, "KV cache capacity must be positive");
        if (!supported(kv_type))
            return status::fmt(errc::unsupported, "KV cache type %s (want F32 or F16)", dtype_name(kv_type));
        capacity = cap;
        n_past = 0;
        row = t.num_key_value_heads * t.head_dim;
        n_heads = t.num_key_value_heads;
        head_dim = t.head_dim;
        type = kv_type;
        const std::size_t L = std::size_t(t.num_hidden_layers);
        k.clear();
        v.clear();
        k16.clear();
        v16.clear();
        if (type == dtype::f16) {
            k16.resize(L);
            v16.resize(L);
        } else {
            k.resize(L);
            v.resize(L);
        }
        for (std::size_t l = 0; l < L; ++l) {
            if (type == dtype::f16) {
                SMOLVLM_TRY(k16[l].resize({cap, row}));
                SMOLVLM_TRY(v16[l].resize({cap, row}));
            } else {
                SMOLVLM_TRY(k[l].resize({cap, row}));
                SMOLVLM_TRY(v[l].resize({cap, row}));
            }
        }
        return status::ok();
    }
    // Store n rows ([n, n_heads, hd] f32) of layer l at positions pos0 .. pos0+n-1 (to_f16:
    // the conversion kernel for an f16 cache).
    void put(std::size_t l, std::int64_t pos0, std::int64_t n, const float* keys, const float* values,
             kernels::to_f16_fn to_f16 = &kernels::scalar::to_f16) {
        for (std::int64_t h = 0; h < n_heads; ++h) {
            const std::int64_t at = (h * capacity + pos0) * head_dim;  // plane h, position pos0
            for (std::int64_t t = 0; t < n; ++t) {
                const float* ks = keys + t * row + h * head_dim;
                const float* vs = values + t * row + h * head_dim;
                if (type == dtype::f16) {
                    to_f16(ks, k16[l].data() + at + t * head_dim, head_dim);
                    to_f16(vs, v16[l].data() + at + t * head_dim, head_dim);
                } else {
                    std::memcpy(k[l].data() + at + t * head_dim, ks, std::size_t(head_dim) * sizeof(float));
                    std::memcpy(v[l].data() + at + t * head_dim, vs, std::size_t(head_dim) * sizeof(float));
                }
            }
        }
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

// Reusable buffers for chunks of up to max_tokens tokens, and (when max_kv > 0) the
// blocked prefill attention's per-thread blocks for up to max_kv cached positions.
struct llama_scratch {
    std::int64_t max_tokens = 0;
    tensor<float> h, a, q, k, v, o, gate, up;
    tensor<float> attn;              // nn::attention_scratch memory (empty: per-query attention only)
    nn::attention_scratch attn_view;
    std::vector<float> rope_freq;    // [hd/2]: a chunk's RoPE frequencies when they vary with length

    static std::size_t bytes_needed(const text_config& t, std::int64_t n, std::int64_t max_kv = 0, int threads = 1) {
        const std::size_t D = std::size_t(t.hidden_size), Q = std::size_t(t.num_attention_heads * t.head_dim),
                          KV = std::size_t(t.num_key_value_heads * t.head_dim), F = std::size_t(t.intermediate_size);
        const std::size_t attn = max_kv > 0 ? nn::attention_scratch::floats_needed(max_kv, t.head_dim, threads) : 0;
        return (std::size_t(n) * (2 * D + 2 * Q + 2 * KV + 2 * F) + attn) * sizeof(float);
    }

    status init(const text_config& t, std::int64_t n, std::int64_t max_kv = 0, int threads = 1) {
        if (threads < 1) threads = 1;
        max_tokens = n;
        attn_view = nn::attention_scratch{};
        if (max_kv > 0) {
            SMOLVLM_TRY(attn.resize({std::int64_t(nn::attention_scratch::floats_needed(max_kv, t.head_dim, threads))}));
            attn_view.base = attn.data();
            attn_view.max_kv = max_kv;
            attn_view.head_dim = t.head_dim;
            attn_view.slots = threads;
        }
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
        rope_freq.assign(std::size_t(t.head_dim / 2), 0.0f);
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
        const std::uint8_t* base = static_cast<const std::uint8_t*>(w.embed.data);
        if (w.embed.ggml >= 0) {  // GGUF blocks (bit-exact decode of one row)
            const ggml_type gt = static_cast<ggml_type>(std::uint32_t(w.embed.ggml));
            const ggml_type_traits tr = ggml_traits(gt);
            const std::size_t row = std::size_t(D) / tr.block_size * tr.block_bytes;
            SMOLVLM_TRY(kernels::ggml::dequantize_row(gt, base + std::size_t(ids[i]) * row, out + i * D, D));
            continue;
        }
        const std::size_t off = std::size_t(ids[i]) * std::size_t(D);
        convert_to_f32(w.embed.type, base + off * dtype_size(w.embed.type), out + i * D, std::size_t(D));
    }
    return status::ok();
}

// Chunks of at least this many tokens use nn::attention_blocked (when the scratch has room).
inline constexpr std::int64_t k_blocked_attention_min = 16;

class llama_decoder {
public:
    llama_decoder(const text_config& cfg, const text_weights& w)
        : cfg_(cfg), w_(w), rope_(cfg.head_dim, cfg.rope_theta, cfg.rope_scaling, cfg.max_position_embeddings) {}

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
        const std::int64_t Q = Hq * hd, F = cfg_.intermediate_size;
        const float eps = float(cfg_.rms_norm_eps);
        const std::int64_t pos0 = cache.n_past;
        const kernels::to_f16_fn to_f16 = ctx.kt.to_f16;
        float* h = s.h.data();
        float* a = s.a.data();
        std::memcpy(h, embeds, std::size_t(n * D) * sizeof(float));
        // RoPE frequencies for this chunk (dynamic NTK: they depend on the sequence length).
        const float* freq = rope_.inv_freq.data();
        if (rope_.varies_with_length()) {
            if (s.rope_freq.size() != rope_.inv_freq.size()) s.rope_freq.assign(rope_.inv_freq.size(), 0.0f);
            rope_.frequencies_for(pos0 + n, s.rope_freq.data());
            freq = s.rope_freq.data();
        }
        if (trace && trace->capture_layers) trace->layer_outputs.clear();

        for (std::size_t l = 0; l < w_.layers.size(); ++l) {
            const llama_layer_weights& L = w_.layers[l];
            // --- self attention ---                                  LlamaAttention.forward
            nn::rms_norm(ctx, h, a, L.attn_norm.data(), n, D, eps);    // a = input_layernorm(h)
            {   // q: [n, Hq, hd], k, v: [n, Hkv, hd] — one pass over a for the three projections
                const kernels::weight_matrix qkv[3] = {L.q, L.k, L.v};
                float* const out[3] = {s.q.data(), s.k.data(), s.v.data()};
                const float* const b[3] = {bias(L.q_bias), bias(L.k_bias), bias(L.v_bias)};
                nn::linear_multi(ctx, qkv, 3, a, n, out, b);
            }
            if (L.use_rope) {                                           // NoPE layers skip this
                rope_.apply(s.q.data(), n, Hq, pos0, freq);
                rope_.apply(s.k.data(), n, Hkv, pos0, freq);
            }
            cache.put(l, pos0, n, s.k.data(), s.v.data(), to_f16);      // append to the cache
            nn::attention_shape as;
            as.n_q = n;
            as.n_kv = pos0 + n;
            as.n_heads = Hq;
            as.n_kv_heads = Hkv;
            as.head_dim = hd;
            as.q_stride = Q;
            as.kv_stride = hd;                                          // head-major planes
            as.kv_head_stride = cache.capacity * hd;
            as.out_stride = Q;
            as.causal = true;
            as.q_pos0 = pos0;
            // o: [n, Hq*hd]. Prompt chunks: blocks of queries through the GEMM kernels;
            // single tokens (decoding): one query at a time, streaming the keys.
            const bool blocked = n >= k_blocked_attention_min && s.attn_view.base && as.n_kv <= s.attn_view.max_kv;
            if (cache.type == dtype::f16) {
                if (blocked)
                    nn::attention_blocked_f16(ctx, as, s.q.data(), cache.k16[l].data(), cache.v16[l].data(), s.o.data(),
                                              s.attn_view);
                else
                    nn::attention_f16(ctx, as, s.q.data(), cache.k16[l].data(), cache.v16[l].data(), s.o.data());
            } else {
                if (blocked)
                    nn::attention_blocked(ctx, as, s.q.data(), cache.k[l].data(), cache.v[l].data(), s.o.data(),
                                          s.attn_view);
                else
                    nn::attention(ctx, as, s.q.data(), cache.k[l].data(), cache.v[l].data(), s.o.data());
            }
            nn::linear(ctx, L.o, s.o.data(), n, a, bias(L.o_bias));     // a = o_proj(o)
            nn::add_inplace(h, a, n * D);                               // h = h + attn
            // --- MLP ---                                               LlamaMLP.forward
            nn::rms_norm(ctx, h, a, L.mlp_norm.data(), n, D, eps);     // a = post_attention_layernorm(h)
            {   // gate, up: [n, F]
                const kernels::weight_matrix gu[2] = {L.gate, L.up};
                float* const out[2] = {s.gate.data(), s.up.data()};
                const float* const b[2] = {bias(L.gate_bias), bias(L.up_bias)};
                nn::linear_multi(ctx, gu, 2, a, n, out, b);
            }
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
    nn::rope_table rope_;  // inv_freq, YaRN's cos/sin scaling
};

}  // namespace smolvlm
