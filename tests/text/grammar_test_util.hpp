// Shared by grammar_test.cpp and json_schema_test.cpp: vocabularies (byte-level, a
// synthetic BPE-like one, SmolVLM's when ../shared has it) and a "random model" that picks
// tokens among the ones a grammar allows.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../test_util.hpp"
#include "smolvlm/pipeline/sampler.hpp"
#include "smolvlm/text/bpe.hpp"
#include "smolvlm/text/grammar_matcher.hpp"

namespace grammar_test {

// 256 single-byte tokens; id 256 ends generation.
inline const smolvlm::grammar_vocab& byte_vocab() {
    static const smolvlm::grammar_vocab v = [] {
        std::vector<std::string> t;
        for (int b = 0; b < 256; ++b) t.push_back(std::string(1, char(b)));
        t.push_back("");  // end
        return smolvlm::grammar_vocab::build(t, {256});
    }();
    return v;
}

// Every byte, plus ~2000 multi-byte tokens: JSON punctuation runs, words, digits,
// whitespace runs, whole and split UTF-8 characters, random mixtures. Last id ends.
inline const smolvlm::grammar_vocab& synthetic_vocab() {
    static const smolvlm::grammar_vocab v = [] {
        std::vector<std::string> t;
        for (int b = 0; b < 256; ++b) t.push_back(std::string(1, char(b)));
        const char* const pieces[] = {
            "{\"", "\"}", "\":", "\": ", "\": \"", "\", \"", "\",\"", "\",", "},", "}, {", "[{", "}]", "]}", "[]", "{}",
            "[\"", "\"]", "\"\"", ", ", ",\n", "\n  ", "\n    ", "\n\t", "  ", "    ", "\t\t", "true", "false", "null",
            "tru", "nul", "e", "-1", "-0", "0.", ".5", "e+", "E-", "00", "10", "12", "99", "123", "2024", "-12-", "T12:",
            ":00", "Z\"", "\\\"", "\\n", "\\u00", "\\u", "\\\\", "name", "age", "id", "kids", "value", "type", "the",
            " a", " of", "ing", "tion", "hello", "world", "a-b", "AB-", "x\"", "y\",", "\u00e9", "\u00e9t\u00e9",
            "\u03b1", "\u03b1\u03b2", "\u03c9", "\u4e2d\u6587", "\xe4\xb8", "\xad\xe6", "\x96\x87", "\xf0\x9f",
            "\x98\x80", "\xf0\x9f\x98\x80", "\xce", "\xb1\xce", "\xb2", "\"\xce\xb1", "\u00e9\"", "\xc3", "\xa9\"}",
        };
        for (const char* p : pieces) t.push_back(p);
        // Random mixtures from a small alphabet (ASCII, JSON punctuation, split UTF-8).
        const char* const alpha[] = {"a", "b", "z", "Q", "0", "5", "9", " ", "\"", ",", ":", "{", "}", "[", "]", "-",
                                     ".", "\\", "_", "\n", "\xc3", "\xa9", "\xce\xb1", "\xe4\xb8\xad"};
        smolvlm::pcg32 rng(12345);
        for (int k = 0; k < 1800; ++k) {
            std::string s;
            const int len = 2 + int(rng.next_u32() % 6);
            for (int j = 0; j < len; ++j) s += alpha[rng.next_u32() % (sizeof(alpha) / sizeof(alpha[0]))];
            t.push_back(s);
        }
        t.push_back("");  // end
        const std::int32_t end = std::int32_t(t.size() - 1);
        return smolvlm::grammar_vocab::build(t, {end});
    }();
    return v;
}

inline std::string smolvlm_tokenizer_path() {
    return smolvlm_test::shared_dir() + "/models/SmolVLM-256M-Instruct/tokenizer.json";
}

// SmolVLM's vocabulary (49280 ids, EOS <end_of_utterance>), or null when ../shared lacks it.
inline const smolvlm::grammar_vocab* smolvlm_vocab() {
    static const std::unique_ptr<smolvlm::grammar_vocab> v = []() -> std::unique_ptr<smolvlm::grammar_vocab> {
        if (!smolvlm_test::path_exists(smolvlm_tokenizer_path())) return nullptr;
        auto tok = smolvlm::tokenizer::load_file(smolvlm_tokenizer_path());
        if (!tok.is_ok()) return nullptr;
        return std::unique_ptr<smolvlm::grammar_vocab>(
            new smolvlm::grammar_vocab(smolvlm::grammar_vocab::from_tokenizer(tok.value())));
    }();
    return v.get();
}

struct generation {
    std::string text;
    bool ended = false;  // an end token was chosen
    std::size_t tokens = 0;
    bool stuck = false;  // a state with no allowed token
};

// The random model: uniform over the allowed tokens for `uniform_steps` tokens, then
// "finish": among the allowed tokens, one with the fewest code points left to complete
// (ties at random); stops at an end token or after max_tokens.
inline generation generate(smolvlm::grammar_matcher& m, smolvlm::pcg32& rng, std::size_t uniform_steps,
                           std::size_t max_tokens) {
    generation out;
    m.reset();
    std::vector<std::int32_t> ids, best;
    const smolvlm::grammar_vocab& v = m.vocab();
    for (; out.tokens < max_tokens; ++out.tokens) {
        ids.clear();
        m.allowed_tokens().for_each([&](std::int32_t id) { ids.push_back(id); });
        if (ids.empty()) {
            out.stuck = true;
            return out;
        }
        std::int32_t id;
        if (out.tokens < uniform_steps) {
            id = ids[rng.next_u32() % ids.size()];
        } else {
            std::uint32_t lowest = smolvlm::grammar_matcher::k_infinite;
            best.clear();
            for (std::int32_t c : ids) {
                const std::uint32_t r = m.min_remaining_after(c);
                if (r < lowest) {
                    lowest = r;
                    best.clear();
                }
                if (r == lowest) best.push_back(c);
            }
            id = best[rng.next_u32() % best.size()];
        }
        if (!m.accept_token(id)) {
            out.stuck = true;  // a masked-in token was refused: a bug
            return out;
        }
        if (v.is_end(id)) {
            out.ended = true;
            ++out.tokens;
            return out;
        }
        out.text += std::string(v.token_bytes(id));
    }
    return out;
}

}  // namespace grammar_test
