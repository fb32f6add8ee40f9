// Whole-model checks of the Transformer forward/backward (model/transformer.h): the tape's float64
// gradient of the training loss against central finite differences for every parameter entry of a
// tiny model (GQA, both RoPE pairings, tied and untied head), and the f32 model against the same
// model in float64.
#include "model/transformer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "autograd/tape.h"
#include "core/error.h"
#include "core/rng.h"
#include "support/gradcheck.h"

namespace stretch {
namespace {

model_config tiny_config(cpu::rope_pairing pairing, bool tied, const std::string& pos = "default") {
    model_config c;
    c.vocab_size = 11;
    c.d_model = 8;
    c.n_layer = 2;
    c.n_head = 2;
    c.n_head_kv = 1;  // GQA: both query heads share one key/value head
    c.d_ff = 12;
    c.n_ctx_train = 5;
    c.rope_base = 100.0;  // a small base so that every frequency turns noticeably over 5 positions
    c.tie_embeddings = tied;
    c.rope_pairing = pairing;
    c.pos = pos;
    return c;
}

struct tiny_batch {
    std::vector<std::int32_t> inputs{1, 4, 7, 2, 9, 3, 3, 10, 0, 5};  // [2, 5]
    std::vector<std::int32_t> targets{4, 7, 2, 9, 6, 3, 10, 0, 5, 8};
};

// Weights of N(0, 0.02) make every logit nearly equal and gradients tiny; a larger scale makes the
// check see the non-linear regime (saturating softmax, unequal norms).
void init_large(transformer& model) {
    rng generator(7);
    for (const auto& [name, p] : model.parameters()) {
        double* x = p->value.data<double>();
        for (std::int64_t i = 0; i < p->value.numel(); ++i)
            x[i] = double(float(name.find("norm") != std::string::npos ? 1.0 + 0.3 * generator.normal()
                                                                        : 0.5 * generator.normal()));
    }
}

// `positions`: drawn training positions [2 * 5] (random_pos), or empty.
double loss_of(const transformer& model, const tiny_batch& b, std::span<const double> positions = {}) {
    ag::context inference;
    ag::var logits = model.forward(inference, b.inputs, 2, 5, positions);
    return ag::cross_entropy(inference, logits, b.targets, "loss")->value.data<double>()[0];
}

void check_model_gradients(cpu::rope_pairing pairing, bool tied, const std::string& pos = "default",
                           const std::vector<double>& positions = {}) {
    transformer model(tiny_config(pairing, tied, pos), dtype::f64);
    init_large(model);
    const tiny_batch b;
    ag::tape tape;
    ag::context ctx{&tape};
    ag::var logits = model.forward(ctx, b.inputs, 2, 5, positions);
    tape.backward(ag::cross_entropy(ctx, logits, b.targets, "loss"));

    std::vector<ag::var> params;
    for (const auto& [name, p] : model.parameters()) params.push_back(p);
    const auto report = test::check_gradients([&] { return loss_of(model, b, positions); }, params);
    // Same error budget as the op checks (tests/autograd/test_ops.cpp): FD rounding ~ eps * |L| / h
    // ~ 1e-9 absolute on an O(1) loss, over the 1e-2 floor, plus O(h^2) truncation; 1e-6 stays far
    // below any wrong term (a missing residual or a transposed weight moves gradients by O(1)).
    EXPECT_LT(report.max_relative_error, 1e-6) << report.worst;
    EXPECT_EQ(report.n_checked, model.config().n_parameters());
}

TEST(TransformerGradients, InterleavedTiedMatchFiniteDifferences) {
    check_model_gradients(cpu::rope_pairing::interleaved, true);
}

TEST(TransformerGradients, RotateHalfUntiedMatchFiniteDifferences) {
    check_model_gradients(cpu::rope_pairing::half, false);
}

// Training-time variants (config.pos): a window with trained log-n scaling (masks and per-query
// scales in the attention backward), and a two-score variant (gradients through both rotations).
TEST(TransformerGradients, TrainedWindowAndLognMatchFiniteDifferences) {
    check_model_gradients(cpu::rope_pairing::interleaved, true, "window:w=3+logn:mode=trained,n_min=2,base_len=5");
}

TEST(TransformerGradients, AlibiMatchesFiniteDifferences) {
    check_model_gradients(cpu::rope_pairing::interleaved, false, "alibi");
}

TEST(TransformerGradients, RandomPositionsMatchFiniteDifferences) {
    // Each sequence at its own fixed drawn positions (uniform over [0, 12) and equal_mean's floats):
    // the per-token rotation tables in the forward and in the backward's inverse rotation.
    check_model_gradients(cpu::rope_pairing::half, false, "random_pos:l_rand=12", {0, 3, 4, 9, 11, 1, 2, 6, 7, 10});
    check_model_gradients(cpu::rope_pairing::interleaved, true, "random_pos:mode=equal_mean",
                          {0, 1.75, 3.5, 5.25, 7, 0, 0.5, 1, 1.5, 2});
}

TEST(TransformerGradients, PRopeAndPoseMatchFiniteDifferences) {
    // p-RoPE: one of the two frequency pairs rotates; PoSE: each sequence at fixed drawn positions, a
    // first chunk then a skip (0, 1 | 7, 8, 9 and 0, 1, 2, 3 | 20).
    check_model_gradients(cpu::rope_pairing::interleaved, true, "p_rope:p=0.5");
    check_model_gradients(cpu::rope_pairing::half, false, "pose:target=40", {0, 1, 7, 8, 9, 0, 1, 2, 3, 20});
}

TEST(TransformerGradients, LearnedPositionsMatchFiniteDifferences) {
    check_model_gradients(cpu::rope_pairing::interleaved, true, "learned");  // the table is checked too
}

TEST(TransformerForward, LearnedPositionsRefusePositionsPastTheTable) {
    transformer model(tiny_config(cpu::rope_pairing::interleaved, true, "learned:max_positions=5"), dtype::f64);
    const std::vector<std::int32_t> tokens(6, 1);
    ag::context ctx;
    try {
        model.forward(ctx, tokens, 1, 6);
        FAIL();
    } catch (const error& e) {
        EXPECT_STREQ(e.what(), "pos: position 5 is past the learned position table's 5 rows (methods.md C3: no silent clamp)");
    }
}

TEST(TransformerGradients, LearnedSinksMatchFiniteDifferences) {
    // blk.N.attn_sinks.weight [2] are parameters like the others (n_parameters counts them): their
    // gradient and every other one through the sink's share of each softmax (with masks and splits:
    // KernelAttention's rule set far_window_learned_sinks).
    check_model_gradients(cpu::rope_pairing::half, false, "learned_sinks");
}

TEST(TransformerInit, LearnedSinksStartAtTheirInitialLogitOnePerHead) {
    transformer model(tiny_config(cpu::rope_pairing::interleaved, true, "learned_sinks:init=-2.5"), dtype::f32);
    rng generator(3);
    model.init(generator);
    int layers = 0;
    for (const auto& [name, p] : model.parameters()) {
        if (!name.ends_with("attn_sinks.weight")) continue;
        EXPECT_EQ(p->value.shape(), shape_t{2}) << name;
        for (std::int64_t h = 0; h < 2; ++h) EXPECT_EQ(p->value.data<float>()[h], -2.5f) << name;
        ++layers;
    }
    EXPECT_EQ(layers, 2);
}

TEST(TransformerForward, LearnedSinksNeedAModelTrainedWithThem) {
    const transformer model(tiny_config(cpu::rope_pairing::interleaved, true), dtype::f64);
    try {
        model.positions(variants::parse_spec("yarn+learned_sinks", "--pos"), 10, "--pos");
        FAIL();
    } catch (const error& e) {
        EXPECT_STREQ(e.what(), "--pos: 'yarn+learned_sinks' uses learned attention sinks, but the model (pos = 'default') "
                               "was not trained with them (no blk.N.attn_sinks.weight); expected a model trained with "
                               "learned_sinks");
    }
}

TEST(TransformerGradients, Relu2NormaliserMatchesFiniteDifferences) {
    check_model_gradients(cpu::rope_pairing::interleaved, true, "relu2");
}

TEST(TransformerGradients, HwfaMatchesFiniteDifferences) {
    check_model_gradients(cpu::rope_pairing::interleaved, true, "hwfa:window=2+keynorm");
}

void check_post_ln_gradients(bool deepnorm) {
    model_config c = tiny_config(cpu::rope_pairing::interleaved, true);
    c.norm_position = "post";
    c.deepnorm = deepnorm;
    transformer model(c, dtype::f64);
    init_large(model);
    const tiny_batch b;
    ag::tape tape;
    ag::context ctx{&tape};
    tape.backward(ag::cross_entropy(ctx, model.forward(ctx, b.inputs, 2, 5), b.targets, "loss"));
    std::vector<ag::var> params;
    for (const auto& [name, p] : model.parameters()) params.push_back(p);
    const auto report = test::check_gradients([&] { return loss_of(model, b); }, params);
    EXPECT_LT(report.max_relative_error, 1e-6) << report.worst;
    EXPECT_EQ(report.n_checked, c.n_parameters());  // no final norm in Post-LN
}

TEST(TransformerGradients, PostLnAndDeepNormMatchFiniteDifferences) {
    check_post_ln_gradients(false);
    check_post_ln_gradients(true);
}

// The RMS of a parameter tensor (its init std, up to sampling error).
double rms_of(const transformer& model, const std::string& name) {
    for (const auto& [pname, p] : model.parameters())
        if (pname == name) {
            double ss = 0;
            for (std::int64_t i = 0; i < p->value.numel(); ++i) ss += p->value.data<double>()[i] * p->value.data<double>()[i];
            return std::sqrt(ss / double(p->value.numel()));
        }
    return 0.0;
}

// Post-LN with residual scale `alpha` and Xavier gain `beta` on V, O and the FFN (1 on Q and K):
// checks both the forward's constant and the initialisation.
void expect_post_ln_constants(const model_config& c, double alpha, double beta) {
    EXPECT_DOUBLE_EQ(c.residual_alpha(), alpha) << c.n_layer << " " << c.deepnorm_constants;
    EXPECT_DOUBLE_EQ(c.init_gain(), beta) << c.n_layer << " " << c.deepnorm_constants;
    transformer model(c, dtype::f64);
    rng generator(3);
    model.init(generator);
    // ffn_gate [12, 8]: Xavier std beta sqrt(2/20); attn_q [8, 8]: sqrt(2/16). The RMS of 96 or 64
    // normals is within ~9 % (1 / sqrt(2n)) of the std, so 3 sigma is 0.27; a wrong gain (beta
    // vs 1: 0.58 at N = 1 with the paper's constants) is far outside.
    EXPECT_NEAR(rms_of(model, "blk.0.ffn_gate.weight") / (beta * std::sqrt(2.0 / 20.0)), 1.0, 0.27) << c.n_layer;
    EXPECT_NEAR(rms_of(model, "blk.0.attn_q.weight") / std::sqrt(2.0 / 16.0), 1.0, 0.27) << c.n_layer;
}

TEST(TransformerInit, DeepNormConstantsFollowTheDecoderOnlyRow) {
    // methods.md D3: the paper's alpha = (2N)^(1/4), beta = (8N)^(-1/4); Su's Adam row (post 8978)
    // alpha = (2N)^(1/2), beta = (2N)^(-1/2).
    for (const std::int64_t n : {1, 6, 24}) {
        model_config c = tiny_config(cpu::rope_pairing::interleaved, true);
        c.n_layer = n;
        c.norm_position = "post";
        c.deepnorm = true;
        expect_post_ln_constants(c, std::pow(2.0 * double(n), 0.25), std::pow(8.0 * double(n), -0.25));
        c.deepnorm_constants = "adam";
        expect_post_ln_constants(c, std::pow(2.0 * double(n), 0.5), std::pow(2.0 * double(n), -0.5));
    }
    model_config pre = tiny_config(cpu::rope_pairing::interleaved, true);
    EXPECT_EQ(pre.residual_alpha(), 1.0);
}

TEST(TransformerInit, PostLnIsDeepNormWithAlphaAndBetaOne) {
    // methods.md D2: plain Post-LN is DeepNorm with alpha = beta = 1 (Xavier, the DeepNet paper's baseline).
    model_config c = tiny_config(cpu::rope_pairing::interleaved, true);
    c.n_layer = 24;
    c.norm_position = "post";
    expect_post_ln_constants(c, 1.0, 1.0);
}

TEST(ModelConfig, RejectsUnknownDeepNormConstants) {
    model_config c = tiny_config(cpu::rope_pairing::interleaved, true);
    c.norm_position = "post";
    c.deepnorm = true;
    c.deepnorm_constants = "sgd";
    try {
        c.validate("run.json");
        FAIL() << "expected an error";
    } catch (const error& e) {
        EXPECT_STREQ(e.what(), "run.json: deepnorm_constants = 'sgd', expected paper or adam");
    }
}

TEST(TransformerGradients, RopeQkBiasMatchesFiniteDifferences) {
    check_model_gradients(cpu::rope_pairing::interleaved, true, "rope_qk_bias");  // init_large makes the biases non-zero
}

TEST(TransformerForward, RopeQkBiasAtZeroIsRope) {
    // methods.md C8: a = b = 0 gives plain RoPE.
    transformer biased(tiny_config(cpu::rope_pairing::interleaved, true, "rope_qk_bias"), dtype::f64);
    transformer plain(tiny_config(cpu::rope_pairing::interleaved, true), dtype::f64);
    rng generator(5);
    biased.init(generator);
    for (const auto& [name, p] : plain.parameters())
        for (const auto& [bname, bp] : biased.parameters())
            if (name == bname) p->value = bp->value;
    const tiny_batch b;
    ag::context c1, c2;
    const tensor y1 = biased.forward(c1, b.inputs, 2, 5)->value, y2 = plain.forward(c2, b.inputs, 2, 5)->value;
    for (std::int64_t i = 0; i < y1.numel(); ++i) EXPECT_EQ(y1.data<double>()[i], y2.data<double>()[i]);
}

TEST(TransformerGradients, KeyNormMatchesFiniteDifferences) {
    check_model_gradients(cpu::rope_pairing::half, true, "keynorm");
}

TEST(TransformerForward, KeyNormIgnoresTheScaleOfTheKeys) {
    // methods.md B15: KNA's output is unchanged when the keys are multiplied by c > 0. eps = 1e-6
    // against |k|^2 = O(1) moves logits by ~1e-7 relative when k triples: 1e-6 covers it.
    transformer model(tiny_config(cpu::rope_pairing::interleaved, true, "keynorm"), dtype::f64);
    init_large(model);
    const tiny_batch b;
    ag::context c1;
    const tensor before = model.forward(c1, b.inputs, 2, 5)->value.clone();
    for (const auto& [name, p] : model.parameters())
        if (name.ends_with("attn_k.weight"))
            for (std::int64_t i = 0; i < p->value.numel(); ++i) p->value.data<double>()[i] *= 3.0;
    ag::context c2;
    const tensor after = model.forward(c2, b.inputs, 2, 5)->value;
    for (std::int64_t i = 0; i < before.numel(); ++i)
        EXPECT_NEAR(after.data<double>()[i], before.data<double>()[i], 1e-6 * std::max(1.0, std::abs(before.data<double>()[i])));
}

TEST(TransformerGradients, SinusoidalMatchesFiniteDifferences) {
    check_model_gradients(cpu::rope_pairing::interleaved, true, "sinusoidal:base=50");
}

TEST(TransformerGradients, TwoScoreVariantMatchesFiniteDifferences) {
    check_model_gradients(cpu::rope_pairing::half, true, "leaky_rerope:window=2,k=3");
}

TEST(TransformerForward, F32MatchesF64) {
    transformer wide(tiny_config(cpu::rope_pairing::interleaved, false), dtype::f64);
    init_large(wide);
    transformer narrow(wide.config(), dtype::f32);
    for (std::size_t i = 0; i < wide.parameters().size(); ++i)
        narrow.parameters()[i].second->value = wide.parameters()[i].second->value.to(dtype::f32);
    const tiny_batch b;
    ag::context c64, c32;
    const tensor l64 = wide.forward(c64, b.inputs, 2, 5)->value;
    const tensor l32 = narrow.forward(c32, b.inputs, 2, 5)->value.to(dtype::f64);
    ASSERT_EQ(l64.numel(), l32.numel());
    double max_err = 0, max_abs = 0;
    for (std::int64_t i = 0; i < l64.numel(); ++i) {
        max_err = std::max(max_err, std::abs(l64.data<double>()[i] - l32.data<double>()[i]));
        max_abs = std::max(max_abs, std::abs(l64.data<double>()[i]));
    }
    // f32 rounding (6e-8) amplified through 2 blocks of O(1) weights and sums of <= 12 terms: a few
    // 1e-6 of the logits' scale. 1e-5 leaves a margin and catches any real difference of path.
    EXPECT_LT(max_err, 1e-5 * std::max(1.0, max_abs));
}

}  // namespace
}  // namespace stretch
