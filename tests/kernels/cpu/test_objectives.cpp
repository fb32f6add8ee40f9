// The classification objectives' kernels (kernels/cpu/objectives.h) against closed forms: the
// Gauss-Hermite rule's moments, EXACT's p for two classes (Phi(d / (sigma sqrt 2))), the
// probabilities of every label summing to 1, the sigma -> 0 limit (accuracy), log Phi in the tails,
// and the Crammer-Singer hinge against its definition.
#include "kernels/cpu/objectives.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <random>
#include <vector>

namespace stretch::cpu {
namespace {

double normal_cdf(double a) { return 0.5 * std::erfc(-a / std::numbers::sqrt2); }

// p(y | z) from the kernel: 1 - loss of `exact`.
double probability(const std::vector<double>& z, std::int32_t y, double sigma, double margin = 0) {
    double loss = 0;
    std::vector<double> dz(z.size());
    expected_accuracy(z.data(), &y, &loss, dz.data(), 1, std::int64_t(z.size()), {sigma, margin, false});
    return 1 - loss;
}

// A rule of n nodes integrates x^(2j) e^{-x^2} exactly for 2j <= 2n - 1: Gamma(j + 1/2). Tolerance:
// nodes from Newton's method to ~1e-15 relative, raised to the 40th power (40x that), weights as
// exact, and a sum of 64 positive terms (no cancellation): ~1e-13; 1e-12 leaves room.
TEST(GaussHermite, IntegratesEvenMomentsExactly) {
    const gauss_hermite_rule rule = gauss_hermite(exact_quadrature_nodes);
    for (int j = 0; j <= 20; ++j) {
        double sum = 0;
        for (std::size_t k = 0; k < rule.nodes.size(); ++k) sum += rule.weights[k] * std::pow(rule.nodes[k], 2 * j);
        const double exact = std::tgamma(j + 0.5);
        EXPECT_NEAR(sum / exact, 1.0, 1e-12) << "x^" << 2 * j;
    }
    for (std::size_t k = 0; k + 1 < rule.nodes.size(); ++k) EXPECT_GT(rule.nodes[k], rule.nodes[k + 1]);
}

// Two classes: p = P(z_y + e_y > z_o + e_o) = Phi((z_y - z_o) / (sigma sqrt 2)), exactly. Tolerance:
// the quadrature's error on a smooth integrand whose step (width 1 in u) sits within |d| / sigma <= 5
// of the origin, measured ~1e-15; 1e-12 leaves room.
TEST(ExpectedAccuracy, TwoClassesMatchTheClosedForm) {
    for (const double sigma : {0.3, 1.0, 2.5})
        for (const double d : {-1.4, -0.2, 0.0, 0.37, 1.5}) {
            const double expected = normal_cdf(d / (sigma * std::numbers::sqrt2));
            EXPECT_NEAR(probability({0.0, d}, 1, sigma), expected, 1e-12) << "sigma " << sigma << ", d " << d;
            EXPECT_NEAR(probability({0.0, d}, 0, sigma), 1 - expected, 1e-12) << "sigma " << sigma << ", d " << d;
        }
}

// The events "y wins" for the K labels partition the outcomes: their probabilities sum to 1 (within
// the quadrature error, |z_i - z_j| / sigma <= 5 here).
TEST(ExpectedAccuracy, ProbabilitiesOfAllLabelsSumToOne) {
    std::mt19937_64 engine(3);
    std::normal_distribution<double> normal;
    for (int trial = 0; trial < 5; ++trial) {
        std::vector<double> z(5);
        for (double& v : z) v = normal(engine);
        double sum = 0;
        for (std::int32_t y = 0; y < 5; ++y) sum += probability(z, y, 1.0);
        EXPECT_NEAR(sum, 1.0, 1e-10);
    }
}

// sigma -> 0: the noise no longer changes the argmax; p is the indicator of a correct prediction.
TEST(ExpectedAccuracy, VanishingNoiseGivesTheAccuracy) {
    const std::vector<double> z = {0.2, 1.1, -0.4};
    EXPECT_NEAR(probability(z, 1, 1e-3), 1.0, 1e-12);
    EXPECT_NEAR(probability(z, 0, 1e-3), 0.0, 1e-12);
    EXPECT_NEAR(probability(z, 2, 1e-3), 0.0, 1e-12);
}

// The margin r clips z_y - z_i: beyond it p no longer grows, and the gradient is zero.
TEST(ExpectedAccuracy, MarginClipsTheDeltas) {
    const double r = 0.5, sigma = 0.8;
    EXPECT_NEAR(probability({0.0, 3.0}, 1, sigma, r), normal_cdf(r / (sigma * std::numbers::sqrt2)), 1e-12);
    double loss = 0;
    std::vector<double> dz(2);
    const std::vector<double> z = {0.0, 3.0};
    const std::int32_t y = 1;
    expected_accuracy(z.data(), &y, &loss, dz.data(), 1, 2, {sigma, r, false});
    EXPECT_EQ(dz[0], 0.0);
    EXPECT_EQ(dz[1], 0.0);
}

// log Phi: against log(erfc) where erfc is exact, and continuous across the switch to the
// asymptotic series at a = -30 (relative error of four terms there < 1e-10).
TEST(ExpectedAccuracy, LogNormalCdfInBothTails) {
    for (const double a : {-25.0, -8.0, -1.0, 0.0, 2.0, 9.0})
        EXPECT_NEAR(log_normal_cdf(a), std::log(normal_cdf(a)), 1e-12 * std::max(1.0, std::abs(std::log(normal_cdf(a)))))
            << a;
    // Below -30 the asymptotic series takes over; erfc itself is still accurate to a few ulps down to
    // -37 (it underflows near -38), so it is the reference there: the series' truncation, ~105 / a^8
    // = 1.6e-10 at -30, is the tolerance's reason.
    for (const double a : {-30.0 - 1e-9, -31.0, -34.0, -37.0})
        EXPECT_NEAR(log_normal_cdf(a), std::log(0.5 * std::erfc(-a / std::numbers::sqrt2)), 2e-10) << a;
    EXPECT_TRUE(std::isfinite(log_normal_cdf(-1e4)));
}

// Crammer-Singer: max(0, 1 + max_{i != y} z_i - z_y), the subgradient on the label and its rival.
TEST(MulticlassHinge, MatchesItsDefinition) {
    const std::vector<double> z = {0.5, 2.0, 1.7, -1.0, 0.4, 0.3};  // two rows of three
    const std::int32_t labels[] = {1, 0};
    double loss[2];
    std::vector<double> dz(6);
    multiclass_hinge(z.data(), labels, loss, dz.data(), 2, 3);
    EXPECT_DOUBLE_EQ(loss[0], 1 + 1.7 - 2.0);
    EXPECT_DOUBLE_EQ(loss[1], 1 + 0.4 - (-1.0));
    EXPECT_EQ(dz, (std::vector<double>{0, -1, 1, -1, 1, 0}));
    const std::vector<double> separated = {3.0, 0.0};
    const std::int32_t y = 0;
    multiclass_hinge(separated.data(), &y, loss, dz.data(), 1, 2);
    EXPECT_EQ(loss[0], 0.0);
    EXPECT_EQ(dz[0], 0.0);
}

}  // namespace
}  // namespace stretch::cpu
