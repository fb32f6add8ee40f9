// SmolLM2-135M-Instruct (GGUF, Q4_1 with a Q8_0 embedding; scripts/get_smollm2.sh) through
// model/load.h: its shape from the metadata, and llama-perplexity's protocol on wikitext-2 at
// n_ctx 2048 agreeing with llama.cpp's own numbers (tests/fixtures/ppl/smollm2_wikitext2_2048.json,
// made by tests/reference/llama_cpp_perplexity.py with llama-cpp-python) within 1 %.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "eval/perplexity.h"
#include "io/corpus.h"
#include "model/load.h"

namespace stretch {
namespace {

namespace fs = std::filesystem;

fs::path smollm2() {
    const char* cache = std::getenv("STRETCH_CACHE");
    const fs::path dir = cache ? fs::path(cache) : fs::path(std::getenv("HOME") ? std::getenv("HOME") : "/") / ".cache/stretch";
    return dir / "SmolLM2-135M-Instruct.Q4_1.gguf";
}

TEST(LoadGguf, SmolLM2PerplexityAgreesWithLlamaCpp) {
    if (!fs::exists(smollm2())) GTEST_SKIP() << smollm2() << " is absent; fetch it with scripts/get_smollm2.sh";
    const loaded_model m = load_any_model(smollm2().string());
    const auto& c = m.model->config();
    EXPECT_EQ(m.format, "gguf");
    EXPECT_EQ(c.n_layer, 30);
    EXPECT_EQ(c.n_head_kv, 3);
    EXPECT_EQ(c.n_ctx_train, 8192);
    EXPECT_TRUE(c.tie_embeddings);
    EXPECT_EQ(m.positions, "default");

    std::ifstream in(fs::path(STRETCH_SOURCE_DIR) / "tests/fixtures/ppl/smollm2_wikitext2_2048.json");
    const auto want = nlohmann::json::parse(in);
    const fs::path text = fs::path(STRETCH_SOURCE_DIR).parent_path() / "shared/data" / want["text"].get<std::string>();
    const auto tokens = m.tok->encode(read_text_file(text.string()), m.tok->add_bos_default());
    EXPECT_EQ(std::int64_t(tokens.size()), want["tokens_total"].get<std::int64_t>());  // the same tokenization

    perplexity_request request;
    request.n_ctx = 2048;
    request.max_chunks = 4;  // 4 of the fixture's chunks keep the test near a minute on 2 cores
    request.bos = m.tok->add_bos_default() ? m.tok->bos() : -1;
    const auto r = llama_perplexity(*m.model, tokens, request);
    const double reference = want["chunk_ppl"][3].get<double>();
    // Both dequantise the same Q4_1 weights; llama.cpp multiplies them with activations quantised to
    // Q8_1 and stretch in f32, which moves PPL by a few tenths of a percent. The bound: 1 %.
    EXPECT_NEAR(r.ppl, reference, 0.01 * reference);
}

}  // namespace
}  // namespace stretch
