// The sampler's rules against direct computations: greedy is argmax; a draw follows the softmax of
// the logits at the temperature (frequencies over many seeded draws); top-k, top-p and min-p keep
// exactly the tokens their definitions keep; the repetition penalty is CTRL's; and classifier-free
// guidance satisfies the invariants of methods.md F1.
#include "generate/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "core/error.h"

namespace stretch {
namespace {

const std::vector<float> logits{1.0f, 3.0f, 2.5f, -1.0f, 0.0f, 2.9f};

std::set<std::int32_t> support(sampling_params p, int draws = 4000) {
    sampler s(p);
    std::set<std::int32_t> seen;
    for (int i = 0; i < draws; ++i) seen.insert(s.sample(logits, {}));
    return seen;
}

TEST(Sampler, GreedyIsArgmax) {
    sampling_params p;
    p.temperature = 0;
    EXPECT_EQ(sampler(p).sample(logits, {}), 1);
}

TEST(Sampler, DrawsFollowTheTemperedSoftmax) {
    sampling_params p;
    p.temperature = 0.7;
    p.top_k = 0;
    p.top_p = 1;
    p.min_p = 0;
    p.seed = 42;
    sampler s(p);
    const int n = 200000;
    std::map<std::int32_t, int> counts;
    for (int i = 0; i < n; ++i) ++counts[s.sample(logits, {})];
    double z = 0;
    for (float x : logits) z += std::exp(x / 0.7);
    for (std::size_t i = 0; i < logits.size(); ++i) {
        const double want = std::exp(logits[i] / 0.7) / z;
        // Binomial standard deviation sqrt(p(1-p)/n) <= 0.0012; 5 sigma.
        EXPECT_NEAR(double(counts[std::int32_t(i)]) / n, want, 5 * std::sqrt(want * (1 - want) / n) + 1e-4) << i;
    }
}

TEST(Sampler, TruncationsKeepWhatTheirDefinitionsKeep) {
    sampling_params p;
    p.temperature = 1;
    p.top_p = 1;
    p.min_p = 0;
    p.top_k = 2;
    EXPECT_EQ(support(p), (std::set<std::int32_t>{1, 5}));
    // top-p 0.5: sorted probabilities of (3.0, 2.9, 2.5, 1.0, 0, -1) are (.327, .296, .198, .044, ...):
    // the smallest prefix reaching 0.5 is the first two.
    p.top_k = 0;
    p.top_p = 0.5;
    EXPECT_EQ(support(p), (std::set<std::int32_t>{1, 5}));
    // min-p 0.5: keep p >= 0.5 p_max, i.e. logit >= 3 - ln 2 = 2.307: tokens 1, 5, 2.
    p.top_p = 1;
    p.min_p = 0.5;
    EXPECT_EQ(support(p), (std::set<std::int32_t>{1, 2, 5}));
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogits) {
    sampling_params p;
    p.temperature = 0;
    p.repeat_penalty = 1.2;
    // Token 1 (3.0) was seen: 3.0 / 1.2 = 2.5 falls below token 5's 2.9, which wins.
    const std::vector<std::int32_t> history{1};
    EXPECT_EQ(sampler(p).sample(logits, history), 5);
    // Only tokens within the last repeat_last_n count.
    p.repeat_last_n = 1;
    const std::vector<std::int32_t> old{1, 4};
    EXPECT_EQ(sampler(p).sample(logits, old), 1);
}

TEST(Sampler, RejectsImpossibleSettings) {
    sampling_params p;
    p.top_p = 0;
    EXPECT_THROW(sampler{p}, error);
    p = {};
    p.min_p = 2;
    EXPECT_THROW(sampler{p}, error);
}

std::vector<double> log_softmax(const std::vector<float>& z) {
    double m = -INFINITY, s = 0;
    for (float x : z) m = std::max(m, double(x));
    for (float x : z) s += std::exp(double(x) - m);
    std::vector<double> out;
    for (float x : z) out.push_back(double(x) - m - std::log(s));
    return out;
}

TEST(Guidance, InvariantsOfMethodsF1) {
    const std::vector<float> cond = logits, neg{0.5f, -2.0f, 1.0f, 4.0f, 0.0f, 1.5f};
    const auto lc = log_softmax(cond), lu = log_softmax(neg);
    // f32 output of values computed in double: 1e-6 absolute on O(5) log-probabilities.
    const double tol = 1e-6;
    const auto g1 = apply_guidance(cond, neg, 1.0), g0 = apply_guidance(cond, neg, 0.0);
    const auto gs = apply_guidance(cond, neg, 1.5), same = apply_guidance(cond, cond, 3.0);
    std::vector<float> shifted = neg;
    for (float& x : shifted) x += 7.0f;
    const auto gshift = apply_guidance(cond, shifted, 1.5);
    for (std::size_t i = 0; i < cond.size(); ++i) {
        EXPECT_NEAR(g1[i], lc[i], tol);  // gamma = 1: the conditional distribution
        EXPECT_NEAR(g0[i], lu[i], tol);  // gamma = 0: the guidance distribution
        EXPECT_NEAR(gs[i], lu[i] + 1.5 * (lc[i] - lu[i]), tol);
        EXPECT_NEAR(same[i], lc[i], tol);    // identical contexts
        EXPECT_NEAR(gshift[i], gs[i], tol);  // a constant added to either side changes nothing
    }
}

}  // namespace
}  // namespace stretch
