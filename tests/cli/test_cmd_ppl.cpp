// `stretch ppl` with bad numbers: range-checked flags, a context too short to score, a context that
// cannot fit in memory, and the rope scaling a GGUF file declares blamed on the file.
#include <gtest/gtest.h>

#include "core/memory.h"
#include "model/memory_estimate.h"
#include "support/cli.h"
#include "support/model_file.h"

namespace stretch::test {

namespace {

std::string ppl_command(const std::string& model) {
    return stretch_binary() + " ppl -m " + model + " -f " + data_file("austen-persuasion.txt");
}

}  // namespace

TEST(CliPpl, ContextsOutOfRangeAreRefusedNamingTheFlag) {
    const std::string model = write_model_file(fresh_dir("pplrange") + "/model.gguf");
    const std::pair<const char*, const char*> cases[] = {
        {"-c 4611686018427387904", "--ctx-size: found '4611686018427387904', expected an integer in [2, 2147483648]"},
        {"-c 1e30", "--ctx-size: found '1e30', expected an integer in [2, 2147483648]"},
        {"--ctx-size=-512", "--ctx-size: found '-512', expected an integer in [2, 2147483648]"},
        {"--chunks 9223372036854775807", "--chunks: found '9223372036854775807', expected an integer in [0, 2147483648]"},
        {"-c 64 --score last:4611686018427387904",
         "--score last:N: found '4611686018427387904', expected an integer in [1, 2147483648]"},
    };
    for (const auto& [flags, words] : cases) EXPECT_TRUE(one_line_error(run_command(ppl_command(model) + " " + flags), words)) << flags;
}

// `ppl -c 2` printed "PPL = -nan" with exit 0: a chunk of 2 has no position llama.cpp's rule scores.
TEST(CliPpl, AContextTooShortToScoreIsRefused) {
    const std::string model = write_model_file(fresh_dir("pplshort") + "/model.gguf");
    EXPECT_TRUE(one_line_error(run_command(ppl_command(model) + " -c 2"),
                               "-c 2: a chunk of 2 tokens has no position to score"));
    EXPECT_TRUE(one_line_error(run_command(ppl_command(model) + " -c 8 --score last:8"),
                               "--score last:8: expected 1 <= N <= 7"));
    // The shortest contexts that do score something work, and give a finite perplexity.
    for (const std::string ok : {"-c 3 --chunks 2", "-c 2 --score last:1 --chunks 2"}) {
        const auto r = run_command(ppl_command(model) + " " + ok);
        ASSERT_EQ(r.status, 0) << ok << ": " << r.output;
        EXPECT_NE(r.output.find("Final estimate: PPL = "), std::string::npos) << r.output;
        EXPECT_EQ(r.output.find("nan"), std::string::npos) << r.output;
    }
}

TEST(CliPpl, AContextThatCannotFitInMemoryIsRefused) {
    const std::string model = write_model_file(fresh_dir("pplmemory") + "/model.gguf");
    for (const std::int64_t n_ctx : {std::int64_t{10000000}, std::int64_t{300000000}, std::int64_t{2147483648}}) {
        if (inference_memory(preset("tiny").model, n_ctx, 128).total() < double(available_memory())) {
            std::fprintf(stderr, "this machine has memory for -c %lld: that case is not checked\n", (long long)n_ctx);
            continue;
        }
        const auto r = run_command(ppl_command(model) + " -c " + std::to_string(n_ctx));
        EXPECT_TRUE(one_line_error(r, "-c " + std::to_string(n_ctx) + ": needs about ")) << r.output;
        EXPECT_TRUE(one_line_error(r, "GiB (activations ")) << r.output;
    }
}

// Cause 9: a scaling stored in a GGUF file that stretch cannot use is blamed on the file, not --pos.
TEST(CliPpl, RopeScalingFromTheFileIsBlamedOnTheFile) {
    const std::string dir = fresh_dir("pplrope");
    const std::pair<float, const char*> cases[] = {
        {0.5f, "linear.factor: found '0.5', expected a number in [1, 1e+12]"},
        {1e30f, "linear.factor: found '1e+30', expected a number in [1, 1e+12]"},
        {0.25f, "linear.factor: found '0.25', expected a number in [1, 1e+12]"},
    };
    for (const auto& [factor, words] : cases) {
        const std::string model = write_llama_gguf(dir + "/m.gguf", [factor](gguf::writer& w) {
            w.set_string("llama.rope.scaling.type", "linear");
            w.set_f32("llama.rope.scaling.factor", factor);
        });
        const auto r = run_command(ppl_command(model) + " -c 64 --chunks 1");
        EXPECT_TRUE(one_line_error(r, model + ": the model's own positions: " + words)) << factor;
        EXPECT_EQ(r.output.find("--pos"), std::string::npos) << r.output;
    }
}

// --cache-type-k / --cache-type-v on every verb that runs a model (cli/cache_options.h), their
// refusals in one line, and a ppl run through an f16 / bf16 cache.
TEST(KvCacheCli, EveryVerbThatRunsAModelTakesTheCacheTypes) {
    for (const char* verb : {"generate", "ppl", "eval", "passkey", "serve", "bench"}) {
        const auto help = run_command(stretch_binary() + " " + verb + " --help");
        ASSERT_EQ(help.status, 0) << help.output;
        EXPECT_NE(help.output.find("--cache-type-k"), std::string::npos) << verb;
        EXPECT_NE(help.output.find("--cache-type-v"), std::string::npos) << verb;
    }
    const std::string model = write_model_file(fresh_dir("pplcache") + "/model.gguf");  // head dim 8
    EXPECT_TRUE(one_line_error(run_command(ppl_command(model) + " -c 16 --cache-type-k q8_0"),
                               "--cache-type-k q8_0: the model's head dim 8 is not a multiple of q8_0's 32-value "
                               "blocks (llama.cpp requires the same); expected f32, f16 or bf16 for this model"));
    EXPECT_TRUE(one_line_error(run_command(ppl_command(model) + " --cache-type-v q5_1"),
                               "--cache-type-v: found 'q5_1', expected one of f32, f16, bf16, q8_0, q4_0"));
    EXPECT_TRUE(one_line_error(run_command(ppl_command(model) + " -c 16 --kl-divergence"),
                               "--kl-divergence: expected --kl-divergence-base FILE too"));
    const auto r = run_command(ppl_command(model) + " -c 16 --chunks 2 --cache-type-k f16 --cache-type-v bf16");
    ASSERT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("cache f16 / bf16"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("Final estimate: PPL = "), std::string::npos) << r.output;
}

}  // namespace stretch::test
