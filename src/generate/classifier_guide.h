// Classifier guidance for a language model (methods.md F2): Su's Bayes step of kexue.fm/archives/9257,
// p(x | y) ∝ p(x) p(y | x)^gamma, taken one token at a time in the form of FUDGE (Yang & Klein 2021,
// arXiv 2104.05218): over the top-N candidates c that the sampler's filters keep,
//     score(c) = z(c) + gamma * log p(y | prefix + c)
// with z the (penalised) logits and p a classifier trained on prefixes (train/classifier.h), then
// the usual draw (temperature) on the scores; the other tokens get no probability. gamma = 0 is the
// model's own distribution over those candidates.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "generate/sampler.h"
#include "train/classifier.h"

namespace stretch {

struct classifier_guidance {
    const finetuned_classifier* classifier = nullptr;  // null: off
    std::int32_t target = 0;                           // the class y, an index into classifier->classes()
    double scale = 1;                                  // gamma >= 0
    std::int64_t top_k = 20;                           // N candidates scored per step
    // Throws stretch::error naming the flag of a value out of range.
    void validate() const;
};

class classifier_guide {
public:
    // `prompt`: the context so far; `capacity`: the most tokens it will reach. `cached`: keep the
    // classifier's KV cache of the prefix (needs classifier->can_cache()), else run every candidate's
    // whole prefix.
    classifier_guide(const classifier_guidance& guidance, std::span<const std::int32_t> prompt, std::int64_t capacity,
                     bool cached);
    // Keeps the top_k best candidates and adds gamma * log p(y | prefix + c) to their scores.
    void reweight(candidate_list& candidates) const;
    // The chosen token joins the prefix.
    void advance(std::int32_t token);

private:
    classifier_guidance guidance_;
    std::vector<std::int32_t> history_;
    std::optional<finetuned_classifier::prefix> prefix_;
};

}  // namespace stretch
