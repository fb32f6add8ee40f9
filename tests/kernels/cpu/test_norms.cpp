// kernels/cpu/norms (RMSNorm) against the float64 oracle: forward (with and without gain, the
// saved 1/rms), backward dx and dg (both accumulate), in f32 and f64, at odd row counts and widths
// 8/64/127; and reproducible f32 gain gradients per thread count.
#include "kernels/cpu/norms.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/ref/ref.h"
#include "support/kernel_compare.h"

namespace stretch {
namespace {

using ref::vec;
using test::as;
using test::max_scaled_error;
using test::random_vec;
using test::thread_count_guard;

// f32 (eps 6e-8): the sum of squares is accumulated in double by the kernel, so the forward's
// error is a handful of f32 roundings per element (~3e-7 relative). The backward's dot product is
// in double too but dg sums `rows` f32 terms: ~sqrt(rows) * 6e-8 (measured 4.5e-7 of the RMS
// over all outputs). 1e-5 keeps a >10x margin.
constexpr double f32_tol = 1e-5;
// f64: a few roundings per element plus length-C sums, ~1e-15 relative; 1e-12 is far above that
// and far below any formula error.
constexpr double f64_tol = 1e-12;
constexpr double eps = 1e-5;

// Max absolute error over the RMS of the reference.
template <class T>
void check_rmsnorm(double tol) {
    for (std::int64_t rows : {1, 7, 33})
        for (std::int64_t c : {8, 64, 127})
            for (bool with_gain : {true, false}) {
                SCOPED_TRACE(testing::Message() << "rows=" << rows << " c=" << c << " gain=" << with_gain);
                const vec x = random_vec(rows * c, 1), dy = random_vec(rows * c, 3);
                const vec g = with_gain ? random_vec(c, 2) : vec{};
                const std::vector<T> xt = as<T>(x), gt = as<T>(g);
                const T* gp = with_gain ? gt.data() : nullptr;

                std::vector<T> y(x.size()), rstd(static_cast<std::size_t>(rows));
                cpu::rmsnorm_forward<T>(xt.data(), gp, y.data(), rstd.data(), rows, c, eps);
                EXPECT_LT(max_scaled_error(y, ref::rmsnorm(x, g, rows, c, eps)), tol);
                vec rstd_want(static_cast<std::size_t>(rows));
                for (std::int64_t r = 0; r < rows; ++r) {
                    double sum_sq = 0;
                    for (std::int64_t i = 0; i < c; ++i) sum_sq += x[r * c + i] * x[r * c + i];
                    rstd_want[r] = 1.0 / std::sqrt(sum_sq / double(c) + eps);
                }
                EXPECT_LT(max_scaled_error(rstd, rstd_want), tol);

                vec dx_want, dg_want;
                ref::rmsnorm_backward(x, g, dy, dx_want, dg_want, rows, c, eps);
                // Prefilled: both gradients accumulate.
                const vec dx0 = random_vec(rows * c, 4), dg0 = random_vec(c, 5);
                std::vector<T> dx = as<T>(dx0), dg = as<T>(dg0);
                cpu::rmsnorm_backward<T>(xt.data(), gp, rstd.data(), as<T>(dy).data(), dx.data(),
                                         with_gain ? dg.data() : nullptr, rows, c);
                for (std::size_t i = 0; i < dx_want.size(); ++i) dx_want[i] += dx0[i];
                EXPECT_LT(max_scaled_error(dx, dx_want), tol);
                if (with_gain) {
                    for (std::size_t i = 0; i < dg_want.size(); ++i) dg_want[i] += dg0[i];
                    EXPECT_LT(max_scaled_error(dg, dg_want), tol);
                } else {
                    EXPECT_EQ(dg, as<T>(dg0)) << "dg written although null was passed";
                }
            }
}

TEST(KernelNorms, RmsnormF32MatchesRef) { check_rmsnorm<float>(f32_tol); }

TEST(KernelNorms, RmsnormF64MatchesRef) { check_rmsnorm<double>(f64_tol); }

TEST(KernelNorms, RmsnormMatchesRefWithThreeThreads) {
    thread_count_guard guard;
    set_threads(3);
    check_rmsnorm<float>(f32_tol);
}

TEST(KernelNorms, ForwardWithoutRstdOutput) {
    const vec x = random_vec(3 * 8, 6);
    std::vector<float> y(x.size());
    cpu::rmsnorm_forward<float>(as<float>(x).data(), nullptr, y.data(), nullptr, 3, 8, eps);
    EXPECT_LT(max_scaled_error(y, ref::rmsnorm(x, {}, 3, 8, eps)), f32_tol);
}

TEST(KernelNorms, RmsnormGainGradientIsReproduciblePerThreadCount) {
    thread_count_guard guard;
    const std::int64_t rows = 41, c = 24;
    const auto x = as<float>(random_vec(rows * c, 7)), g = as<float>(random_vec(c, 8));
    const auto dy = as<float>(random_vec(rows * c, 9));
    const auto dg_with = [&](int threads) {
        set_threads(threads);
        std::vector<float> y(x.size()), rstd(static_cast<std::size_t>(rows)), dx(x.size());
        std::vector<float> dg(static_cast<std::size_t>(c));
        cpu::rmsnorm_forward<float>(x.data(), g.data(), y.data(), rstd.data(), rows, c, eps);
        cpu::rmsnorm_backward<float>(x.data(), g.data(), rstd.data(), dy.data(), dx.data(), dg.data(), rows, c);
        return dg;
    };
    const auto one = dg_with(1), three = dg_with(3);
    EXPECT_EQ(one, dg_with(1));  // bit-for-bit: partial sums per fixed chunk, added in thread order
    EXPECT_EQ(three, dg_with(3));
    // 1 vs 3 threads regroups a 41-term f32 sum: ~sqrt(41) * 6e-8 relative; 1e-5 is a wide margin.
    EXPECT_LT(max_scaled_error(three, vec(one.begin(), one.end())), f32_tol);
}

}  // namespace
}  // namespace stretch
