// pose (PoSE, arXiv 2309.10400): its position draws follow the reference's train_pose.py, the forward
// at drawn positions equals the float64 oracle (tests/variants/oracle.h) at rho = p_i - p_j, and at
// test time it is plain RoPE. (Gradients: tests/model/test_transformer.cpp; decoding:
// tests/model/test_kv_cache.cpp; exact resume of the sampler that draws positions: test_random_pos.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "model/transformer.h"
#include "support/tiny_model.h"
#include "variants/oracle.h"
#include "variants/spec.h"

namespace stretch {
namespace {

using test::scaled_error;
using test::tiny_model;
constexpr std::int64_t train_len = test::tiny_train_len;

layer_positions setup_of(const transformer& model, const std::string& spec, std::int64_t length, bool training) {
    return model.positions(variants::parse_spec(spec, "test"), length, "test", training);
}

TEST(Pose, DrawsAreAChunkFromZeroThenOneSkippedChunk) {
    // N = 16, L_t = 40: a first chunk of r in [1, 8] at 0 .. r - 1, the rest at t + u, u in [0, 24].
    const transformer model = tiny_model();
    const auto setup = setup_of(model, "pose:target=40", train_len, true);
    rng generator(6);
    std::set<std::int64_t> chunks, skips;
    for (int draw = 0; draw < 2000; ++draw) {
        const auto p = setup.global().draw_positions(generator, train_len);
        ASSERT_EQ(std::int64_t(p.size()), train_len);
        std::int64_t r = 1;
        while (r < train_len && p[std::size_t(r)] == double(r)) ++r;
        const double skip = r < train_len ? p[std::size_t(r)] - double(r) : 0.0;
        for (std::int64_t t = 0; t < train_len; ++t) EXPECT_EQ(p[std::size_t(t)], double(t < r ? t : t + std::int64_t(skip)));
        // A skip of 0 joins the chunks: r is then unknown, only the positions 0 .. 15.
        if (skip > 0) chunks.insert(r);
        skips.insert(std::int64_t(skip));
        EXPECT_LE(p.back(), 39.0);
    }
    // Every first-chunk length and every skip occurs: 2000 draws of 8 and 25 equally likely values miss
    // one with probability below 25 (24/25)^2000 ~ 1e-34.
    EXPECT_EQ(chunks, (std::set<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
    EXPECT_EQ(skips.size(), 25u);
    EXPECT_EQ(*skips.rbegin(), 24);
}

TEST(Pose, DrawnPositionsRotateEachSequenceByItsOwnPositions) {
    const transformer model = tiny_model();
    const auto setup = setup_of(model, "pose:target=64", train_len, true);
    rng generator(7);
    auto drawn = setup.global().draw_positions(generator, train_len);
    const auto second = setup.global().draw_positions(generator, train_len);
    drawn.insert(drawn.end(), second.begin(), second.end());
    const auto tokens = test::tiny_tokens(2 * train_len);
    ag::context ctx;
    const tensor y = model.forward(ctx, tokens, 2, train_len, setup, nullptr, false, drawn)->value;
    const std::int64_t v = model.config().vocab_size;
    std::vector<double> inv_freq;  // theta_t = base^(-2t/d): base 100, d = 8 (methods.md A1)
    for (int t = 0; t < 4; ++t) inv_freq.push_back(std::pow(100.0, -2.0 * t / 8.0));
    for (std::int64_t b = 0; b < 2; ++b) {
        SCOPED_TRACE(b);
        const std::vector<std::int32_t> seq(tokens.begin() + b * train_len, tokens.begin() + (b + 1) * train_len);
        const double* pos = drawn.data() + b * train_len;
        test::oracle_variant ov{test::rho_angle([pos](std::int64_t i, std::int64_t j) { return pos[i] - pos[j]; }, inv_freq)};
        const std::vector<double> fast(y.data<double>() + b * train_len * v, y.data<double>() + (b + 1) * train_len * v);
        // Both float64; as in test_variants.cpp, 1e-10 is 1e6x below a wrong position.
        EXPECT_LT(scaled_error(fast, test::oracle_forward(model, seq, ov)), 1e-10);
    }
}

TEST(Pose, TestTimePositionsArePlain) {
    const transformer model = tiny_model();
    const auto tokens = test::tiny_tokens(48);
    const auto logits = [&](const std::string& spec) {
        ag::context ctx;
        const tensor y = model.forward(ctx, tokens, 1, 48, setup_of(model, spec, 48, false))->value;
        return std::vector<double>(y.data<double>(), y.data<double>() + y.numel());
    };
    EXPECT_EQ(logits("pose"), logits("default"));
}

TEST(Pose, TargetBelowTheTrainingLengthIsOneLineNamingIt) {
    const transformer model = tiny_model();
    try {
        setup_of(model, "pose:target=8", train_len, true);
        FAIL();
    } catch (const error& e) {
        EXPECT_STREQ(e.what(), "test: pose.target = 8 is below the training length 16; expected L_t >= L_train (the skip "
                               "is drawn from [0, L_t - N])");
    }
}

}  // namespace
}  // namespace stretch
