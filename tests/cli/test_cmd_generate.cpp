// `stretch generate` with bad input: -n and the sampling flags range-checked before the KV cache is
// sized (-n 2^62 once overflowed into a heap write), a cache that cannot fit refused with its
// estimate, and special files as the model refused by type (a FIFO once blocked forever).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <chrono>

#include "model/memory_estimate.h"
#include "support/cli.h"
#include "support/model_file.h"

namespace stretch::test {

TEST(CliGenerate, NumbersOutOfRangeAreRefusedNamingTheFlag) {
    const std::string model = write_model_file(fresh_dir("genrange") + "/model.gguf");
    const std::string base = stretch_binary() + " generate -m " + model + " -p hello ";
    const std::pair<const char*, const char*> cases[] = {
        {"-n 4611686018427387904", "--n-predict: found '4611686018427387904', expected an integer in [0, 2147483648]"},
        {"-n 1e30", "--n-predict: found '1e30', expected an integer in [0, 2147483648]"},
        {"-n -1", "--n-predict: found '-1', expected an integer in [0, 2147483648]"},
        {"--top-k 9223372036854775807", "--top-k: found '9223372036854775807', expected an integer in [0, 2147483648]"},
        {"--repeat-last-n=-4", "--repeat-last-n: found '-4', expected an integer in [0, 2147483648]"},
        {"--temp nan", "--temp: found 'nan', expected a number in [0, 1e+12]"},
        {"--top-p 0", "--top-p: found '0', expected a number in (0, 1]"},
        {"--min-p 1.5", "--min-p: found '1.5', expected a number in [0, 1]"},
        {"--cfg-scale 1e300", "--cfg-scale: found '1e300', expected a number in [-1e+12, 1e+12]"},
        {"--seed=-3", "--seed: found '-3', expected an integer in [0, 9007199254740992]"},
        {"--pos sinks:window=1e30", "--pos: sinks.window: found '1e30', expected an integer in [1, 2147483648]"},
    };
    for (const auto& [flags, words] : cases) EXPECT_TRUE(one_line_error(run_command(base + flags), words)) << flags;
}

TEST(CliGenerate, ACacheThatCannotFitIsRefusedWithItsEstimate) {
    const std::string model = write_model_file(fresh_dir("genmemory") + "/model.gguf");
    for (const std::int64_t n : {std::int64_t{2000000000}, std::int64_t{2147483648}, std::int64_t{1500000000}}) {
        const auto r = run_command(stretch_binary() + " generate -m " + model + " -p hello -n " + std::to_string(n));
        EXPECT_TRUE(one_line_error(r, "-n " + std::to_string(n) + " after 5 prompt tokens: needs about ")) << r.output;
        EXPECT_TRUE(one_line_error(r, "KV cache ")) << r.output;
    }
}

// The example: `mkfifo ff; stretch generate -m ff -p x` waited forever for a writer.
TEST(CliGenerate, SpecialFilesAsTheModelAreRefusedByType) {
    const std::string dir = fresh_dir("genspecial");
    ASSERT_EQ(mkfifo((dir + "/ff").c_str(), 0600), 0);
    ASSERT_EQ(mkfifo((dir + "/ff.bin").c_str(), 0600), 0);
    const auto start = std::chrono::steady_clock::now();
    const std::string base = stretch_binary() + " generate -p x -m ";
    EXPECT_TRUE(one_line_error(run_command(base + dir + "/ff"), dir + "/ff: is a FIFO; expected a regular file"));
    EXPECT_TRUE(one_line_error(run_command(base + dir + "/ff.bin"), dir + "/ff.bin: is a FIFO; expected a regular file"));
    EXPECT_TRUE(one_line_error(run_command(base + "/dev/zero"), "/dev/zero: is a character device; expected a regular file"));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
    // A llama2.c model's tokenizer that is a FIFO.
    const std::string stories = std::string(STRETCH_SOURCE_DIR) + "/../shared/models/stories260K.bin";
    if (!std::filesystem::exists(stories)) GTEST_SKIP() << stories << " not found";
    EXPECT_TRUE(one_line_error(run_command(base + stories + " --tokenizer " + dir + "/ff"),
                               dir + "/ff: is a FIFO; expected a regular file"));
}

}  // namespace stretch::test
