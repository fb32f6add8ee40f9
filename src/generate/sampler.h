// Turning next-token logits into a token (methods.md F): greedy, or a llama.cpp-style chain —
// repetition penalty over the last tokens, top-k, top-p, min-p, temperature, then a seeded draw —
// and classifier-free guidance (F1), which combines two contexts' log-probabilities before sampling.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/rng.h"

namespace stretch {

struct sampling_params {
    double temperature = 0.8;      // <= 0: greedy (argmax, lowest id on ties)
    std::int64_t top_k = 40;       // <= 0: off
    double top_p = 0.95;           // >= 1: off
    double min_p = 0.05;           // <= 0: off; keeps tokens with p >= min_p * p_max
    double repeat_penalty = 1.0;   // 1: off; CTRL-style (arXiv 1909.05858): divide positive logits, multiply negative
    std::int64_t repeat_last_n = 64;
    std::uint64_t seed = 0;
    // Throws stretch::error naming the flag of a value out of range.
    void validate() const;
};

class sampler {
public:
    explicit sampler(sampling_params params);
    // `logits` [V] of the next token; `history`: the tokens so far (for the repetition penalty).
    std::int32_t sample(std::span<const float> logits, std::span<const std::int32_t> history);

private:
    sampling_params params_;
    rng generator_;
};

// Classifier-free guidance (methods.md F1, llama.cpp llama_sample_apply_guidance_impl):
// l = l_u + scale (l_c - l_u) with l_c, l_u the log-softmax of the conditional and guidance logits.
std::vector<float> apply_guidance(std::span<const float> conditional, std::span<const float> guidance, double scale);

}  // namespace stretch
