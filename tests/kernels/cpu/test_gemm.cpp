// kernels/cpu/gemm against the float64 oracle (kernels/ref): linear forward and backward in f32
// and f64 at awkward sizes (both ways the pool splits the work), the raw gemm's transposes and
// leading dimensions, and that the thread pool gives reproducible f32 results per thread count.
// Errors are measured relative to the RMS of the reference output (a dot product's rounding error
// scales with the size of its terms, not with its possibly-cancelled result).
#include "kernels/cpu/gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <tuple>
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

// f32 has a 24-bit mantissa (eps 6e-8); a length-K dot product accumulates relative error
// ~sqrt(K) * 6e-8 in a random walk (BLAS blocking and FMA only reduce it); K <= 513 gives ~1.4e-6
// (measured 1.2e-6 of the RMS). 1e-5 leaves a ~8x margin.
constexpr double f32_tol = 1e-5;
// f64 (eps 1.1e-16) through the same sums: ~sqrt(513) * 1.1e-16 = 2.5e-15; 1e-12 is far above
// rounding and far below any indexing or transpose bug (which gives O(1) errors).
constexpr double f64_tol = 1e-12;

// Standard normal values rounded to f32, so the f32 kernel and the oracle see identical inputs.
// (m, k, n): a single row, odd everything, K past a power of two, and M large enough that the
// pool splits rows (M >= 16 * threads) as well as small enough that it splits output columns.
const std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t>> shapes = {
    {1, 8, 1}, {7, 64, 13}, {5, 128, 3}, {65, 33, 17}, {17, 513, 9}};

template <class T>
void check_linear(double tol) {
    for (const auto& [m, k, n] : shapes) {
        SCOPED_TRACE(testing::Message() << "m=" << m << " k=" << k << " n=" << n);
        const vec x = random_vec(m * k, 1), w = random_vec(n * k, 2), dy = random_vec(m * n, 3);
        std::vector<T> y(static_cast<std::size_t>(m * n));
        cpu::linear_forward<T>(as<T>(x).data(), as<T>(w).data(), y.data(), m, k, n);
        EXPECT_LT(max_scaled_error(y, ref::matmul(x, w, m, k, n)), tol);

        vec dx_ref, dw_ref;
        ref::matmul_backward(x, w, dy, dx_ref, dw_ref, m, k, n);
        // Prefilled outputs: dx is overwritten or accumulated by the flag, dw always accumulates.
        const vec dx0 = random_vec(m * k, 4), dw0 = random_vec(n * k, 5);
        for (bool accumulate : {false, true}) {
            std::vector<T> dx = as<T>(dx0), dw = as<T>(dw0);
            cpu::linear_backward<T>(as<T>(x).data(), as<T>(w).data(), as<T>(dy).data(), dx.data(), dw.data(), m, k,
                                    n, accumulate);
            vec dx_want = dx_ref, dw_want = dw_ref;
            for (std::size_t i = 0; i < dw_want.size(); ++i) dw_want[i] += dw0[i];
            if (accumulate)
                for (std::size_t i = 0; i < dx_want.size(); ++i) dx_want[i] += dx0[i];
            EXPECT_LT(max_scaled_error(dx, dx_want), tol) << "accumulate=" << accumulate;
            EXPECT_LT(max_scaled_error(dw, dw_want), tol) << "accumulate=" << accumulate;
        }
        // Either gradient may be skipped.
        std::vector<T> dx(static_cast<std::size_t>(m * k));
        cpu::linear_backward<T>(as<T>(x).data(), as<T>(w).data(), as<T>(dy).data(), dx.data(), nullptr, m, k, n,
                                false);
        EXPECT_LT(max_scaled_error(dx, dx_ref), tol);
    }
}

TEST(KernelGemm, LinearF32MatchesRef) { check_linear<float>(f32_tol); }

TEST(KernelGemm, LinearF64MatchesRef) { check_linear<double>(f64_tol); }

TEST(KernelGemm, LinearMatchesRefWithThreeThreads) {
    // Three threads split M = 65 rows unevenly and N = 13 columns unevenly (chunks of 4, 4, 5).
    thread_count_guard guard;
    set_threads(3);
    check_linear<float>(f32_tol);
}

