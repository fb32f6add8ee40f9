// evaluate_by_length's apply rule (methods.md G1): under beyond_train every training-free method
// gives exactly the trained model's numbers up to L_train and exactly its `always` numbers past it;
// under always the same methods do change the result at L_train (so the rule is what makes them
// equal, not the methods being idle there). And the mixed set (G2): half plain, half repeated
// windows, its sums those of the two sets at half the budget each.
#include "eval/by_length.h"

#include <gtest/gtest.h>

#include <cmath>

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
}

}  // namespace
}  // namespace stretch
