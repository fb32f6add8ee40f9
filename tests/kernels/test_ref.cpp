// Sanity of the float64 oracle itself (kernels/ref): closed forms and identities that hold by
// construction (softmax of equal logits, cross-entropy of uniform logits, RoPE's invariants of
// methods.md A5/A7, attention with a single key), and each ref backward against central finite
// differences of the ref forward. Not a test of kernels/cpu: those live in tests/kernels/cpu.
#include "kernels/ref/ref.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <random>

namespace stretch {
namespace {

using ref::vec;

// Every identity here is exact in real arithmetic; in f64 it holds to a few ulps per operation and
// the longest chain below is ~100 operations: 1e-13 absolute on O(1) values.
constexpr double exact_tol = 1e-13;
// Central differences in f64 with h = 1e-6: truncation O(h^2) ~ 1e-12, rounding ~ eps/h ~ 1e-10
// on O(1) values; 1e-7 absolute leaves room for derivatives up to ~10 and sums of ~100 terms.
constexpr double fd_tol = 1e-7;

vec random_vec(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 engine(seed);
    std::normal_distribution<double> normal;
    vec x(n);
    for (double& v : x) v = normal(engine);
    return x;
}

double dot(const vec& a, const vec& b) {
    double s = 0;
    for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
    return s;
}

double norm(const vec& a) { return std::sqrt(dot(a, a)); }

void expect_near(const vec& a, const vec& b, double tol) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], tol) << "index " << i;
}

// d/dx_i of f at x by central differences, every entry.
vec finite_difference(const std::function<double(const vec&)>& f, vec x) {
    constexpr double h = 1e-6;
    vec grad(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) {
        const double saved = x[i];
        x[i] = saved + h;
        const double up = f(x);
        x[i] = saved - h;
        const double down = f(x);
        x[i] = saved;
        grad[i] = (up - down) / (2 * h);
    }
    return grad;
}

TEST(RefSoftmax, EqualLogitsAreUniformAndShiftInvariant) {
    const vec p = ref::softmax(vec(7, 3.25));
    for (double pi : p) EXPECT_NEAR(pi, 1.0 / 7, exact_tol);
    const vec z = random_vec(9, 1);
    vec shifted = z;
    for (double& v : shifted) v += 100.0;
    expect_near(ref::softmax(z), ref::softmax(shifted), exact_tol);
    EXPECT_NEAR(dot(ref::softmax(z), vec(9, 1.0)), 1.0, exact_tol);
}

TEST(RefSoftmax, MaskedEntriesGetExactlyZero) {
    const double inf = std::numeric_limits<double>::infinity();
    const vec p = ref::softmax({0.5, -inf, 0.5, -inf});
    EXPECT_EQ(p[1], 0.0);
    EXPECT_EQ(p[3], 0.0);
    EXPECT_NEAR(p[0], 0.5, exact_tol);
}

TEST(RefCrossEntropy, UniformLogitsGiveLogVocabAndIgnoredRowsGiveZero) {
    const std::int64_t n = 3, v = 11;
    const vec logits(n * v, -2.5);
    const vec losses = ref::cross_entropy(logits, {4, -1, 10}, n, v);
    EXPECT_NEAR(losses[0], std::log(double(v)), exact_tol);
    EXPECT_EQ(losses[1], 0.0);
    EXPECT_NEAR(losses[2], std::log(double(v)), exact_tol);
    // Equals -log softmax(z)[y] on random logits.
    const vec z = random_vec(v, 2);
    EXPECT_NEAR(ref::cross_entropy(z, {3}, 1, v)[0], -std::log(ref::softmax(z)[3]), exact_tol);
}

TEST(RefMatmul, SmallClosedForm) {
    // x [2,3], w [2,3]: y = x w^T
    const vec y = ref::matmul({1, 2, 3, 4, 5, 6}, {1, 0, -1, 2, 1, 0}, 2, 3, 2);
    expect_near(y, {-2, 4, -2, 13}, 0.0);
}

