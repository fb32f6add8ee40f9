// The Walsh-Hadamard rotation of a quantised KV cache (kernels/cpu/hadamard.h) against Sylvester's
// matrix built entry by entry in float64: orthonormal (H H = I), and q . k unchanged.
#include "kernels/cpu/hadamard.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <vector>

#include "support/kernel_compare.h"

namespace stretch {
namespace {

// x H with H_ij = (-1)^popcount(i & j) / sqrt(n), the naive way.
std::vector<double> sylvester_times(const std::vector<double>& x, std::int64_t n) {
    std::vector<double> y(x.size(), 0.0);
    for (std::size_t r = 0; r < x.size() / std::size_t(n); ++r)
        for (std::int64_t j = 0; j < n; ++j)
            for (std::int64_t i = 0; i < n; ++i)
                y[r * std::size_t(n) + std::size_t(j)] += (std::popcount(std::uint64_t(i & j)) % 2 ? -1.0 : 1.0) *
                                                          x[r * std::size_t(n) + std::size_t(i)] / std::sqrt(double(n));
    return y;
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}

// float64: n log2 n additions per value of O(1) inputs, rounding ~1e-16 each; 1e-13 leaves margin
// and sits far below a wrong sign or order (O(1)).
TEST(KvCacheHadamard, IsSylvestersOrthonormalMatrix) {
    for (const std::int64_t n : {1, 2, 4, 8, 32, 64, 256}) {
        SCOPED_TRACE(n);
        const std::vector<double> x = test::random_vec(3 * n, std::uint64_t(n));
        std::vector<double> y = x;
        cpu::hadamard_rows(y.data(), 3, n);
        const std::vector<double> want = sylvester_times(x, n);
        for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], want[i], 1e-13);
        cpu::hadamard_rows(y.data(), 3, n);  // H is its own inverse
        for (std::size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], x[i], 1e-13);
        std::vector<float> f(x.begin(), x.end());  // the f32 instantiation: f32 rounding, ~1e-7 relative
        cpu::hadamard_rows(f.data(), 3, n);
        for (std::size_t i = 0; i < f.size(); ++i) EXPECT_NEAR(f[i], want[i], 1e-5);
    }
}

TEST(KvCacheHadamard, KeepsQueryKeyProductsAndChoosesTheLargestPowerOfTwoBlock) {
    EXPECT_EQ(cpu::hadamard_block(64), 64);
    EXPECT_EQ(cpu::hadamard_block(96), 32);
    EXPECT_EQ(cpu::hadamard_block(256), 256);
    EXPECT_EQ(cpu::hadamard_block(80), 16);
    // A head of 96 values rotated in three blocks of 32 (block-diagonal H is orthonormal too).
    const std::vector<double> q = test::random_vec(96, 7), k = test::random_vec(96, 8, 3.0, 1.0);
    std::vector<double> hq = q, hk = k;
    cpu::hadamard_rows(hq.data(), 3, 32);
    cpu::hadamard_rows(hk.data(), 3, 32);
    EXPECT_NEAR(dot(hq, hk), dot(q, k), 1e-12 * std::sqrt(dot(q, q) * dot(k, k)));
    EXPECT_NEAR(dot(hk, hk), dot(k, k), 1e-12 * dot(k, k));
}

}  // namespace
}  // namespace stretch
