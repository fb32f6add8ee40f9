// `stretch ruler`'s report (eval/ruler_report.h): the leaderboard's three means over the same tasks
// (hand-computed values; GM and HM undefined, and said so, when a task scores 0), the table, the
// depth x length heatmap values from per-answer hits, and the JSON layout.
#include "eval/ruler_report.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"

namespace stretch {
namespace {

ruler_cell cell(const std::string& task, std::int64_t length, double score) {
    ruler_cell c;
    c.task = task;
    c.length = length;
    c.score = score;
    return c;
}

TEST(RulerReport, MeansOverTheSameTasks) {
    const std::vector<double> scores{50, 100};
    const std::vector<std::string> names{"a", "b"};
    const ruler_means m = means_of(scores, names);
    EXPECT_DOUBLE_EQ(m.am, 75);
    EXPECT_NEAR(*m.gm, std::sqrt(5000.0), 1e-12);         // sqrt(50 * 100)
    EXPECT_NEAR(*m.hm, 2 / (1 / 50.0 + 1 / 100.0), 1e-12);  // 66.67
    const ruler_means zero = means_of(std::vector<double>{0, 80}, names);
    EXPECT_DOUBLE_EQ(zero.am, 40);
    EXPECT_FALSE(zero.gm || zero.hm);
    EXPECT_EQ(zero.undefined_because, "a scored 0");

    const std::vector<ruler_cell> cells{cell("vt", 512, 50), cell("cwe", 512, 100), cell("vt", 256, 0), cell("cwe", 256, 20)};
    const ruler_summary s = summarize_ruler(cells);
    EXPECT_EQ(s.lengths, (std::vector<std::int64_t>{256, 512}));
    EXPECT_EQ(s.tasks, (std::vector<std::string>{"vt", "cwe"}));
    EXPECT_DOUBLE_EQ(s.by_length[0].am, 10);
    EXPECT_FALSE(s.by_length[0].gm);
    EXPECT_DOUBLE_EQ(*s.by_length[1].gm, std::sqrt(5000.0));
    EXPECT_DOUBLE_EQ(s.overall.am, 42.5);
    EXPECT_EQ(s.overall.undefined_because, "vt@256 scored 0");
    const std::string table = ruler_table(cells, s);
    EXPECT_NE(table.find("vt        0.00     50.00"), std::string::npos) << table;
    EXPECT_NE(table.find("GM           -     70.71"), std::string::npos) << table;
    EXPECT_NE(table.find("over all 4 cells: AM 42.50, GM -, HM -"), std::string::npos) << table;
    EXPECT_NE(table.find("vt@256 scored 0"), std::string::npos) << table;
    EXPECT_THROW(summarize_ruler({cell("vt", 512, 50), cell("cwe", 512, 1), cell("vt", 256, 1)}), error);  // cwe@256 missing
}

TEST(RulerReport, HeatmapCellsAreTheShareOfAnswersFoundPerDepthBin) {
    ruler_cell a = cell("niah_multivalue", 1024, 0), b = cell("niah_multivalue", 2048, 0);
    ruler_prediction p;
    p.depths = {0.05, 0.07, 0.55, 0.999};
    p.found = {true, false, true, true};
    a.samples = {p, p};
    p.depths = {0.95};
    p.found = {false};
    b.samples = {p};
    const std::vector<heatmap_panel> panels = ruler_heatmaps({a, b, cell("vt", 1024, 10)});
    ASSERT_EQ(panels.size(), 1u);
    const heatmap_panel& h = panels[0];
    EXPECT_EQ(h.title, "niah_multivalue");
    EXPECT_EQ(h.rows.front(), "0-10%");
    EXPECT_EQ(h.rows.back(), "90-100%");
    EXPECT_EQ(h.columns, (std::vector<std::string>{"1024", "2048"}));
    EXPECT_DOUBLE_EQ(h.values[0 * 2 + 0], 50);  // bin 0 at 1024: 2 of 4
    EXPECT_EQ(h.counts[0 * 2 + 0], 4);
    EXPECT_DOUBLE_EQ(h.values[5 * 2 + 0], 100);
    EXPECT_DOUBLE_EQ(h.values[9 * 2 + 0], 100);
    EXPECT_DOUBLE_EQ(h.values[9 * 2 + 1], 0);
    EXPECT_TRUE(std::isnan(h.values[3 * 2 + 1]));
    EXPECT_EQ(h.counts[3 * 2 + 1], 0);
    EXPECT_TRUE(ruler_heatmaps({cell("vt", 1024, 10)}).empty());
}

TEST(RulerReport, JsonLayout) {
    ruler_cell c = cell("vt", 512, 0);
    ruler_prediction p;
    p.answers = {"ABCDE"};
    p.found = {false};
    p.prediction = "\xff";
    c.samples = {p};
    const std::vector<ruler_cell> cells{c};
    const nlohmann::json j = ruler_json(cells, summarize_ruler(cells), {{"model", "m"}});
    EXPECT_EQ(j["meta"]["model"], "m");
    EXPECT_EQ(j["results"][0]["samples"][0]["answers"][0], "ABCDE");
    EXPECT_TRUE(j["means"]["overall"]["gm"].is_null());
    EXPECT_EQ(j["means"]["by_length"][0]["length"], 512);
    EXPECT_EQ(j["means"]["cells"][0], "vt@512");
}

}  // namespace
}  // namespace stretch
