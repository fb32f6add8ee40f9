// kernels/cpu/attention against the float64 oracle, which materialises every score with an
// explicit j <= T_k - T_q + i mask: output, saved probabilities and the backward (dq, dk, dv
// accumulating into prefilled buffers) in f32 and f64, for GQA ratios 1, 2, 4, head dims 8/64/128,
// odd T, and T_q < T_k (a KV-cache decode, including a single query).
#include "kernels/cpu/attention.h"

#include <gtest/gtest.h>

#include <algorithm>
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

// f32 (eps 6e-8): a score is a length-D dot product (~sqrt(D) * 6e-8 relative, D <= 128: ~7e-7 of
// |q||k| scale ~ 1), and an absolute score error e becomes a relative error e in its probability;
// the output and gradients are then length-T_k and length-D sums of those (~sqrt(T) more).
// Measured: 1e-6 (output, probs) to 2.2e-6 (dk) of the RMS; 2e-5 is a ~9x margin yet far below
// any masking or head-indexing bug (which moves results by O(1) of the RMS).
constexpr double f32_tol = 2e-5;
// f64: the same chains at 1.1e-16: ~1e-14; 1e-12 keeps a wide margin.
constexpr double f64_tol = 1e-12;

struct attention_case {
    std::int64_t batch, time_q, time_k, heads, heads_kv, head_dim;
};

const std::vector<attention_case> cases = {
    {2, 7, 7, 4, 4, 8},      // GQA 1, odd T
    {2, 7, 7, 4, 2, 8},      // GQA 2
    {1, 5, 13, 8, 2, 64},    // GQA 4, T_q < T_k
    {1, 1, 9, 2, 1, 128},    // one query against a cache (decode), GQA 2
    {1, 3, 11, 4, 1, 64},    // GQA 4, T_q < T_k
    {1, 9, 9, 2, 2, 128},    // D = 128
};

template <class T>
void check_attention(double tol) {
    for (const auto& c : cases) {
        SCOPED_TRACE(testing::Message() << "B=" << c.batch << " Tq=" << c.time_q << " Tk=" << c.time_k << " H="
                                        << c.heads << " Hkv=" << c.heads_kv << " D=" << c.head_dim);
        const cpu::attention_dims d{c.batch, c.time_q, c.time_k, c.heads, c.heads_kv, c.head_dim};
        const ref::attention_shape s{c.batch, c.time_q, c.time_k, c.heads, c.heads_kv, c.head_dim};
        const double scale = 1.0 / std::sqrt(double(c.head_dim));
        const std::int64_t n_q = c.batch * c.time_q * c.heads * c.head_dim;
        const std::int64_t n_kv = c.batch * c.time_k * c.heads_kv * c.head_dim;
        const vec q = random_vec(n_q, 1), k = random_vec(n_kv, 2), v = random_vec(n_kv, 3);
        const vec dout = random_vec(n_q, 4);
        const auto qt = as<T>(q), kt = as<T>(k), vt = as<T>(v);

        std::vector<T> out(q.size()), probs(static_cast<std::size_t>(c.batch * c.heads * c.time_q * c.time_k), T(9));
        cpu::attention_forward<T>(qt.data(), kt.data(), vt.data(), out.data(), probs.data(), d, T(scale));
        EXPECT_LT(max_scaled_error(out, ref::attention(q, k, v, s, scale)), tol);
        vec probs_want = ref::attention_scores(q, k, s, scale);
        for (std::size_t row = 0; row < probs_want.size(); row += std::size_t(c.time_k)) {
            const auto first = probs_want.begin() + std::ptrdiff_t(row);
            const vec p = ref::softmax(vec(first, first + c.time_k));
            std::copy(p.begin(), p.end(), first);
        }
        EXPECT_LT(max_scaled_error(probs, probs_want), tol);
        // Future keys must be exactly 0, not merely small.
        for (std::size_t i = 0; i < probs.size(); ++i)
            if (probs_want[i] == 0.0) {
                ASSERT_EQ(probs[i], T(0)) << "masked probability " << i;
            }

        // Without a probs buffer the kernel takes the tiled online-softmax path: same values up to
        // the order of the sums.
        std::vector<T> out2(q.size());
        cpu::attention_forward<T>(qt.data(), kt.data(), vt.data(), out2.data(), nullptr, d, T(scale));
        EXPECT_LT(max_scaled_error(out2, ref::attention(q, k, v, s, scale)), tol) << "tiled";

        vec dq_want, dk_want, dv_want;
        ref::attention_backward(q, k, v, dout, dq_want, dk_want, dv_want, s, scale);
        const vec dq0 = random_vec(n_q, 5), dk0 = random_vec(n_kv, 6), dv0 = random_vec(n_kv, 7);
        std::vector<T> dq = as<T>(dq0), dk = as<T>(dk0), dv = as<T>(dv0);
        cpu::attention_backward<T>(qt.data(), kt.data(), vt.data(), probs.data(), as<T>(dout).data(), dq.data(),
                                   dk.data(), dv.data(), d, T(scale));
        // Compare the increments: the prefill is O(1) and would otherwise dilute the error measure.
        const auto increment = [](const std::vector<T>& after, const vec& before) {
            vec inc(before.size());
            for (std::size_t i = 0; i < inc.size(); ++i) inc[i] = double(after[i]) - before[i];
            return inc;
        };
        // Subtracting the f32 prefill back out costs one f32 rounding of an O(1) value (6e-8).
        EXPECT_LT(max_scaled_error(increment(dq, dq0), dq_want), tol) << "dq";
        EXPECT_LT(max_scaled_error(increment(dk, dk0), dk_want), tol) << "dk";
        EXPECT_LT(max_scaled_error(increment(dv, dv0), dv_want), tol) << "dv";
    }
}

