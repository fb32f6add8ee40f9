// Leaderboard means (methods.md G7): values against hand computation, the HM <= GM <= AM ordering,
// monotonicity, permutation invariance, refusals, and the post-8783 ranking flip that appears only
// when rows are averaged over different task sets.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

#include "core/error.h"
#include "eval/leaderboard.h"

namespace stretch {

namespace {

// The message of the stretch::error thrown by `f`, or "" when it does not throw.
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const error& e) {
        return e.what();
    }
    return "";
}

std::vector<double> random_scores(std::mt19937& rng, std::size_t n) {
    std::uniform_real_distribution<double> u(0.05, 1.0);
    std::vector<double> x(n);
    for (double& v : x) v = u(rng);
    return x;
}

const leaderboard_row& row_of(const leaderboard& board, const std::string& method) {
    const auto it = std::find_if(board.rows.begin(), board.rows.end(),
                                 [&](const leaderboard_row& r) { return r.method == method; });
    EXPECT_NE(it, board.rows.end()) << method;
    return *it;
}

sweep_result cell(const std::string& method, eval_mode mode, std::int64_t length, double accuracy) {
    sweep_result r{method, {}};
    r.result.mode = mode;
    r.result.length = length;
    r.result.accuracy = accuracy;
    return r;
}

}  // namespace

TEST(Leaderboard, MeansMatchHandComputation) {
    // {1, 4}: AM = 5/2 = 2.5; GM = sqrt(4) = 2; HM = 2 / (1 + 1/4) = 1.6.
    const std::vector<double> a = {1, 4};
    EXPECT_DOUBLE_EQ(arithmetic_mean(a), 2.5);
    EXPECT_DOUBLE_EQ(geometric_mean(a, "a"), 2.0);
    EXPECT_DOUBLE_EQ(harmonic_mean(a, "a"), 1.6);
    // {0.5, 0.8, 0.9} (python: sum(x)/3, exp(sum(log x)/3), 3/sum(1/x)):
    // AM = 0.7333333333333334, GM = 0.36^(1/3) = 0.7113786608980126, HM = 0.6878980891719746.
    const std::vector<double> b = {0.5, 0.8, 0.9};
    EXPECT_NEAR(arithmetic_mean(b), 0.7333333333333334, 1e-15);
    EXPECT_NEAR(geometric_mean(b, "b"), 0.7113786608980126, 1e-15);
    EXPECT_NEAR(harmonic_mean(b, "b"), 0.6878980891719746, 1e-15);
}

TEST(Leaderboard, HarmonicBelowGeometricBelowArithmeticEqualOnlyWhenAllEqual) {
    std::mt19937 rng(8783);
    for (int trial = 0; trial < 200; ++trial) {
        const auto x = random_scores(rng, 2 + std::size_t(trial % 9));
        const double am = arithmetic_mean(x), gm = geometric_mean(x, "x"), hm = harmonic_mean(x, "x");
        // Scores spread over [0.05, 1] differ, so the inequalities are strict by far more than rounding.
        EXPECT_LT(gm, am * (1 - 1e-9)) << trial;
        EXPECT_LT(hm, gm * (1 - 1e-9)) << trial;
    }
    for (const double c : {0.01, 0.37, 1.0, 250.0}) {
        const std::vector<double> same(7, c);
        EXPECT_NEAR(arithmetic_mean(same), c, 1e-14 * c);
        EXPECT_NEAR(geometric_mean(same, "same"), c, 1e-14 * c);
        EXPECT_NEAR(harmonic_mean(same, "same"), c, 1e-14 * c);
    }
}

TEST(Leaderboard, EachMeanIncreasesInEveryScore) {
    std::mt19937 rng(2112);
    for (int trial = 0; trial < 50; ++trial) {
        const auto x = random_scores(rng, 6);
        for (std::size_t i = 0; i < x.size(); ++i) {
            auto y = x;
            y[i] += 0.01;
            EXPECT_GT(arithmetic_mean(y), arithmetic_mean(x));
            EXPECT_GT(geometric_mean(y, "y"), geometric_mean(x, "x"));
            EXPECT_GT(harmonic_mean(y, "y"), harmonic_mean(x, "x"));
        }
    }
}

TEST(Leaderboard, MeansIgnoreTaskOrder) {
    std::mt19937 rng(1342);
    for (int trial = 0; trial < 50; ++trial) {
        const auto x = random_scores(rng, 11);
        auto y = x;
        std::shuffle(y.begin(), y.end(), rng);
        // Only the summation order changes, so the means agree to rounding.
        EXPECT_NEAR(arithmetic_mean(y), arithmetic_mean(x), 1e-14);
        EXPECT_NEAR(geometric_mean(y, "y"), geometric_mean(x, "x"), 1e-14);
        EXPECT_NEAR(harmonic_mean(y, "y"), harmonic_mean(x, "x"), 1e-14);
    }
}

