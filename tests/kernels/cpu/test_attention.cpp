// The fused attention kernels (kernels/cpu/attention.h) against the float64 oracle (kernels/ref),
// forward and backward, for every rule the variants produce (causal, window, window + sinks, chunks,
// the two-score far split at a distance or at chunk boundaries, per-query scale, ALiBi slopes,
// relu^2 divisors, learned sink logits), at sizes that are not
// multiples of the 64 x 256 tiles, head dims 8/64/128, GQA ratios 1/2/3/4, T_q < T_k (KV-cache decode,
// a single query included), in f32 (the SIMD path) and f64, and with one, two and three threads.
#include "kernels/cpu/attention.h"

#include <gtest/gtest.h>

#include <cmath>
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

// f32 (eps 6e-8): a logit is a length-D dot product (~sqrt(D) * 6e-8 relative, D <= 128: ~7e-7 of
// |q||k| scale ~ 1), the vectorised exp adds 1 ulp, and an absolute logit error e becomes a relative
// error e in its probability; the output and gradients are then length-T_k and length-D sums of those
// (~sqrt(T) more), and a decode row's gradients are small beside the values they are made of.
// Measured: up to 3.1e-5 of the RMS; 2e-4 keeps a ~6x margin yet sits far below any masking, tiling
// or head-indexing bug, which moves results by O(1) of the RMS.
constexpr double f32_tol = 2e-4;
// f64: the same chains at 1.1e-16; measured up to 5.7e-14, and 1e-11 keeps a wide margin.
constexpr double f64_tol = 1e-11;

struct shape {
    std::int64_t batch, time_q, time_k, heads, heads_kv, head_dim;
};

// Rules named as the variants that produce them.
enum class rule_set {
    causal,
    window_sinks,
    far_split,
    window_logn,
    relu2_alibi,
    far_window_logn_alibi,
    chunked_scale,
    chunk_split,
    learned_sinks,
    far_window_learned_sinks
};
const rule_set all_rules[] = {rule_set::causal,      rule_set::window_sinks, rule_set::far_split,
                              rule_set::window_logn, rule_set::relu2_alibi,  rule_set::far_window_logn_alibi,
                              rule_set::chunked_scale, rule_set::chunk_split, rule_set::learned_sinks,
                              rule_set::far_window_learned_sinks};

// Learned sink logits of H heads (gpt-oss): 5 is above most rows' logits (~N(0, 1) here), so the
// sink is often the row's maximum; -3 leaves it small, and the others sit among the logits.
std::vector<double> sink_logits(std::int64_t heads) {
    const double cycle[] = {5.0, -3.0, 0.4, 1.5};
    std::vector<double> sinks;
    for (std::int64_t h = 0; h < heads; ++h) sinks.push_back(cycle[h % 4]);
    return sinks;
}

struct rules_pair {
    cpu::attention_rules cpu;
    ref::attention_rules ref;
};

