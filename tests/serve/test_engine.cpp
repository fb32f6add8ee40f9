// The serving engine (serve/engine.h) against the model run alone: continuous batching must give
// every sequence what it gets alone.
#include "serve/engine.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "eval/next_token.h"
#include "model/gguf_model.h"
#include "model/load.h"
#include "serve/token_scores.h"
#include "support/cli.h"
#include "support/tiny_model.h"

namespace stretch::serve {
namespace {

namespace fs = std::filesystem;

fs::path smollm2() {
    const char* cache = std::getenv("STRETCH_CACHE");
    const fs::path dir = cache != nullptr ? fs::path(cache) : fs::path(std::getenv("HOME")) / ".cache/stretch";
    return dir / "SmolLM2-135M-Instruct.Q4_1.gguf";
}

fs::path fixture(const std::string& name) { return fs::path(STRETCH_SOURCE_DIR) / "tests/fixtures/arch" / name; }

struct outcome {
    std::vector<scored_token> prompt, tokens;
    finish_reason reason = finish_reason::failed;
};

job make_job(const loaded_model& m, std::vector<std::int32_t> prompt, std::int64_t max_tokens, int logprobs,
             bool score_prompt) {
    job j;
    j.prompt = std::move(prompt);
    j.max_tokens = max_tokens;
    j.sampling.temperature = 0;  // greedy
    j.logprobs = logprobs;
    j.score_prompt = score_prompt;
    const auto target = std::int64_t(j.prompt.size()) + max_tokens;
    j.positions = std::make_shared<const layer_positions>(
        m.model->positions(variants::parse_spec(m.positions, "test"), target, "test"));
    return j;
}

outcome wait(const std::shared_ptr<job_channel>& channel) {
    outcome out;
    for (;;) {
        job_channel::update u = channel->take(std::chrono::milliseconds(100));
        if (!u.prompt.empty()) out.prompt = std::move(u.prompt);
        for (scored_token& t : u.tokens) out.tokens.push_back(std::move(t));
        if (u.done) {
            out.reason = u.reason;
            return out;
        }
    }
}

// Prompts of different lengths (some longer than a prefill chunk of 8) and lengths to generate.
std::vector<job> sixteen_jobs(const loaded_model& m) {
    std::vector<job> jobs;
    for (int i = 0; i < 16; ++i) {
        std::vector<std::int32_t> prompt;
        for (int t = 0; t < 3 + 5 * i; ++t) prompt.push_back(std::int32_t((97 * i + 31 * t + 7) % m.model->config().vocab_size));
        jobs.push_back(make_job(m, prompt, 4 + i % 5, 3, i % 3 == 0));
    }
    return jobs;
}

void expect_same(const outcome& a, const outcome& b, double tolerance, const std::string& what) {
    ASSERT_EQ(a.tokens.size(), b.tokens.size()) << what;
    ASSERT_EQ(a.prompt.size(), b.prompt.size()) << what;
    for (std::size_t i = 0; i < a.tokens.size(); ++i) {
        EXPECT_EQ(a.tokens[i].id, b.tokens[i].id) << what << " token " << i;
        EXPECT_NEAR(a.tokens[i].logprob, b.tokens[i].logprob, tolerance) << what << " token " << i;
        ASSERT_EQ(a.tokens[i].top.size(), b.tokens[i].top.size());
        for (std::size_t k = 0; k < a.tokens[i].top.size(); ++k) {
            EXPECT_EQ(a.tokens[i].top[k].id, b.tokens[i].top[k].id) << what << " token " << i << " top " << k;
            EXPECT_NEAR(a.tokens[i].top[k].logprob, b.tokens[i].top[k].logprob, tolerance);
        }
    }
    for (std::size_t i = 1; i < a.prompt.size(); ++i)
        EXPECT_NEAR(a.prompt[i].logprob, b.prompt[i].logprob, tolerance) << what << " prompt token " << i;
    EXPECT_EQ(a.reason, b.reason) << what;
}

// Each job alone in an engine of one slot, then all at once in an engine of 16 slots.
void batched_equals_alone(const loaded_model& m, double tolerance) {
    const engine_options small{.slots = 1, .queue = 16, .threads = 2, .prefill_chunk = 8, .prefill_budget = 24};
    std::vector<outcome> alone;
    {
        engine e(*m.model, small);
        for (const job& j : sixteen_jobs(m)) alone.push_back(wait(e.submit(j)));
    }
    engine_options wide = small;
    wide.slots = 16;
    engine e(*m.model, wide);
    std::vector<std::shared_ptr<job_channel>> channels;
    for (const job& j : sixteen_jobs(m)) channels.push_back(e.submit(j));
    for (std::size_t i = 0; i < channels.size(); ++i) {
        ASSERT_NE(channels[i], nullptr);
        expect_same(alone[i], wait(channels[i]), tolerance, "job " + std::to_string(i));
    }
    // More than one step ran several sequences at once, with prompt chunks beside decode steps.
    EXPECT_LT(e.counts().steps, 16 * 8);
}

// SmolLM2's matrices are all quantised (Q4_1, Q8_0 embedding and head): a decode batch takes the
// integer products at every row count and attention runs per sequence, so a sequence's numbers
// are the same bit for bit whatever runs beside it: tolerance 0.
TEST(ServeEngine, SixteenConcurrentEqualAloneBitForBitOnSmolLM2) {
    if (!fs::exists(smollm2())) GTEST_SKIP() << smollm2() << " is absent; fetch it with scripts/get_smollm2.sh";
    const loaded_model m = load_any_model(smollm2().string());
    batched_equals_alone(m, 0.0);
}

// f32 weights: oneDNN's sgemm takes a different kernel for one row than for several (measured: the
// sums round differently), so a batch may move a log-probability by float rounding, ~1e-6; 1e-4
// leaves room and still fails for any real mix-up of rows, caches or positions (errors of order 1).
TEST(ServeEngine, SixteenConcurrentEqualAloneWithinRoundingOnF32Weights) {
    const loaded_model m = load_any_model(fixture("llama.gguf").string());
    batched_equals_alone(m, 1e-4);
}

// Prompt log-probabilities scored chunk by chunk through the cache equal one forward over the
// whole prompt (eval/next_token.h, what `stretch ppl` uses) within float rounding.
void prompt_scores_match_one_forward(const loaded_model& m) {
    std::vector<std::int32_t> prompt;
    for (int t = 0; t < 30; ++t) prompt.push_back(std::int32_t((13 * t + 5) % m.model->config().vocab_size));
    engine e(*m.model, {.slots = 2, .queue = 2, .threads = 2, .prefill_chunk = 7, .prefill_budget = 7});
    const outcome got = wait(e.submit(make_job(m, prompt, 1, 2, true)));
    ASSERT_EQ(got.prompt.size(), prompt.size());
    EXPECT_TRUE(std::isnan(got.prompt[0].logprob));
    const auto n = std::int64_t(prompt.size());
    ag::context ctx;
    const tensor hidden =
        m.model->hidden(ctx, prompt, 1, n, m.model->positions(variants::parse_spec(m.positions, "t"), n + 1, "t"))->value;
    std::vector<std::int32_t> targets(prompt.begin() + 1, prompt.end());
    targets.push_back(-1);
    const next_token_scores want = score_next_tokens(*m.model, hidden, targets, 0, n - 1);
    for (std::int64_t i = 1; i < n; ++i) {
        EXPECT_EQ(got.prompt[std::size_t(i)].id, prompt[std::size_t(i)]);
        EXPECT_NEAR(got.prompt[std::size_t(i)].logprob, -want.loss[std::size_t(i - 1)], 1e-5) << "token " << i;
        EXPECT_EQ(got.prompt[std::size_t(i)].top.size(), 2u);
    }
}

TEST(ServeEngine, PromptScoresMatchOneForward) {
    prompt_scores_match_one_forward(load_any_model(fixture("llama.gguf").string()));
}

// A model trained with learned sinks (blk.N.attn_sinks.weight): the engine's batched steps pass each
// layer's sinks to the attention as the one-sequence forward does.
TEST(ServeEngine, PromptScoresMatchOneForwardWithLearnedSinks) {
    model_config c = test::tiny_config();
    c.pos = "learned_sinks";
    const transformer model = test::tiny_model(c, dtype::f32);
    gguf::writer out;
    write_model_metadata(out, c);
    write_model_weights(out, model);
    const std::string path = test::fresh_dir("servesinks") + "/model.gguf";
    out.write(path);
    prompt_scores_match_one_forward(load_any_model(path));
}

TEST(ServeEngine, FullQueueRefusesCancelFreesTheSlotAndDeadlinesEndJobs) {
    const loaded_model m = load_any_model(fixture("llama.gguf").string());
    engine e(*m.model, {.slots = 1, .queue = 1, .threads = 1, .prefill_chunk = 8, .prefill_budget = 8});
    std::vector<std::int32_t> prompt{1, 2, 3};
    auto first = e.submit(make_job(m, prompt, 100000, -1, false));
    auto second = e.submit(make_job(m, prompt, 2, -1, false));
    ASSERT_NE(first, nullptr);
    ASSERT_NE(second, nullptr);
    EXPECT_EQ(e.submit(make_job(m, prompt, 2, -1, false)), nullptr);  // one running, one waiting: full
    first->cancel();
    EXPECT_EQ(wait(first).reason, finish_reason::cancelled);
    const outcome done = wait(second);  // it got the slot back
    EXPECT_EQ(done.reason, finish_reason::length);
    EXPECT_EQ(done.tokens.size(), 2u);
    job late = make_job(m, prompt, 100000, -1, false);
    late.deadline = steady::now() + std::chrono::milliseconds(50);
    EXPECT_EQ(wait(e.submit(late)).reason, finish_reason::timed_out);
}

TEST(ServeEngine, StopTokenEndsTheJob) {
    const loaded_model m = load_any_model(fixture("llama.gguf").string());
    engine e(*m.model, {.slots = 1, .queue = 1, .threads = 1});
    const outcome free_run = wait(e.submit(make_job(m, {1, 2, 3}, 6, -1, false)));
    ASSERT_EQ(free_run.tokens.size(), 6u);
    job stopping = make_job(m, {1, 2, 3}, 6, -1, false);
    stopping.stop_tokens = {free_run.tokens[2].id};
    const outcome stopped = wait(e.submit(stopping));
    EXPECT_EQ(stopped.reason, finish_reason::stop);
    EXPECT_LE(stopped.tokens.size(), 3u);
    EXPECT_EQ(stopped.tokens.back().id, free_run.tokens[2].id);
}

}  // namespace
}  // namespace stretch::serve
