// libFuzzer target for the model config parser and weight binding (model/config.hpp,
// model/weights.hpp).
//   scripts/fuzz.sh 60 config
//
// The input is config.json text. When it parses, the config's invariants are checked
// (positive sizes, heads dividing, image_seq_len > 0 for VLMs), and when the implied
// model is small (<= 1M elements, so the fuzzer stays fast), a bf16 checkpoint of zeros with exactly the
// implied tensors is built in memory: bind_weights must accept it, and must reject the
// same checkpoint with one tensor dropped or mis-shaped, naming that tensor.
#include <smolvlm/model/families.hpp>
#include <smolvlm/model/weights.hpp>

#include "../tiny_checkpoint.hpp"

#include <cstdint>
#include <cstring>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto r = smolvlm::parse_model_config(text);
    smolvlm::generation_config g;
    (void)smolvlm::parse_generation_config(text, g);
    if (!r.is_ok()) {
        if (r.error().message()[0] == '\0') __builtin_trap();
        return 0;
    }
    const smolvlm::model_config& c = r.value();
    const auto& t = c.text;
    if (t.hidden_size <= 0 || t.num_hidden_layers <= 0 || t.vocab_size <= 0 || t.intermediate_size <= 0)
        __builtin_trap();
    if (t.num_attention_heads <= 0 || t.num_key_value_heads <= 0 || t.head_dim <= 0) __builtin_trap();
    if (t.num_attention_heads % t.num_key_value_heads != 0) __builtin_trap();
    if (t.use_rope.size() != std::size_t(t.num_hidden_layers)) __builtin_trap();
    if (c.has_vision) {
        const auto& v = c.vision;
        // image_size need not be a multiple of patch_size (so400m: 384 / 14); the remainder is cropped.
        if (v.patch_size <= 0 || v.patch_size > v.image_size) __builtin_trap();
        if (v.hidden_size % v.num_attention_heads != 0) __builtin_trap();
        if (c.image_seq_len() <= 0) __builtin_trap();
        if (c.image_token_id < 0 || c.image_token_id >= t.vocab_size) __builtin_trap();
    }

    const auto list = smolvlm_test::expected_tensors(c);
    if (smolvlm_test::total_elements(list) > (std::int64_t(1) << 20) || list.size() > 1024) return 0;

    const auto good = smolvlm_test::make_checkpoint(list);
    {
        auto st = smolvlm::safetensors_set::from_memory(good.data(), good.size());
        if (!st.is_ok()) __builtin_trap();
        auto w = smolvlm::bind_weights(c, st.value());
        if (!w.is_ok()) __builtin_trap();
    }
    // Drop / mis-shape one tensor chosen by the input.
    std::uint32_t h = 2166136261u;
    for (std::size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 16777619u;
    const long k = long(h % list.size());
    for (int mode = 0; mode < 2; ++mode) {
        const auto bad = mode == 0 ? smolvlm_test::make_checkpoint(list, k, -1) : smolvlm_test::make_checkpoint(list, -1, k);
        auto st = smolvlm::safetensors_set::from_memory(bad.data(), bad.size());
        if (!st.is_ok()) __builtin_trap();
        auto w = smolvlm::bind_weights(c, st.value());
        if (w.is_ok()) __builtin_trap();
        if (!std::strstr(w.error().message(), list[std::size_t(k)].name.substr(0, 60).c_str())) __builtin_trap();
    }
    return 0;
}