TEST(RefRmsnorm, UnitRmsAndGain) {
    const std::int64_t rows = 3, c = 10;
    const vec x = random_vec(rows * c, 3);
    const vec y = ref::rmsnorm(x, {}, rows, c, 0.0);
    for (std::int64_t r = 0; r < rows; ++r) {
        const vec row(y.begin() + r * c, y.begin() + (r + 1) * c);
        EXPECT_NEAR(dot(row, row) / double(c), 1.0, exact_tol);
    }
    const vec g = random_vec(c, 4);
    const vec yg = ref::rmsnorm(x, g, rows, c, 0.0);
    for (std::int64_t i = 0; i < rows * c; ++i) EXPECT_NEAR(yg[i], y[i] * g[i % c], exact_tol);
}

TEST(RefSwiglu, SiluLimits) {
    EXPECT_EQ(ref::silu(0.0), 0.0);
    EXPECT_NEAR(ref::silu(40.0), 40.0, 1e-12);      // sigmoid(40) = 1 - 4e-18
    EXPECT_NEAR(ref::silu(-40.0), 0.0, 1e-15);      // -40 e^-40 ~ -2e-16
    EXPECT_NEAR(ref::silu(1.0), 1.0 / (1.0 + std::exp(-1.0)), exact_tol);
    expect_near(ref::swiglu({0, 2}, {5, 3}), {0, 3 * ref::silu(2)}, exact_tol);
}

// Published values of the tanh approximation: gelu(1) = 0.841192 and gelu(-1) = -0.158808
// (Hendrycks & Gimpel; PyTorch's gelu(approximate='tanh') prints the same to 6 digits).
TEST(RefGeglu, GeluTanhValues) {
    EXPECT_EQ(ref::gelu_tanh(0.0), 0.0);
    EXPECT_NEAR(ref::gelu_tanh(1.0), 0.841192, 1e-6);
    EXPECT_NEAR(ref::gelu_tanh(-1.0), -0.158808, 1e-6);
    EXPECT_NEAR(ref::gelu_tanh(40.0), 40.0, 1e-12);
    expect_near(ref::geglu({0, 1}, {5, 3}), {0, 3 * ref::gelu_tanh(1)}, exact_tol);
}

TEST(RefEmbedding, PicksRowsAndBackwardScattersRepeats) {
    const vec table = {0, 1, 10, 11, 20, 21};  // [3, 2]
    expect_near(ref::embedding(table, {2, 0, 2}, 2), {20, 21, 0, 1, 20, 21}, 0.0);
    expect_near(ref::embedding_backward({2, 0, 2}, {1, 2, 3, 4, 5, 6}, 3, 2), {3, 4, 0, 0, 6, 8}, 0.0);
}

constexpr ref::rope_pairing both_pairings[] = {ref::rope_pairing::interleaved, ref::rope_pairing::half};

TEST(RefRope, PreservesNormsIdentityAtZeroAndComposes) {
    const std::int64_t batch = 2, time = 5, heads = 3, head_dim = 8;
    const vec x = random_vec(batch * time * heads * head_dim, 5);
    const vec a = {0, 1, 7, 123.5, 9999}, b = {3, -1, 0.25, 40000, 2};
    vec sum(a.size());
    for (std::size_t t = 0; t < a.size(); ++t) sum[t] = a[t] + b[t];
    for (auto pairing : both_pairings)
        for (std::int64_t n_rot : {8, 4}) {
            const auto rope = [&](const vec& in, const vec& pos) {
                return ref::rope(in, batch, time, heads, head_dim, n_rot, pos, 10000.0, pairing);
            };
            expect_near(rope(x, vec(time, 0.0)), x, 0.0);
            const vec y = rope(x, a);
            // |RoPE(x, p)| = |x| head by head, not only overall.
            for (std::size_t row = 0; row < x.size(); row += head_dim) {
                const vec xh(x.begin() + row, x.begin() + row + head_dim);
                const vec yh(y.begin() + row, y.begin() + row + head_dim);
                EXPECT_NEAR(norm(yh), norm(xh), exact_tol);
            }
            // Angles up to 5e4 rad: cos/sin of a large double argument are accurate to ~1 ulp of the
            // argument (~7e-12), so the composition holds to ~1e-11, not to exact_tol.
            expect_near(rope(y, b), rope(x, sum), 1e-10);
            // The inverse is the rotation by -p (the backward of ops.h).
            vec minus_a = a;
            for (double& p : minus_a) p = -p;
            expect_near(rope(y, minus_a), x, 1e-12);
        }
}

