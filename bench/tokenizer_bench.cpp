// Tokenizer throughput: encode of mixed English / code / digits / Unicode text,
// decode, and tokenizer.json load time (SmolVLM's 3.5 MB file). Encode also with the
// SmolLM3 (Llama-3 regex) and Mistral 3 (Tekken regex) tokenizers of the shared fixtures.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "smolvlm/text/bpe.hpp"

namespace {

std::string shared_dir() {
#ifdef SMOLVLM_SHARED_DIR
    return SMOLVLM_SHARED_DIR;
#else
    return "../shared";
#endif
}

std::string tokenizer_path() { return shared_dir() + "/models/SmolVLM-256M-Instruct/tokenizer.json"; }

// ~1 MB of deterministic mixed text: prose, code, numbers, accented Latin, CJK,
// Cyrillic, emoji and odd whitespace, picked by a fixed LCG.
std::string mixed_text(std::size_t bytes) {
    static const char* const pieces[] = {
        "The quick brown fox jumps over the lazy dog. ",
        "In 2024, revenue grew 13.7% to $1,234,567.89 (see Table 4). ",
        "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }\n",
        "def forward(self, x):\n    return self.proj(x) ** 2  # square\n",
        "Café, naïve, résumé — déjà vu. ",
        "日本語のテキストと中文测试。",
        "Русский текст, пример. ",
        "emoji 😀👍🏽 and math ∑∫√∞ ≤ ≥ ",
        "  indented\n\n\tTabbed line   with   spaces\n",
        "I'm sure they've said it's fine, we'll see. ",
        "https://huggingface.co/HuggingFaceTB/SmolVLM-256M-Instruct?x=1&y=2 ",
        "{\"key\": \"value\", \"n\": [1, 2, 3], \"ok\": true}\n",
    };
    const std::size_t n_pieces = sizeof(pieces) / sizeof(pieces[0]);
    std::string out;
    std::uint64_t s = 0x9E3779B97F4A7C15ull;
    while (out.size() < bytes) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        out += pieces[(s >> 33) % n_pieces];
    }
    return out;
}

void BM_tokenizer_load(benchmark::State& state) {
    auto text = smolvlm::read_text_file(tokenizer_path().c_str());
    if (!text.is_ok()) {
        state.SkipWithError("shared tokenizer.json absent");
        return;
    }
    for (auto _ : state) {
        auto tok = smolvlm::tokenizer::load_json(text.value());
        benchmark::DoNotOptimize(tok.is_ok());
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(text.value().size()));
}
BENCHMARK(BM_tokenizer_load)->Unit(benchmark::kMillisecond);

void BM_tokenizer_encode_mixed(benchmark::State& state) {
    auto tok = smolvlm::tokenizer::load_file(tokenizer_path());
    if (!tok.is_ok()) {
        state.SkipWithError("shared tokenizer.json absent");
        return;
    }
    const std::string text = mixed_text(std::size_t(1) << 20);
    std::size_t n_tokens = 0;
    for (auto _ : state) {
        auto ids = tok.value().encode(text);
        n_tokens = ids.size();
        benchmark::DoNotOptimize(ids.data());
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(text.size()));
    state.counters["tokens"] = double(n_tokens);
}
BENCHMARK(BM_tokenizer_encode_mixed)->Unit(benchmark::kMillisecond);

void encode_with(benchmark::State& state, const std::string& path) {
    auto tok = smolvlm::tokenizer::load_file(path);
    if (!tok.is_ok()) {
        state.SkipWithError("shared fixture tokenizer absent");
        return;
    }
    const std::string text = mixed_text(std::size_t(1) << 20);
    std::size_t n_tokens = 0;
    for (auto _ : state) {
        auto ids = tok.value().encode(text);
        n_tokens = ids.size();
        benchmark::DoNotOptimize(ids.data());
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(text.size()));
    state.counters["tokens"] = double(n_tokens);
}
void BM_tokenizer_encode_smollm3(benchmark::State& state) {
    encode_with(state, shared_dir() + "/fixtures/_unit/smollm3_tokenizer.json");
}
BENCHMARK(BM_tokenizer_encode_smollm3)->Unit(benchmark::kMillisecond);
void BM_tokenizer_encode_mistral3(benchmark::State& state) {
    encode_with(state, shared_dir() + "/fixtures/_unit/mistral3_tokenizer.json");
}
BENCHMARK(BM_tokenizer_encode_mistral3)->Unit(benchmark::kMillisecond);

void BM_tokenizer_decode(benchmark::State& state) {
    auto tok = smolvlm::tokenizer::load_file(tokenizer_path());
    if (!tok.is_ok()) {
        state.SkipWithError("shared tokenizer.json absent");
        return;
    }
    const std::string text = mixed_text(std::size_t(1) << 20);
    const auto ids = tok.value().encode(text);
    for (auto _ : state) {
        std::string s = tok.value().decode(ids);
        benchmark::DoNotOptimize(s.data());
    }
    state.SetBytesProcessed(std::int64_t(state.iterations()) * std::int64_t(text.size()));
}
BENCHMARK(BM_tokenizer_decode)->Unit(benchmark::kMillisecond);

}  // namespace