rules_pair make_rules(rule_set which, const shape& sh) {
    rules_pair r;
    auto& c = r.cpu;
    switch (which) {
        case rule_set::causal: break;
        case rule_set::window_sinks:  // StreamingLLM: a window of 50 keys plus 4 sinks (B17)
            c.window = 50;
            c.n_sink = 4;
            break;
        case rule_set::far_split:  // ReRoPE's split at w = 37 (B9)
            c.first_near = test::split_at_distance(37, sh.time_k - sh.time_q, sh.time_q);
            break;
        case rule_set::window_logn:  // window + log n (B13, B3): c_i grows with the position
            c.window = 300;
            for (std::int64_t i = 0; i < sh.time_q; ++i) c.query_scale.push_back(1.0 + 0.001 * double(i));
            break;
        case rule_set::relu2_alibi:  // relu^2 / n (D5) with ALiBi slopes (C5)
            for (std::int64_t i = 0; i < sh.time_q; ++i)
                c.relu2_divisor.push_back(double(sh.time_k - sh.time_q + i + 1));
            for (std::int64_t h = 0; h < sh.heads; ++h) c.head_slopes.push_back(0.01 * double(h + 1));
            break;
        case rule_set::far_window_logn_alibi:  // everything on at once, a split inside a window
            c.first_near = test::split_at_distance(21, sh.time_k - sh.time_q, sh.time_q);
            c.window = 70;
            c.n_sink = 3;
            for (std::int64_t i = 0; i < sh.time_q; ++i) c.query_scale.push_back(0.9 + 0.002 * double(i));
            for (std::int64_t h = 0; h < sh.heads; ++h) c.head_slopes.push_back(0.02 * double(h + 1));
            break;
        case rule_set::chunked_scale:  // Llama 4's local chunks (45 keys) with a per-query temperature
            c.chunk = 45;
            for (std::int64_t i = 0; i < sh.time_q; ++i) c.query_scale.push_back(1.0 + 0.003 * double(i));
            break;
        case rule_set::chunk_split:  // DCA's split (chunks of 40, local 9): a previous chunk is near
            for (std::int64_t r = 0; r < sh.time_q; ++r) {  // for the first 9 queries of a chunk
                const std::int64_t i = sh.time_k - sh.time_q + r;
                c.first_near.push_back(std::max<std::int64_t>(0, 40 * (i / 40 - (i % 40 < 9 ? 1 : 0))));
            }
            break;
        case rule_set::learned_sinks:  // gpt-oss: one more logit per head in the denominator
            c.sink_logits = sink_logits(sh.heads);
            break;
        case rule_set::far_window_learned_sinks:  // with a split, a window and StreamingLLM's kept keys
            c.first_near = test::split_at_distance(17, sh.time_k - sh.time_q, sh.time_q);
            c.window = 60;
            c.n_sink = 2;
            for (std::int64_t i = 0; i < sh.time_q; ++i) c.query_scale.push_back(1.1 - 0.001 * double(i));
            c.sink_logits = sink_logits(sh.heads);
            break;
    }
    r.ref.window = c.window;
    r.ref.chunk = c.chunk;
    r.ref.n_sink = c.n_sink;
    r.ref.first_near = c.first_near;
    r.ref.query_scale = c.query_scale;
    r.ref.head_slopes = c.head_slopes;
    r.ref.relu2_divisor = c.relu2_divisor;
    r.ref.sink_logits = c.sink_logits;
    return r;
}

// What the backward added to its prefilled gradient.
template <class T>
vec increment(const std::vector<T>& after, const vec& before) {
    vec inc(before.size());
    for (std::size_t i = 0; i < inc.size(); ++i) inc[i] = double(after[i]) - before[i];
    return inc;
}

