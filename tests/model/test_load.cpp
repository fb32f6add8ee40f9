// Real pretrained models through model/load.h. stories260K (llama2.c, GQA, trained at 512 tokens):
// greedy generation with stretch's fast path (f32, KV cache, tiled attention) equals, token for
// token, greedy decoding with an independent float64 forward (tests/variants/oracle.h: kernels/ref,
// every score written out), and the logits agree within f32 rounding.
#include "model/load.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "generate/generator.h"
#include "variants/oracle.h"

namespace stretch {
namespace {

std::string shared_model(const std::string& name) {
    return (std::filesystem::path(STRETCH_SOURCE_DIR).parent_path() / "shared" / "models" / name).string();
}

TEST(LoadLlama2c, Stories260KGreedyGenerationEqualsAFloat64Reference) {
    const loaded_model m = load_any_model(shared_model("stories260K.bin"), shared_model("tok512.bin"));
    ASSERT_EQ(m.format, "llama2.c");
    const auto& c = m.model->config();
    EXPECT_EQ(c.n_ctx_train, 512);
    EXPECT_EQ(c.n_head_kv, 4);
    const std::vector<std::int32_t> prompt = m.tok->encode("Once upon a time", true);
    ASSERT_EQ(prompt.front(), m.tok->bos());

    generation_request g;
    g.prompt = prompt;
    g.n_predict = 64;
    g.sampling.temperature = 0;
    const auto spec = variants::parse_spec("default", "test");
    const std::vector<std::int32_t> fast = generate(*m.model, spec, g);
    ASSERT_EQ(fast.size(), 64u);

    // The same weights in float64, decoded greedily by recomputing the whole sequence each step.
    transformer wide(c, dtype::f64);
    for (std::size_t i = 0; i < wide.parameters().size(); ++i)
        wide.parameters()[i].second->value = m.model->parameters()[i].second->value.to(dtype::f64);
    const auto inv_freq = cpu::rope_inv_freq(c.rope_base, c.head_width());
    test::oracle_variant plain{test::rho_angle([](std::int64_t i, std::int64_t j) { return double(i - j); }, inv_freq)};
    std::vector<std::int32_t> sequence = prompt;
    double worst = 0;
    for (std::size_t step = 0; step < fast.size(); ++step) {
        const auto logits = test::oracle_forward(wide, sequence, plain);
        const std::size_t vocab = std::size_t(c.vocab_size), last = logits.size() - vocab;
        std::size_t best = 0;
        for (std::size_t v = 1; v < vocab; ++v)
            if (logits[last + v] > logits[last + best]) best = v;
        ASSERT_EQ(fast[step], std::int32_t(best)) << "step " << step << " of '" << m.tok->decode(fast) << "'";
        // The f32 model's logits for the same sequence, recomputed without a cache.
        ag::context ctx;
        const tensor f32 = m.model->forward(ctx, sequence, 1, std::int64_t(sequence.size()))->value;
        for (std::size_t v = 0; v < vocab; ++v)
            worst = std::max(worst, std::abs(double(f32.data<float>()[last + v]) - logits[last + v]));
        sequence.push_back(fast[step]);
    }
    // f32 weights are exact in f64; the difference is f32 rounding in 5 layers of width 64-172 with
    // O(10) logits: measured ~2e-5. 1e-3 absolute is far below the gap that would flip an argmax here.
    EXPECT_LT(worst, 1e-3);
}

TEST(LoadLlama2c, MissingTokenizerIsAOneLineError) {
    try {
        load_any_model(shared_model("stories260K.bin"), "/nonexistent/tokenizer.bin");
        FAIL();
    } catch (const error& e) {
        EXPECT_STREQ(e.what(), "--tokenizer: /nonexistent/tokenizer.bin does not exist; a llama2.c model needs its "
                               "tokenizer.bin (--tokenizer FILE)");
    }
}

}  // namespace
}  // namespace stretch
