// LoRA (train/lora.h): the tape's float64 gradient of the language-modelling loss with respect to
// every adapter entry against central finite differences, with the base frozen (no gradient for it);
// the merged matrices W + (alpha / r) B A giving the adapted forward's logits; a fresh adapter
// (B = 0) changing nothing; and the llama.cpp adapter file's keys, names and GGUF shapes.
#include "train/lora.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "io/gguf.h"
#include "model/gguf_model.h"
#include "support/cli.h"
#include "support/gradcheck.h"
#include "support/tiny_model.h"

namespace stretch {
namespace {

const std::int64_t time_len = 6;

// The loss of 2 sequences of 6 tokens through the adapted model, recorded when ctx has a tape.
ag::var adapted_loss(const transformer& model, const lora_adapters& lora, ag::context& ctx) {
    const std::vector<std::int32_t> tokens = test::tiny_tokens(2 * time_len);
    std::vector<std::int32_t> targets(tokens.begin() + 1, tokens.end());
    targets.push_back(0);
    const layer_positions p = model.positions(variants::parse_spec("default", "test"), time_len, "test");
    const ag::var logits = model.logits(ctx, model.hidden(ctx, tokens, 2, time_len, p, nullptr, {}, lora.hooks()));
    return ag::cross_entropy(ctx, logits, targets, "loss");
}

// Adapters whose B is not zero (a fresh one's is, and would leave A without a gradient).
void randomise(const lora_adapters& lora, std::uint64_t seed) {
    rng generator(seed);
    for (const auto& [name, p] : lora.parameters())
        for (std::int64_t i = 0; i < p->value.numel(); ++i) {
            const double x = 0.3 * generator.normal();
            if (p->value.type() == dtype::f64) p->value.data<double>()[i] = x;
            else p->value.data<float>()[i] = float(x);
        }
}

// Budget as tests/model/test_transformer.cpp: FD rounding ~1e-9 absolute on an O(1) loss over the
// 1e-2 floor, O(h^2) truncation; 1e-6 stays far below a wrong term (a missing alpha / r, a swapped
// A and B).
TEST(Lora, AdapterGradientsMatchFiniteDifferencesAndTheBaseGetsNone) {
    const transformer model = test::tiny_model(test::tiny_config(), dtype::f64);
    for (const auto& [name, p] : model.parameters()) p->requires_grad = false;
    const lora_adapters lora(model, "q,k,v,o,gate,up,down", 2, 3.0, "test");
    ASSERT_EQ(lora.parameters().size(), 2u * 7u * 2u);  // A and B of 7 matrices in 2 layers
    randomise(lora, 5);
    ag::tape tape;
    ag::context ctx{&tape};
    tape.backward(adapted_loss(model, lora, ctx));
    std::vector<ag::var> adapters;
    for (const auto& [name, p] : lora.parameters()) adapters.push_back(p);
    const auto report = test::check_gradients(
        [&] {
            ag::context none;
            return adapted_loss(model, lora, none)->value.data<double>()[0];
        },
        adapters);
    EXPECT_LT(report.max_relative_error, 1e-6) << report.worst;
    for (const auto& [name, p] : model.parameters()) EXPECT_FALSE(p->grad.defined()) << name;
}

// The forward with adapters equals the forward of W + (alpha / r) B A. f32: the merged product sums
// in another order than x A^T B^T; measured 2e-7 of the logits' scale, 1e-5 leaves room.
TEST(Lora, MergedWeightsGiveTheAdaptedForward) {
    const transformer model = test::tiny_model(test::tiny_config(), dtype::f32);
    const lora_adapters lora(model, "q,v,down", 3, 6.0, "test");
    randomise(lora, 7);
    ag::context inference;
    const std::vector<std::int32_t> tokens = test::tiny_tokens(time_len);
    const layer_positions p = model.positions(variants::parse_spec("default", "test"), time_len, "test");
    const tensor adapted = model.logits(inference, model.hidden(inference, tokens, 1, time_len, p, nullptr, {}, lora.hooks()))->value;
    const auto merged = lora.merged();
    EXPECT_EQ(merged.size(), 6u);  // q, v and down of 2 layers
    for (const auto& [name, w] : model.parameters())
        if (const auto found = merged.find(name); found != merged.end()) w->value = found->second.clone();
    const tensor plain = model.logits(inference, model.hidden(inference, tokens, 1, time_len, p))->value;
    double err = 0, scale = 0;
    for (std::int64_t i = 0; i < plain.numel(); ++i) {
        err = std::max(err, double(std::abs(plain.data<float>()[i] - adapted.data<float>()[i])));
        scale = std::max(scale, double(std::abs(plain.data<float>()[i])));
    }
    EXPECT_LT(err / scale, 1e-5);
}

// A fresh adapter is B = 0: the model as it was, bit for bit (y + 0 * ... adds zeros).
TEST(Lora, FreshAdaptersChangeNothing) {
    const transformer model = test::tiny_model(test::tiny_config(), dtype::f32);
    lora_adapters lora(model, "q,k,v,o,gate,up,down", 4, 8.0, "test");
    rng generator(1);
    lora.initialise(generator);
    ag::context inference;
    const std::vector<std::int32_t> tokens = test::tiny_tokens(time_len);
    const layer_positions p = model.positions(variants::parse_spec("default", "test"), time_len, "test");
    const tensor adapted = model.hidden(inference, tokens, 1, time_len, p, nullptr, {}, lora.hooks())->value;
    const tensor plain = model.hidden(inference, tokens, 1, time_len, p)->value;
    ASSERT_EQ(adapted.bytes(), plain.bytes());
    EXPECT_EQ(std::memcmp(adapted.raw(), plain.raw(), plain.bytes()), 0);
}

// llama.cpp's reader (src/llama-adapter.cpp): general.type adapter, adapter.type lora,
// adapter.lora.alpha f32, and `<name>.lora_a` of ne [in, r], `.lora_b` of ne [r, out], which the
// GGUF reader reverses to shapes [r, in] and [out, r].
TEST(Lora, AdapterFileIsWhatLlamaCppReads) {
    const transformer model = test::tiny_model(test::tiny_config(), dtype::f32);
    const lora_adapters lora(model, "q,gate", 2, 4.0, "test");
    const std::string path = test::fresh_dir("lora") + "/adapter.gguf";
    lora.write_adapter(path, "llama");
    const auto in = gguf::reader::open(path);
    EXPECT_EQ(in.get_string("general.architecture"), "llama");
    EXPECT_EQ(in.get_string("general.type"), "adapter");
    EXPECT_EQ(in.get_string("adapter.type"), "lora");
    EXPECT_EQ(in.get_f32("adapter.lora.alpha"), 4.0f);
    const std::int64_t c = model.config().d_model, q = model.config().head_width() * model.config().n_head;
    EXPECT_EQ(in.require_tensor("blk.0.attn_q.weight.lora_a").shape, (shape_t{2, c}));
    EXPECT_EQ(in.require_tensor("blk.0.attn_q.weight.lora_b").shape, (shape_t{q, 2}));
    EXPECT_EQ(in.require_tensor("blk.1.ffn_gate.weight.lora_b").shape, (shape_t{model.config().d_ff, 2}));
    EXPECT_EQ(in.tensors().size(), 8u);
}

TEST(Lora, TargetsAGauStackLacksAreRefused) {
    const transformer model = test::tiny_model(test::tiny_gau_config(), dtype::f32);
    try {
        lora_adapters lora(model, "q,v", 2, 4.0, "lora_targets");
        FAIL() << "accepted";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("lora_targets: "), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("has no matrix that 'q,v' names"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace stretch