TEST(RefRope, PartialRotaryPassesTheTailThrough) {
    const std::int64_t head_dim = 10, n_rot = 6;
    const vec x = random_vec(2 * head_dim, 6);  // [1, 1, 2, 10]
    for (auto pairing : both_pairings) {
        const vec y = ref::rope(x, 1, 1, 2, head_dim, n_rot, {3.0}, 500.0, pairing);
        for (std::int64_t h = 0; h < 2; ++h)
            for (std::int64_t i = n_rot; i < head_dim; ++i) EXPECT_EQ(y[h * head_dim + i], x[h * head_dim + i]);
        // Pair 0 turns by exactly p * base^0 = 3 rad.
        const std::int64_t partner = pairing == ref::rope_pairing::interleaved ? 1 : n_rot / 2;
        EXPECT_NEAR(y[0], x[0] * std::cos(3.0) - x[partner] * std::sin(3.0), exact_tol);
        EXPECT_NEAR(y[partner], x[0] * std::sin(3.0) + x[partner] * std::cos(3.0), exact_tol);
    }
}

TEST(RefRope, HalfPairingIsInterleavedUnderThePermutationOfA5) {
    const std::int64_t d = 8;
    const vec x = random_vec(d, 7);
    // P sends rotate-half index t -> 2t and t + d/2 -> 2t + 1.
    const auto permute = [&](const vec& in) {
        vec out(in.size());
        for (std::int64_t t = 0; t < d / 2; ++t) {
            out[2 * t] = in[t];
            out[2 * t + 1] = in[t + d / 2];
        }
        return out;
    };
    const vec half = ref::rope(x, 1, 1, 1, d, d, {17.0}, 10000.0, ref::rope_pairing::half);
    const vec inter = ref::rope(permute(x), 1, 1, 1, d, d, {17.0}, 10000.0, ref::rope_pairing::interleaved);
    expect_near(inter, permute(half), exact_tol);
}

TEST(RefRope, ScoresDependOnlyOnRelativePosition) {
    // methods.md A7 / eq. 0.1: rotate q at positions i + c and k at j + c; the scores q.k do not move.
    ref::attention_shape s{.batch = 1, .time_q = 6, .time_k = 6, .heads = 2, .heads_kv = 1, .head_dim = 8};
    const vec q = random_vec(6 * 2 * 8, 8), k = random_vec(6 * 1 * 8, 9);
    for (auto pairing : both_pairings) {
        const auto scores_at = [&](double c) {
            vec pos(6);
            for (std::size_t t = 0; t < pos.size(); ++t) pos[t] = double(t) + c;
            const vec qr = ref::rope(q, 1, 6, 2, 8, 8, pos, 10000.0, pairing);
            const vec kr = ref::rope(k, 1, 6, 1, 8, 8, pos, 10000.0, pairing);
            return ref::attention_scores(qr, kr, s, 0.5);
        };
        const vec base = scores_at(0), shifted = scores_at(1000);
        for (std::size_t i = 0; i < base.size(); ++i) {
            if (std::isinf(base[i])) {
                EXPECT_TRUE(std::isinf(shifted[i]));
                continue;
            }
            // Angles near 1e3 rad: argument rounding ~1e-13 rad per angle, on scores of size ~|q||k|/2 ~ 4.
            EXPECT_NEAR(base[i], shifted[i], 1e-11) << "score " << i;
        }
    }
}

TEST(RefAttention, OneKeyReturnsItsValue) {
    ref::attention_shape s{.batch = 2, .time_q = 1, .time_k = 1, .heads = 4, .heads_kv = 2, .head_dim = 3};
    const vec q = random_vec(2 * 4 * 3, 10), k = random_vec(2 * 2 * 3, 11), v = random_vec(2 * 2 * 3, 12);
    const vec out = ref::attention(q, k, v, s, 0.7);
    for (std::int64_t b = 0; b < 2; ++b)
        for (std::int64_t h = 0; h < 4; ++h)
            for (std::int64_t e = 0; e < 3; ++e)
                EXPECT_NEAR(out[(b * 4 + h) * 3 + e], v[(b * 2 + h / 2) * 3 + e], exact_tol);
}

