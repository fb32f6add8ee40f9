// Gradient checks for every op in autograd/ops.h and autograd/gau_ops.h. Each op's output is reduced to a scalar
// L = sum(w ⊙ y) with a fixed random w; the tape's f64 gradient of L with respect to every entry
// of every input (weights included) is compared with central finite differences of the forward
// (tests/support/gradcheck.h), and the f32 backward is compared with the f64 one on the same
// (f32-exact) inputs. Not a test of kernel accuracy against the oracle: tests/kernels/cpu does that.
#include "autograd/ops.h"

#include <gtest/gtest.h>

#include "autograd/gau_ops.h"

#include <cmath>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "support/gradcheck.h"

namespace stretch {
namespace {

// Central differences in f64 with h = 1e-6: truncation O(h^2) ~ 1e-12 relative; rounding
// ~ eps * sum|w_i y_i| / 2h ~ 2e-9 absolute for the ~50-term losses here, over the 1e-2 floor of
// gradcheck_options: ~2e-7 (measured worst 2.1e-7, on an attention gradient entry below the
// floor). 1e-6 is ~5x above that and 1e4x below a wrong factor, sign or index.
constexpr double fd_tol = 1e-6;
// f32 backward vs f64 backward on identical inputs: only f32 rounding differs, a few eps (6e-8)
// times sqrt of the longest sum (<= 8 terms here): measured <= 8e-7 of the gradient's RMS
// (attention). 1e-5 is a >10x margin, as in the kernel tests.
constexpr double f32_tol = 1e-5;

// Standard normal values rounded to f32 (so the f32 and f64 runs see the same numbers), as f64.
tensor random_tensor(shape_t shape, std::uint64_t seed, double scale = 1.0) {
    tensor t(std::move(shape), dtype::f64);
    std::mt19937_64 engine(seed);
    std::normal_distribution<double> normal;
    for (std::int64_t i = 0; i < t.numel(); ++i) t.data<double>()[i] = double(float(scale * normal(engine)));
    return t;
}

// An op applied to its inputs (all differentiable): what is checked.
struct op_case {
    std::vector<tensor> inputs;  // f64 values
    std::function<ag::var(ag::context&, const std::vector<ag::var>&)> apply;
};

std::vector<ag::var> make_inputs(const op_case& c, dtype type) {
    std::vector<ag::var> vars;
    for (std::size_t i = 0; i < c.inputs.size(); ++i)
        vars.push_back(ag::make_var(c.inputs[i].to(type), "input" + std::to_string(i), true));
    return vars;
}

// Runs the op on a tape in `type`, backpropagates L = sum(w ⊙ y) and returns the inputs (with grads).
std::vector<ag::var> backward(const op_case& c, dtype type, tensor& weights) {
    std::vector<ag::var> vars = make_inputs(c, type);
    ag::tape tape;
    ag::context ctx{&tape};
    ag::var y = c.apply(ctx, vars);
    if (!weights.defined()) weights = random_tensor({y->value.numel()}, 99);
    tape.backward(test::weighted_sum(ctx, y, weights.to(type)));
    return vars;
}

void check_finite_differences(const op_case& c) {
    tensor weights;
    const std::vector<ag::var> vars = backward(c, dtype::f64, weights);
    std::vector<tensor> before;
    for (const auto& v : vars) before.push_back(v->value.clone());
    const auto loss = [&] {
        ag::context no_tape;
        return test::weighted_sum_value(c.apply(no_tape, vars)->value, weights);
    };
    const test::gradcheck_report report = test::check_gradients(loss, vars);
    std::int64_t total = 0;
    for (const auto& v : vars) total += v->value.numel();
    EXPECT_EQ(report.n_checked, total);
    EXPECT_LT(report.max_relative_error, fd_tol) << report.worst;
    for (std::size_t i = 0; i < vars.size(); ++i)
        for (std::int64_t j = 0; j < before[i].numel(); ++j)
            ASSERT_EQ(vars[i]->value.data<double>()[j], before[i].data<double>()[j]) << "input not restored";
}

void check_f32_matches_f64(const op_case& c) {
    tensor weights;
    const auto vars64 = backward(c, dtype::f64, weights);
    const auto vars32 = backward(c, dtype::f32, weights);
    for (std::size_t i = 0; i < vars64.size(); ++i) {
        ASSERT_TRUE(vars32[i]->grad.defined() && vars64[i]->grad.defined()) << "input " << i;
        const tensor g32 = vars32[i]->grad.to(dtype::f64);
        const double* a = g32.data<double>();
        const double* b = vars64[i]->grad.data<double>();
        double sum_sq = 0, err = 0;
        for (std::int64_t j = 0; j < g32.numel(); ++j) {
            sum_sq += b[j] * b[j];
            err = std::max(err, std::abs(a[j] - b[j]));
        }
        EXPECT_LT(err / std::max(std::sqrt(sum_sq / double(g32.numel())), 1e-300), f32_tol) << "input " << i;
    }
}

// ---- one case per op ----

op_case linear_case() {
    return {{random_tensor({3, 5}, 1), random_tensor({4, 5}, 2)},
            [](ag::context& ctx, const std::vector<ag::var>& in) { return ag::linear(ctx, in[0], in[1], "y"); }};
}

op_case add_case() {
    return {{random_tensor({3, 4}, 3), random_tensor({3, 4}, 4)},
            [](ag::context& ctx, const std::vector<ag::var>& in) { return ag::add(ctx, in[0], in[1], "y"); }};
}

op_case rmsnorm_case(bool with_gain) {
    std::vector<tensor> inputs = {random_tensor({3, 6}, 5)};
    if (with_gain) inputs.push_back(random_tensor({6}, 6));
    return {inputs, [with_gain](ag::context& ctx, const std::vector<ag::var>& in) {
                return ag::rmsnorm(ctx, in[0], with_gain ? in[1] : ag::var{}, 1e-5, "y");
            }};
}

op_case swiglu_case() {
    // Scale 3 reaches into sigmoid's curved region and tails, where a wrong derivative shows most.
    return {{random_tensor({3, 5}, 7, 3.0), random_tensor({3, 5}, 8)},
            [](ag::context& ctx, const std::vector<ag::var>& in) { return ag::swiglu(ctx, in[0], in[1], "y"); }};
}

op_case embedding_case() {
    // Repeated ids (1, 3) must sum; rows 2 and 4 are unused and must get exactly zero.
    return {{random_tensor({6, 4}, 9)}, [](ag::context& ctx, const std::vector<ag::var>& in) {
                static const std::vector<std::int32_t> tokens = {1, 3, 1, 0, 5, 3};
                return ag::embedding(ctx, in[0], tokens, "y");
            }};
}

op_case rope_case(cpu::rope_pairing pairing, std::int64_t head_dim, std::int64_t n_rot) {
    const std::int64_t batch = 2, time = 3, heads = 2;
    const std::vector<double> positions = {0, 5, 1000.5};
    auto table = std::make_shared<const cpu::rope_table>(
        cpu::make_rope_table(positions, cpu::rope_inv_freq(10000.0, n_rot)));
    return {{random_tensor({batch * time, heads * head_dim}, 10)},
            [=](ag::context& ctx, const std::vector<ag::var>& in) {
                return ag::rope(ctx, in[0], batch, time, heads, head_dim, table, pairing, "y");
            }};
}

op_case attention_case(cpu::attention_dims d) {
    const shape_t q_shape = {d.batch * d.time_q, d.heads * d.head_dim};
    const shape_t kv_shape = {d.batch * d.time_k, d.heads_kv * d.head_dim};
    // Scale 1.5 on q makes the softmax far from uniform, so every term of its Jacobian matters.
    return {{random_tensor(q_shape, 11, 1.5), random_tensor(kv_shape, 12), random_tensor(kv_shape, 13)},
            [d](ag::context& ctx, const std::vector<ag::var>& in) {
                return ag::attention(ctx, in[0], in[1], in[2], d, 1.0 / std::sqrt(double(d.head_dim)), "y");
            }};
}

// A variant's rules (kernels/cpu/attention.h): window with sinks, a per-query scale, and a
// two-score far branch whose operands q_far, k_far are inputs 3 and 4.
op_case attention_rules_case(cpu::attention_dims d, bool two_score, bool relu2 = false) {
    const shape_t q_shape = {d.batch * d.time_q, d.heads * d.head_dim};
    const shape_t kv_shape = {d.batch * d.time_k, d.heads_kv * d.head_dim};
    cpu::attention_rules rules;
    rules.window = 3;
    rules.n_sink = 1;
    for (std::int64_t i = 0; i < d.time_q; ++i) rules.query_scale.push_back(1.0 + 0.25 * double(i));
    if (two_score)  // the keys at distance >= 2 are far (ReRoPE's split at w = 2)
        for (std::int64_t r = 0; r < d.time_q; ++r)
            rules.first_near.push_back(std::max<std::int64_t>(0, d.time_k - d.time_q + r - 1));
    if (relu2)
        for (std::int64_t i = 0; i < d.time_q; ++i) rules.relu2_divisor.push_back(2.0 + double(i));
    rules.head_slopes.assign(std::size_t(d.heads), 0.0);
    for (std::int64_t h = 0; h < d.heads; ++h) rules.head_slopes[std::size_t(h)] = 0.1 * double(h);
    std::vector<tensor> inputs{random_tensor(q_shape, 11, 1.5), random_tensor(kv_shape, 12), random_tensor(kv_shape, 13)};
    if (two_score) {
        inputs.push_back(random_tensor(q_shape, 15, 1.5));
        inputs.push_back(random_tensor(kv_shape, 16));
    }
    return {inputs, [d, rules, two_score](ag::context& ctx, const std::vector<ag::var>& in) {
                return ag::attention(ctx, in[0], in[1], in[2], d, 1.0 / std::sqrt(double(d.head_dim)), "y", rules,
                                     two_score ? in[3] : nullptr, two_score ? in[4] : nullptr);
            }};
}

op_case cross_entropy_case() {
    // Rows 1 and 4 are ignored: their logits get exactly zero gradient; the mean is over 3 rows.
    return {{random_tensor({5, 7}, 14, 2.0)}, [](ag::context& ctx, const std::vector<ag::var>& in) {
                static const std::vector<std::int32_t> targets = {3, -1, 0, 6, -1};
                return ag::cross_entropy(ctx, in[0], targets, "y");
            }};
}

op_case mean_of_rows_case() {
    // Pooling rows of two sequences of 3: row 1 alone, the mean of rows 3-4 and of rows 0-1 (a row in
    // two ranges sums both); rows 2 and 5 are in none and get exactly zero gradient.
    return {{random_tensor({6, 4}, 18)}, [](ag::context& ctx, const std::vector<ag::var>& in) {
                static const std::vector<std::pair<std::int64_t, std::int64_t>> ranges = {{1, 2}, {3, 5}, {0, 2}};
                return ag::mean_of_rows(ctx, in[0], ranges, "y");
            }};
}

// ---- the checks ----

TEST(OpLinear, FiniteDifferences) { check_finite_differences(linear_case()); }
TEST(OpLinear, F32BackwardMatchesF64) { check_f32_matches_f64(linear_case()); }

TEST(OpAdd, FiniteDifferences) { check_finite_differences(add_case()); }
TEST(OpAdd, BiasBroadcastFiniteDifferences) {
    const op_case bias{{random_tensor({5, 4}, 41), random_tensor({4}, 42)},
                       [](ag::context& ctx, const std::vector<ag::var>& in) { return ag::add_bias(ctx, in[0], in[1], "y"); }};
    check_finite_differences(bias);
    check_f32_matches_f64(bias);
}

TEST(OpAdd, ScaledResidualFiniteDifferences) {
    op_case scaled = add_case();
    scaled.apply = [](ag::context& ctx, const std::vector<ag::var>& in) { return ag::add(ctx, in[0], in[1], "y", 2.5); };
    check_finite_differences(scaled);
}
TEST(OpAdd, F32BackwardMatchesF64) { check_f32_matches_f64(add_case()); }

TEST(OpRmsnorm, FiniteDifferencesWithGain) { check_finite_differences(rmsnorm_case(true)); }
TEST(OpRmsnorm, FiniteDifferencesWithoutGain) { check_finite_differences(rmsnorm_case(false)); }
TEST(OpRmsnorm, F32BackwardMatchesF64) {
    check_f32_matches_f64(rmsnorm_case(true));
    check_f32_matches_f64(rmsnorm_case(false));
}

TEST(OpRmsnorm, SegmentsMatchFiniteDifferencesAndRowWiseNorm) {
    // Each 4-wide segment of a [3, 8] input normalised on its own (KeyNorm on two heads).
    const op_case segments{{random_tensor({3, 8}, 31)}, [](ag::context& ctx, const std::vector<ag::var>& in) {
                               return ag::rmsnorm_segments(ctx, in[0], nullptr, 4, 1e-6, "y");
                           }};
    check_finite_differences(segments);
    check_f32_matches_f64(segments);
    ag::context ctx;
    const tensor x = random_tensor({3, 8}, 31);
    const tensor y = ag::rmsnorm_segments(ctx, ag::make_var(x, "x"), nullptr, 4, 0.0, "y")->value;
    for (std::int64_t seg = 0; seg < 6; ++seg) {
        double ss = 0;
        for (std::int64_t k = 0; k < 4; ++k) ss += y.data<double>()[seg * 4 + k] * y.data<double>()[seg * 4 + k];
        EXPECT_NEAR(ss, 4.0, 1e-12);  // mean square 1 per segment
    }
}

TEST(OpSwiglu, FiniteDifferences) { check_finite_differences(swiglu_case()); }
TEST(OpSwiglu, F32BackwardMatchesF64) { check_f32_matches_f64(swiglu_case()); }

TEST(OpEmbedding, FiniteDifferences) { check_finite_differences(embedding_case()); }
TEST(OpEmbedding, F32BackwardMatchesF64) { check_f32_matches_f64(embedding_case()); }

TEST(OpEmbedding, RejectsOutOfRangeTokens) {
    ag::context ctx;
    const auto table = ag::make_var(random_tensor({4, 2}, 15), "table");
    const std::vector<std::int32_t> bad = {0, 4};
    EXPECT_THROW(ag::embedding(ctx, table, bad, "y"), error);
}

TEST(OpRope, FiniteDifferencesBothPairingsAndPartialRotary) {
    for (auto pairing : {cpu::rope_pairing::interleaved, cpu::rope_pairing::half}) {
        check_finite_differences(rope_case(pairing, 8, 8));
        check_finite_differences(rope_case(pairing, 6, 4));  // dims 4, 5 pass through
    }
}
TEST(OpRope, F32BackwardMatchesF64) {
    for (auto pairing : {cpu::rope_pairing::interleaved, cpu::rope_pairing::half}) {
        check_f32_matches_f64(rope_case(pairing, 8, 8));
        check_f32_matches_f64(rope_case(pairing, 6, 4));
    }
}

// (batch, time_q, time_k, heads, heads_kv, head_dim): plain, GQA 2 with T_q < T_k, GQA 4 decode-like.
const std::vector<cpu::attention_dims> attention_shapes = {
    {1, 3, 3, 2, 2, 4}, {2, 2, 5, 4, 2, 3}, {1, 1, 4, 4, 1, 4}, {1, 3, 4, 4, 1, 2}};

TEST(OpAttention, FiniteDifferencesWithGroupsAndFewerQueries) {
    for (const auto& d : attention_shapes) {
        SCOPED_TRACE(testing::Message() << "Tq=" << d.time_q << " Tk=" << d.time_k << " H=" << d.heads
                                        << " Hkv=" << d.heads_kv);
        check_finite_differences(attention_case(d));
    }
}
TEST(OpAttention, F32BackwardMatchesF64) {
    for (const auto& d : attention_shapes) check_f32_matches_f64(attention_case(d));
}

TEST(OpAttention, FiniteDifferencesWithVariantRules) {
    // T = 6 > window 3 + sink 1, so some keys are masked, some far, some near; ALiBi slopes on.
    for (const bool two_score : {false, true}) {
        SCOPED_TRACE(two_score ? "window, sinks, query scale, far branch" : "window, sinks, query scale");
        check_finite_differences(attention_rules_case({1, 6, 6, 2, 1, 4}, two_score));
        check_finite_differences(attention_rules_case({2, 2, 6, 4, 2, 3}, two_score));
        check_f32_matches_f64(attention_rules_case({1, 6, 6, 2, 1, 4}, two_score));
        check_finite_differences(attention_rules_case({1, 6, 6, 2, 1, 4}, two_score, true));  // relu^2 / n
        check_finite_differences(attention_rules_case({2, 2, 6, 4, 2, 3}, two_score, true));
    }
}

TEST(OpMeanOfRows, FiniteDifferences) { check_finite_differences(mean_of_rows_case()); }
TEST(OpMeanOfRows, F32BackwardMatchesF64) { check_f32_matches_f64(mean_of_rows_case()); }

TEST(OpCrossEntropy, FiniteDifferencesWithIgnoredTargets) { check_finite_differences(cross_entropy_case()); }
TEST(OpCrossEntropy, F32BackwardMatchesF64) { check_f32_matches_f64(cross_entropy_case()); }

// ---- GAU's ops (autograd/gau_ops.h) ----

op_case silu_case() {
    return {{random_tensor({3, 5}, 21, 3.0)},
            [](ag::context& ctx, const std::vector<ag::var>& in) { return ag::silu(ctx, in[0], "y"); }};
}

op_case columns_case() {  // columns 0-1 and 5-6 are not read: their gradient must be exactly 0
    return {{random_tensor({3, 7}, 22)},
            [](ag::context& ctx, const std::vector<ag::var>& in) { return ag::columns(ctx, in[0], 2, 3, "y"); }};
}

op_case scale_offset_case() {
    return {{random_tensor({4, 5}, 23), random_tensor({5}, 24), random_tensor({5}, 25)},
            [](ag::context& ctx, const std::vector<ag::var>& in) {
                return ag::scale_offset(ctx, in[0], in[1], in[2], "y");
            }};
}

op_case multiply_case() {
    return {{random_tensor({3, 4}, 26), random_tensor({3, 4}, 27)},
            [](ag::context& ctx, const std::vector<ag::var>& in) { return ag::multiply(ctx, in[0], in[1], "y"); }};
}

op_case repeat_columns_case() {
    return {{random_tensor({3, 4}, 28)},
            [](ag::context& ctx, const std::vector<ag::var>& in) { return ag::repeat_columns(ctx, in[0], 3, "y"); }};
}

op_case gather_rows_case() {  // row 2 read twice (sums), row 1 never (0), -1 gives a zero row
    return {{random_tensor({4, 3}, 29)}, [](ag::context& ctx, const std::vector<ag::var>& in) {
                return ag::gather_rows(ctx, in[0], {2, -1, 0, 2, 3}, "y");
            }};
}

op_case chunked_linear_attention_case(std::int64_t batch, std::int64_t time, std::int64_t chunk) {
    const std::int64_t s = 3, e = 4;
    return {{random_tensor({batch * time, s}, 30), random_tensor({batch * time, s}, 31),
             random_tensor({batch * time, e}, 32)},
            [=](ag::context& ctx, const std::vector<ag::var>& in) {
                return ag::chunked_linear_attention(ctx, in[0], in[1], in[2], batch, time, chunk, "y");
            }};
}

TEST(OpGau, FiniteDifferences) {
    for (const op_case& c : {silu_case(), columns_case(), scale_offset_case(), multiply_case(), repeat_columns_case(),
                             gather_rows_case()})
        check_finite_differences(c);
}

TEST(OpGau, F32BackwardMatchesF64) {
    for (const op_case& c : {silu_case(), columns_case(), scale_offset_case(), multiply_case(), repeat_columns_case(),
                             gather_rows_case()})
        check_f32_matches_f64(c);
}

TEST(OpChunkedLinearAttention, FiniteDifferences) {
    // A partial last chunk, two sequences of even chunks, chunk 1.
    check_finite_differences(chunked_linear_attention_case(1, 7, 3));
    check_finite_differences(chunked_linear_attention_case(2, 4, 2));
    check_finite_differences(chunked_linear_attention_case(1, 4, 1));
    check_f32_matches_f64(chunked_linear_attention_case(2, 5, 2));
}

// ---- the helpers themselves ----

TEST(OpGradcheck, ReportsAWrongGradient) {
    // If the tape's gradient is off by 1 %, the check must say so (and name the entry).
    const op_case c = linear_case();
    tensor weights;
    const auto vars = backward(c, dtype::f64, weights);
    vars[1]->grad.data<double>()[7] *= 1.01;
    const auto loss = [&] {
        ag::context no_tape;
        return test::weighted_sum_value(c.apply(no_tape, vars)->value, weights);
    };
    const auto report = test::check_gradients(loss, vars);
    EXPECT_NEAR(report.max_relative_error, 0.01 / 1.01, 1e-6);
    EXPECT_NE(report.worst.find("input1[7]"), std::string::npos) << report.worst;
}

TEST(OpTape, RecordsOnlyWithATapeAndADifferentiableInput) {
    const auto x = ag::make_var(random_tensor({2, 3}, 16), "x");
    const auto w = ag::make_var(random_tensor({4, 3}, 17), "w");
    ag::tape tape;
    ag::context ctx{&tape};
    ag::linear(ctx, x, w, "y");
    EXPECT_TRUE(tape.outputs().empty());  // nothing requires a gradient
    w->requires_grad = true;
    ag::context no_tape;
    ag::linear(no_tape, x, w, "y");
    EXPECT_TRUE(tape.outputs().empty());
    ag::linear(ctx, x, w, "y");
    EXPECT_EQ(tape.outputs().size(), 1u);
}

}  // namespace
}  // namespace stretch