template <class T>
void check_against_ref(const shape& sh, rule_set which, double tol) {
    SCOPED_TRACE(testing::Message() << "B=" << sh.batch << " Tq=" << sh.time_q << " Tk=" << sh.time_k << " H="
                                    << sh.heads << " Hkv=" << sh.heads_kv << " D=" << sh.head_dim << " rules "
                                    << int(which));
    const cpu::attention_dims d{sh.batch, sh.time_q, sh.time_k, sh.heads, sh.heads_kv, sh.head_dim};
    const ref::attention_shape s{sh.batch, sh.time_q, sh.time_k, sh.heads, sh.heads_kv, sh.head_dim};
    rules_pair rules = make_rules(which, sh);
    const bool two_score = rules.cpu.two_score();
    const double scale = 1.0 / std::sqrt(double(sh.head_dim));
    const std::int64_t n_q = sh.batch * sh.time_q * sh.heads * sh.head_dim;
    const std::int64_t n_kv = sh.batch * sh.time_k * sh.heads_kv * sh.head_dim;
    const vec q = random_vec(n_q, 1), k = random_vec(n_kv, 2), v = random_vec(n_kv, 3), dout = random_vec(n_q, 4);
    if (two_score) {
        rules.ref.q_far = random_vec(n_q, 5);
        rules.ref.k_far = random_vec(n_kv, 6);
    }
    const auto qt = as<T>(q), kt = as<T>(k), vt = as<T>(v), qft = as<T>(rules.ref.q_far), kft = as<T>(rules.ref.k_far);
    const cpu::far_operands<T> far = two_score ? cpu::far_operands<T>{qft.data(), kft.data()} : cpu::far_operands<T>{};

    std::vector<T> out(q.size()), lse(std::size_t(sh.batch * sh.heads * sh.time_q));
    cpu::attention_forward<T>(qt.data(), kt.data(), vt.data(), out.data(), lse.data(), d, T(scale), rules.cpu, far);
    EXPECT_LT(max_scaled_error(out, ref::attention(q, k, v, s, scale, rules.ref)), tol) << "out";
    if (rules.cpu.relu2_divisor.empty()) {  // L_i = log (e^(s_h) + sum_j exp(S_ij)) of the oracle's logits
        const vec logits = ref::attention_scores(q, k, s, scale, rules.ref);
        vec lse_want(lse.size());
        for (std::size_t row = 0; row < lse_want.size(); ++row) {
            const double* x = logits.data() + row * std::size_t(sh.time_k);
            const bool sink = !rules.ref.sink_logits.empty();
            const double s_h = sink ? rules.ref.sink_logits[row / std::size_t(sh.time_q) % std::size_t(sh.heads)] : 0;
            double max = sink ? s_h : -INFINITY, sum = 0;
            for (std::int64_t j = 0; j < sh.time_k; ++j) max = std::fmax(max, x[j]);
            for (std::int64_t j = 0; j < sh.time_k; ++j) sum += std::exp(x[j] - max);
            if (sink) sum += std::exp(s_h - max);
            lse_want[row] = max + std::log(sum);
        }
        EXPECT_LT(max_scaled_error(lse, lse_want), tol) << "log_sum_exp";
    }

    vec dq_want, dk_want, dv_want, dqf_want, dkf_want, dsink_want;
    ref::attention_backward(q, k, v, dout, dq_want, dk_want, dv_want, s, scale, rules.ref, &dqf_want, &dkf_want,
                            &dsink_want);
    // Gradients accumulate: prefill them. Small values, because a decode row's gradients are small
    // (dv ~ 3e-3 RMS for one query over 600 keys) and the f32 rounding of an O(1) prefill (6e-8) would
    // swamp them once subtracted back out.
    const vec dq0 = random_vec(n_q, 7, 1e-3), dk0 = random_vec(n_kv, 8, 1e-3), dv0 = random_vec(n_kv, 9, 1e-3);
    std::vector<T> dq = as<T>(dq0), dk = as<T>(dk0), dv = as<T>(dv0), dqf = as<T>(dq0), dkf = as<T>(dk0);
    const vec dsink0 = random_vec(sh.heads, 10, 1e-3);
    std::vector<T> dsink = as<T>(dsink0);
    const bool sinks = !rules.cpu.sink_logits.empty();
    cpu::attention_backward<T>(qt.data(), kt.data(), vt.data(), out.data(), lse.data(), as<T>(dout).data(), dq.data(),
                               dk.data(), dv.data(), d, T(scale), rules.cpu, far, two_score ? dqf.data() : nullptr,
                               two_score ? dkf.data() : nullptr, sinks ? dsink.data() : nullptr);
    if (sinks) {
        EXPECT_LT(max_scaled_error(increment(dsink, dsink0), dsink_want), tol) << "d_sink";
    }
    EXPECT_LT(max_scaled_error(increment(dq, dq0), dq_want), tol) << "dq";
    EXPECT_LT(max_scaled_error(increment(dk, dk0), dk_want), tol) << "dk";
    EXPECT_LT(max_scaled_error(increment(dv, dv0), dv_want), tol) << "dv";
  if (two_score) {
        EXPECT_LT(max_scaled_error(increment(dqf, dq0), dqf_want), tol) << "dq_far";
        EXPECT_LT(max_scaled_error(increment(dkf, dk0), dkf_want), tol) << "dk_far";
    }
}

// Small shapes, every rule: GQA 1/2/3/4, odd T, decode rows, D = 8/64/128.
const shape small_shapes[] = {
    {2, 7, 7, 4, 4, 8},    // GQA 1, odd T
    {2, 7, 7, 4, 2, 8},    // GQA 2
    {1, 5, 13, 8, 2, 64},  // GQA 4, T_q < T_k
    {1, 1, 9, 2, 1, 128},  // one query against a cache (decode)
    {1, 9, 9, 3, 1, 128},  // GQA 3, D = 128
};

// Several tiles each way, none full: T not a multiple of 64 or 256; decode against a long cache.
const shape tiled_shapes[] = {
    {1, 300, 300, 3, 1, 8},    // GQA 3, 5 query tiles x 2 key tiles
    {1, 1, 600, 2, 2, 64},     // decode: one row, 3 key tiles
    {1, 100, 517, 4, 2, 128},  // T_q < T_k across tile boundaries, GQA 2
    {2, 257, 257, 2, 2, 64},   // one row past a tile, two batches
    {2, 3, 700, 9, 3, 64},     // few rows, GQA 3: a group's heads packed into one tile, 3 key tiles
    {1, 2, 300, 4, 2, 40},     // few rows, D = 40, split into parts
};

template <class T>
void check_all(const shape* shapes, std::size_t n, double tol) {
    for (std::size_t i = 0; i < n; ++i)
        for (rule_set r : all_rules) check_against_ref<T>(shapes[i], r, tol);
}

