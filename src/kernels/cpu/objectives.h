// Classification objectives beside cross-entropy (methods.md E1-E2), per row of logits z [N, K]
// against labels y [N], each row's loss and its gradient d loss / d z computed together in double:
//
// Multi-class hinge, Crammer & Singer (2001): loss = max(0, 1 + max_{i != y} z_i - z_y), the form
// that is the binary SVM's hinge max(0, 1 - y f) when K = 2 (f = z_1 - z_0); the subgradient at a
// tie goes to the first maximising i.
//
// EXACT (Karpukhin et al. 2022, arXiv 2205.09615): the scores are noisy, s ~ N(z, sigma^2 I), and
// p(y | x) = P(s_y > s_i for every i != y) is the expected accuracy. With iid noise, conditioning on
// the noise of s_y gives the one-dimensional integral
//     p = integral phi(u) prod_{i != y} Phi(u + d_i / sigma) du,   d_i = min(z_y - z_i, r)
// (r the margin, the official code's clip of the deltas before the division; none when r = 0),
// computed by Gauss-Hermite quadrature in log space (a sum of log Phi per node, a log-sum-exp over
// nodes), so neither a tiny p nor -log p underflows. Loss: 1 - p (`exact`, the expected error rate)
// or -log p (`exact_log`, the variant of kexue.fm/archives/9098). The paper evaluates the (K-1)-
// dimensional orthant probability with Genz's algorithm instead; the integral above is the same
// quantity for iid noise, and the quadrature is deterministic (no sampling variance): with 64 nodes it
// matches closed forms to ~1e-12 for |d| / sigma <= 5 (tests/kernels/cpu/test_objectives.cpp).
#pragma once

#include <cstdint>
#include <vector>

namespace stretch::cpu {

// Nodes x_k and weights w_k of n-point Gauss-Hermite quadrature: integral e^{-x^2} f(x) dx ~
// sum_k w_k f(x_k) (Golub-Welsch's nodes found instead by Newton's method on the normalised Hermite
// recurrence, as Numerical Recipes' gauher).
struct gauss_hermite_rule {
    std::vector<double> nodes, weights;
};
gauss_hermite_rule gauss_hermite(int n);
inline constexpr int exact_quadrature_nodes = 64;

// log Phi(a) of the standard normal CDF, accurate far into both tails.
double log_normal_cdf(double a);

// loss[i] and dz[i, :] = d loss[i] / d z[i, :] (overwritten) for every row.
template <class T>
void multiclass_hinge(const T* z, const std::int32_t* labels, double* loss, double* dz, std::int64_t n,
                      std::int64_t k);

struct exact_options {
    double sigma = 1;       // the noise's standard deviation
    double margin = 0;      // r; 0: no clip
    bool log = false;       // -log p instead of 1 - p
};
template <class T>
void expected_accuracy(const T* z, const std::int32_t* labels, double* loss, double* dz, std::int64_t n,
                       std::int64_t k, const exact_options& options);

}  // namespace stretch::cpu
