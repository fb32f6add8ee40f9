// Ladder side-tuning (train/ladder.h): the tape's float64 gradient of a loss with respect to every
// side-network entry (side layers, down-projections, Up) against central finite differences, through
// a language model's logits (a classifier's features are the same side network); the backbone runs without a
// tape — no backbone op is recorded (the tape's length does not grow with the backbone's depth), no
// backbone parameter gets a gradient or is among the side network's — and training the side network
// leaves every backbone weight bit-identical.
#include "train/ladder.h"

#include <gtest/gtest.h>

#include <cstring>

#include "support/gradcheck.h"
#include "support/tiny_model.h"
#include "train/adamw.h"

namespace stretch {
namespace {

const std::int64_t time_len = 5;

finetune_config side_keys(std::int64_t layers = 2) {
    finetune_config f;
    f.method = "lst";
    f.lst_layers = layers;
    f.lst_width = 8;
    f.lst_heads = 2;
    f.lst_ffn = 12;
    return f;
}

model_config backbone_config(std::int64_t layers) {
    model_config c = test::tiny_config();
    c.n_layer = layers;
    return c;
}

// Side weights of a scale that makes every path matter (Up is zero after initialise).
void randomise(const ladder_side_network& side, std::uint64_t seed) {
    rng generator(seed);
    for (const auto& [name, p] : side.parameters())
        for (std::int64_t i = 0; i < p->value.numel(); ++i) {
            const bool gain = p->value.rank() == 1;
            const double x = gain ? 1.0 + 0.2 * generator.normal() : 0.5 * generator.normal();
            if (p->value.type() == dtype::f64) p->value.data<double>()[i] = x;
            else p->value.data<float>()[i] = float(x);
        }
}

struct ladder_case {
    transformer backbone;
    layer_positions positions;
    std::vector<std::int32_t> tokens = test::tiny_tokens(2 * time_len), targets;
    explicit ladder_case(std::int64_t layers, dtype type = dtype::f64)
        : backbone(test::tiny_model(backbone_config(layers), type)),
          positions(backbone.positions(variants::parse_spec("default", "test"), time_len, "test")) {
        for (const auto& [name, p] : backbone.parameters()) p->requires_grad = false;
        targets.assign(tokens.begin() + 1, tokens.end());
        targets.push_back(3);
    }
    // A classifier's stand-in loss: the features' weighted sum; a language model's: cross-entropy.
    ag::var loss(const ladder_side_network& side, ag::context& ctx, bool language_model) const {
        if (language_model) return ag::cross_entropy(ctx, side.logits(ctx, tokens, 2, time_len, positions), targets, "loss");
        const ag::var features = side.features(ctx, tokens, 2, time_len, positions);
        tensor w({features->value.numel()}, dtype::f64);
        rng generator(9);
        for (std::int64_t i = 0; i < w.numel(); ++i) w.data<double>()[i] = generator.normal();
        return test::weighted_sum(ctx, features, w);
    }
};

// Budget as tests/model/test_transformer.cpp, 1e-6 relative over the 1e-2 floor, but with h = 1e-4:
// this loss (Post-LN side layers on the backbone's states) carries rounding noise of ~1e-13, so the
// central difference's error grows as 1/h below that (measured at h = 1e-5, 1e-6, 1e-7: 1.5e-6,
// 1.6e-5, 1.6e-4 relative), while the truncation error h^2 |f'''| / 6 stays ~1e-9 at h = 1e-4.
// The language model's loss alone: its logits pass through every side parameter (features() is the
// same side network below Up), and a width of 4 keeps the exhaustive check ~1 s.
TEST(Ladder, SideGradientsMatchFiniteDifferences) {
    finetune_config narrow = side_keys();
    narrow.lst_width = 4;
    narrow.lst_heads = 1;
    narrow.lst_ffn = 6;
    const ladder_case c(4);
    const ladder_side_network side(c.backbone, narrow, time_len, true);
    randomise(side, 3);
    ag::tape tape;
    ag::context ctx{&tape};
    tape.backward(c.loss(side, ctx, true));
    std::vector<ag::var> params;
    for (const auto& [name, p] : side.parameters()) params.push_back(p);
    const auto report = test::check_gradients(
        [&] {
            ag::context none;
            return c.loss(side, none, true)->value.data<double>()[0];
        },
        params, test::gradcheck_options{.h = 1e-4});
    EXPECT_LT(report.max_relative_error, 1e-6) << report.worst;
    for (const auto& [name, p] : c.backbone.parameters()) EXPECT_FALSE(p->grad.defined()) << name;
}

// The tape holds the side network's ops alone: a backbone of 2 or 4 layers (skip 1 or 2) under the
// same side network records the same number of ops; none of the side's parameters is a backbone's.
TEST(Ladder, NoBackboneOpIsRecorded) {
    for (const bool language_model : {false, true}) {
        std::vector<std::size_t> recorded;
        for (const std::int64_t layers : {2, 4}) {
            const ladder_case c(layers);
            const ladder_side_network side(c.backbone, side_keys(), time_len, language_model);
            randomise(side, 3);
            for (const auto& [name, p] : side.parameters()) {
                EXPECT_TRUE(name.starts_with("lst.")) << name;
                for (const auto& [backbone_name, b] : c.backbone.parameters()) EXPECT_NE(p.get(), b.get()) << name;
            }
            ag::tape tape;
            ag::context ctx{&tape};
            c.loss(side, ctx, language_model);
            recorded.push_back(tape.outputs().size());
        }
        EXPECT_EQ(recorded[0], recorded[1]) << (language_model ? "lm" : "features");
    }
}

// AdamW over the side network's parameters for a few steps: the backbone's weights are bit for bit
// what they were, and its nodes never got a gradient buffer.
TEST(Ladder, TrainingLeavesTheBackboneUntouched) {
    const ladder_case c(4, dtype::f32);
    ladder_side_network side(c.backbone, side_keys(), time_len, true);
    rng generator(2);
    side.initialise(generator);
    std::vector<tensor> before;
    for (const auto& [name, p] : c.backbone.parameters()) before.push_back(p->value.clone());
    train_config tc;
    adamw optimizer(side.parameters(), tc);
    for (int step = 1; step <= 3; ++step) {
        ag::tape tape;
        ag::context ctx{&tape};
        tape.backward(c.loss(side, ctx, true));
        optimizer.update(1e-2, step);
        optimizer.zero_grad();
    }
    EXPECT_NE(side.parameters().back().second->value.data<float>()[0], 0.0f) << "Up did not train";
    for (std::size_t i = 0; i < before.size(); ++i) {
        const auto& [name, p] = c.backbone.parameters()[i];
        EXPECT_EQ(std::memcmp(p->value.raw(), before[i].raw(), before[i].bytes()), 0) << name;
        EXPECT_FALSE(p->grad.defined()) << name;
    }
}

TEST(Ladder, MoreSideLayersThanTheBackboneHasAreRefused) {
    const ladder_case c(2);
    try {
        ladder_side_network side(c.backbone, side_keys(3), time_len, false);
        FAIL() << "accepted";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("lst_layers = 3: more side layers than the backbone's 2"), std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace stretch
