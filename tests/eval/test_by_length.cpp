// evaluate_by_length's apply rule (methods.md G1): under beyond_train every training-free method
// gives exactly the trained model's numbers up to L_train and exactly its `always` numbers past it;
// under always the same methods do change the result at L_train (so the rule is what makes them
// equal, not the methods being idle there). The mixed set (G2): half plain, half repeated windows,
// its sums those of the two sets at half the budget each. Scoring only the positions past L_train
// (G1 `beyond`) and the per-bucket losses, checked against the rules they are made of.
#include "eval/by_length.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "kernels/ref/ref.h"
#include "support/tiny_model.h"

namespace stretch {
namespace {

std::vector<length_result> run(const transformer& model, const std::string& pos, apply_rule apply,
                               const std::string& trained = "default") {
    eval_request r;
    r.lengths = {8, test::tiny_train_len, 2 * test::tiny_train_len, 4 * test::tiny_train_len};
    r.token_budget = 128;
    r.positions = variants::parse_spec(pos, "test");
    r.trained = variants::parse_spec(trained, "test");
    r.apply = apply;
    return evaluate_by_length(model, test::tiny_tokens(1024), "tiny", r);
}

TEST(EvalApply, BeyondTrainIsTheTrainedModelUpToLTrainAndTheMethodPastIt) {
    const transformer model = test::tiny_model(cpu::rope_pairing::interleaved, dtype::f32);
    const auto own = run(model, "default", apply_rule::always);
    // Methods that act at L_train when applied always: a window or ReRoPE window below L_train,
    // a factor given explicitly, an attention scale on every query past the window.
    for (const char* pos : {"rerope:window=4", "leaky_rerope:window=4", "ntk:factor=4", "linear:factor=2",
                            "window:w=6+logn", "yarn:factor=4+logn"}) {
        SCOPED_TRACE(pos);
        const auto always = run(model, pos, apply_rule::always), beyond = run(model, pos, apply_rule::beyond_train);
        for (std::size_t i = 0; i < own.size(); ++i) {
            if (own[i].length <= test::tiny_train_len) {
                EXPECT_EQ(beyond[i].loss, own[i].loss) << "length " << own[i].length;  // bit for bit
                EXPECT_EQ(beyond[i].accuracy, own[i].accuracy);
            } else {
                EXPECT_EQ(beyond[i].loss, always[i].loss) << "length " << own[i].length;
            }
        }
        EXPECT_NE(always[1].loss, own[1].loss) << "the method should change the result at L_train when always applied";
    }
}

TEST(EvalApply, BeyondTrainFallsBackToTheTrainedEncodingNotToDefault) {
    // A model trained with log n keeps it below L_train: only the added method is switched off.
    const transformer model = test::tiny_model(cpu::rope_pairing::interleaved, dtype::f32);
    const auto own = run(model, "window:w=6", apply_rule::always);
    const auto beyond = run(model, "rerope:window=4+window:w=6", apply_rule::beyond_train, "window:w=6");
    EXPECT_EQ(beyond[1].loss, own[1].loss);
    EXPECT_NE(beyond[1].loss, run(model, "default", apply_rule::always)[1].loss);
}

length_result one(const transformer& model, eval_mode mode, std::int64_t length, std::int64_t budget) {
    eval_request r;
    r.lengths = {length};
    r.mode = mode;
    r.token_budget = budget;
    return evaluate_by_length(model, test::tiny_tokens(1024), "tiny", r).front();
}

TEST(EvalMixed, IsHalfPlainHalfRepeatedWindows) {
    const transformer model = test::tiny_model(cpu::rope_pairing::interleaved, dtype::f32);
    for (const std::int64_t length : {std::int64_t(8), 4 * test::tiny_train_len}) {
        SCOPED_TRACE(length);
        const std::int64_t windows = 6;
        const auto mixed = one(model, eval_mode::mixed, length, windows * length);
        const auto plain = one(model, eval_mode::plain, length, windows / 2 * length);
        const auto repeated = one(model, eval_mode::repeated, length, windows / 2 * length);
        EXPECT_EQ(mixed.windows, windows);
        EXPECT_EQ(mixed.tokens, plain.tokens + repeated.tokens);
        // Token-weighted means of equal halves: the loss sums differ only in the order of addition
        // (~1e-16 relative per term); the hit counts are integers.
        EXPECT_NEAR(mixed.loss, (plain.loss + repeated.loss) / 2, 1e-12);
        const auto hits = [](const length_result& r) { return std::llround(r.accuracy * double(r.tokens)); };
        EXPECT_EQ(hits(mixed), hits(plain) + hits(repeated));
        EXPECT_NE(plain.loss, repeated.loss);  // two different sets of windows
    }
    EXPECT_EQ(parse_eval_mode("mixed"), eval_mode::mixed);
    EXPECT_STREQ(eval_mode_name(eval_mode::mixed), "mixed");
}

length_result scored(const transformer& model, const std::string& score, std::int64_t bucket = 256,
                     std::int64_t budget = 256) {
    eval_request r;
    r.lengths = {3 * test::tiny_train_len};
    r.score = parse_score_rule(score);
    r.token_budget = budget;
    r.bucket = bucket;
    return evaluate_by_length(model, test::tiny_tokens(1024), "tiny", r).front();
}

TEST(EvalScore, BeyondIsThePositionsPastLTrainOfEveryWindow) {
    // `all` with buckets of L_train positions: the buckets past the first hold exactly what
    // `beyond` scores (the same windows: both advance by L). Their token-weighted mean equals
    // beyond's loss up to the order of summation (~1e-16 relative per add).
    const transformer model = test::tiny_model(cpu::rope_pairing::interleaved, dtype::f32);
    const auto beyond = scored(model, "beyond");  // 8 windows of 32 scored positions
    const auto all = scored(model, "all", test::tiny_train_len, 8 * 3 * test::tiny_train_len);  // the same 8
    double loss = 0, hits = 0;
    std::int64_t tokens = 0;
    for (const bucket_result& b : all.buckets)
        if (b.first >= test::tiny_train_len) {
            loss += b.loss * double(b.tokens);
            hits += b.accuracy * double(b.tokens);
            tokens += b.tokens;
        }
    EXPECT_EQ(beyond.score.text(), "beyond");
    ASSERT_EQ(all.windows, beyond.windows);
    EXPECT_EQ(tokens, beyond.tokens);
    EXPECT_NEAR(beyond.loss, loss / double(tokens), 1e-12);
    EXPECT_NEAR(beyond.accuracy, hits / double(tokens), 1e-12);
}

TEST(EvalScore, BucketsPartitionTheScoredPositions) {
    const transformer model = test::tiny_model(cpu::rope_pairing::interleaved, dtype::f32);
    for (const char* score : {"all", "last:20", "beyond"}) {
        SCOPED_TRACE(score);
        const auto r = scored(model, score, 10);  // windows of 48: buckets [0,10) ... [40,48)
        const std::int64_t windows = r.windows, length = 3 * test::tiny_train_len;
        const std::int64_t first = r.score.beyond ? test::tiny_train_len : length - (r.score.last_n ? r.score.last_n : length);
        std::int64_t tokens = 0;
        double loss = 0, hits = 0;
        std::int64_t expected_first = first / 10 * 10;
        for (const auto& b : r.buckets) {
            EXPECT_EQ(b.first, expected_first);
            EXPECT_EQ(b.end, std::min(length, b.first + 10));
            // Only the scored positions of the bucket count, in every window.
            EXPECT_EQ(b.tokens, windows * (b.end - std::max(b.first, first)));
            expected_first = b.end;
            tokens += b.tokens;
            loss += b.loss * double(b.tokens);
            hits += b.accuracy * double(b.tokens);
        }
        EXPECT_EQ(expected_first, length);
        EXPECT_EQ(tokens, r.tokens);
        // The same terms summed per bucket and then together: rounding only (~1e-15 relative).
        EXPECT_NEAR(loss / double(tokens), r.loss, 1e-12 * r.loss);
        EXPECT_NEAR(hits / double(tokens), r.accuracy, 1e-12);
    }
}

TEST(EvalOptions, UnknownRuleOrModeIsAOneLineError) {
    try {
        parse_apply_rule("sometimes");
        FAIL() << "expected an error";
    } catch (const error& e) {
        EXPECT_STREQ(e.what(), "--apply: 'sometimes', expected always or beyond_train");
    }
    try {
        parse_eval_mode("tiled");
        FAIL() << "expected an error";
    } catch (const error& e) {
        EXPECT_STREQ(e.what(), "--mode: 'tiled', expected plain, repeated or mixed");
    }
    const transformer model = test::tiny_model(cpu::rope_pairing::interleaved, dtype::f32);
    eval_request r;
    r.lengths = {2 * test::tiny_train_len, test::tiny_train_len};
    r.score = parse_score_rule("beyond");
    try {
        evaluate_by_length(model, test::tiny_tokens(1024), "tiny", r);
        FAIL() << "expected an error";
    } catch (const error& e) {
        EXPECT_STREQ(e.what(), "--score beyond: length 16 has no position past n_ctx_train 16");
    }
    r.score = {};
    r.bucket = 0;
    try {
        evaluate_by_length(model, test::tiny_tokens(1024), "tiny", r);
        FAIL() << "expected an error";
    } catch (const error& e) {
        EXPECT_STREQ(e.what(), "--bucket: found 0, expected a positive number of positions");
    }
}

// G3 (methods.md): with last:N every length scores the same targets — each sample's last N tokens,
// samples of L_max + 1 tokens, windows aligned at their end — so the hash of the scored targets is
// the same at every L; at L = N the result is plain `all` scoring of those (N + 1)-token tails,
// computed here directly from the model's logits and the float64 reference cross-entropy (the same
// forward on the same tokens: equal to float64 rounding, 1e-12).
TEST(EvalG3, EveryLengthScoresTheSameTargetsAndLEqualsNIsAllOnTheTails) {
    const transformer model = test::tiny_model(cpu::rope_pairing::interleaved, dtype::f64);
    constexpr std::int64_t n = 8, longest = 4 * test::tiny_train_len;
    const auto text = test::tiny_tokens(1024);
    eval_request r;
    r.lengths = {n, test::tiny_train_len, 2 * test::tiny_train_len, longest};
    r.score = parse_score_rule("last:" + std::to_string(n));
    r.token_budget = 5 * n;  // 5 samples of 65 tokens
    const auto results = evaluate_by_length(model, text, "tiny", r);
    for (const length_result& res : results) {
        EXPECT_EQ(res.targets_hash, results.front().targets_hash) << res.length;
        EXPECT_EQ(res.tokens, 5 * n);
        EXPECT_EQ(res.windows, 5);
    }
    EXPECT_NE(results[1].loss, results[3].loss);  // the same targets, different contexts

    double loss = 0;
    const std::int64_t sample = longest + 1;
    const auto setup = model.positions(variants::parse_spec("default", "t"), n, "t");
    for (std::int64_t w = 0; w < 5; ++w) {
        const auto tail = text.begin() + w * sample + sample - (n + 1);
        const std::vector<std::int32_t> inputs(tail, tail + n), targets(tail + 1, tail + n + 1);
        ag::context ctx;
        const tensor y = model.forward(ctx, inputs, 1, n, setup)->value;
        for (double l : ref::cross_entropy(std::vector<double>(y.data<double>(), y.data<double>() + y.numel()), targets, n,
                                           model.config().vocab_size))
            loss += l;
    }
    EXPECT_NEAR(results.front().loss, loss / double(5 * n), 1e-12);
}

TEST(EvalG3, RefusesRepeatedTextAndWindowsLongerThanTheSamples) {
    const transformer model = test::tiny_model(cpu::rope_pairing::interleaved, dtype::f32);
    eval_request r;
    r.lengths = {16};
    r.score = parse_score_rule("last:4");
    r.mode = eval_mode::repeated;
    EXPECT_THROW(evaluate_by_length(model, test::tiny_tokens(256), "tiny", r), error);
    r.mode = eval_mode::plain;
    r.sample_tokens = 10;
    try {
        evaluate_by_length(model, test::tiny_tokens(256), "tiny", r);
        FAIL();
    } catch (const error& e) {
        EXPECT_STREQ(e.what(), "--lengths 16: a window of 17 tokens does not fit G3's samples of 10 tokens");
    }
}

}  // namespace
}  // namespace stretch