TEST(RefAttention, ZeroQueriesAverageTheVisiblePrefix) {
    // q = 0 makes every visible score equal: query i (position 2 + i) averages values 0 .. 2 + i.
    ref::attention_shape s{.batch = 1, .time_q = 3, .time_k = 5, .heads = 1, .heads_kv = 1, .head_dim = 2};
    const vec v = random_vec(5 * 2, 13);
    const vec out = ref::attention(vec(3 * 2, 0.0), random_vec(5 * 2, 14), v, s, 1.0);
    for (std::int64_t i = 0; i < 3; ++i)
        for (std::int64_t e = 0; e < 2; ++e) {
            double mean = 0;
            for (std::int64_t j = 0; j <= 2 + i; ++j) mean += v[j * 2 + e] / double(3 + i);
            EXPECT_NEAR(out[i * 2 + e], mean, exact_tol);
        }
}

TEST(RefAttention, GroupedQueryEqualsExpandedHeads) {
    // U5: H_kv = 1 shared by 3 query heads equals 3 K/V heads holding copies.
    ref::attention_shape gqa{.batch = 1, .time_q = 4, .time_k = 4, .heads = 3, .heads_kv = 1, .head_dim = 4};
    ref::attention_shape mha = gqa;
    mha.heads_kv = 3;
    const vec q = random_vec(4 * 3 * 4, 15), k = random_vec(4 * 4, 16), v = random_vec(4 * 4, 17);
    vec k3, v3;
    for (std::int64_t j = 0; j < 4; ++j)
        for (int copy = 0; copy < 3; ++copy) {
            k3.insert(k3.end(), k.begin() + j * 4, k.begin() + (j + 1) * 4);
            v3.insert(v3.end(), v.begin() + j * 4, v.begin() + (j + 1) * 4);
        }
    expect_near(ref::attention(q, k, v, gqa, 0.5), ref::attention(q, k3, v3, mha, 0.5), exact_tol);
}

// ---- each ref backward against finite differences of its ref forward, L = sum(w ⊙ y) ----

TEST(RefBackward, MatmulRmsnormSwigluEmbeddingCrossEntropy) {
    const std::int64_t m = 3, k = 5, n = 4;
    const vec x = random_vec(m * k, 20), w = random_vec(n * k, 21), dy = random_vec(m * n, 22);
    vec dx, dw;
    ref::matmul_backward(x, w, dy, dx, dw, m, k, n);
    expect_near(dx, finite_difference([&](const vec& xx) { return dot(dy, ref::matmul(xx, w, m, k, n)); }, x), fd_tol);
    expect_near(dw, finite_difference([&](const vec& ww) { return dot(dy, ref::matmul(x, ww, m, k, n)); }, w), fd_tol);

    const vec g = random_vec(k, 23), dyn = random_vec(m * k, 24);
    for (const vec& gain : {g, vec{}}) {
        vec dxn, dg;
        ref::rmsnorm_backward(x, gain, dyn, dxn, dg, m, k, 1e-5);
        const auto f = [&](const vec& xx, const vec& gg) { return dot(dyn, ref::rmsnorm(xx, gg, m, k, 1e-5)); };
        expect_near(dxn, finite_difference([&](const vec& xx) { return f(xx, gain); }, x), fd_tol);
        if (!gain.empty()) expect_near(dg, finite_difference([&](const vec& gg) { return f(x, gg); }, gain), fd_tol);
    }

    const vec a = random_vec(7, 25), b = random_vec(7, 26), dys = random_vec(7, 27);
    vec da, db;
    ref::swiglu_backward(a, b, dys, da, db);
    expect_near(da, finite_difference([&](const vec& aa) { return dot(dys, ref::swiglu(aa, b)); }, a), fd_tol);
    expect_near(db, finite_difference([&](const vec& bb) { return dot(dys, ref::swiglu(a, bb)); }, b), fd_tol);
    ref::geglu_backward(a, b, dys, da, db);
    expect_near(da, finite_difference([&](const vec& aa) { return dot(dys, ref::geglu(aa, b)); }, a), fd_tol);
    expect_near(db, finite_difference([&](const vec& bb) { return dot(dys, ref::geglu(a, bb)); }, b), fd_tol);

    const std::vector<std::int32_t> tokens = {1, 3, 1, 0};
    const vec table = random_vec(4 * 3, 28), dye = random_vec(4 * 3, 29);
    expect_near(ref::embedding_backward(tokens, dye, 4, 3),
                finite_difference([&](const vec& t) { return dot(dye, ref::embedding(t, tokens, 3)); }, table), fd_tol);

    const std::vector<std::int32_t> targets = {2, -1, 0};
    const vec logits = random_vec(3 * 6, 30);
    const auto ce = [&](const vec& z) { return 0.75 * dot(vec(3, 1.0), ref::cross_entropy(z, targets, 3, 6)); };
    expect_near(ref::cross_entropy_backward(logits, targets, 3, 6, 0.75), finite_difference(ce, logits), fd_tol);
}

