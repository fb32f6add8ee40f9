// FLASH's chunked linear attention (kernels/cpu/chunked_linear_attention.h) against methods.md D6's
// masked sum written out pair by pair in float64: out_i = sum_{j in earlier chunks} (q_i . k_j) v_j
// / (g_i c), g_i = floor(i / c), and 0 in the first chunk. The running sum over chunks and the
// two-pass backward must give that sum and its gradients, in f32 and f64, at every thread count.
#include "kernels/cpu/chunked_linear_attention.h"

#include <gtest/gtest.h>

#include "support/kernel_compare.h"

namespace stretch {
namespace {

struct shape {
    std::int64_t batch, time, key_dim, value_dim, chunk;
};

// The masked sum and its gradients for L = sum(dout ⊙ out).
struct naive_result {
    ref::vec out, dq, dk, dv;
};

naive_result naive(const ref::vec& q, const ref::vec& k, const ref::vec& v, const ref::vec& dout, const shape& s) {
    const std::int64_t T = s.time, S = s.key_dim, E = s.value_dim, c = s.chunk;
    naive_result r{ref::vec(v.size(), 0.0), ref::vec(q.size(), 0.0), ref::vec(k.size(), 0.0), ref::vec(v.size(), 0.0)};
    for (std::int64_t b = 0; b < s.batch; ++b)
        for (std::int64_t i = 0; i < T; ++i)
            for (std::int64_t j = 0; j < T; ++j) {
                const std::int64_t g = i / c;
                if (j / c >= g) continue;  // only chunks before i's
                const std::size_t qi = std::size_t((b * T + i) * S), kj = std::size_t((b * T + j) * S);
                const std::size_t oi = std::size_t((b * T + i) * E), vj = std::size_t((b * T + j) * E);
                const double norm = double(g * c);
                double score = 0, dscore = 0;
                for (std::int64_t d = 0; d < S; ++d) score += q[qi + std::size_t(d)] * k[kj + std::size_t(d)];
                for (std::int64_t d = 0; d < E; ++d) {
                    r.out[oi + std::size_t(d)] += score * v[vj + std::size_t(d)] / norm;
                    r.dv[vj + std::size_t(d)] += score * dout[oi + std::size_t(d)] / norm;
                    dscore += dout[oi + std::size_t(d)] * v[vj + std::size_t(d)] / norm;
                }
                for (std::int64_t d = 0; d < S; ++d) {
                    r.dq[qi + std::size_t(d)] += dscore * k[kj + std::size_t(d)];
                    r.dk[kj + std::size_t(d)] += dscore * q[qi + std::size_t(d)];
                }
            }
    return r;
}

template <class T>
void check(const shape& s, double tol) {
    const std::int64_t nq = s.batch * s.time * s.key_dim, nv = s.batch * s.time * s.value_dim;
    const ref::vec q = test::random_vec(nq, 1), k = test::random_vec(nq, 2), v = test::random_vec(nv, 3);
    const ref::vec dout = test::random_vec(nv, 4);
    const naive_result want = naive(q, k, v, dout, s);
    const auto tq = test::as<T>(q), tk = test::as<T>(k), tv = test::as<T>(v), tdout = test::as<T>(dout);
    std::vector<T> out(std::size_t(nv), T(7)), dq(std::size_t(nq), T(0)), dk(std::size_t(nq), T(0)), dv(std::size_t(nv), T(0));
    cpu::chunked_linear_attention_forward<T>(tq.data(), tk.data(), tv.data(), out.data(), s.batch, s.time, s.key_dim,
                                             s.value_dim, s.chunk);
    cpu::chunked_linear_attention_backward<T>(tq.data(), tk.data(), tv.data(), tdout.data(), dq.data(), dk.data(),
                                              dv.data(), s.batch, s.time, s.key_dim, s.value_dim, s.chunk);
    EXPECT_LT(test::max_scaled_error(out, want.out), tol) << "out";
    EXPECT_LT(test::max_scaled_error(dq, want.dq), tol) << "dq";
    EXPECT_LT(test::max_scaled_error(dk, want.dk), tol) << "dk";
    EXPECT_LT(test::max_scaled_error(dv, want.dv), tol) << "dv";
    for (std::int64_t b = 0; b < s.batch; ++b)  // the first chunk reads nothing: exactly 0, not the 7 left there
        for (std::int64_t n = 0; n < std::min(s.chunk, s.time) * s.value_dim; ++n)
            EXPECT_EQ(out[std::size_t(b * s.time * s.value_dim + n)], T(0));
}

// (batch, T, S, E, c): partial last chunk, an even split, chunk 1 (every earlier token), one chunk
// only (all zero), several sequences.
const std::vector<shape> shapes = {{1, 11, 4, 6, 3}, {2, 8, 4, 8, 4}, {1, 6, 2, 3, 1}, {1, 5, 4, 4, 8}, {3, 9, 8, 16, 2}};

TEST(ChunkedLinearAttention, F64EqualsTheMaskedSum) {
    // f64 throughout, sums of <= 11 * 16 terms in another order: ~1e-15; 1e-12 leaves room and is
    // far below any wrong chunk or divisor (>= 1e-2 relative).
    test::thread_count_guard guard;
    for (const int threads : {1, 2, 3}) {
        set_threads(threads);
        for (const auto& s : shapes) check<double>(s, 1e-12);
    }
}

TEST(ChunkedLinearAttention, F32EqualsTheMaskedSum) {
    // f32 rounding (6e-8) over running sums of <= 8 chunks of <= 16 products: measured ~3e-7 of the
    // output's RMS; 1e-5 keeps a 30x margin.
    for (const auto& s : shapes) check<float>(s, 1e-5);
}

}  // namespace
}  // namespace stretch
