// `stretch eval` as a user runs it: the JSON report's shape and agreement with the table, and
// one-line errors for impossible lengths.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include <nlohmann/json.hpp>

#include "support/cli.h"

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

TEST(CliEval, ImpossibleLengthsAreOneLineErrors) {
    const std::string base = stretch_binary() + " eval --model " + tiny_model() + " --text " + data_file("austen-persuasion.txt");
    for (const std::string bad : {"0", "-5", "abc", "32,,64", "1.5"}) {
        const auto r = run_command(base + " --lengths=" + bad);
        EXPECT_EQ(r.status, 1) << bad;
        EXPECT_NE(r.output.find("--lengths: '"), std::string::npos) << r.output;
        EXPECT_NE(r.output.find("is not a positive integer"), std::string::npos) << r.output;
    }
    const auto too_long = run_command(base + " --lengths 100000000");
    EXPECT_EQ(too_long.status, 1);
    EXPECT_NE(too_long.output.find("expected at least 100000001 for one window"), std::string::npos) << too_long.output;
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

}  // namespace stretch::test
