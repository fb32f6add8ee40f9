// Classifier guidance (generate/classifier_guide.h) with a real tiny classifier — a linear probe
// with mean pooling trained on passage prefixes by `stretch finetune` on a tiny byte-level model:
// the guided distribution of one step against a float64 reference computed here (the model's own
// hidden states of each prefix + candidate run separately, pooled and put through the head read
// from finetuned.gguf in double), the cached classifier path against the uncached one over several
// steps, and gamma = 0 generating exactly what unguided sampling generates.
#include "generate/classifier_guide.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include <nlohmann/json.hpp>

#include "autograd/ops.h"
#include "generate/generator.h"
#include "io/gguf.h"
#include "model/load.h"
#include "support/cli.h"

namespace stretch::test {

namespace {

struct guide_files {
    std::string base, probe;
};

// A tiny base model (2 training steps) and a probe on it, trained once for the suite.
const guide_files& files() {
    static const guide_files f = [] {
        const std::string dir = fresh_dir("guide");
        guide_files out{dir + "/base", dir + "/probe"};
        std::string train, val;
        for (const char* novel : {"emma", "persuasion"}) {
            const std::string text = read_file(data_file(std::string("austen-") + novel + ".txt"));
            for (int i = 0; i < 24; ++i)
                (i < 20 ? train : val) += nlohmann::json{{"text", text.substr(20000 + std::size_t(i) * 500, 60)}, {"label", novel}}.dump() + "\n";
        }
        write_file(dir + "/train.jsonl", train);
        write_file(dir + "/val.jsonl", val);
        auto r = run_command(stretch_binary() + " train --preset tiny --threads 2 --steps 2 --data " +
                             data_file("austen-emma.txt") + " --val " + data_file("austen-persuasion.txt") + " --out " + out.base);
        EXPECT_EQ(r.status, 0) << r.output;
        r = run_command(stretch_binary() + " finetune -m " + out.base + " --threads 2 --method probe --task classify " +
                        "--pooling mean --set prefixes=true --context 32 --steps 20 --set batch_size=4 --set lr=0.1 " +
                        "--set eval_every=20 --data " + dir + "/train.jsonl --val " + dir + "/val.jsonl --out " + out.probe);
        EXPECT_EQ(r.status, 0) << r.output;
        return out;
    }();
    return f;
}

sampling_params plain_sampling() {
    sampling_params p;
    p.temperature = 1;
    p.top_k = 0;
    p.top_p = 1;
    p.min_p = 0;
    return p;
}

// log p(target | tokens) in float64 from the model's final states of `tokens` alone: their mean
// (the probe's pooling) through cls.weight, cls.bias as finetuned.gguf stores them.
double reference_log_p(const transformer& model, const gguf::reader& head, std::span<const std::int32_t> tokens,
                       std::int32_t target) {
    const auto length = std::int64_t(tokens.size());
    ag::context inference;
    const layer_positions positions = model.positions(variants::parse_spec("default", "test"), length, "test");
    const tensor states = model.hidden(inference, tokens, 1, length, positions)->value;  // [T, C] f32
    const std::int64_t width = states.dim(1);
    std::vector<double> pooled(std::size_t(width), 0.0);
    for (std::int64_t t = 0; t < length; ++t)
        for (std::int64_t i = 0; i < width; ++i) pooled[std::size_t(i)] += double(states.data<float>()[t * width + i]) / double(length);
    const tensor w = head.read_f32("cls.weight"), b = head.read_f32("cls.bias");
    std::vector<double> z(std::size_t(w.dim(0)));
    for (std::int64_t k = 0; k < w.dim(0); ++k) {
        z[std::size_t(k)] = b.data<float>()[k];
        for (std::int64_t i = 0; i < width; ++i) z[std::size_t(k)] += double(w.data<float>()[k * width + i]) * pooled[std::size_t(i)];
    }
    double total = 0;
    for (const double v : z) total += std::exp(v);
    return z[std::size_t(target)] - std::log(total);
}

}  // namespace

// One step at gamma = 2 over the top 6 candidates: the sampler's distribution after reweight equals
// softmax over the top 6 of z + gamma log p(target | prefix + c), with p from each prefix run alone.
// Tolerance 1e-6: the classifier pools f32 states with an f32 mean, the reference in double.
TEST(ClassifierGuide, OneStepMatchesAFloat64Reference) {
    const loaded_model m = load_any_model(files().base);
    const finetuned_classifier classifier(files().probe, "--guide");
    const auto head = gguf::reader::open(files().probe + "/finetuned.gguf");
    const std::vector<std::int32_t> prompt = m.tok->encode("It was a truth universally", m.tok->add_bos_default());
    const double gamma = 2;
    const std::int32_t target = classifier.class_index("persuasion", "--guide-class");
    kv_cache cache(m.model->config(), std::int64_t(prompt.size()) + 1);
    const std::vector<float> logits = feed(*m.model, m.model->positions(variants::parse_spec("default", "test"), 32, "test"),
                                           cache, prompt, 512);
    sampler pick(plain_sampling());
    candidate_list candidates = pick.candidates(logits, prompt);
    classifier_guide guide({&classifier, target, gamma, 6}, prompt, 32, false);
    guide.reweight(candidates);
    const std::vector<double> p = pick.distribution(candidates);

    std::vector<std::int32_t> order(logits.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return logits[std::size_t(a)] > logits[std::size_t(b)]; });
    order.resize(6);
    std::vector<double> scores;
    for (const std::int32_t c : order) {
        std::vector<std::int32_t> tokens = prompt;
        tokens.push_back(c);
        scores.push_back(double(logits[std::size_t(c)]) + gamma * reference_log_p(*m.model, head, tokens, target));
    }
    const double top = *std::max_element(scores.begin(), scores.end());
    double total = 0;
    for (const double s : scores) total += std::exp(s - top);
    ASSERT_EQ(candidates.ids, order);
    double moved = 0;
    for (std::size_t i = 0; i < order.size(); ++i) {
        EXPECT_NEAR(p[i], std::exp(scores[i] - top) / total, 1e-6) << "candidate " << order[i];
        moved = std::max(moved, std::abs(scores[i] - logits[std::size_t(order[i])] - (scores[0] - logits[std::size_t(order[0])])));
    }
    EXPECT_GT(moved, 1e-3) << "the classifier does not tell the candidates apart: the test would not see a wrong p";
}

