// A stretch model written to GGUF and read back is the same model: every config key that changes the
// forward survives the round trip (a key the writer forgets would rebuild a different network: a
// Post-LN model loaded as Pre-LN looks for a final norm it never had), and the logits are bit-identical.
#include "model/gguf_model.h"
#include "model/load.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "support/cli.h"
#include "support/tiny_model.h"

namespace stretch {
namespace {

void expect_round_trip(const model_config& config) {
    transformer model(config, dtype::f32);
    rng generator(5);
    model.init(generator);
    gguf::writer out;
    write_model_metadata(out, config);
    write_model_weights(out, model);
    const std::string path = test::fresh_dir("ggufmodel") + "/model.gguf";
    out.write(path);

    const auto loaded = load_any_model(path).model;
    const model_config& c = loaded->config();
    EXPECT_EQ(c.norm_position, config.norm_position);
    EXPECT_EQ(c.deepnorm, config.deepnorm);
    EXPECT_EQ(c.deepnorm_constants, config.deepnorm_constants);
    EXPECT_EQ(c.pos, config.pos);
    EXPECT_EQ(c.tie_embeddings, config.tie_embeddings);
    EXPECT_EQ(c.n_parameters(), config.n_parameters());

    const std::vector<std::int32_t> tokens = {1, 5, 2, 7, 7, 3, 0, 12, 4, 9};
    const auto spec = variants::parse_spec(config.pos, "test");
    ag::context ctx;
    const auto setup = model.positions(spec, 10, "test");
    const ag::var a = model.forward(ctx, tokens, 1, 10, setup);
    const ag::var b = loaded->forward(ctx, tokens, 1, 10, setup);
    ASSERT_EQ(a->value.numel(), b->value.numel());
    for (std::int64_t i = 0; i < a->value.numel(); ++i) ASSERT_EQ(a->value.data<float>()[i], b->value.data<float>()[i]) << i;
}

TEST(GgufModel, PreLnRoundTrip) { expect_round_trip(test::tiny_config()); }

TEST(GgufModel, PostLnAndDeepNormRoundTrip) {
    model_config c = test::tiny_config();
    c.norm_position = "post";
    expect_round_trip(c);
    c.deepnorm = true;
    expect_round_trip(c);
    c.deepnorm_constants = "adam";  // alpha = sqrt(2N): a model loaded with the paper's alpha would differ
    expect_round_trip(c);
}

TEST(GgufModel, TrainedPositionsRoundTrip) {
    model_config c = test::tiny_config();
    c.pos = "learned";
    expect_round_trip(c);
    c.pos = "alibi+keynorm";
    expect_round_trip(c);
}

}  // namespace
}  // namespace stretch
