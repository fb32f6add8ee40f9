// random_pos (methods.md C7): the invariants of its position draws, the forward at drawn and at
// test-time positions against the float64 oracle (tests/variants/oracle.h, positions written here
// from methods.md), and exact resume of the sampler that draws them.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "model/transformer.h"
#include "support/tiny_model.h"
#include "train/data_loader.h"
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

// theta_t = base^(-2t/d) of the tiny model (base 100, head_dim 8), written out (methods.md A1).
std::vector<double> tiny_inv_freq() {
    std::vector<double> f;
    for (int t = 0; t < 4; ++t) f.push_back(std::pow(100.0, -2.0 * t / 8.0));
    return f;
}

// Fast path vs oracle, both float64: as in test_variants.cpp, rotating q and k separately costs a few
// 1e-13 through two layers; 1e-10 is 1e6x below a wrong position.
constexpr double oracle_tol = 1e-10;

TEST(RandomPos, UniformDrawsAreStrictlyIncreasingDistinctAndInRange) {
    const transformer model = tiny_model();
    const auto setup = setup_of(model, "random_pos:l_rand=40", train_len, true);
    rng generator(3);
    for (int draw = 0; draw < 200; ++draw) {
        const auto p = setup.global().draw_positions(generator, train_len);
        ASSERT_EQ(std::int64_t(p.size()), train_len);
        for (std::size_t t = 0; t < p.size(); ++t) {
            EXPECT_EQ(p[t], std::floor(p[t]));
            EXPECT_GE(p[t], 0.0);
            EXPECT_LT(p[t], 40.0);
            if (t > 0) {
                EXPECT_GT(p[t], p[t - 1]);
            }
        }
    }
}

TEST(RandomPos, UniformDrawsIncludeEveryValueWithProbabilityNOverL) {
    // sort(permutation(L)[:N]) contains each value with probability N / L. N = 4, L = 8, 4000 draws:
    // each count is Binomial(4000, 1/2), sd 32; 6 sd = 190 fails once in 1e9 runs, and a sampler that
    // favours low or high values (an off-by-one in Floyd's range) is off by hundreds.
    model_config c = test::tiny_config();
    c.n_ctx_train = 4;
    const transformer short_model(c);
    const auto setup = setup_of(short_model, "random_pos:l_rand=8", 4, true);
    rng generator(17);
    std::vector<int> count(8, 0);
    for (int draw = 0; draw < 4000; ++draw)
        for (double p : setup.global().draw_positions(generator, 4)) ++count[std::size_t(p)];
    for (int v = 0; v < 8; ++v) EXPECT_NEAR(count[std::size_t(v)], 2000, 190) << "value " << v;
}

TEST(RandomPos, LRandEqualToTheLengthGivesIdentityPositionsAndPlainRope) {
    const transformer model = tiny_model();
    const auto train = setup_of(model, "random_pos:l_rand=16", train_len, true);
    rng generator(1);
    const auto p = train.global().draw_positions(generator, train_len);
    for (std::int64_t t = 0; t < train_len; ++t) EXPECT_EQ(p[std::size_t(t)], double(t));
    // Test time at M = N: linspace(0, L_rand - 1, N) = 0 .. N-1, the frequencies of `default` exactly.
    const auto test = setup_of(model, "random_pos:l_rand=16", train_len, false);
    EXPECT_EQ(test.global().frequencies(train_len).inv_freq,
              setup_of(model, "default", train_len, false).global().frequencies(train_len).inv_freq);
}

TEST(RandomPos, EqualMeanDrawsAreEvenlySpacedFromZeroWithMeanEndN) {
    const transformer model = tiny_model();
    const auto setup = setup_of(model, "random_pos:mode=equal_mean", train_len, true);
    rng generator(9);
    double sum_last = 0;
    constexpr int draws = 4000;
    for (int draw = 0; draw < draws; ++draw) {
        const auto p = setup.global().draw_positions(generator, train_len);
        ASSERT_EQ(p[0], 0.0);
        const double step = p[1] - p[0];
        ASSERT_GT(step, 0.0);
        for (std::size_t t = 1; t < p.size(); ++t) EXPECT_NEAR(p[t] - p[t - 1], step, 1e-12 * p.back());
        sum_last += p.back();
    }
    // n ~ Exponential(mean N = 16): the mean of 4000 draws has sd 16 / sqrt(4000) = 0.25; 6 sd = 1.5.
    EXPECT_NEAR(sum_last / draws, 16.0, 1.5);
}