TEST(KernelAttention, F32MatchesRefEveryRuleSmall) { check_all<float>(small_shapes, std::size(small_shapes), f32_tol); }

TEST(KernelAttention, F64MatchesRefEveryRuleSmall) {
    check_all<double>(small_shapes, std::size(small_shapes), f64_tol);
}

TEST(KernelAttention, F32MatchesRefEveryRuleTiled) { check_all<float>(tiled_shapes, std::size(tiled_shapes), f32_tol); }

TEST(KernelAttention, F64MatchesRefEveryRuleTiled) {
    check_all<double>(tiled_shapes, std::size(tiled_shapes), f64_tol);
}

TEST(KernelAttention, MatchesRefWithOneAndThreeThreads) {
    // One thread: no private dQ copies. Three: uneven static partitions of the tile units.
    thread_count_guard guard;
    for (int threads : {1, 3}) {
        SCOPED_TRACE(threads);
        set_threads(threads);
        for (rule_set r : {rule_set::causal, rule_set::far_window_logn_alibi, rule_set::relu2_alibi, rule_set::chunk_split})
            check_against_ref<float>(tiled_shapes[0], r, f32_tol);
    }
}

TEST(KernelAttention, BackwardIsDeterministicForAThreadCount) {
    // dQ is summed from per-thread copies in a fixed order: two runs agree bit for bit.
    const shape sh{1, 300, 300, 2, 1, 64};
    const cpu::attention_dims d{sh.batch, sh.time_q, sh.time_k, sh.heads, sh.heads_kv, sh.head_dim};
    const std::int64_t n_q = sh.time_q * sh.heads * sh.head_dim, n_kv = sh.time_k * sh.head_dim;
    const auto q = as<float>(random_vec(n_q, 1)), k = as<float>(random_vec(n_kv, 2));
    const auto v = as<float>(random_vec(n_kv, 3));
    const auto dout = as<float>(random_vec(n_q, 4));
    std::vector<float> out(q.size()), lse(std::size_t(sh.heads * sh.time_q));
    cpu::attention_forward<float>(q.data(), k.data(), v.data(), out.data(), lse.data(), d, 0.125f);
    std::vector<float> first;
    for (int run = 0; run < 2; ++run) {
        std::vector<float> dq(q.size()), dk(k.size()), dv(v.size());
        cpu::attention_backward<float>(q.data(), k.data(), v.data(), out.data(), lse.data(), dout.data(), dq.data(),
                                       dk.data(), dv.data(), d, 0.125f);
        if (run == 0) first = dq;
        else EXPECT_EQ(dq, first);
    }
}

// The forward and backward of one shape with the given rules on fixed random inputs, f32 or f64.
template <class T>
struct sink_run {
    std::vector<T> out, lse, dq, dk, dv, dsink;
};

template <class T>
sink_run<T> run_with_rules(const shape& sh, const cpu::attention_rules& rules) {
    const cpu::attention_dims d{sh.batch, sh.time_q, sh.time_k, sh.heads, sh.heads_kv, sh.head_dim};
    const std::int64_t n_q = sh.batch * sh.time_q * sh.heads * sh.head_dim;
    const std::int64_t n_kv = sh.batch * sh.time_k * sh.heads_kv * sh.head_dim;
    const auto q = as<T>(random_vec(n_q, 1)), k = as<T>(random_vec(n_kv, 2)), v = as<T>(random_vec(n_kv, 3));
    const auto dout = as<T>(random_vec(n_q, 4));
    const T scale = T(1) / std::sqrt(T(sh.head_dim));
    sink_run<T> r;
    r.out.resize(q.size());
    r.lse.resize(std::size_t(sh.batch * sh.heads * sh.time_q));
    cpu::attention_forward<T>(q.data(), k.data(), v.data(), r.out.data(), r.lse.data(), d, scale, rules);
    r.dq.assign(q.size(), T(0));
    r.dk.assign(k.size(), T(0));
    r.dv.assign(v.size(), T(0));
    r.dsink.assign(std::size_t(sh.heads), T(0));
    cpu::attention_backward<T>(q.data(), k.data(), v.data(), r.out.data(), r.lse.data(), dout.data(), r.dq.data(),
                               r.dk.data(), r.dv.data(), d, scale, rules, {}, nullptr, nullptr,
                               rules.sink_logits.empty() ? nullptr : r.dsink.data());
    return r;
}