TEST(KernelAttention, F32MatchesRef) { check_attention<float>(f32_tol); }

TEST(KernelAttention, F64MatchesRef) { check_attention<double>(f64_tol); }

TEST(KernelAttention, F32MatchesRefWithThreeThreads) {
    // Three threads split B * H (forward) and B * H_kv (backward) units unevenly.
    thread_count_guard guard;
    set_threads(3);
    check_attention<float>(f32_tol);
}

}  // namespace
}  // namespace stretch

namespace stretch {
namespace {

// The tiled inference path against the materialised one (itself checked against the oracle above
// and by finite differences with every rule in tests/autograd), in float64 at awkward sizes: T not
// a multiple of the 64 x 256 tiles, decode rows, head dims 8/64/128, GQA ratios 1/3/4, and every
// rule. Only summation order differs: 1e-12 relative.
TEST(KernelAttention, TiledEqualsMaterialisedForEveryRule) {
    struct shape { std::int64_t time_q, time_k, heads, heads_kv, head_dim; };
    const shape shapes[] = {{300, 300, 3, 1, 8}, {1, 700, 4, 4, 64}, {100, 517, 4, 1, 128}, {257, 257, 6, 2, 64}};
    for (const auto& sh : shapes)
        for (int variant = 0; variant < 5; ++variant) {
            SCOPED_TRACE(testing::Message() << "Tq=" << sh.time_q << " Tk=" << sh.time_k << " D=" << sh.head_dim
                                            << " variant " << variant);
            const cpu::attention_dims d{1, sh.time_q, sh.time_k, sh.heads, sh.heads_kv, sh.head_dim};
            cpu::attention_rules rules;
            if (variant == 1) { rules.window = 50; rules.n_sink = 4; }
            if (variant >= 2) rules.far_from = 37;
            if (variant == 4) {  // relu^2 / n with ALiBi slopes
                rules.far_from = 0;
                for (std::int64_t i = 0; i < sh.time_q; ++i) rules.relu2_divisor.push_back(double(sh.time_k));
                for (std::int64_t h = 0; h < sh.heads; ++h) rules.head_slopes.push_back(0.01 * double(h + 1));
            }
            if (variant == 3) {
                rules.window = 300;
                for (std::int64_t i = 0; i < sh.time_q; ++i) rules.query_scale.push_back(1.0 + 0.001 * double(i));
            }
            const std::int64_t n_q = sh.time_q * sh.heads * sh.head_dim, n_kv = sh.time_k * sh.heads_kv * sh.head_dim;
            const vec q = random_vec(n_q, 21), k = random_vec(n_kv, 22), v = random_vec(n_kv, 23);
            const vec qf = random_vec(n_q, 24), kf = random_vec(n_kv, 25);
            const cpu::far_operands<double> far = rules.far_from > 0 ? cpu::far_operands<double>{qf.data(), kf.data()}
                                                                     : cpu::far_operands<double>{};
            const double scale = 1.0 / std::sqrt(double(sh.head_dim));
            std::vector<double> probs(std::size_t(sh.heads * sh.time_q * sh.time_k)), want(q.size()), got(q.size());
            cpu::attention_forward<double>(q.data(), k.data(), v.data(), want.data(), probs.data(), d, scale, rules, far);
            cpu::attention_forward<double>(q.data(), k.data(), v.data(), got.data(), nullptr, d, scale, rules, far);
            EXPECT_LT(max_scaled_error(got, want), 1e-12);
        }
}

}  // namespace
}  // namespace stretch
