#include "generate/classifier_guide.h"

#include <cmath>

#include "core/error.h"

namespace stretch {

void classifier_guidance::validate() const {
    if (!(scale >= 0) || !std::isfinite(scale)) fail("--guide-scale: found {}, expected a finite number >= 0", scale);
    if (top_k < 1) fail("--guide-top-k: found {}, expected a number of candidates >= 1", top_k);
    STRETCH_ASSERT(classifier != nullptr && target >= 0 && std::size_t(target) < classifier->classes().size());
}

classifier_guide::classifier_guide(const classifier_guidance& guidance, std::span<const std::int32_t> prompt,
                                   std::int64_t capacity, bool cached)
    : guidance_(guidance), history_(prompt.begin(), prompt.end()) {
    guidance_.validate();
    STRETCH_ASSERT(!prompt.empty());
    if (!cached) return;
    STRETCH_ASSERT(guidance_.classifier->can_cache());
    prefix_.emplace(guidance_.classifier->start(capacity + 1));  // + 1: a candidate after the last token
    guidance_.classifier->extend(*prefix_, prompt);
}

void classifier_guide::reweight(candidate_list& candidates) const {
    candidates.truncate(std::size_t(guidance_.top_k));
    const finetuned_classifier& classifier = *guidance_.classifier;
    std::vector<std::vector<double>> log_p;
    if (prefix_) {
        log_p = classifier.log_probs_after(*prefix_, candidates.ids);
    } else {
        std::vector<std::int32_t> rows;  // [candidates, history + 1]
        for (const std::int32_t c : candidates.ids) {
            rows.insert(rows.end(), history_.begin(), history_.end());
            rows.push_back(c);
        }
        log_p = classifier.log_probs(rows, std::int64_t(candidates.ids.size()));
    }
    for (std::size_t i = 0; i < candidates.ids.size(); ++i)
        candidates.scores[i] += guidance_.scale * log_p[i][std::size_t(guidance_.target)];
}

void classifier_guide::advance(std::int32_t token) {
    history_.push_back(token);
    if (prefix_) guidance_.classifier->extend(*prefix_, std::span(&token, 1));
}

}  // namespace stretch
