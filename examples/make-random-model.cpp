// make-random-model — writes a complete Hugging Face style model directory with random
// weights, real tensor names and (unless told otherwise) a small tokenizer of its own.
//
//   make-random-model OUT_DIR [--shape tiny|tiny-text|smolvlm-256m|smolvlm-500m|smolvlm-2.2b|
//                              smollm2-135m|siglip-b16-512] [--seed N] [--dtype bf16|f32]
//                              [--tokenizer-from DIR] [--tie|--untie]
//   make-random-model OUT_DIR --shape tiny-mistral3|mistral3-mid|mistral-small-3.1 [--dtype q4|q8|bf16|f32]
//                              [--seed N] [--shard-mb N] [--tokenizer-from DIR] [--gguf FILE]
//     (Mistral 3, written prequantized or sharded tensor by tensor: examples/random_mistral3.hpp)
//
// Used by the tests (the `tiny` shapes, so the suite stands alone without ../shared) and by
// scripts/bench.sh (real SmolVLM shapes; random weights run at the same speed as real ones).
// Files: config.json, generation_config.json, tokenizer.json, tokenizer_config.json,
// chat_template.json, preprocessor_config.json, processor_config.json, model.safetensors.
#include <smolvlm.hpp>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <sys/stat.h>

#include "random_mistral3.hpp"  // --shape tiny-mistral3 | mistral3-mid | mistral-small-3.1

using namespace smolvlm;

namespace {

struct shape_preset {
    const char* name;
    bool vision;
    // text
    std::int64_t hidden, layers, heads, kv_heads, ffn, vocab;
    double rope_theta;
    // vision
    std::int64_t v_hidden, v_layers, v_heads, v_ffn, patch, image, scale, longest_edge;
    bool tie;
};

const shape_preset k_presets[] = {
    // name            vis  hid  L   H   KV  ffn   vocab  theta    vH    vL  vh  vffn  p   img  s  longest
    {"tiny", true, 32, 2, 4, 2, 64, 0, 10000.0, 32, 2, 4, 64, 8, 32, 2, 64, false},
    {"tiny-text", false, 32, 2, 4, 2, 64, 0, 10000.0, 0, 0, 0, 0, 0, 0, 0, 0, true},
    {"smolvlm-256m", true, 576, 30, 9, 3, 1536, 49280, 100000.0, 768, 12, 12, 3072, 16, 512, 4, 2048, false},
    {"smolvlm-500m", true, 960, 32, 15, 5, 2560, 49280, 100000.0, 768, 12, 12, 3072, 16, 512, 4, 2048, false},
    {"smolvlm-2.2b", true, 2048, 24, 32, 32, 8192, 49280, 273768.0, 1152, 27, 16, 4304, 14, 384, 3, 1536, false},
    {"smollm2-135m", false, 576, 30, 9, 3, 1536, 49152, 100000.0, 0, 0, 0, 0, 0, 0, 0, 0, true},
};

// xorshift64*: fast uniform numbers for weights.
struct rng64 {
    std::uint64_t s;
    explicit rng64(std::uint64_t seed) : s(seed * 0x9e3779b97f4a7c15ULL + 1) {}
    std::uint64_t next() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 0x2545f4914f6cdd1dULL;
    }
    // Uniform in [-1, 1).
    float uniform() { return float(std::int64_t(next() >> 11) - (std::int64_t(1) << 52)) * (1.0f / 4503599627370496.0f); }
};

std::string json_str(const std::string& s) {
    std::string o;
    json_append_string(o, s);
    return o;
}

bool write_text(const std::string& path, const std::string& text) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return false;
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    return std::fclose(f) == 0 && ok;
}

