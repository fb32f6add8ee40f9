// `stretch ruler` as a user runs it, on stories260K (llama2.c, 512-token training context) at a tiny
// length: every task runs, the table, JSON and SVG have their structure, every sample fits the length
// with its answer budget, a cell's score is 100 x the mean of its samples' string_match_all, scores
// lie in [0, 100]; and bad flags end in one line. One thread: on a tiny model, a second one costs
// more in hand-offs than it saves.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/cli.h"
#include "support/ruler.h"

namespace stretch::test {

namespace {

std::string ruler_command(const std::string& haystack = data_file("austen-persuasion.txt")) {
    return stretch_binary() + " ruler --threads 1 -m " + shared_model("stories260K.bin") + " --tokenizer " +
           shared_model("tok512.bin") + (haystack.empty() ? "" : " --haystack " + haystack);
}

}  // namespace

TEST(CliRuler, RunsEveryTaskAndWritesTableJsonAndHeatmap) {
    const std::string dir = fresh_dir("ruler");
    const auto r = run_command(ruler_command() + " --lengths 1536 --samples 2 --seed 7 --json " + dir +
                               "/ruler.json --svg " + dir + "/niah.svg 2> " + dir + "/log");
    ASSERT_EQ(r.status, 0) << r.output << read_file(dir + "/log");
    const auto j = nlohmann::json::parse(read_file(dir + "/ruler.json"));
    EXPECT_EQ(j["meta"]["seed"], 7);
    EXPECT_EQ(j["meta"]["samples"], 2);
    ASSERT_EQ(j["tasks"].size(), 11u);
    ASSERT_EQ(j["results"].size(), 11u);
    for (const auto& cell : j["results"]) {
        const ruler_task& task = ruler_task_named(cell["task"].get<std::string>());
        const double score = cell["score"];
        EXPECT_TRUE(score >= 0 && score <= 100) << score;
        ASSERT_EQ(cell["samples"].size(), 2u);
        double sum = 0;
        for (const auto& s : cell["samples"]) {
            EXPECT_LE(s["prompt_tokens"].get<std::int64_t>() + task.max_new_tokens, cell["length"].get<std::int64_t>());
            const auto answers = s["answers"].get<std::vector<std::string>>();
            const auto found = s["found"].get<std::vector<bool>>();
            ASSERT_EQ(found.size(), answers.size());
            EXPECT_EQ(found, ruler_matches(s["prediction"].get<std::string>(), answers));
            EXPECT_DOUBLE_EQ(s["score"].get<double>(), double(std::count(found.begin(), found.end(), true)) / double(found.size()));
            EXPECT_EQ(s["depths"].size(), task.family == ruler_family::niah ? answers.size() : 0u);
            sum += s["score"].get<double>();
        }
        EXPECT_NEAR(score, 100 * sum / 2, 1e-9);
    }
    EXPECT_EQ(j["means"]["cells"].size(), 11u);
    EXPECT_EQ(j["means"]["by_length"].size(), 1u);
    // The table: a row per task, a column per length, the three means.
    for (const ruler_task& task : ruler_tasks()) EXPECT_NE(r.output.find(std::string(task.name) + " "), std::string::npos);
    EXPECT_NE(r.output.find("task                 1536\n"), std::string::npos) << r.output;
    for (const char* mean : {"\nAM ", "\nGM ", "\nHM "}) EXPECT_NE(r.output.find(mean), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("over all 11 cells: AM "), std::string::npos) << r.output;
    // The heatmap: one panel per NIAH task, ten depth bins by one length.
    const std::string svg = read_file(dir + "/niah.svg");
    std::size_t panels = 0, cells = 0;
    for (std::size_t at = svg.find("class=\"heatmap\""); at != std::string::npos; at = svg.find("class=\"heatmap\"", at + 1)) ++panels;
    for (std::size_t at = svg.find("class=\"cell\""); at != std::string::npos; at = svg.find("class=\"cell\"", at + 1)) ++cells;
    EXPECT_EQ(panels, 8u);
    EXPECT_EQ(cells, 8u * 10u);
}

TEST(CliRuler, BadInputEndsInOneLine) {
    EXPECT_TRUE(one_line_error(run_command(ruler_command() + " --tasks vt,nope"), "--tasks: unknown task 'nope'"));
    EXPECT_TRUE(one_line_error(run_command(ruler_command() + " --tasks niah_single_1 --lengths 64"),
                               "--lengths 64: too short for RULER task niah_single_1"));
    EXPECT_TRUE(one_line_error(run_command(ruler_command() + " --samples 0"), "--samples: found '0', expected an integer"));
    EXPECT_TRUE(one_line_error(run_command(ruler_command() + " --tasks vt --svg x.svg"),
                               "--svg: no NIAH task in --tasks"));
    EXPECT_TRUE(one_line_error(run_command(ruler_command("/nonexistent/essay.txt") + " --tasks niah_single_2"),
                               "/nonexistent/essay.txt"));
    // Without --haystack, the essay text is looked for in the data folders (none beside a fresh folder).
    const std::string dir = fresh_dir("rulerhaystack");
    EXPECT_TRUE(one_line_error(run_command("cd " + dir + " && env -u STRETCH_DATA " + ruler_command("") + " --tasks niah_single_2"),
                               "--haystack: not given, and no austen-persuasion.txt in $STRETCH_DATA, ../shared/data or data/"));
}

}  // namespace stretch::test
