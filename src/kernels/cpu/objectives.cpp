#include "kernels/cpu/objectives.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "core/error.h"

namespace stretch::cpu {

gauss_hermite_rule gauss_hermite(int n) {
    STRETCH_ASSERT(n >= 1);
    gauss_hermite_rule rule;
    rule.nodes.assign(std::size_t(n), 0.0);
    rule.weights.assign(std::size_t(n), 0.0);
    // Roots of H_n come in pairs +-x; the largest first. Starting points: the asymptotic estimates of
    // the largest roots, then extrapolation from the two before.
    std::vector<double> root(std::size_t((n + 1) / 2));
    const double pi_quarter = std::pow(std::numbers::pi, -0.25);
    for (int i = 0; i < (n + 1) / 2; ++i) {
        double z = 0;
        if (i == 0) z = std::sqrt(2.0 * n + 1) - 1.85575 * std::pow(2.0 * n + 1, -1.0 / 6);
        else if (i == 1) z = root[0] - 1.14 * std::pow(double(n), 0.426) / root[0];
        else if (i == 2) z = 1.86 * root[1] - 0.86 * root[0];
        else if (i == 3) z = 1.91 * root[2] - 0.91 * root[1];
        else z = 2 * root[std::size_t(i - 1)] - root[std::size_t(i - 2)];
        double derivative = 0;
        for (int iteration = 0; iteration < 100; ++iteration) {
            // The orthonormal Hermite functions' recurrence: p_j = x sqrt(2/j) p_{j-1} - sqrt((j-1)/j) p_{j-2}.
            double p1 = pi_quarter, p2 = 0;
            for (int j = 1; j <= n; ++j) {
                const double p3 = p2;
                p2 = p1;
                p1 = z * std::sqrt(2.0 / j) * p2 - std::sqrt(double(j - 1) / j) * p3;
            }
            derivative = std::sqrt(2.0 * n) * p2;
            const double step = p1 / derivative;
            z -= step;
            if (std::abs(step) <= 1e-15 * std::max(1.0, std::abs(z))) break;
        }
        root[std::size_t(i)] = z;
        const double w = 2.0 / (derivative * derivative);
        rule.nodes[std::size_t(i)] = z;
        rule.nodes[std::size_t(n - 1 - i)] = -z;
        rule.weights[std::size_t(i)] = rule.weights[std::size_t(n - 1 - i)] = w;
    }
    return rule;
}

double log_normal_cdf(double a) {
    const double sqrt_half = std::numbers::sqrt2 / 2;
    if (a > 0) return std::log1p(-0.5 * std::erfc(a * sqrt_half));
    if (a > -30) return std::log(0.5 * std::erfc(-a * sqrt_half));
    // Phi(a) = phi(a) / |a| (1 - 1/a^2 + 3/a^4 - 15/a^6 + ...) (Abramowitz & Stegun 26.2.12), where
    // erfc would underflow; at |a| >= 30 four terms leave a relative error below 2e-10 (the next, 105 / a^8).
    const double a2 = a * a;
    return -0.5 * a2 - std::log(-a) - 0.5 * std::log(2 * std::numbers::pi) +
           std::log1p(-1 / a2 + 3 / (a2 * a2) - 15 / (a2 * a2 * a2));
}

namespace {

double log_normal_pdf(double a) { return -0.5 * a * a - 0.5 * std::log(2 * std::numbers::pi); }

}  // namespace

template <class T>
void multiclass_hinge(const T* z, const std::int32_t* labels, double* loss, double* dz, std::int64_t n,
                      std::int64_t k) {
    for (std::int64_t r = 0; r < n; ++r) {
        const T* row = z + r * k;
        double* grad = dz + r * k;
        const std::int32_t y = labels[r];
        STRETCH_ASSERT(y >= 0 && y < k);
        std::int64_t rival = y == 0 ? 1 : 0;
        for (std::int64_t i = 0; i < k; ++i)
            if (i != y && row[i] > row[rival]) rival = i;
        std::fill(grad, grad + k, 0.0);
        const double value = 1 + double(row[rival]) - double(row[y]);
        loss[r] = std::max(0.0, value);
        if (value > 0) {
            grad[rival] = 1;
            grad[y] = -1;
        }
    }
}

template <class T>
void expected_accuracy(const T* z, const std::int32_t* labels, double* loss, double* dz, std::int64_t n,
                       std::int64_t k, const exact_options& options) {
    static const gauss_hermite_rule rule = gauss_hermite(exact_quadrature_nodes);
    const std::size_t nodes = rule.nodes.size();
    STRETCH_ASSERT(options.sigma > 0);
    std::vector<double> d(static_cast<std::size_t>(k)), log_term(nodes), a(nodes * static_cast<std::size_t>(k));
    for (std::int64_t r = 0; r < n; ++r) {
        const T* row = z + r * k;
        double* grad = dz + r * k;
        const std::int32_t y = labels[r];
        STRETCH_ASSERT(y >= 0 && y < k);
        for (std::int64_t i = 0; i < k; ++i) {
            const double delta = double(row[y]) - double(row[i]);
            d[std::size_t(i)] = options.margin > 0 ? std::min(delta, options.margin) : delta;
        }
        // log of each node's term w_k prod_i Phi(u_k + d_i / sigma), u_k = sqrt(2) x_k; p = sum / sqrt(pi).
        double top = -std::numeric_limits<double>::infinity();
        for (std::size_t q = 0; q < nodes; ++q) {
            const double u = std::numbers::sqrt2 * rule.nodes[q];
            double sum = std::log(rule.weights[q]);
            for (std::int64_t i = 0; i < k; ++i) {
                if (i == y) continue;
                const double arg = u + d[std::size_t(i)] / options.sigma;
                a[q * std::size_t(k) + std::size_t(i)] = arg;
                sum += log_normal_cdf(arg);
            }
            log_term[q] = sum;
            top = std::max(top, sum);
        }
        double total = 0;
        for (std::size_t q = 0; q < nodes; ++q) total += std::exp(log_term[q] - top);
        const double log_p = top + std::log(total) - 0.5 * std::log(std::numbers::pi);
        const double p = std::exp(log_p);
        loss[r] = options.log ? -log_p : 1 - p;
        // d log p / d d_i = (1 / sigma) sum_q share_q phi(a_qi) / Phi(a_qi), share_q = term_q / sum.
        const double outer = options.log ? -1.0 : -p;  // d loss / d log p
        std::fill(grad, grad + k, 0.0);
        for (std::int64_t i = 0; i < k; ++i) {
            if (i == y) continue;
            const bool clipped = options.margin > 0 && double(row[y]) - double(row[i]) > options.margin;
            if (clipped) continue;
            double dlogp = 0;
            for (std::size_t q = 0; q < nodes; ++q) {
                const double arg = a[q * std::size_t(k) + std::size_t(i)];
                dlogp += std::exp(log_term[q] - top - std::log(total) + log_normal_pdf(arg) - log_normal_cdf(arg));
            }
            const double g = outer * dlogp / options.sigma;  // d loss / d d_i
            grad[y] += g;
            grad[i] -= g;
        }
    }
}

template void multiclass_hinge<float>(const float*, const std::int32_t*, double*, double*, std::int64_t, std::int64_t);
template void multiclass_hinge<double>(const double*, const std::int32_t*, double*, double*, std::int64_t, std::int64_t);
template void expected_accuracy<float>(const float*, const std::int32_t*, double*, double*, std::int64_t, std::int64_t,
                                       const exact_options&);
template void expected_accuracy<double>(const double*, const std::int32_t*, double*, double*, std::int64_t,
                                        std::int64_t, const exact_options&);

}  // namespace stretch::cpu