// A small byte-level BPE tokenizer: specials, the 256 byte symbols, and merges that
// spell a few common words. Returns tokenizer.json text and the number of ids.
std::string make_tokenizer_json(std::int64_t* n_ids, std::vector<std::string>* specials_out) {
    std::vector<std::string> specials = {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<end_of_utterance>",
                                         "<fake_token_around_image>", "<image>", "<global-img>"};
    for (int r = 1; r <= 6; ++r)
        for (int c = 1; c <= 6; ++c) specials.push_back("<row_" + std::to_string(r) + "_col_" + std::to_string(c) + ">");
    std::vector<std::string> vocab;  // index = id
    for (const auto& s : specials) vocab.push_back(s);
    auto sym = [](std::uint8_t b) {
        std::string o;
        detail::utf8_append(o, byte_to_unicode(b));
        return o;
    };
    for (int b = 0; b < 256; ++b) vocab.push_back(sym(std::uint8_t(b)));
    std::vector<std::pair<std::string, std::string>> merges;
    const char* words[] = {" the", " a", " image", " Describe", " is", " in", " of", "User", "Assistant", " and",
                           " what", " this", " picture", " video", " frame", " to", "ing", " cat", " dog"};
    for (const char* w : words) {
        std::string cur = sym(std::uint8_t(w[0]));
        for (std::size_t i = 1; w[i]; ++i) {
            const std::string next = sym(std::uint8_t(w[i]));
            const std::string merged = cur + next;
            bool known = false;
            for (const auto& v : vocab) known = known || v == merged;
            if (!known) {
                merges.emplace_back(cur, next);
                vocab.push_back(merged);
            }
            cur = merged;
        }
    }
    std::string j = "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[";
    for (std::size_t i = 0; i < specials.size(); ++i) {
        if (i) j += ",";
        j += "{\"id\":" + std::to_string(i) + ",\"content\":" + json_str(specials[i]) +
             ",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}";
    }
    j += "],\"normalizer\":null,\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":["
         "{\"type\":\"Digits\",\"individual_digits\":true},"
         "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true}]},"
         "\"post_processor\":null,\"decoder\":{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,"
         "\"use_regex\":true},\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null,"
         "\"continuing_subword_prefix\":null,\"end_of_word_suffix\":null,\"fuse_unk\":false,\"byte_fallback\":false,"
         "\"ignore_merges\":false,\"vocab\":{";
    for (std::size_t i = 0; i < vocab.size(); ++i) {
        if (i) j += ",";
        j += json_str(vocab[i]) + ":" + std::to_string(i);
    }
    j += "},\"merges\":[";
    for (std::size_t i = 0; i < merges.size(); ++i) {
        if (i) j += ",";
        j += json_str(merges[i].first + " " + merges[i].second);
    }
    j += "]}}";
    *n_ids = std::int64_t(vocab.size());
    *specials_out = specials;
    return j;
}

const char* k_smolvlm_chat_template =
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}{% if message['content'][0]['type'] == "
    "'image' %}{{':'}}{% else %}{{': '}}{% endif %}{% for line in message['content'] %}{% if line['type'] == 'text' "
    "%}{{line['text']}}{% elif line['type'] == 'image' %}{{ '<image>' }}{% elif line['type'] == 'video' %}{{ "
    "'<video>' }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ "
    "'Assistant:' }}{% endif %}";

// SmolLM2's ChatML template (text-only shapes).
const char* k_chatml_template =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou "
    "are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + "
    "message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt "
    "%}{{ '<|im_start|>assistant\\n' }}{% endif %}";

int usage() {
    std::fprintf(stderr,
                 "usage: make-random-model OUT_DIR [--shape NAME] [--seed N] [--dtype bf16|f32] "
                 "[--tokenizer-from DIR] [--tie|--untie]\nshapes:");
    for (const auto& p : k_presets) std::fprintf(stderr, " %s", p.name);
    for (const auto& p : random_mistral3::k_presets) std::fprintf(stderr, " %s", p.name);
    std::fprintf(stderr, "\n(mistral3 shapes: --dtype q4|q8|bf16|f32 --shard-mb N --gguf FILE; see random_mistral3.hpp)\n");
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || !std::strcmp(argv[1], "-h") || !std::strcmp(argv[1], "--help")) return usage();
    if (random_mistral3::wanted(argc, argv)) return random_mistral3::main(argc, argv);
    std::string out = argv[1], shape = "tiny", tok_from;
    std::uint64_t seed = 1;
    dtype wt = dtype::bf16;
    int tie = -1;
    for (int i = 2; i < argc; ++i) {
        const std::string a = argv[i];
        auto val = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
        if (a == "--shape") {
            const char* v = val();
            if (!v) return usage();
            shape = v;
        } else if (a == "--seed") {
            const char* v = val();
            if (!v) return usage();
            seed = std::strtoull(v, nullptr, 10);
        } else if (a == "--dtype") {
            const char* v = val();
            if (!v) return usage();
            if (!std::strcmp(v, "f32")) wt = dtype::f32;
            else if (!std::strcmp(v, "bf16")) wt = dtype::bf16;
            else return usage();
        } else if (a == "--tokenizer-from") {
            const char* v = val();
            if (!v) return usage();
            tok_from = v;
        } else if (a == "--tie") {
            tie = 1;
        } else if (a == "--untie") {
            tie = 0;
        } else {
            std::fprintf(stderr, "error: unknown option '%s'\n", a.c_str());
            return 1;
        }
    }
    const shape_preset* p = nullptr;
    for (const auto& q : k_presets)
        if (shape == q.name) p = &q;
    if (!p) {
        std::fprintf(stderr, "error: unknown shape '%s'\n", shape.c_str());
        return usage();
    }

    ::mkdir(out.c_str(), 0755);

    // --- tokenizer ---
    std::int64_t n_tok_ids = 0;
    std::vector<std::string> specials;
    std::string tok_json, tok_cfg;
    if (!tok_from.empty()) {
        auto t = read_text_file(path_join(tok_from, "tokenizer.json").c_str());
        if (!t) {
            std::fprintf(stderr, "error: %s\n", t.error().message());
            return 1;
        }
        tok_json = t.value();
        auto tk = tokenizer::load_json(tok_json);
        if (!tk) {
            std::fprintf(stderr, "error: %s\n", tk.error().message());
            return 1;
        }
        n_tok_ids = std::int64_t(tk->vocab_size());
        auto c = read_text_file(path_join(tok_from, "tokenizer_config.json").c_str());
        tok_cfg = c ? c.value() : std::string("{}");
    } else {
        tok_json = make_tokenizer_json(&n_tok_ids, &specials);
        tok_cfg = "{\"eos_token\":\"<end_of_utterance>\",\"bos_token\":\"<|im_start|>\",\"model_max_length\":8192";
        if (!p->vision) tok_cfg += std::string(",\"chat_template\":") + json_str(k_chatml_template);
        tok_cfg += "}";
    }
    std::int64_t vocab = p->vocab ? p->vocab : ((n_tok_ids + 63) / 64) * 64;
    if (vocab < n_tok_ids) vocab = n_tok_ids;
    tokenizer tk_check;
    {
        auto tk = tokenizer::load_json(tok_json, tok_cfg);
        if (!tk) {
            std::fprintf(stderr, "error: generated tokenizer: %s\n", tk.error().message());
            return 1;
        }
        tk_check = std::move(tk).value();
    }
    const token_id image_id = tk_check.special_ids().image;
    const token_id eou = tk_check.special_ids().end_of_utterance;
    const bool tied = tie < 0 ? p->tie : tie == 1;
    const std::int64_t hd = p->hidden / p->heads;

    // --- config.json ---
    std::string text_cfg = "{\"model_type\":\"llama\",\"hidden_size\":" + std::to_string(p->hidden) +
                           ",\"intermediate_size\":" + std::to_string(p->ffn) +
                           ",\"num_hidden_layers\":" + std::to_string(p->layers) +
                           ",\"num_attention_heads\":" + std::to_string(p->heads) +
                           ",\"num_key_value_heads\":" + std::to_string(p->kv_heads) +
                           ",\"head_dim\":" + std::to_string(hd) + ",\"rms_norm_eps\":1e-05,\"rope_theta\":" +
                           std::to_string(p->rope_theta) + ",\"max_position_embeddings\":8192,\"vocab_size\":" +
                           std::to_string(vocab) + ",\"hidden_act\":\"silu\",\"tie_word_embeddings\":" +
                           (tied ? "true" : "false");
    std::string cfg;
    if (p->vision) {
        if (image_id < 0) {
            std::fprintf(stderr, "error: the tokenizer has no <image> token\n");
            return 1;
        }
        cfg = "{\"architectures\":[\"SmolVLMForConditionalGeneration\"],\"model_type\":\"smolvlm\",\"image_token_id\":" +
              std::to_string(image_id) + ",\"scale_factor\":" + std::to_string(p->scale) +
              ",\"tie_word_embeddings\":" + (tied ? "true" : "false") + ",\"vocab_size\":" + std::to_string(vocab) +
              ",\"text_config\":" + text_cfg + "},\"vision_config\":{\"model_type\":\"smolvlm_vision\",\"hidden_size\":" +
              std::to_string(p->v_hidden) + ",\"intermediate_size\":" + std::to_string(p->v_ffn) +
              ",\"num_hidden_layers\":" + std::to_string(p->v_layers) + ",\"num_attention_heads\":" +
              std::to_string(p->v_heads) + ",\"patch_size\":" + std::to_string(p->patch) + ",\"image_size\":" +
              std::to_string(p->image) + ",\"max_image_size\":{\"longest_edge\":" + std::to_string(p->image) +
              "},\"size\":{\"longest_edge\":" + std::to_string(p->longest_edge) + "}}}";
    } else {
        cfg = text_cfg + ",\"architectures\":[\"LlamaForCausalLM\"],\"bos_token_id\":1,\"eos_token_id\":2}";
    }
    std::string gen = "{\"bos_token_id\":1,\"eos_token_id\":" + std::to_string(eou >= 0 ? eou : 2) + ",\"pad_token_id\":2}";
    bool ok = write_text(path_join(out, "config.json"), cfg) && write_text(path_join(out, "generation_config.json"), gen) &&
              write_text(path_join(out, "tokenizer.json"), tok_json) &&
              write_text(path_join(out, "tokenizer_config.json"), tok_cfg);
    if (p->vision) {
        const std::int64_t seq = (p->image / p->patch) * (p->image / p->patch) / (p->scale * p->scale);
        ok = ok && write_text(path_join(out, "chat_template.json"), "{\"chat_template\":" + json_str(k_smolvlm_chat_template) + "}");
        ok = ok && write_text(path_join(out, "processor_config.json"),
                              "{\"image_seq_len\":" + std::to_string(seq) + ",\"processor_class\":\"SmolVLMProcessor\"}");
        ok = ok && write_text(path_join(out, "preprocessor_config.json"),
                              "{\"do_convert_rgb\":true,\"do_image_splitting\":true,\"do_normalize\":true,\"do_pad\":true,"
                              "\"do_rescale\":true,\"do_resize\":true,\"image_mean\":[0.5,0.5,0.5],\"image_std\":[0.5,0.5,0.5],"
                              "\"image_processor_type\":\"SmolVLMImageProcessor\",\"max_image_size\":{\"longest_edge\":" +
                                  std::to_string(p->image) + "},\"processor_class\":\"SmolVLMProcessor\",\"resample\":1,"
                                  "\"rescale_factor\":0.00392156862745098,\"size\":{\"longest_edge\":" +
                                  std::to_string(p->longest_edge) + "},\"video_sampling\":{\"fps\":1,\"max_frames\":64,"
                                  "\"video_size\":{\"longest_edge\":" + std::to_string(p->image) + "}}}");
    }
    if (!ok) {
        std::fprintf(stderr, "error: cannot write into '%s'\n", out.c_str());
        return 1;
    }

    // --- weights: specs (name, shape, init scale) in file order ---
    struct item {
        tensor_spec spec;
        float scale;  // uniform in [-scale, scale]; < 0 => constant -scale (norm weights = 1)
    };
    std::vector<item> items;
    auto add = [&](const std::string& name, shape_t s, float scale) { items.push_back({{name, wt, s}, scale}); };
    const std::string tp = p->vision ? "model.text_model." : "model.";
    const float ws = std::sqrt(3.0f / float(p->hidden));  // ~unit-variance activations
    add(tp + "embed_tokens.weight", {vocab, p->hidden}, 1.0f);
    for (std::int64_t l = 0; l < p->layers; ++l) {
        const std::string L = tp + "layers." + std::to_string(l) + ".";
        add(L + "input_layernorm.weight", {p->hidden}, -1.0f);
        add(L + "post_attention_layernorm.weight", {p->hidden}, -1.0f);
        add(L + "self_attn.q_proj.weight", {p->heads * hd, p->hidden}, ws);
        add(L + "self_attn.k_proj.weight", {p->kv_heads * hd, p->hidden}, ws);
        add(L + "self_attn.v_proj.weight", {p->kv_heads * hd, p->hidden}, ws);
        add(L + "self_attn.o_proj.weight", {p->hidden, p->heads * hd}, std::sqrt(3.0f / float(p->heads * hd)));
        add(L + "mlp.gate_proj.weight", {p->ffn, p->hidden}, ws);
        add(L + "mlp.up_proj.weight", {p->ffn, p->hidden}, ws);
        add(L + "mlp.down_proj.weight", {p->hidden, p->ffn}, std::sqrt(3.0f / float(p->ffn)));
    }
    add(tp + "norm.weight", {p->hidden}, -1.0f);
    if (!tied) add("lm_head.weight", {vocab, p->hidden}, ws);
    if (p->vision) {
        const std::string vp = "model.vision_model.";
        const std::int64_t D = p->v_hidden, side = p->image / p->patch;
        const float vs = std::sqrt(3.0f / float(D));
        add(vp + "embeddings.patch_embedding.weight", {D, 3, p->patch, p->patch}, std::sqrt(3.0f / float(3 * p->patch * p->patch)));
        add(vp + "embeddings.patch_embedding.bias", {D}, 0.1f);
        add(vp + "embeddings.position_embedding.weight", {side * side, D}, 0.5f);
        for (std::int64_t l = 0; l < p->v_layers; ++l) {
            const std::string L = vp + "encoder.layers." + std::to_string(l) + ".";
            add(L + "layer_norm1.weight", {D}, -1.0f);
            add(L + "layer_norm1.bias", {D}, 0.1f);
            for (const char* n : {"q_proj", "k_proj", "v_proj", "out_proj"}) {
                add(L + "self_attn." + n + ".weight", {D, D}, vs);
                add(L + "self_attn." + n + ".bias", {D}, 0.1f);
            }
            add(L + "layer_norm2.weight", {D}, -1.0f);
            add(L + "layer_norm2.bias", {D}, 0.1f);
            add(L + "mlp.fc1.weight", {p->v_ffn, D}, vs);
            add(L + "mlp.fc1.bias", {p->v_ffn}, 0.1f);
            add(L + "mlp.fc2.weight", {D, p->v_ffn}, std::sqrt(3.0f / float(p->v_ffn)));
            add(L + "mlp.fc2.bias", {D}, 0.1f);
        }
        add(vp + "post_layernorm.weight", {D}, -1.0f);
        add(vp + "post_layernorm.bias", {D}, 0.1f);
        add("model.connector.modality_projection.proj.weight", {p->hidden, D * p->scale * p->scale},
            std::sqrt(3.0f / float(D * p->scale * p->scale)));
    }
    std::vector<tensor_spec> specs;
    for (const auto& it : items) specs.push_back(it.spec);
    safetensors_stream_writer w;
    status s = w.open(path_join(out, "model.safetensors").c_str(), specs, {{"format", "pt"}});
    rng64 rng(seed);
    std::vector<std::uint8_t> buf;
    for (std::size_t k = 0; k < items.size() && s.is_ok(); ++k) {
        const std::size_t n = std::size_t(items[k].spec.shape.numel());
        buf.resize(n * dtype_size(wt));
        for (std::size_t i = 0; i < n; ++i) {
            const float v = items[k].scale < 0 ? -items[k].scale : items[k].scale * rng.uniform();
            if (wt == dtype::f32) {
                std::memcpy(buf.data() + 4 * i, &v, 4);
            } else {
                const std::uint16_t h = f32_to_bf16(v);
                std::memcpy(buf.data() + 2 * i, &h, 2);
            }
        }
        s = w.write(buf.data(), buf.size());
    }
    if (s.is_ok()) s = w.close();
    if (!s.is_ok()) {
        std::fprintf(stderr, "error: %s\n", s.message());
        return 1;
    }
    // Check what we wrote loads.
    auto c = load_model_config(out);
    if (!c) {
        std::fprintf(stderr, "error: written config does not load: %s\n", c.error().message());
        return 1;
    }
    std::size_t params = 0;
    for (const auto& sp : specs) params += std::size_t(sp.shape.numel());
    std::printf("wrote %s: shape %s, %zu tensors, %.1f M parameters, %s\n", out.c_str(), p->name, specs.size(),
                double(params) / 1e6, dtype_name(wt));
    return 0;
}
