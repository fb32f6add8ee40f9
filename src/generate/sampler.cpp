#include "generate/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace stretch {

namespace {

std::vector<double> log_softmax(std::span<const float> z) {
    const double max = *std::max_element(z.begin(), z.end());
    double sum = 0;
    for (float x : z) sum += std::exp(double(x) - max);
    const double lse = max + std::log(sum);
    std::vector<double> out(z.size());
    for (std::size_t i = 0; i < z.size(); ++i) out[i] = double(z[i]) - lse;
    return out;
}

}  // namespace

void sampling_params::validate() const {
    if (!std::isfinite(temperature)) fail("--temp: found {}, expected a finite number (<= 0 for greedy)", temperature);
    if (!(top_p > 0)) fail("--top-p: found {}, expected a number > 0 (>= 1 turns it off)", top_p);
    if (!(min_p >= 0 && min_p <= 1)) fail("--min-p: found {}, expected 0 <= min-p <= 1", min_p);
    if (!(repeat_penalty > 0)) fail("--repeat-penalty: found {}, expected a number > 0 (1 turns it off)", repeat_penalty);
    if (repeat_last_n < 0) fail("--repeat-last-n: found {}, expected >= 0", repeat_last_n);
}

sampler::sampler(sampling_params params) : params_(params), generator_(params.seed) { params_.validate(); }

void candidate_list::truncate(std::size_t n) {
    if (ids.size() <= n) return;
    ids.resize(n);
    scores.resize(n);
}

namespace {

std::vector<double> penalised(const sampling_params& params, std::span<const float> logits,
                              std::span<const std::int32_t> history) {
    std::vector<double> z(logits.begin(), logits.end());
    if (params.repeat_penalty != 1.0) {
        const std::size_t n = std::min<std::size_t>(history.size(), std::size_t(params.repeat_last_n));
        std::vector<bool> seen(z.size(), false);
        for (const std::int32_t t : history.subspan(history.size() - n)) seen[std::size_t(t)] = true;
        for (std::size_t i = 0; i < z.size(); ++i)
            if (seen[i]) z[i] = z[i] > 0 ? z[i] / params.repeat_penalty : z[i] * params.repeat_penalty;
    }
    return z;
}

}  // namespace

std::int32_t sampler::sample(std::span<const float> logits, std::span<const std::int32_t> history) {
    if (params_.temperature <= 0) {  // argmax over the whole vocabulary: no sort needed
        const std::vector<double> z = penalised(params_, logits, history);
        return std::int32_t(std::max_element(z.begin(), z.end()) - z.begin());
    }
    return draw(candidates(logits, history));
}

candidate_list sampler::candidates(std::span<const float> logits, std::span<const std::int32_t> history) const {
    const std::vector<double> z = penalised(params_, logits, history);
    // Candidates sorted by logit, highest first (stable: lower id first on ties).
    std::vector<std::int32_t> ids(z.size());
    std::iota(ids.begin(), ids.end(), 0);
    std::stable_sort(ids.begin(), ids.end(), [&](std::int32_t a, std::int32_t b) { return z[std::size_t(a)] > z[std::size_t(b)]; });
    if (params_.top_k > 0 && std::size_t(params_.top_k) < ids.size()) ids.resize(std::size_t(params_.top_k));
    // top-p and min-p on the untempered distribution, as llama.cpp's default chain orders them.
    std::vector<double> p(ids.size());
    double sum = 0;
    for (std::size_t i = 0; i < ids.size(); ++i) sum += p[i] = std::exp(z[std::size_t(ids[i])] - z[std::size_t(ids[0])]);
    for (double& x : p) x /= sum;
    if (params_.top_p < 1) {
        double cumulative = 0;
        std::size_t keep = 0;
        while (keep < ids.size() && cumulative < params_.top_p) cumulative += p[keep++];
        ids.resize(std::max<std::size_t>(keep, 1));
        p.resize(ids.size());
    }
    if (params_.min_p > 0) {
        std::size_t keep = 1;
        while (keep < ids.size() && p[keep] >= params_.min_p * p[0]) ++keep;
        ids.resize(keep);
    }
    candidate_list out;
    out.ids = std::move(ids);
    for (const std::int32_t id : out.ids) out.scores.push_back(z[std::size_t(id)]);
    return out;
}

std::vector<double> sampler::distribution(const candidate_list& c) const {
    STRETCH_ASSERT(!c.ids.empty() && c.ids.size() == c.scores.size());
    const auto top = std::max_element(c.scores.begin(), c.scores.end());
    std::vector<double> p(c.scores.size(), 0.0);
    if (params_.temperature <= 0) {
        p[std::size_t(top - c.scores.begin())] = 1;
        return p;
    }
    double sum = 0;
    for (std::size_t i = 0; i < p.size(); ++i) sum += p[i] = std::exp((c.scores[i] - *top) / params_.temperature);
    for (double& x : p) x /= sum;
    return p;
}

std::int32_t sampler::draw(const candidate_list& c) {
    const std::vector<double> p = distribution(c);
    if (params_.temperature <= 0) return c.ids[std::size_t(std::max_element(p.begin(), p.end()) - p.begin())];
    const double u = generator_.uniform();
    double cumulative = 0;
    for (std::size_t i = 0; i < c.ids.size(); ++i)
        if ((cumulative += p[i]) > u) return c.ids[i];
    return c.ids.back();
}

std::vector<float> apply_guidance(std::span<const float> conditional, std::span<const float> guidance, double scale) {
    STRETCH_ASSERT(conditional.size() == guidance.size());
    const auto lc = log_softmax(conditional), lu = log_softmax(guidance);
    std::vector<float> out(conditional.size());
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = float(lu[i] + scale * (lc[i] - lu[i]));
    return out;
}

}  // namespace stretch
