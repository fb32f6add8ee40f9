// `alibi` — ALiBi (methods.md C5): no rotation; b_ij = -m_h (i - j) added to the logits of head h.
// Slopes for H heads, H a power of two: m_h = 2^(-8h/H), h = 1..H (8 heads: 1/2 .. 1/256). Otherwise,
// with n = 2^floor(log2 H): the n slopes of n heads, then the first H - n of every second slope of
// the 2n-head sequence (the reference code's rule, github.com/ofirpress/attention_with_linear_biases).
// Slopes are fixed, not trained. Train with it (`--set pos=alibi`).
// Source: arXiv 2108.12409 (Press et al. 2022); https://kexue.fm/archives/9431.
#include <cmath>

#include "variants/variant.h"

namespace stretch::variants {
namespace {

std::vector<double> power_of_two_slopes(std::int64_t n) {
    std::vector<double> slopes;
    for (std::int64_t h = 1; h <= n; ++h) slopes.push_back(std::pow(2.0, -8.0 * double(h) / double(n)));
    return slopes;
}

std::vector<double> alibi_slopes(std::int64_t heads) {
    std::int64_t n = 1;
    while (n * 2 <= heads) n *= 2;
    std::vector<double> slopes = power_of_two_slopes(n);
    const std::vector<double> finer = power_of_two_slopes(2 * n);
    for (std::size_t i = 0; std::int64_t(slopes.size()) < heads; i += 2) slopes.push_back(finer[i]);
    return slopes;
}

const registrar reg{variant_def{
    .name = "alibi",
    .kind = variant_kind::position,
    .summary = "no rotation; a linear distance penalty -m_h (i - j) per head (needs training)",
    .source = "methods.md C5; arXiv 2108.12409",
    .frequencies = [](const param_values&, const model_context& c, std::int64_t) {
        return rotation{std::vector<double>(std::size_t(c.n_rot / 2), 0.0), 1.0};
    },
    .head_slopes = [](const param_values&, const model_context& c) { return alibi_slopes(c.n_head); },
    .needs_training = true,
}};

}  // namespace
}  // namespace stretch::variants
