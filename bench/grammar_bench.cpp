// Constrained decoding cost with SmolVLM's 49280-token vocabulary: the token mask per
// decode step for a JSON Schema grammar, replayed over a real tokenization of a matching
// answer. Budget: decode runs at ~300 tok/s (3.3 ms a token), so the mask should stay well
// under 0.3 ms a token on average to keep >= 90% of unconstrained speed.
//   cold:      a new matcher (no cache) for the whole answer: the first request's cost
//   warm:      the same matcher again (reset() keeps transitions and masks)
//   walk:      transitions kept, masks recomputed each step: the vocabulary walk alone
//   check:     llama.cpp's fast path, is_allowed(sampled token), no mask
//   random:    --json (any value), a random model picking uniformly among the allowed
//              tokens for 256 steps; manual time = mask time per token (picking excluded),
//              a new matcher per iteration (cold) or one for all (warm, new seeds)
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>
#include <vector>

#include "smolvlm/pipeline/sampler.hpp"

#include "smolvlm/text/bpe.hpp"
#include "smolvlm/text/grammar_matcher.hpp"
#include "smolvlm/text/json_schema.hpp"

#ifndef SMOLVLM_SHARED_DIR
#define SMOLVLM_SHARED_DIR "../shared"
#endif

namespace {

const char* const k_schema = R"({"type":"object","properties":{
  "action":{"enum":["move","attack","talk","wait"]},
  "target":{"type":"string","maxLength":32},
  "x":{"type":"integer","minimum":-100,"maximum":100},
  "y":{"type":"integer","minimum":-100,"maximum":100},
  "say":{"type":"string"},
  "items":{"type":"array","items":{"type":"object","properties":{"id":{"type":"integer","minimum":0,"maximum":9999},
    "qty":{"type":"integer","minimum":1,"maximum":99}},"required":["id","qty"],"additionalProperties":false},"maxItems":8},
  "confidence":{"type":"number","minimum":0,"maximum":1}},
  "required":["action","x","y"],"additionalProperties":false})";

const char* const k_answer =
    "{\"action\": \"talk\", \"target\": \"innkeeper Bram\", \"x\": -12, \"y\": 47, \"say\": \"Good evening! Do you "
    "have a room for the night? I can pay in silver, or trade these \\\"dragon scales\\\" I found near the "
    "northern pass.\", \"items\": [{\"id\": 1043, \"qty\": 3}, {\"id\": 77, \"qty\": 12}], \"confidence\": 0.85}";

struct fixture {
    bool ok = false;
    smolvlm::grammar g;
    smolvlm::grammar_vocab v;
    std::vector<std::int32_t> trace;  // the answer's tokens, then EOS
    std::string text;                  // the tokenizer.json text (for the build benchmark)
};

const fixture& get() {
    static const fixture f = [] {
        fixture x;
        auto tok = smolvlm::tokenizer::load_file(std::string(SMOLVLM_SHARED_DIR) +
                                                 "/models/SmolVLM-256M-Instruct/tokenizer.json");
        auto g = smolvlm::grammar_from_json_schema(std::string_view(k_schema));
        if (!tok.is_ok() || !g.is_ok()) return x;
        x.g = std::move(g).value();
        x.v = smolvlm::grammar_vocab::from_tokenizer(tok.value());
        x.trace = tok.value().encode(k_answer);
        x.trace.push_back(tok.value().eos_id());
        x.ok = true;
        return x;
    }();
    return f;
}

// One pass over the trace: mask, then accept, at every step. Returns false on a refusal.
bool replay(smolvlm::grammar_matcher& m, const std::vector<std::int32_t>& trace, bool drop) {
    m.reset();
    for (std::int32_t id : trace) {
        if (drop) m.drop_masks();
        const smolvlm::token_mask& mask = m.allowed_tokens();
        benchmark::DoNotOptimize(mask.words());
        if (!mask.test(id) || !m.accept_token(id)) return false;
    }
    return true;
}

