// model/memory_estimate.h against what real runs use: the peak resident memory of `stretch eval` and
// `stretch train` (wait4's ru_maxrss) at a long and a short length, whose difference is what the
// length adds — the figure the estimate must get right to refuse a length before allocating it.
// Within a factor of two: the estimate counts the buffers a forward keeps alive (the header's list);
// the allocator's block cache and the kernels' per-thread scratch move the measured peak by tens of
// percent, while a missing or double-counted [T, C]-sized buffer family would move it past 2x.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "eval/next_token.h"
#include "model/memory_estimate.h"
#include "support/cli.h"
#include "support/model_file.h"

namespace stretch::test {

namespace {

// AddressSanitizer's shadow memory and quarantine change the resident memory a run has.
#if defined(__SANITIZE_ADDRESS__)
constexpr bool sanitized = true;
#else
constexpr bool sanitized = false;
#endif

double measured_mib(const std::string& command) {
    const auto r = run_command(command);
    EXPECT_EQ(r.status, 0) << command << "\n" << r.output;
    return double(r.peak_rss_kib) / 1024.0;
}

// The ratio measured / estimated of what going from `short_length` to `long_length` adds.
double eval_ratio(const model_config& config, const std::string& name, std::int64_t short_length, std::int64_t long_length) {
    const std::string model = write_model_file(fresh_dir("memory") + "/model.gguf", config);
    const auto eval = [&](std::int64_t length) {
        return measured_mib(stretch_binary() + " eval --threads 2 --tokens 1 --model " + model + " --text " +
                            data_file("austen-persuasion.txt") + " --lengths " + std::to_string(length));
    };
    const double measured = eval(long_length) - eval(short_length);
    const double estimated =
        (inference_memory(config, long_length, score_slice_rows).total() -
         inference_memory(config, short_length, std::min(short_length, score_slice_rows)).total()) /
        0x1p20;
    std::fprintf(stderr, "%s: %lld -> %lld tokens adds %.1f MiB measured, %.1f MiB estimated (%.2fx)\n", name.c_str(),
                 (long long)short_length, (long long)long_length, measured, estimated, measured / estimated);
    return measured / estimated;
}

}  // namespace

TEST(MemoryEstimate, EvalOfATransformerWithinAFactorOfTwo) {
    if (sanitized) GTEST_SKIP() << "the sanitizers' shadow memory changes the resident memory measured";
    model_config c = preset("tiny").model;
    c.d_model = 1024;
    c.n_layer = 1;
    c.n_head = 16;
    c.n_head_kv = 16;
    c.d_ff = 2752;
    c.n_ctx_train = 256;
    const double ratio = eval_ratio(c, "transformer C 1024", 64, 2048);
    EXPECT_GT(ratio, 0.5);
    EXPECT_LT(ratio, 2.0);
}

TEST(MemoryEstimate, EvalOfAGauStackWithinAFactorOfTwo) {
    if (sanitized) GTEST_SKIP() << "the sanitizers' shadow memory changes the resident memory measured";
    model_config c = preset("tiny").model;
    c.d_model = 512;
    c.n_layer = 1;
    c.block = "gau";
    c.gau_key_dim = 128;
    c.n_ctx_train = 256;
    const double ratio = eval_ratio(c, "GAU C 512", 64, 2048);
    EXPECT_GT(ratio, 0.5);
    EXPECT_LT(ratio, 2.0);
}

TEST(MemoryEstimate, TrainingStepWithinAFactorOfTwo) {
    if (sanitized) GTEST_SKIP() << "the sanitizers' shadow memory changes the resident memory measured";
    const std::string out = fresh_dir("trainmemory");
    const auto train = [&](std::int64_t batch, const std::string& dir) {
        return measured_mib(stretch_binary() + " train --threads 2 --steps 1 --preset default --set batch_size=" +
                            std::to_string(batch) + " --set eval_windows=1 --data " + data_file("austen-emma.txt") +
                            " --val " + data_file("austen-persuasion.txt") + " --out " + out + "/" + dir);
    };
    const model_config c = preset("default").model;
    const double measured = train(16, "long") - train(1, "short");
    const double estimated = (training_memory(c, 16, c.n_ctx_train).total() - training_memory(c, 1, c.n_ctx_train).total()) / 0x1p20;
    std::fprintf(stderr, "training, default preset: batch 1 -> 16 adds %.1f MiB measured, %.1f MiB estimated (%.2fx)\n",
                 measured, estimated, measured / estimated);
    EXPECT_GT(measured / estimated, 0.5);
    EXPECT_LT(measured / estimated, 2.0);
}

}  // namespace stretch::test
