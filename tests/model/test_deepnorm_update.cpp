// DeepNet's diagnostic (arXiv 2203.00555, section 3, the model update ||dF||): the change of the
// model's output after the first optimizer steps. Post-LN's grows with depth, which is what makes a
// deep Post-LN model unstable early in training; DeepNorm's alpha and beta bound it (methods.md D3).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <vector>

#include "autograd/tape.h"
#include "core/rng.h"
#include "model/transformer.h"
#include "train/adamw.h"

namespace stretch {
namespace {

struct fixed_batch {
    std::vector<std::int32_t> inputs, targets;  // [batch, time]
    std::int64_t batch = 4, time = 16;
};

fixed_batch random_batch(std::int64_t vocab) {
    fixed_batch b;
    rng generator(21);
    for (std::int64_t i = 0; i < b.batch * b.time; ++i) {
        b.inputs.push_back(std::int32_t(generator.below(std::uint64_t(vocab))));
        b.targets.push_back(std::int32_t(generator.below(std::uint64_t(vocab))));
    }
    return b;
}

std::vector<double> logits_of(const transformer& model, const fixed_batch& b) {
    ag::context inference;
    const tensor logits = model.forward(inference, b.inputs, b.batch, b.time)->value;
    return {logits.data<float>(), logits.data<float>() + logits.numel()};
}

// ||F(theta_1) - F(theta_0)|| / ||F(theta_0)|| of the logits after one AdamW step at lr 1e-3 (the
// trainer's defaults, no warm-up) on one batch. The token embedding (tied to the head) is put back to
// its initial value before measuring: its own update is the same at every depth, and DeepNet's bound
// is on the blocks' update.
double block_update(std::int64_t n_layer, bool deepnorm, const std::string& constants = "paper") {
    model_config c;
    c.vocab_size = 32;
    c.d_model = 16;
    c.n_layer = n_layer;
    c.n_head = 2;
    c.n_head_kv = 1;
    c.d_ff = 32;
    c.n_ctx_train = 16;
    c.norm_position = "post";
    c.deepnorm = deepnorm;
    c.deepnorm_constants = constants;
    transformer model(c);
    rng generator(3);
    model.init(generator);
    const fixed_batch b = random_batch(c.vocab_size);
    const std::vector<double> before = logits_of(model, b);
    ag::var embedding;
    for (const auto& [name, p] : model.parameters())
        if (name == "token_embd.weight") embedding = p;
    const tensor initial_embedding = embedding->value.clone();
    adamw optimizer(model.parameters(), train_config{});
    ag::tape tape;
    ag::context ctx{&tape};
    tape.backward(ag::cross_entropy(ctx, model.forward(ctx, b.inputs, b.batch, b.time), b.targets, "loss"));
    optimizer.update(1e-3, 1);
    embedding->value = initial_embedding;
    const std::vector<double> after = logits_of(model, b);
    double diff = 0, norm = 0;
    for (std::size_t i = 0; i < before.size(); ++i) {
        diff += (after[i] - before[i]) * (after[i] - before[i]);
        norm += before[i] * before[i];
    }
    return std::sqrt(diff / norm);
}

TEST(DeepNormUpdate, PostLnUpdateGrowsWithDepthAndDeepNormStaysSmall) {
    // Measured (f32, one thread): Post-LN 0.47, 0.93, 1.41 at 6, 24, 96 layers (1.41 = sqrt 2: the
    // output after one step is uncorrelated with the one before); DeepNorm 0.013, 0.037, 0.13 with
    // the paper's constants, 0.009, 0.032, 0.13 with Su's Adam constants. The bounds below leave a
    // factor of 2 or more on each side, so only a change of behaviour (alpha or beta not applied,
    // Post-LN not normalising) fails them.
    std::vector<double> post, paper, adam;
    for (const std::int64_t n : {6, 24, 96}) {
        post.push_back(block_update(n, false));
        paper.push_back(block_update(n, true));
        adam.push_back(block_update(n, true, "adam"));
        std::printf("n_layer %3lld  relative output change after one step: Post-LN %.4f  DeepNorm paper %.4f  adam %.4f\n",
                    (long long)n, post.back(), paper.back(), adam.back());
    }
    EXPECT_GT(post[1], 1.5 * post[0]);
    EXPECT_GT(post[2], 2.0 * post[0]);
    for (std::size_t i = 0; i < post.size(); ++i) {
        EXPECT_LT(paper[i], post[i] / 5) << i;
        EXPECT_LT(adam[i], post[i] / 5) << i;
    }
    // DeepNorm at 96 layers moves the output less than Post-LN does at 6.
    EXPECT_LT(paper[2], post[0] / 2);
    EXPECT_LT(adam[2], post[0] / 2);
}

}  // namespace
}  // namespace stretch
