// smolvlm/pipeline/sampler.hpp — choosing the next token from logits.
//
// Order of operations follows Hugging Face generate(): repetition penalty, then
// temperature, top-k, top-p, min-p, then a draw. temperature == 0 means greedy
// (argmax; ties go to the lowest id, as torch.argmax). The random generator is our
// own (PCG32), so a seed gives the same tokens on every platform and compiler.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace smolvlm {

struct sampling_params {
    float temperature = 0.0f;         // 0: greedy
    std::int64_t top_k = 0;           // 0: off
    float top_p = 1.0f;               // 1: off
    float min_p = 0.0f;               // 0: off
    float repetition_penalty = 1.0f;  // 1: off
    std::uint64_t seed = 0x5eed;
};

// PCG32 (O'Neill): small, fast, identical everywhere.
class pcg32 {
public:
    explicit pcg32(std::uint64_t seed = 0x853c49e6748fea9bULL, std::uint64_t seq = 0xda3e39cb94b95bdbULL) {
        inc_ = (seq << 1u) | 1u;
        next_u32();
        state_ += seed;
        next_u32();
    }
    std::uint32_t next_u32() {
        const std::uint64_t old = state_;
        state_ = old * 6364136223846793005ULL + inc_;
        const std::uint32_t xorshifted = std::uint32_t(((old >> 18u) ^ old) >> 27u);
        const std::uint32_t rot = std::uint32_t(old >> 59u);
        return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
    }
    // Uniform in [0, 1) with 24 bits.
    float next_float() { return float(next_u32() >> 8) * (1.0f / 16777216.0f); }

private:
    std::uint64_t state_ = 0, inc_ = 0;
};

inline std::int32_t argmax(const float* x, std::int64_t n) {
    std::int64_t best = 0;
    for (std::int64_t i = 1; i < n; ++i)
        if (x[i] > x[best]) best = i;
    return std::int32_t(best);
}

class sampler {
public:
    explicit sampler(const sampling_params& p = {}) : p_(p), rng_(p.seed) {}
    const sampling_params& params() const { return p_; }

    // logits: [vocab], modified in place. history: ids seen so far (prompt + generated),
    // used by the repetition penalty.
    std::int32_t sample(float* logits, std::int64_t vocab, const std::vector<std::int32_t>& history) {
        if (p_.repetition_penalty != 1.0f) {
            seen_.assign(std::size_t(vocab), 0);
            for (std::int32_t id : history)
                if (id >= 0 && id < vocab && !seen_[std::size_t(id)]) {
                    seen_[std::size_t(id)] = 1;
                    float& s = logits[id];
                    s = s < 0.0f ? s * p_.repetition_penalty : s / p_.repetition_penalty;
                }
        }
        if (p_.temperature <= 0.0f) return argmax(logits, vocab);

        // Candidates sorted by logit, descending (stable on id for ties).
        cand_.resize(std::size_t(vocab));
        for (std::int64_t i = 0; i < vocab; ++i) cand_[std::size_t(i)] = {logits[i] / p_.temperature, std::int32_t(i)};
        std::size_t n = cand_.size();
        auto by_logit = [](const entry& a, const entry& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); };
        if (p_.top_k > 0 && std::size_t(p_.top_k) < n) {
            std::partial_sort(cand_.begin(), cand_.begin() + p_.top_k, cand_.end(), by_logit);
            n = std::size_t(p_.top_k);
        } else {
            std::sort(cand_.begin(), cand_.end(), by_logit);
        }
        // Softmax over the kept candidates.
        const float mx = cand_[0].logit;
        double sum = 0.0;
        for (std::size_t i = 0; i < n; ++i) sum += (cand_[i].prob = std::exp(double(cand_[i].logit - mx)));
        for (std::size_t i = 0; i < n; ++i) cand_[i].prob /= sum;
        if (p_.top_p < 1.0f) {  // smallest prefix whose mass reaches top_p (at least one token)
            double cum = 0.0;
            std::size_t keep = n;
            for (std::size_t i = 0; i < n; ++i) {
                cum += cand_[i].prob;
                if (cum >= double(p_.top_p)) {
                    keep = i + 1;
                    break;
                }
            }
            n = keep;
        }
        if (p_.min_p > 0.0f) {  // drop tokens below min_p x the top probability
            const double floor = double(p_.min_p) * cand_[0].prob;
            std::size_t keep = 1;
            while (keep < n && cand_[keep].prob >= floor) ++keep;
            n = keep;
        }
        double total = 0.0;
        for (std::size_t i = 0; i < n; ++i) total += cand_[i].prob;
        const double r = double(rng_.next_float()) * total;
        double cum = 0.0;
        for (std::size_t i = 0; i < n; ++i) {
            cum += cand_[i].prob;
            if (r < cum) return cand_[i].id;
        }
        return cand_[n - 1].id;
    }

private:
    struct entry {
        float logit;
        std::int32_t id;
        double prob = 0.0;
        entry() : logit(0.0f), id(0) {}
        entry(float l, std::int32_t i) : logit(l), id(i) {}
    };
    sampling_params p_;
    pcg32 rng_;
    std::vector<entry> cand_;
    std::vector<std::uint8_t> seen_;
};

}  // namespace smolvlm