TEST(Leaderboard, RefusesScoresThatAreNotPositiveNamingTheTask) {
    const std::vector<std::string> tasks = {"cola", "rte", "wnli"};
    for (const double bad :
         {0.0, -0.2, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
        const std::vector<double> x = {0.5, bad, 0.7};
        for (const std::string& message : {error_of([&] { geometric_mean(x, "method 'bert'", tasks); }),
                                           error_of([&] { harmonic_mean(x, "method 'bert'", tasks); })}) {
            EXPECT_NE(message.find("method 'bert'"), std::string::npos) << message;
            EXPECT_NE(message.find("on task rte"), std::string::npos) << message;
            EXPECT_NE(message.find("need every score > 0"), std::string::npos) << message;
        }
    }
    const std::string via_board = error_of([] {
        make_leaderboard({{"bert", {{"cola", 0.5}, {"wnli", 0.0}}}, {"gpt", {{"cola", 0.6}, {"wnli", 0.4}}}});
    });
    EXPECT_NE(via_board.find("method 'bert' has score 0 on task wnli"), std::string::npos) << via_board;
    EXPECT_THROW(arithmetic_mean(std::vector<double>{}), error);
    EXPECT_THROW(geometric_mean(std::vector<double>{}, "empty"), error);
}

TEST(Leaderboard, RefusesRowsOverDifferentTaskSets) {
    const std::string message = error_of([] {
        make_leaderboard(
            {{"human", {{"cola", 0.9}, {"rte", 0.9}}}, {"model", {{"cola", 0.8}, {"rte", 0.95}, {"ax", 0.4}}}});
    });
    EXPECT_NE(message.find("method 'human' has no score for task ax"), std::string::npos) << message;
    EXPECT_NE(message.find("shared by all: cola, rte"), std::string::npos) << message;
    EXPECT_THROW(make_leaderboard({}), error);
}

// Post 8783 / arXiv 2112.01342: AM over 10 tasks for everyone, but GM/HM over 10 tasks for the
// human row and 11 for the models, with the 11th task one on which models score low. Hand
// values (python): human over 10: AM 0.9, GM 0.89984, HM 0.89969; model_a over 10: AM 0.93,
// GM 0.92984, HM 0.92968; model_a over 11: GM 0.87047, HM 0.84755; model_b = model_a - 0.05 over
// 10: AM 0.88, GM 0.87983, HM 0.87966; over 11 (11th = 0.40): GM 0.81899, HM 0.79319.
TEST(Leaderboard, RankingFlipAppearsOnlyWithDifferentTaskSets) {
    const std::vector<double> human = {0.88, 0.90, 0.92, 0.89, 0.91, 0.90, 0.93, 0.87, 0.90, 0.90};
    const std::vector<double> model_a = {0.93, 0.95, 0.91, 0.94, 0.92, 0.96, 0.93, 0.90, 0.94, 0.92};
    std::vector<double> model_b;
    for (const double v : model_a) model_b.push_back(v - 0.05);
    auto plus = [](std::vector<double> x, double extra) {
        x.push_back(extra);
        return x;
    };

    // Differing sets, computed directly: AM ranks model_a first, GM and HM rank the human first.
    EXPECT_GT(arithmetic_mean(model_a), arithmetic_mean(human));
    EXPECT_GT(arithmetic_mean(human), arithmetic_mean(model_b));
    const double gm_a11 = geometric_mean(plus(model_a, 0.45), "a"), hm_a11 = harmonic_mean(plus(model_a, 0.45), "a");
    const double gm_b11 = geometric_mean(plus(model_b, 0.40), "b"), hm_b11 = harmonic_mean(plus(model_b, 0.40), "b");
    EXPECT_NEAR(gm_a11, 0.8704693847585337, 1e-12);
    EXPECT_NEAR(hm_a11, 0.8475462387828859, 1e-12);
    EXPECT_GT(geometric_mean(human, "h"), gm_a11);
    EXPECT_GT(harmonic_mean(human, "h"), hm_a11);
    EXPECT_GT(gm_a11, gm_b11);
    EXPECT_GT(hm_a11, hm_b11);

    // The same 10 tasks for every row: make_leaderboard ranks identically by AM, GM and HM.
    std::map<std::string, std::map<std::string, double>> scores;
    for (std::size_t t = 0; t < human.size(); ++t) {
        const std::string task = fmt::format("task{:02}", t);
        scores["human"][task] = human[t];
        scores["model_a"][task] = model_a[t];
        scores["model_b"][task] = model_b[t];
    }
    const leaderboard board = make_leaderboard(scores);
    ASSERT_EQ(board.rows.size(), 3u);
    EXPECT_EQ(board.tasks.size(), 10u);
    EXPECT_EQ(board.rows[0].method, "model_a");
    EXPECT_EQ(board.rows[1].method, "human");
    EXPECT_EQ(board.rows[2].method, "model_b");
    for (std::size_t i = 0; i < board.rows.size(); ++i) {
        const leaderboard_row& r = board.rows[i];
        EXPECT_EQ(r.rank_am, int(i) + 1);
        EXPECT_EQ(r.rank_gm, r.rank_am) << r.method;
        EXPECT_EQ(r.rank_hm, r.rank_am) << r.method;
    }
    EXPECT_NEAR(row_of(board, "human").gm, 0.8998443906381487, 1e-12);
    EXPECT_NEAR(row_of(board, "model_a").hm, 0.9296772849894264, 1e-12);

    // Giving the models their 11th task again is refused rather than silently reintroducing the flip.
    scores["model_a"]["task10"] = 0.45;
    scores["model_b"]["task10"] = 0.40;
    const std::string message = error_of([&] { make_leaderboard(scores); });
    EXPECT_NE(message.find("method 'human' has no score for task task10"), std::string::npos) << message;
}

TEST(Leaderboard, TiedMeansShareARank) {
    const leaderboard board = make_leaderboard(
        {{"a", {{"x", 0.5}, {"y", 0.5}}}, {"b", {{"x", 0.5}, {"y", 0.5}}}, {"c", {{"x", 0.2}, {"y", 0.3}}}});
    EXPECT_EQ(row_of(board, "a").rank_am, 1);
    EXPECT_EQ(row_of(board, "b").rank_am, 1);
    EXPECT_EQ(row_of(board, "c").rank_am, 3);
    EXPECT_EQ(row_of(board, "c").rank_hm, 3);
}

TEST(Leaderboard, AccuracyLeaderboardOfASweep) {
    std::vector<sweep_result> sweep;
    // rerope is first seen and better at 1024; default wins at 256: AM(default) = (0.6 + 0.2) / 2 = 0.4,
    // AM(rerope) = (0.55 + 0.45) / 2 = 0.5.
    sweep.push_back(cell("rerope:window=64", eval_mode::plain, 256, 0.55));
    sweep.push_back(cell("default", eval_mode::plain, 256, 0.6));
    sweep.push_back(cell("default", eval_mode::plain, 1024, 0.2));
    sweep.push_back(cell("rerope:window=64", eval_mode::plain, 1024, 0.45));
    const leaderboard board = accuracy_leaderboard(sweep);
    EXPECT_EQ(board.tasks, (std::vector<std::string>{"plain@256", "plain@1024"}));
    ASSERT_EQ(board.rows.size(), 2u);
    EXPECT_EQ(board.rows[0].method, "rerope:window=64");
    EXPECT_DOUBLE_EQ(board.rows[0].am, 0.5);
    EXPECT_DOUBLE_EQ(board.rows[1].am, 0.4);
    // GM(default) = sqrt(0.12) = 0.34641016151377546.
    EXPECT_NEAR(board.rows[1].gm, 0.34641016151377546, 1e-15);

    const std::string markdown = leaderboard_markdown(board);
    EXPECT_NE(markdown.find("| 1 | rerope:window=64 | 0.5000 (1) |"), std::string::npos) << markdown;
    EXPECT_NE(markdown.find("| 2 | default | 0.4000 (2) | 0.3464 (2) |"), std::string::npos) << markdown;
    EXPECT_NE(markdown.find("Means of accuracy over the same 2 tasks for every row: plain@256, plain@1024"),
              std::string::npos)
        << markdown;

    auto missing = sweep;
    missing.push_back(cell("default", eval_mode::repeated, 256, 0.7));
    const std::string message = error_of([&] { accuracy_leaderboard(missing); });
    EXPECT_NE(message.find("method 'rerope:window=64' has no accuracy for task repeated@256"), std::string::npos)
        << message;
    auto twice = sweep;
    twice.push_back(cell("default", eval_mode::plain, 1024, 0.3));
    EXPECT_NE(error_of([&] { accuracy_leaderboard(twice); }).find("two results for task plain@1024"),
              std::string::npos);
    auto zero = sweep;
    zero[2].result.accuracy = 0;
    EXPECT_NE(error_of([&] { accuracy_leaderboard(zero); }).find("method 'default' has accuracy 0 on task plain@1024"),
              std::string::npos);
}

}  // namespace stretch