TEST(RandomPos, DrawnPositionsRotateEachSequenceByItsOwnPositions) {
    // Two sequences at different drawn positions in one batch; each sequence's logits equal the
    // oracle at rho(i, j) = p_i - p_j with plain RoPE frequencies.
    const transformer model = tiny_model();
    const auto setup = setup_of(model, "random_pos:l_rand=64", train_len, true);
    rng generator(4);
    auto drawn = setup.global().draw_positions(generator, train_len);
    const auto second = setup.global().draw_positions(generator, train_len);
    ASSERT_NE(drawn, second);
    drawn.insert(drawn.end(), second.begin(), second.end());
    const auto tokens = test::tiny_tokens(2 * train_len);
    ag::context ctx;
    const tensor y = model.forward(ctx, tokens, 2, train_len, setup, nullptr, false, drawn)->value;
    const std::int64_t v = model.config().vocab_size;
    for (std::int64_t b = 0; b < 2; ++b) {
        SCOPED_TRACE(b);
        const std::vector<std::int32_t> seq(tokens.begin() + b * train_len, tokens.begin() + (b + 1) * train_len);
        const double* pos = drawn.data() + b * train_len;
        test::oracle_variant ov{test::rho_angle([pos](std::int64_t i, std::int64_t j) { return pos[i] - pos[j]; },
                                                tiny_inv_freq())};
        const std::vector<double> fast(y.data<double>() + b * train_len * v, y.data<double>() + (b + 1) * train_len * v);
        EXPECT_LT(scaled_error(fast, test::oracle_forward(model, seq, ov)), oracle_tol);
    }
}

TEST(RandomPos, TestTimePositionsAreEvenlySpacedOverTheTrainedRange) {
    // methods.md C7: at length M, uniform tests at linspace(0, L_rand - 1, M), equal_mean at
    // linspace(0, 1, M) * N; plain at 0 .. M-1.
    const transformer model = tiny_model();
    constexpr std::int64_t m = 24;
    const auto tokens = test::tiny_tokens(m);
    struct test_case {
        std::string spec;
        double last;  // the last test position
    };
    for (const auto& tc : {test_case{"random_pos:l_rand=100", 99.0}, test_case{"random_pos:mode=equal_mean", 16.0},
                           test_case{"random_pos:l_rand=100,test=plain", double(m - 1)}}) {
        SCOPED_TRACE(tc.spec);
        const auto setup = setup_of(model, tc.spec, m, false);
        ag::context ctx;
        const tensor y = model.forward(ctx, tokens, 1, m, setup)->value;
        const double spacing = tc.last / double(m - 1);
        test::oracle_variant ov{test::rho_angle([spacing](std::int64_t i, std::int64_t j) { return double(i - j) * spacing; },
                                                tiny_inv_freq())};
        EXPECT_LT(scaled_error(std::vector<double>(y.data<double>(), y.data<double>() + y.numel()),
                               test::oracle_forward(model, tokens, ov)),
                  oracle_tol);
    }
}

TEST(RandomPos, LRandBelowTheTrainingLengthIsOneLineNamingIt) {
    const transformer model = tiny_model();
    try {
        setup_of(model, "random_pos:l_rand=8", train_len, true);
        FAIL() << "accepted l_rand < L_train";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("random_pos: l_rand = 8 is below the training length 16"), std::string::npos)
            << e.what();
    }
}

TEST(RandomPos, SamplerWithPositionDrawsResumesExactly) {
    // The positions come from the sampler's generator, whose state checkpoints save: restoring it
    // gives the same windows and the same positions as the uninterrupted stream.
    const transformer model = tiny_model();
    const auto setup = setup_of(model, "random_pos:l_rand=64", train_len, true);
    const position_draw draw = [&](rng& g, std::int64_t length) { return setup.global().draw_positions(g, length); };
    std::vector<std::int32_t> text = test::tiny_tokens(200);
    window_sampler whole({text}, {"text"}, train_len, 42);
    window_sampler resumed({text}, {"text"}, train_len, 42);
    whole.next(3, draw);
    resumed.set_state(whole.state(), "test");
    for (int step = 0; step < 3; ++step) {
        const batch a = whole.next(3, draw), b = resumed.next(3, draw);
        EXPECT_EQ(a.inputs, b.inputs);
        EXPECT_EQ(a.positions, b.positions);
        ASSERT_EQ(std::int64_t(a.positions.size()), 3 * train_len);
    }
}

}  // namespace
}  // namespace stretch
