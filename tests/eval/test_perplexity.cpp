// llama-perplexity's protocol (eval/perplexity.h) against a direct computation: per chunk, the
// logits of the tiny model and the float64 reference cross-entropy (kernels/ref) of exactly the
// positions llama.cpp scores, with the first token of each chunk replaced by BOS.
#include "eval/perplexity.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "kernels/ref/ref.h"
#include "eval/by_length.h"
#include "io/corpus.h"
#include "model/load.h"
#include "support/cli.h"
#include "support/tiny_model.h"

namespace stretch {
namespace {

struct expected {
    double ppl, error;
    std::int64_t count;
};

expected direct(const transformer& model, const std::vector<std::int32_t>& tokens, std::int64_t n_ctx,
                std::int64_t first, std::int32_t bos) {
    double nll = 0, nll2 = 0;
    std::int64_t count = 0;
    const auto setup = model.positions(variants::parse_spec("default", "t"), n_ctx, "t");
    for (std::int64_t c = 0; c < std::int64_t(tokens.size()) / n_ctx; ++c) {
        std::vector<std::int32_t> chunk(tokens.begin() + c * n_ctx, tokens.begin() + (c + 1) * n_ctx);
        if (bos >= 0) chunk[0] = bos;
        ag::context ctx;
        const tensor y = model.forward(ctx, chunk, 1, n_ctx, setup)->value;
        std::vector<double> z(y.data<double>(), y.data<double>() + y.numel());
        std::vector<std::int32_t> targets(std::size_t(n_ctx), -1);
        for (std::int64_t j = first; j < n_ctx - 1; ++j) targets[std::size_t(j)] = tokens[std::size_t(c * n_ctx + j + 1)];
        const auto losses = ref::cross_entropy(z, targets, n_ctx, model.config().vocab_size);
        for (std::int64_t j = first; j < n_ctx - 1; ++j) {
            nll += losses[std::size_t(j)];
            nll2 += losses[std::size_t(j)] * losses[std::size_t(j)];
            ++count;
        }
    }
    const double mean = nll / double(count);
    return {std::exp(mean), std::sqrt((nll2 / double(count) - mean * mean) / double(count - 1)) * std::exp(mean), count};
}

// The model is f64; the protocol converts logits to f32 before the cross-entropy (as for f32
// models): ~1e-7 relative per logit, so 1e-6 on the perplexity.
constexpr double tol = 1e-6;

TEST(Perplexity, MatchesTheDirectComputationOfLlamaCppsProtocol) {
    const transformer model = test::tiny_model();
    const auto tokens = test::tiny_tokens(100);  // 3 chunks of 32, 4 tokens dropped
    perplexity_request request;
    request.n_ctx = 32;
    request.bos = 12;
    const auto r = llama_perplexity(model, tokens, request);
    const auto want = direct(model, tokens, 32, 16, 12);
    EXPECT_EQ(r.chunks, 3);
    EXPECT_EQ(r.tokens, want.count);
    EXPECT_EQ(r.tokens, 3 * 15);
    EXPECT_NEAR(r.ppl, want.ppl, tol * want.ppl);
    EXPECT_NEAR(r.ppl_error, want.error, 1e-5 * want.error);

    request.last_n = 31;  // every prediction of the chunk
    request.max_chunks = 2;
    request.bos = -1;
    const auto all = llama_perplexity(model, tokens, request);
    const auto want_all = direct(model, std::vector<std::int32_t>(tokens.begin(), tokens.begin() + 64), 32, 0, -1);
    EXPECT_EQ(all.tokens, 62);
    EXPECT_NEAR(all.ppl, want_all.ppl, tol * want_all.ppl);
}

TEST(Perplexity, RefusesTextsShorterThanTwoChunks) {
    const transformer model = test::tiny_model();
    perplexity_request request;
    request.n_ctx = 64;
    try {
        llama_perplexity(model, test::tiny_tokens(100), request);
        FAIL();
    } catch (const error& e) {
        EXPECT_STREQ(e.what(), "-f: the text has 100 tokens; expected at least 2 * n_ctx = 128 (as llama-perplexity)");
    }
}

// eval and ppl give the same loss on the same tokens of a pretrained model (a GGUF from gguf-py with
// its own SentencePiece tokenizer and BOS: tests/fixtures/arch/llama.gguf): eval at L = 256 with
// last:128 reads each 257-token sample's first 256 tokens; ppl -c 257 --score last:128 runs all 257
// (the last row's logits unused) and scores the same 128 predictions, BOS in place of the first
// token in both. The forwards differ only in length (tile partition): 1e-6 relative; the
// scored-target hashes are equal.
TEST(Perplexity, EqualsEvalG3OnTheSameTokens) {
    const loaded_model m = load_any_model(std::string(STRETCH_SOURCE_DIR) + "/tests/fixtures/arch/llama.gguf");
    const auto tokens = m.tok->encode(read_text_file(test::data_file("austen-persuasion.txt")).substr(0, 20000), false);
    eval_request e;
    e.lengths = {256};
    e.score = parse_score_rule("last:128");
    e.token_budget = 3 * 128;
    use_tokenizer(e, *m.tok);
    const length_result by_eval = evaluate_by_length(*m.model, tokens, "persuasion", e).front();

    perplexity_request p;
    p.n_ctx = 257;
    p.last_n = 128;
    p.max_chunks = 3;
    p.bos = m.tok->bos();
    const perplexity_result by_ppl = llama_perplexity(*m.model, tokens, p);
    EXPECT_EQ(by_ppl.tokens, by_eval.tokens);
    EXPECT_EQ(by_ppl.targets_hash, by_eval.targets_hash);
    EXPECT_NEAR(by_ppl.nll, by_eval.loss, 1e-6 * by_eval.loss);
    // Bits per byte count the UTF-8 bytes the scored tokens stand for (several per token here).
    EXPECT_GT(by_eval.bytes, by_eval.tokens);
    EXPECT_NEAR(by_eval.bpb, by_eval.loss * double(by_eval.tokens) / std::log(2.0) / double(by_eval.bytes), 1e-12);
}

}  // namespace
}  // namespace stretch