TEST(RefBackward, AttentionWithGroupsAndFewerQueries) {
    ref::attention_shape s{.batch = 2, .time_q = 3, .time_k = 5, .heads = 4, .heads_kv = 2, .head_dim = 3};
    const vec q = random_vec(2 * 3 * 4 * 3, 31), k = random_vec(2 * 5 * 2 * 3, 32), v = random_vec(2 * 5 * 2 * 3, 33);
    const vec dout = random_vec(q.size(), 34);
    vec dq, dk, dv;
    ref::attention_backward(q, k, v, dout, dq, dk, dv, s, 0.6);
    const auto f = [&](const vec& qq, const vec& kk, const vec& vv) {
        return dot(dout, ref::attention(qq, kk, vv, s, 0.6));
    };
    expect_near(dq, finite_difference([&](const vec& x) { return f(x, k, v); }, q), fd_tol);
    expect_near(dk, finite_difference([&](const vec& x) { return f(q, x, v); }, k), fd_tol);
    expect_near(dv, finite_difference([&](const vec& x) { return f(q, k, x); }, v), fd_tol);
}

TEST(RefBackward, AttentionWithEveryRule) {
    // Window, chunks and sinks, a far split inside the band, per-query scale and ALiBi slopes, with the
    // softmax and with relu^2: the oracle's backward against finite differences of its own forward,
    // far operands included.
    ref::attention_shape s{.batch = 1, .time_q = 6, .time_k = 9, .heads = 2, .heads_kv = 1, .head_dim = 3};
    const std::size_t n_q = 6 * 2 * 3, n_kv = 9 * 3;
    const vec q = random_vec(n_q, 35), k = random_vec(n_kv, 36), v = random_vec(n_kv, 37);
    const vec dout = random_vec(n_q, 38);
    for (bool relu2 : {false, true}) {
        SCOPED_TRACE(relu2);
        ref::attention_rules rules{.window = 5, .chunk = 7, .n_sink = 1, .first_near = {2, 0, 3, 4, 4, 6},
                                   .query_scale = {1.1, 0.9, 1, 1.2, 1, 0.8},
                                   .head_slopes = {0.3, 0.1}, .relu2_divisor = {}, .q_far = random_vec(n_q, 39),
                                   .k_far = random_vec(n_kv, 40)};
        if (relu2) rules.relu2_divisor = {4, 5, 6, 7, 8, 9};
        vec dq, dk, dv, dqf, dkf;
        ref::attention_backward(q, k, v, dout, dq, dk, dv, s, 0.6, rules, &dqf, &dkf);
        const auto f = [&](const vec& qq, const vec& kk, const vec& vv, const vec& qf, const vec& kf) {
            ref::attention_rules r = rules;
            r.q_far = qf;
            r.k_far = kf;
            return dot(dout, ref::attention(qq, kk, vv, s, 0.6, r));
        };
        const vec& qf = rules.q_far;
        const vec& kf = rules.k_far;
        expect_near(dq, finite_difference([&](const vec& x) { return f(x, k, v, qf, kf); }, q), fd_tol);
        expect_near(dk, finite_difference([&](const vec& x) { return f(q, x, v, qf, kf); }, k), fd_tol);
        expect_near(dv, finite_difference([&](const vec& x) { return f(q, k, x, qf, kf); }, v), fd_tol);
        expect_near(dqf, finite_difference([&](const vec& x) { return f(q, k, v, x, kf); }, qf), fd_tol);
        expect_near(dkf, finite_difference([&](const vec& x) { return f(q, k, v, qf, x); }, kf), fd_tol);
    }
}

}  // namespace
}  // namespace stretch
