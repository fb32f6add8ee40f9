// `stretch eval` as a user runs it: the JSON report's shape and agreement with the table, and
// one-line errors for impossible lengths.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <cmath>
#include <numbers>

#include <nlohmann/json.hpp>

#include "core/memory.h"
#include "model/memory_estimate.h"
#include "support/cli.h"
#include "train/run_config.h"

namespace stretch::test {

namespace {

// One tiny model shared by the tests of this file.
const std::string& tiny_model() {
    static const std::string dir = [] {
        const std::string out = fresh_dir("evalmodel");
        run_command(stretch_binary() + " train --preset tiny --threads 2 --steps 30 --data " +
                    data_file("austen-emma.txt") + " --val " + data_file("austen-persuasion.txt") + " --out " + out);
        return out;
    }();
    return dir;
}

}  // namespace

TEST(CliEval, JsonHasOneConsistentRowPerLength) {
    const std::string json = fresh_dir("evaljson") + "/eval.json";
    const auto r = run_command(stretch_binary() + " eval --model " + tiny_model() + " --text " +
                               data_file("austen-persuasion.txt") + " --lengths 32,64,128 --mode plain --score last:16 --tokens 512 --json " +
                               json);
    ASSERT_EQ(r.status, 0) << r.output;
    const auto report = nlohmann::json::parse(read_file(json));
    ASSERT_EQ(report["results"].size(), 3u);
    const std::int64_t expected_lengths[] = {32, 64, 128};
    for (std::size_t i = 0; i < 3; ++i) {
        const auto& row = report["results"][i];
        EXPECT_EQ(row["length"], expected_lengths[i]);
        EXPECT_EQ(row["mode"], "plain");
        EXPECT_EQ(row["score"], "last:16");
        EXPECT_EQ(row["tokens"], 512);  // 32 windows x the last 16 positions
        EXPECT_EQ(row["bytes"], 512);   // byte-level: a token is a byte
        // G3: every length scores the same targets (the last 16 of the same 32 samples of 129 tokens).
        EXPECT_EQ(row["targets_hash"], report["results"][0]["targets_hash"]);
        // ppl and bpb are functions of the loss (byte-level: one token is one byte).
        EXPECT_NEAR(row["ppl"].get<double>(), std::exp(row["loss"].get<double>()), 1e-9 * row["ppl"].get<double>());
        EXPECT_NEAR(row["bpb"].get<double>(), row["loss"].get<double>() / std::numbers::ln2, 1e-12);
        EXPECT_GE(row["accuracy"].get<double>(), 0.0);
        EXPECT_LE(row["accuracy"].get<double>(), 1.0);
        // One bucket of 256 positions holds the scored last 16 of every window, with the row's loss
        // (the same sum, divided by the same count).
        ASSERT_EQ(row["buckets"].size(), 1u);
        EXPECT_EQ(row["buckets"][0]["first"], 0);
        EXPECT_EQ(row["buckets"][0]["end"], expected_lengths[i]);
        EXPECT_EQ(row["buckets"][0]["tokens"], row["tokens"]);
        EXPECT_NEAR(row["buckets"][0]["loss"].get<double>(), row["loss"].get<double>(), 1e-12);
    }
    EXPECT_TRUE(report.contains("model") && report.contains("text"));
    EXPECT_EQ(report["apply"], "always");
}

// A G3 table measured one length per run (scripts/g3_table.py --results): with the table's longest
// length + 1 as --sample-tokens, each run scores the same targets, with the losses of the run that
// holds every length.
TEST(CliEval, SampleTokensLetSeparateRunsScoreTheSameTargets) {
    const std::string dir = fresh_dir("evalsample");
    const std::string base = stretch_binary() + " eval --model " + tiny_model() + " --text " +
                             data_file("austen-persuasion.txt") + " --score last:16 --tokens 256 --threads 2";
    ASSERT_EQ(run_command(base + " --lengths 32,64 --json " + dir + "/both.json").status, 0);
    const auto both = nlohmann::json::parse(read_file(dir + "/both.json"))["results"];
    for (std::size_t i = 0; i < 2; ++i) {
        const std::string length = i == 0 ? "32" : "64";
        const auto r = run_command(base + " --lengths " + length + " --sample-tokens 65 --json " + dir + "/one.json");
        ASSERT_EQ(r.status, 0) << r.output;
        const auto one = nlohmann::json::parse(read_file(dir + "/one.json"))["results"][0];
        EXPECT_EQ(one["targets_hash"], both[i]["targets_hash"]) << length;
        EXPECT_EQ(one["loss"].get<double>(), both[i]["loss"].get<double>()) << length;  // the same windows, bit for bit
    }
    // Alone, the 32-token run's samples are 33 tokens: other targets.
    ASSERT_EQ(run_command(base + " --lengths 32 --json " + dir + "/alone.json").status, 0);
    EXPECT_NE(nlohmann::json::parse(read_file(dir + "/alone.json"))["results"][0]["targets_hash"], both[0]["targets_hash"]);
    EXPECT_TRUE(one_line_error(run_command(base + " --lengths 32,64 --sample-tokens 64"),
                               "--sample-tokens 64: shorter than the longest length 64 + 1; expected at least 65"));
    EXPECT_TRUE(one_line_error(run_command(stretch_binary() + " eval --model " + tiny_model() + " --text " +
                                           data_file("austen-persuasion.txt") + " --lengths 32 --sample-tokens 65"),
                               "--sample-tokens 65: G3's samples exist only with --score last:N; found --score all"));
}

TEST(CliEval, ImpossibleLengthsAreOneLineErrors) {
    const std::string base = stretch_binary() + " eval --model " + tiny_model() + " --text " + data_file("austen-persuasion.txt");
    for (const std::string bad : {"0", "-5", "abc", "32,,64", "1.5"}) {
        const auto r = run_command(base + " --lengths=" + bad);
        EXPECT_EQ(r.status, 1) << bad;
        EXPECT_NE(r.output.find("--lengths: found '"), std::string::npos) << r.output;
        EXPECT_NE(r.output.find("', expected an integer in [1, 2147483648]"), std::string::npos) << r.output;
    }
    const auto too_long = run_command(base + " --lengths 1000000");
    EXPECT_EQ(too_long.status, 1);
    EXPECT_NE(too_long.output.find("expected at least 1000001 for one window"), std::string::npos) << too_long.output;
    const auto bad_score = run_command(base + " --lengths 32 --score last:64");
    EXPECT_EQ(bad_score.status, 1);
    EXPECT_NE(bad_score.output.find("--score last:64"), std::string::npos) << bad_score.output;
    const auto beyond = run_command(base + " --lengths 64,32 --score beyond");
    EXPECT_EQ(beyond.status, 1);
    EXPECT_NE(beyond.output.find("stretch: error: --score beyond: length 32 has no position past n_ctx_train 32"),
              std::string::npos)
        << beyond.output;
    EXPECT_EQ(beyond.output.find("  length "), std::string::npos) << "checked before the table starts";
    const auto bad_apply = run_command(base + " --lengths 32 --apply sometimes");
    EXPECT_EQ(bad_apply.status, 1);
    EXPECT_NE(bad_apply.output.find("stretch: error: --apply: 'sometimes', expected always or beyond_train"),
              std::string::npos)
        << bad_apply.output;
}

// Cause 3: every number is range-checked before arithmetic, and the error names the flag or key.
TEST(CliEval, NumbersOutOfRangeAreRefusedNamingTheFlag) {
    const std::string base = stretch_binary() + " eval --model " + tiny_model() + " --text " + data_file("austen-persuasion.txt");
    const std::pair<const char*, const char*> cases[] = {
        {"--bucket 9223372036854775807", "--bucket: found '9223372036854775807', expected an integer in [1, 2147483648]"},
        {"--bucket 0", "--bucket: found '0', expected an integer in [1, 2147483648]"},
        {"--tokens 1e30", "--tokens: found '1e30', expected an integer in [1, 2147483648]"},
        {"--tokens=-1", "--tokens: found '-1', expected an integer in [1, 2147483648]"},
        {"--lengths 32,9223372036854775808", "--lengths: found '9223372036854775808', expected an integer in [1, 2147483648]"},
        {"--lengths 32 --score last:4611686018427387904",
         "--score last:N: found '4611686018427387904', expected an integer in [1, 2147483648]"},
        {"--lengths 32 --pos sinks:n_sink=1e30", "--pos: sinks.n_sink: found '1e30', expected an integer in [0, 2147483648]"},
        {"--lengths 32 --pos window:w=4611686018427387904",
         "--pos: window.w: found '4611686018427387904', expected an integer in [1, 2147483648]"},
        {"--lengths 32 --pos yarn:factor=1e30", "--pos: yarn.factor: found '1e30', expected a number in [1, 1e+12]"},
        {"--lengths 32 --threads 0", "--threads: found '0', expected an integer in [1, 512]"},
    };
    for (const auto& [flags, words] : cases) EXPECT_TRUE(one_line_error(run_command(base + " " + flags), words)) << flags;
}

// Cause 4: memory is estimated before it is allocated; a length that cannot fit is refused naming
// the flag and the estimate (the example needs repeated windows: plain ones need the text).
TEST(CliEval, ALengthThatCannotFitInMemoryIsRefusedBeforeAllocating) {
    const std::string base = stretch_binary() + " eval --model " + tiny_model() + " --text " + data_file("austen-persuasion.txt");
    const std::pair<const char*, const char*> cases[] = {
        {"10000000 --mode repeated", "10000000"}, {"2147483648", "2147483648"}, {"64,500000000", "500000000"}};
    const model_config tiny = preset("tiny").model;
    for (const auto& [flags, length] : cases) {
        const std::int64_t tokens = std::stoll(length);
        if (inference_memory(tiny, tokens, 128).total() < double(available_memory())) {
            std::fprintf(stderr, "this machine has memory for %s tokens: that case is not checked\n", length);
            continue;
        }
        const auto r = run_command(base + " --lengths " + flags);
        EXPECT_TRUE(one_line_error(r, std::string("--lengths ") + length + ": needs about ")) << flags;
        EXPECT_TRUE(one_line_error(r, "GiB (activations ")) << flags;
        EXPECT_TRUE(one_line_error(r, "; this machine has ")) << flags;
        EXPECT_EQ(r.output.find("  length "), std::string::npos) << "refused before the table starts";
    }
}

// Cause 8: a special file as the text is refused by its type, never read (a FIFO without a writer
// would block forever).
TEST(CliEval, SpecialFilesAsTextAreRefusedByType) {
    const std::string dir = fresh_dir("evalspecial");
    ASSERT_EQ(mkfifo((dir + "/ff").c_str(), 0600), 0);
    const std::string base = stretch_binary() + " eval --lengths 32 --model " + tiny_model() + " --text ";
    EXPECT_TRUE(one_line_error(run_command(base + dir + "/ff"), "--text " + dir + "/ff: is a FIFO; expected a regular file"));
    EXPECT_TRUE(one_line_error(run_command(base + "/dev/zero"), "--text /dev/zero: is a character device; expected a regular file"));
    EXPECT_TRUE(one_line_error(run_command(base + dir), "--text " + dir + ": is a directory; expected a regular file"));
}

}  // namespace stretch::test
