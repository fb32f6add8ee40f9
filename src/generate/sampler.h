// Turning next-token logits into a token (methods.md F): greedy, or a llama.cpp-style chain —
// repetition penalty over the last tokens, top-k, top-p, min-p, temperature, then a seeded draw —
// and classifier-free guidance (F1), which combines two contexts' log-probabilities before sampling.
// Classifier guidance (F2, generate/classifier_guide.h) re-weights the candidates between the
// filters and the draw.
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

// The tokens the filters keep, most likely first, with their scores (the penalised logits, which
// classifier guidance re-weights before the draw).
struct candidate_list {
    std::vector<std::int32_t> ids;
    std::vector<double> scores;
    void truncate(std::size_t n);
};

class sampler {
public:
    explicit sampler(sampling_params params);
    // `logits` [V] of the next token; `history`: the tokens so far (for the repetition penalty).
    std::int32_t sample(std::span<const float> logits, std::span<const std::int32_t> history);
    // The chain's steps before the draw: the repetition penalty, top-k, top-p and min-p (greedy
    // keeps them too, so that its candidates are those sampling would keep); sample() is
    // draw(candidates(...)).
    candidate_list candidates(std::span<const float> logits, std::span<const std::int32_t> history) const;
    // The draw's distribution over the candidates: softmax of scores / temperature (greedy: all
    // mass on the first highest score).
    std::vector<double> distribution(const candidate_list& c) const;
    std::int32_t draw(const candidate_list& c);

private:
    sampling_params params_;
    rng generator_;
};

// Classifier-free guidance (methods.md F1, llama.cpp llama_sample_apply_guidance_impl):
// l = l_u + scale (l_c - l_u) with l_c, l_u the log-softmax of the conditional and guidance logits.
std::vector<float> apply_guidance(std::span<const float> conditional, std::span<const float> guidance, double scale);

}  // namespace stretch