void set_per_token(benchmark::State& state, std::size_t n) {
    state.SetItemsProcessed(std::int64_t(state.iterations()) * std::int64_t(n));
    // seconds of CPU per token, printed with an SI prefix ("58u" = 58 us)
    state.counters["per_token"] =
        benchmark::Counter(double(n), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void BM_grammar_mask_cold(benchmark::State& state) {
    const fixture& f = get();
    if (!f.ok) return state.SkipWithError("shared tokenizer.json absent");
    for (auto _ : state) {
        smolvlm::grammar_matcher m(f.g, f.v);
        if (!replay(m, f.trace, false)) return state.SkipWithError("trace refused");
    }
    set_per_token(state, f.trace.size());
}
BENCHMARK(BM_grammar_mask_cold)->Unit(benchmark::kMillisecond);

void BM_grammar_mask_warm(benchmark::State& state) {
    const fixture& f = get();
    if (!f.ok) return state.SkipWithError("shared tokenizer.json absent");
    smolvlm::grammar_matcher m(f.g, f.v);
    replay(m, f.trace, false);
    for (auto _ : state)
        if (!replay(m, f.trace, false)) return state.SkipWithError("trace refused");
    set_per_token(state, f.trace.size());
}
BENCHMARK(BM_grammar_mask_warm)->Unit(benchmark::kMicrosecond);

void BM_grammar_mask_walk(benchmark::State& state) {
    const fixture& f = get();
    if (!f.ok) return state.SkipWithError("shared tokenizer.json absent");
    smolvlm::grammar_matcher m(f.g, f.v);
    replay(m, f.trace, false);
    for (auto _ : state)
        if (!replay(m, f.trace, true)) return state.SkipWithError("trace refused");
    set_per_token(state, f.trace.size());
}
BENCHMARK(BM_grammar_mask_walk)->Unit(benchmark::kMillisecond);

// The worst single state: inside a JSON string almost every token is allowed.
void BM_grammar_mask_string_state(benchmark::State& state) {
    const fixture& f = get();
    if (!f.ok) return state.SkipWithError("shared tokenizer.json absent");
    smolvlm::grammar_matcher m(f.g, f.v);
    m.accept_bytes("{\"action\": \"talk\", \"x\": 1, \"y\": 2, \"say\": \"Hel");
    std::size_t allowed = 0;
    for (auto _ : state) {
        m.drop_masks();
        allowed = m.allowed_tokens().count();
    }
    state.counters["allowed"] = double(allowed);
}
BENCHMARK(BM_grammar_mask_string_state)->Unit(benchmark::kMicrosecond);

void BM_grammar_check_first(benchmark::State& state) {
    const fixture& f = get();
    if (!f.ok) return state.SkipWithError("shared tokenizer.json absent");
    smolvlm::grammar_matcher m(f.g, f.v);
    replay(m, f.trace, false);
    for (auto _ : state) {
        m.reset();
        for (std::int32_t id : f.trace)
            if (!m.is_allowed(id) || !m.accept_token(id)) return state.SkipWithError("trace refused");
    }
    set_per_token(state, f.trace.size());
}
BENCHMARK(BM_grammar_check_first)->Unit(benchmark::kMicrosecond);

void random_any_json(benchmark::State& state, bool warm) {
    const fixture& f = get();
    if (!f.ok) return state.SkipWithError("shared tokenizer.json absent");
    auto g = smolvlm::json_any_value_grammar();
    if (!g.is_ok()) return state.SkipWithError(g.error().message());
    smolvlm::grammar_matcher shared(g.value(), f.v);
    std::vector<std::int32_t> ids;
    std::uint64_t seed = 1;
    for (auto _ : state) {
        smolvlm::grammar_matcher fresh(g.value(), f.v);
        smolvlm::grammar_matcher& m = warm ? shared : fresh;
        m.reset();
        smolvlm::pcg32 rng(seed++);
        double mask_s = 0.0;
        int n = 0;
        for (; n < 256; ++n) {
            const auto t0 = std::chrono::steady_clock::now();
            const smolvlm::token_mask& mask = m.allowed_tokens();
            const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            mask_s += dt;
            ids.clear();
            mask.for_each([&](std::int32_t id) { ids.push_back(id); });
            if (ids.empty()) break;
            const std::int32_t id = ids[rng.next_u32() % ids.size()];
            m.accept_token(id);
            if (m.is_finished()) m.reset();  // keep going: 256 masks per iteration
        }
        state.SetIterationTime(mask_s / n);
    }
}
void BM_grammar_random_json_cold(benchmark::State& state) { random_any_json(state, false); }
void BM_grammar_random_json_warm(benchmark::State& state) { random_any_json(state, true); }
BENCHMARK(BM_grammar_random_json_cold)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(20);
BENCHMARK(BM_grammar_random_json_warm)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(20);

void BM_grammar_compile_schema(benchmark::State& state) {
    for (auto _ : state) {
        auto g = smolvlm::grammar_from_json_schema(std::string_view(k_schema));
        benchmark::DoNotOptimize(g.is_ok());
    }
}
BENCHMARK(BM_grammar_compile_schema)->Unit(benchmark::kMicrosecond);

void BM_grammar_vocab_build(benchmark::State& state) {
    auto tok = smolvlm::tokenizer::load_file(std::string(SMOLVLM_SHARED_DIR) + "/models/SmolVLM-256M-Instruct/tokenizer.json");
    if (!tok.is_ok()) return state.SkipWithError("shared tokenizer.json absent");
    for (auto _ : state) {
        auto v = smolvlm::grammar_vocab::from_tokenizer(tok.value());
        benchmark::DoNotOptimize(v.n_trie_nodes());
    }
}
BENCHMARK(BM_grammar_vocab_build)->Unit(benchmark::kMillisecond);

}  // namespace