TEST(KernelAttention, SinkAtMinusInfinityIsPlainAttentionExactly) {
    // s_h = -1e30: exp(s_h - m) is exactly 0 and the row maximum stays the logits', so the output,
    // the log-sum-exp and dQ, dK, dV are those of plain attention bit for bit, on every path (tiles,
    // GQA-packed decode rows, flash-decoding parts), and d s_h is exactly 0.
    for (const auto* shapes : {small_shapes, tiled_shapes})
        for (std::size_t i = 0; i < 5; ++i) {
            const shape& sh = shapes[i];
            SCOPED_TRACE(testing::Message() << "Tq=" << sh.time_q << " Tk=" << sh.time_k << " H=" << sh.heads);
            cpu::attention_rules sinks;
            sinks.sink_logits.assign(std::size_t(sh.heads), -1e30);
            const auto plain = run_with_rules<float>(sh, {});
            const auto with = run_with_rules<float>(sh, sinks);
            EXPECT_EQ(with.out, plain.out);
            EXPECT_EQ(with.lse, plain.lse);
            EXPECT_EQ(with.dq, plain.dq);
            EXPECT_EQ(with.dk, plain.dk);
            EXPECT_EQ(with.dv, plain.dv);
            EXPECT_EQ(with.dsink, std::vector<float>(std::size_t(sh.heads), 0.0f));
        }
}

TEST(KernelAttention, SinkGradientsMatchFiniteDifferences) {
    // The fused kernel in f64 against central differences of L = sum(dO . O) for every s_h and every
    // entry of Q, K and V, with sinks that are and are not the row maximum, GQA 2, a decode-like
    // T_q < T_k. h = 1e-6: truncation ~h^2 |f'''| ~ 1e-12, rounding ~ eps |L| / h ~ 2e-9 absolute on
    // this O(20) loss, i.e. 2e-7 over the 1e-2 floor; 1e-6 relative (tests/support/gradcheck.h's
    // budget) is far below the O(1) error of a missing or doubled sink term.
    const shape sh{2, 5, 9, 4, 2, 8};
    const cpu::attention_dims d{sh.batch, sh.time_q, sh.time_k, sh.heads, sh.heads_kv, sh.head_dim};
    cpu::attention_rules rules;
    rules.sink_logits = sink_logits(sh.heads);
    vec q = random_vec(sh.batch * sh.time_q * sh.heads * sh.head_dim, 1);
    vec k = random_vec(sh.batch * sh.time_k * sh.heads_kv * sh.head_dim, 2);
    vec v = random_vec(std::int64_t(k.size()), 3);
    const vec dout = random_vec(std::int64_t(q.size()), 4);
    const double scale = 1.0 / std::sqrt(double(sh.head_dim));
    const auto loss = [&] {
        vec out(q.size());
        cpu::attention_forward<double>(q.data(), k.data(), v.data(), out.data(), nullptr, d, scale, rules);
        double sum = 0;
        for (std::size_t e = 0; e < out.size(); ++e) sum += dout[e] * out[e];
        return sum;
    };
    vec out(q.size()), lse(std::size_t(sh.batch * sh.heads * sh.time_q));
    cpu::attention_forward<double>(q.data(), k.data(), v.data(), out.data(), lse.data(), d, scale, rules);
    vec dq(q.size()), dk(k.size()), dv(v.size()), dsink(std::size_t(sh.heads));
    cpu::attention_backward<double>(q.data(), k.data(), v.data(), out.data(), lse.data(), dout.data(), dq.data(),
                                    dk.data(), dv.data(), d, scale, rules, {}, nullptr, nullptr, dsink.data());
    constexpr double h = 1e-6, floor = 1e-2;
    const auto check = [&](vec& x, const vec& grad, const char* what) {
        double worst = 0;
        for (std::size_t e = 0; e < x.size(); ++e) {
            const double saved = x[e];
            x[e] = saved + h;
            const double up = loss();
            x[e] = saved - h;
            const double down = loss();
            x[e] = saved;
            const double fd = (up - down) / (2 * h);
            worst = std::max(worst, std::abs(fd - grad[e]) / std::max(std::abs(fd), floor));
        }
        EXPECT_LT(worst, 1e-6) << what;
    };
    check(q, dq, "dq");
    check(k, dk, "dk");
    check(v, dv, "dv");
    check(rules.sink_logits, dsink, "d_sink");
    for (double g : dsink) EXPECT_GT(std::abs(g), 1e-3);  // every head's sink gradient is exercised
}

}  // namespace
}  // namespace stretch
