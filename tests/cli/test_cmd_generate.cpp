// `stretch generate` with bad input: -n and the sampling flags range-checked before the KV cache is
// sized (-n 2^62 once overflowed into a heap write), a cache that cannot fit refused with its
// estimate, special files as the model refused by type (a FIFO once blocked forever), and classifier
// guidance's flags: a folder that is no classifier, an unknown class, gamma < 0, a classifier whose
// tokenizer is not the model's.
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

TEST(CliGenerate, ClassifierGuidanceBadInputIsOneLine) {
    const std::string dir = fresh_dir("genguide");
    std::string passages;
    for (const char* novel : {"emma", "persuasion"})
        for (int i = 0; i < 4; ++i) passages += std::string("{\"text\": \"") + novel + " passage " + std::to_string(i) + "\", \"label\": \"" + novel + "\"}\n";
    write_file(dir + "/p.jsonl", passages);
    ASSERT_EQ(run_command(stretch_binary() + " train --preset tiny --threads 2 --steps 1 --data " + data_file("austen-emma.txt") +
                          " --val " + data_file("austen-persuasion.txt") + " --out " + dir + "/base").status, 0);
    const auto probe = run_command(stretch_binary() + " finetune -m " + dir + "/base --threads 2 --method probe --task classify "
                                   "--steps 1 --set batch_size=2 --data " + dir + "/p.jsonl --val " + dir + "/p.jsonl --out " + dir + "/probe");
    ASSERT_EQ(probe.status, 0) << probe.output;
    const std::string base = stretch_binary() + " generate -m " + dir + "/base -p hello -n 2 ";
    EXPECT_TRUE(one_line_error(run_command(base + "--guide " + dir + " --guide-class 0"),
                               "--guide " + dir + ": no finetuned.gguf in it; expected the --out folder of stretch finetune --task classify"));
    EXPECT_TRUE(one_line_error(run_command(base + "--guide " + dir + "/probe --guide-class mansfield"),
                               "--guide-class: found 'mansfield', expected a class of the classifier (emma, persuasion) or its index 0 .. 1"));
    EXPECT_TRUE(one_line_error(run_command(base + "--guide " + dir + "/probe --guide-class 2"),
                               "--guide-class: found '2', expected a class of the classifier (emma, persuasion) or its index 0 .. 1"));
    EXPECT_TRUE(one_line_error(run_command(base + "--guide " + dir + "/probe --guide-class emma --guide-scale -1"),
                               "--guide-scale: found '-1', expected a number in [0, 1e+12]"));
    EXPECT_TRUE(one_line_error(run_command(base + "--guide " + dir + "/probe"),
                               "--guide " + dir + "/probe: no --guide-class; expected the class to steer towards"));
    const std::string other = write_llama_gguf(dir + "/llama.gguf");  // a vocabulary of 512 BPE tokens
    EXPECT_TRUE(one_line_error(run_command(stretch_binary() + " generate -m " + other + " -p hello -n 2 --guide " + dir +
                                           "/probe --guide-class 1"),
                               "--guide " + dir + "/probe: the classifier's base " + dir + "/base"));
    const auto ok = run_command(base + "--guide " + dir + "/probe --guide-class persuasion --guide-scale 2 --guide-top-k 3");
    EXPECT_EQ(ok.status, 0) << ok.output;
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
