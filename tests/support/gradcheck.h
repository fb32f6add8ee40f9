// Finite-difference gradient checking for float64 tape gradients (header-only test support).
// `check_gradients` perturbs every entry of every parameter by ±h, re-evaluates the loss and
// compares the central difference (f(x+h) - f(x-h)) / 2h with the gradient the tape left in
// param->grad. It is exhaustive, not sampled: keep parameters small (a few hundred entries).
// `weighted_sum` turns any op output into a scalar loss with a fixed weighting, so an op's whole
// Jacobian is exercised by one backward. Not for f32: FD in f32 is dominated by rounding.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "autograd/ops.h"
#include "autograd/tape.h"
#include "core/error.h"

namespace stretch::test {

struct gradcheck_options {
    // Central differences in f64: truncation error ~ h^2 |f'''| / 6 ~ 1e-12, rounding error
    // ~ eps * sum|terms of f| / h ~ 1e-10 per unit of summed magnitude; h = 1e-6 keeps both far
    // below the gradients of O(1) losses.
    double h = 1e-6;
    // Denominator floor: a gradient entry below this in magnitude is judged by its absolute error
    // over the floor, since the FD rounding noise (1e-9 absolute for a loss summing tens of O(1)
    // terms) does not shrink with the gradient. With a relative tolerance of 1e-6 this still
    // catches a 1 % error on any gradient entry above 1e-6.
    double floor = 1e-2;
};

struct gradcheck_report {
    double max_relative_error = 0;
    std::string worst;  // where the worst entry is, with both values, for the failure message
    std::int64_t n_checked = 0;
};

// `loss` must recompute the scalar from the parameters' current values (no tape needed); `params`
// must be f64 and carry the tape gradient of that same loss in ->grad (an undefined grad is zero).
// Every parameter value is restored bit-for-bit afterwards.
inline gradcheck_report check_gradients(const std::function<double()>& loss, const std::vector<ag::var>& params,
                                        const gradcheck_options& options = {}) {
    gradcheck_report report;
    for (const ag::var& p : params) {
        STRETCH_ASSERT(p->value.type() == dtype::f64);
        STRETCH_ASSERT(!p->grad.defined() || p->grad.type() == dtype::f64);
        double* x = p->value.data<double>();
        const double* g = p->grad.defined() ? p->grad.data<double>() : nullptr;
        for (std::int64_t i = 0; i < p->value.numel(); ++i) {
            const double saved = x[i];
            x[i] = saved + options.h;
            const double up = loss();
            x[i] = saved - options.h;
            const double down = loss();
            x[i] = saved;
            const double fd = (up - down) / (2 * options.h);
            const double tape = g != nullptr ? g[i] : 0.0;
            const double err = std::abs(tape - fd) / std::max({std::abs(tape), std::abs(fd), options.floor});
            ++report.n_checked;
            if (err > report.max_relative_error || !std::isfinite(err)) {
                report.max_relative_error = std::isfinite(err) ? err : INFINITY;
                report.worst = fmt::format("{}[{}]: tape {:.12g}, finite difference {:.12g}", p->name, i, tape, fd);
            }
        }
    }
    return report;
}

inline double max_relative_error(const std::function<double()>& loss, const std::vector<ag::var>& params,
                                 const gradcheck_options& options = {}) {
    return check_gradients(loss, params, options).max_relative_error;
}

// sum(w ⊙ y) over the flat values; y and w have the same element count and dtype f64.
inline double weighted_sum_value(const tensor& y, const tensor& w) {
    STRETCH_ASSERT(y.numel() == w.numel());
    const double* py = y.data<double>();
    const double* pw = w.data<double>();
    double sum = 0;
    for (std::int64_t i = 0; i < y.numel(); ++i) sum += py[i] * pw[i];
    return sum;
}

// sum(w ⊙ y) as a recorded op: y is viewed as one row [1, n] (its node's value is reshaped in
// place, same storage; op backwards read their output gradient flat) and multiplied by w [1, n]
// through `linear`, whose backward hands w to y as its gradient. Use on an op's final output only.
inline ag::var weighted_sum(ag::context& ctx, const ag::var& y, const tensor& w) {
    const std::int64_t n = y->value.numel();
    STRETCH_ASSERT(w.numel() == n && w.type() == y->value.type());
    y->value = y->value.reshape({1, n});
    return ag::linear(ctx, y, ag::make_var(w.reshape({1, n}), "gradcheck.weights"), "gradcheck.loss");
}

}  // namespace stretch::test