TEST(KernelGemm, RawGemmTransposesAndLeadingDimensions) {
    // C[M,N] = alpha op(A) op(B) + beta C with every matrix inside a wider row (ld > width), as
    // attention calls it on one head of a [T, H*D] buffer.
    const std::int64_t m = 5, n = 7, k = 9, pad = 3;
    const double alpha = 0.5, beta = -2.0;
    const vec a = random_vec(m * k, 6), b = random_vec(k * n, 7), c0 = random_vec(m * n, 8);
    for (bool ta : {false, true})
        for (bool tb : {false, true}) {
            SCOPED_TRACE(testing::Message() << "trans_a=" << ta << " trans_b=" << tb);
            // Store op(A) = a as A (ta: A is [K, M]) and op(B) = b as B (tb: B is [N, K]).
            const std::int64_t a_rows = ta ? k : m, a_cols = ta ? m : k;
            const std::int64_t b_rows = tb ? n : k, b_cols = tb ? k : n;
            const std::int64_t lda = a_cols + pad, ldb = b_cols + pad, ldc = n + pad;
            std::vector<float> pa(static_cast<std::size_t>(a_rows * lda), 99.0f);
            std::vector<float> pb(static_cast<std::size_t>(b_rows * ldb), 99.0f);
            std::vector<float> pc(static_cast<std::size_t>(m * ldc), 77.0f);
            for (std::int64_t i = 0; i < m; ++i)
                for (std::int64_t l = 0; l < k; ++l) pa[ta ? l * lda + i : i * lda + l] = float(a[i * k + l]);
            for (std::int64_t l = 0; l < k; ++l)
                for (std::int64_t j = 0; j < n; ++j) pb[tb ? j * ldb + l : l * ldb + j] = float(b[l * n + j]);
            for (std::int64_t i = 0; i < m; ++i)
                for (std::int64_t j = 0; j < n; ++j) pc[i * ldc + j] = float(c0[i * n + j]);
            cpu::gemm<float>(ta, tb, m, n, k, float(alpha), pa.data(), lda, pb.data(), ldb, float(beta), pc.data(),
                             ldc);
            // The oracle's matmul takes w as [N, K]: pass b transposed.
            vec bt(static_cast<std::size_t>(n * k));
            for (std::int64_t l = 0; l < k; ++l)
                for (std::int64_t j = 0; j < n; ++j) bt[j * k + l] = b[l * n + j];
            const vec ab = ref::matmul(a, bt, m, k, n);
            std::vector<float> got(static_cast<std::size_t>(m * n));
            vec want(got.size());
            for (std::int64_t i = 0; i < m; ++i)
                for (std::int64_t j = 0; j < n; ++j) {
                    got[i * n + j] = pc[i * ldc + j];
                    want[i * n + j] = alpha * ab[i * n + j] + beta * c0[i * n + j];
                    EXPECT_EQ(pc[i * ldc + n], 77.0f) << "padding of row " << i << " was written";
                }
            EXPECT_LT(max_scaled_error(got, want), f32_tol);
        }
}

TEST(KernelGemm, LinearBackwardDwIsReproduciblePerThreadCount) {
    thread_count_guard guard;
    const std::int64_t m = 37, k = 24, n = 11;
    const auto x = as<float>(random_vec(m * k, 9)), w = as<float>(random_vec(n * k, 10));
    const auto dy = as<float>(random_vec(m * n, 11));
    const auto dw_with = [&](int threads) {
        set_threads(threads);
        std::vector<float> dw(static_cast<std::size_t>(n * k));
        cpu::linear_backward<float>(x.data(), w.data(), dy.data(), nullptr, dw.data(), m, k, n, false);
        return dw;
    };
    const auto one = dw_with(1), three = dw_with(3);
    EXPECT_EQ(one, dw_with(1));  // bit-for-bit: a fixed partition gives fixed sums
    EXPECT_EQ(three, dw_with(3));
    // Across thread counts only the BLAS blocking of a length-M sum may change: f32 rounding of a
    // 37-term dot product, ~sqrt(37) * 6e-8 relative; 1e-5 of the RMS is a wide margin.
    vec one_d(one.begin(), one.end());
    EXPECT_LT(max_scaled_error(three, one_d), f32_tol);
}

}  // namespace
}  // namespace stretch