// The classifier's KV cache of the prefix (one more token per candidate) against every candidate's
// whole prefix run from its first token, over 5 steps. Tolerance 1e-4 in the scores: the batched
// step sums its f32 products in another order than the full forward.
TEST(ClassifierGuide, CachedPrefixEqualsUncached) {
    const finetuned_classifier classifier(files().probe, "--guide");
    ASSERT_TRUE(classifier.can_cache());
    std::vector<std::int32_t> prompt = classifier.tok().encode("Anne Elliot", classifier.tok().add_bos_default());
    const classifier_guidance g{&classifier, 1, 3.0, 8};
    classifier_guide cached(g, prompt, 40, true), uncached(g, prompt, 40, false);
    for (int step = 0; step < 5; ++step) {
        candidate_list a, b;
        for (std::int32_t id = 40; id < 60; ++id) {
            a.ids.push_back(id);
            a.scores.push_back(0.1 * id);
        }
        b = a;
        cached.reweight(a);
        uncached.reweight(b);
        ASSERT_EQ(a.ids, b.ids);
        for (std::size_t i = 0; i < a.ids.size(); ++i) EXPECT_NEAR(a.scores[i], b.scores[i], 1e-4) << "step " << step;
        cached.advance(a.ids[std::size_t(step)]);
        uncached.advance(a.ids[std::size_t(step)]);
    }
}

// gamma = 0 over as many candidates as the sampler keeps: the very tokens unguided sampling draws.
TEST(ClassifierGuide, ScaleZeroGeneratesTheUnguidedTokens) {
    const loaded_model m = load_any_model(files().base);
    const finetuned_classifier classifier(files().probe, "--guide");
    generation_request request;
    request.prompt = m.tok->encode("She had", m.tok->add_bos_default());
    request.n_predict = 24;
    request.sampling.seed = 7;
    const auto spec = variants::parse_spec("default", "test");
    const std::vector<std::int32_t> plain = generate(*m.model, spec, request);
    request.guide = {&classifier, 0, 0.0, request.sampling.top_k};
    EXPECT_EQ(generate(*m.model, spec, request), plain);
    request.guide.scale = 8;  // and guidance that does act changes them
    EXPECT_NE(generate(*m.model, spec, request), plain);
}

}  // namespace stretch::test
