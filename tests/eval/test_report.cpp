// Sweep reports: the CSV parses back to the same numbers, the JSON carries every field, the Markdown
// has one row per method with the training length marked, and the SVG is closed, free of NaN, and
// places lengths on a log2 axis; a heatmap has one coloured cell per value, red at the scale's low
// end and green at its high end, grey where there is no value.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <regex>
#include <sstream>

#include "core/error.h"
#include "eval/report.h"

namespace stretch {

namespace {

const std::vector<std::string> methods = {"default", "rerope:window=64+logn", "yarn:factor=4,beta=32"};

// Loss grows with length and method index; numbers with long expansions test the round trip.
std::vector<sweep_result> make_sweep(const std::vector<std::int64_t>& lengths) {
    std::vector<sweep_result> sweep;
    for (const eval_mode mode : {eval_mode::plain, eval_mode::repeated})
        for (std::size_t m = 0; m < methods.size(); ++m)
            for (const std::int64_t length : lengths) {
                sweep_result r{methods[m], {}};
                r.result.length = length;
                r.result.mode = mode;
                r.result.loss = 1.0 / 3 + 0.1 * double(m) + 0.3 * std::log2(double(length) / 256) +
                                (mode == eval_mode::repeated ? 0.05 : 0);
                r.result.ppl = std::exp(r.result.loss);
                r.result.bpb = r.result.loss / std::log(2.0);
                r.result.accuracy = 0.7 - 0.01 * double(m) - 0.05 * std::log2(double(length) / 256);
                r.result.tokens = 16384 + length;
                r.result.windows = 16384 / length;
                r.result.seconds = 0.125 * double(length) / 7;
                sweep.push_back(r);
            }
    return sweep;
}

// RFC 4180 records: commas separate fields, quoted fields may hold commas and doubled quotes.
std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    bool quoted = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"')
                field += '"', ++i;
            else if (c == '"')
                quoted = false;
            else
                field += c;
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            row.push_back(field), field.clear();
        } else if (c == '\n') {
            row.push_back(field), field.clear();
            rows.push_back(row), row.clear();
        } else {
            field += c;
        }
    }
    EXPECT_TRUE(field.empty() && row.empty()) << "CSV does not end with a newline";
    return rows;
}

std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

// (x, y) of every polyline, in document order.
std::vector<std::vector<std::pair<double, double>>> polylines(const std::string& svg) {
    std::vector<std::vector<std::pair<double, double>>> lines;
    const std::regex polyline("<polyline[^>]*points=\"([^\"]*)\"");
    for (auto it = std::sregex_iterator(svg.begin(), svg.end(), polyline); it != std::sregex_iterator(); ++it) {
        std::istringstream points((*it)[1].str());
        std::vector<std::pair<double, double>> line;
        double x = 0, y = 0;
        char comma = 0;
        while (points >> x >> comma >> y) line.emplace_back(x, y);
        lines.push_back(line);
    }
    return lines;
}

std::string lower(std::string text) {
    for (char& c : text) c = char(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

}  // namespace

TEST(Report, CsvParsesBackToTheSameNumbers) {
    const auto sweep = make_sweep({256, 512, 1024});
    const auto rows = parse_csv(sweep_csv(sweep));
    ASSERT_EQ(rows.size(), sweep.size() + 1);
    EXPECT_EQ(rows[0], (std::vector<std::string>{"method", "mode", "score", "length", "loss", "ppl", "bpb", "accuracy",
                                                 "tokens", "seconds"}));
    for (std::size_t i = 0; i < sweep.size(); ++i) {
        const auto& row = rows[i + 1];
        const length_result& x = sweep[i].result;
        ASSERT_EQ(row.size(), 10u) << i;
        EXPECT_EQ(row[0], sweep[i].method);  // "yarn:factor=4,beta=32" survives its comma
        EXPECT_EQ(row[1], eval_mode_name(x.mode));
        EXPECT_EQ(row[2], "all");
        EXPECT_EQ(std::stoll(row[3]), x.length);
        // Shortest round-trip printing: strtod gives back the identical double.
        EXPECT_EQ(std::stod(row[4]), x.loss);
        EXPECT_EQ(std::stod(row[5]), x.ppl);
        EXPECT_EQ(std::stod(row[6]), x.bpb);
        EXPECT_EQ(std::stod(row[7]), x.accuracy);
        EXPECT_EQ(std::stoll(row[8]), x.tokens);
        EXPECT_EQ(std::stod(row[9]), x.seconds);
    }
}

TEST(Report, JsonCarriesMetaAndEveryField) {
    auto sweep = make_sweep({256, 512});
    sweep[1].result.loss = std::numeric_limits<double>::quiet_NaN();
    sweep[1].result.score.last_n = 128;
    const nlohmann::json meta = {{"model", "runs/tiny/model.gguf"}, {"n_ctx_train", 256}};
    const nlohmann::json j = sweep_json(sweep, meta);
    EXPECT_EQ(j.at("meta"), meta);
    ASSERT_EQ(j.at("results").size(), sweep.size());
    const nlohmann::json& first = j.at("results")[0];
    for (const char* key : {"method", "mode", "score", "length", "loss", "ppl", "bpb", "accuracy", "tokens", "seconds"})
        EXPECT_TRUE(first.contains(key)) << key;
    EXPECT_EQ(first.at("method"), "default");
    EXPECT_EQ(first.at("mode"), "plain");
    EXPECT_EQ(first.at("length"), 256);
    EXPECT_EQ(first.at("loss").get<double>(), sweep[0].result.loss);
    EXPECT_EQ(first.at("tokens"), sweep[0].result.tokens);
    EXPECT_TRUE(std::isnan(j.at("results")[1].at("loss").get<double>()));  // the value keeps it (MessagePack does too)
    EXPECT_EQ(j.at("results")[1].at("score"), "last:128");
    // The text is valid JSON (NaN written as null) and reads back equal but for that null.
    const nlohmann::json text = nlohmann::json::parse(j.dump());
    EXPECT_TRUE(text.at("results")[1].at("loss").is_null());
    nlohmann::json expected = j;
    expected["results"][1]["loss"] = nullptr;
    EXPECT_EQ(text, expected);
    // And the results come back from either form, the NaN from null.
    EXPECT_TRUE(std::isnan(sweep_results_from_json(text, "text")[1].result.loss));
}

// Sweep cells travel between MPI ranks as MessagePack of sweep_json's value (cli/cmd_sweep.cpp): every
// number comes back with its bits, infinities and a NaN's sign included (a CSV writes -nan and inf).
TEST(Report, MessagePackOfTheJsonValueKeepsEveryBit) {
    auto sweep = make_sweep({256, 512});
    sweep[0].result.loss = -std::numeric_limits<double>::quiet_NaN();
    sweep[1].result.ppl = std::numeric_limits<double>::infinity();
    const auto bytes = nlohmann::json::to_msgpack(sweep_json(sweep, nullptr));
    const auto back = sweep_results_from_json(nlohmann::json::from_msgpack(bytes), "msgpack");
    ASSERT_EQ(back.size(), sweep.size());
    for (std::size_t i = 0; i < sweep.size(); ++i)
        for (const auto field : {&length_result::loss, &length_result::ppl, &length_result::bpb, &length_result::accuracy,
                                 &length_result::seconds}) {
            const double a = sweep[i].result.*field, b = back[i].result.*field;
            EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0) << i;
        }
    EXPECT_EQ(sweep_csv(back), sweep_csv(sweep));
}

TEST(Report, MarkdownHasOneRowPerMethodAndMarksTheTrainingLength) {
    const auto sweep = make_sweep({256, 512, 1024});
    const std::string md = sweep_markdown(sweep, 512);
    // 2 modes × (loss, accuracy) = 4 tables.
    EXPECT_EQ(count(md, "### "), 4u);
    EXPECT_EQ(count(md, "| method | 256 | 512 (train) | 1024 |"), 4u) << md;
    EXPECT_EQ(count(md, "(train)"), 4u);
    for (const std::string& m : methods) EXPECT_EQ(count(md, "| " + m + " |"), 4u) << m;
    // default, plain, 256: loss 1/3, accuracy 0.7.
    EXPECT_NE(md.find("### plain, score all: loss (nats/token)\n\n| method | 256 | 512 (train) | 1024 |\n"
                      "|---|---:|---:|---:|\n| default | 0.3333 | 0.6333 | 0.9333 |\n"),
              std::string::npos)
        << md;
    EXPECT_NE(md.find("| default | 0.7000 | 0.6500 | 0.6000 |"), std::string::npos) << md;
    // A method without a length gets an empty cell, not a shifted row.
    auto partial = sweep;
    partial.erase(partial.begin() + 1);  // default, plain, 512
    EXPECT_NE(sweep_markdown(partial, 512).find("| default | 0.3333 | - | 0.9333 |"), std::string::npos);
}

TEST(Report, SvgIsClosedHasOnePolylinePerMethodPerPanelAndALog2Axis) {
    const auto sweep = make_sweep({256, 512, 1024});
    const std::string svg = sweep_svg(sweep, 256);
    EXPECT_EQ(svg.rfind("<svg", 0), 0u);
    EXPECT_EQ(svg.substr(svg.find_last_not_of("\n") - 5, 6), "</svg>");
    EXPECT_EQ(count(svg, "<svg"), 1u);
    EXPECT_EQ(count(svg, "<g "), count(svg, "</g>"));
    const std::string text = lower(svg);
    EXPECT_EQ(text.find("nan"), std::string::npos);
    EXPECT_EQ(text.find("inf"), std::string::npos);

    const auto lines = polylines(svg);
    ASSERT_EQ(lines.size(), methods.size() * 2 * 2);  // methods × (loss, accuracy) × modes
    for (const auto& line : lines) {
        ASSERT_EQ(line.size(), 3u);
        // 256, 512, 1024 are one octave apart: equal steps on a log2 axis.
        EXPECT_GT(line[1].first, line[0].first);
        EXPECT_NEAR(line[2].first - line[1].first, line[1].first - line[0].first, 0.02);
    }
    // SVG y grows downward: default's loss (the first polyline) rises with length, so its y falls;
    // its accuracy (after the 3 loss polylines) falls with length, so its y grows.
    EXPECT_LT(lines[0][1].second, lines[0][0].second);
    EXPECT_LT(lines[0][2].second, lines[0][1].second);
    EXPECT_GT(lines[3][1].second, lines[3][0].second);

    // The dashed training line sits at x of length 256, labelled "train".
    const std::regex dashed("<line x1=\"([0-9.]+)\"[^>]*stroke-dasharray=\"5,4\"");
    std::smatch match;
    ASSERT_TRUE(std::regex_search(svg, match, dashed));
    EXPECT_NEAR(std::stod(match[1].str()), lines[0][0].first, 0.01);
    EXPECT_EQ(count(svg, ">train</text>"), 4u);
    for (const std::string& m : methods) EXPECT_NE(svg.find(">" + m + "</text>"), std::string::npos) << m;
    EXPECT_NE(svg.find(">1024</text>"), std::string::npos);
}

TEST(Report, SvgGapsFollowLog2Distances) {
    // 256 -> 512 is one octave, 512 -> 2048 two: the second gap is twice the first.
    const auto lines = polylines(sweep_svg(make_sweep({256, 512, 2048}), 256));
    ASSERT_FALSE(lines.empty());
    for (const auto& line : lines) {
        ASSERT_EQ(line.size(), 3u);
        EXPECT_NEAR((line[2].first - line[1].first) / (line[1].first - line[0].first), 2.0, 1e-3);
    }
}

TEST(Report, SvgLeavesGapsForNonFiniteValues) {
    auto sweep = make_sweep({256, 512, 1024});
    sweep[1].result.loss = std::numeric_limits<double>::quiet_NaN();     // default, plain, 512
    sweep[4].result.accuracy = std::numeric_limits<double>::infinity();  // rerope, plain, 512
    sweep[5].result.loss = -std::numeric_limits<double>::infinity();     // rerope, plain, 1024
    const std::string svg = sweep_svg(sweep, 256);
    const std::string text = lower(svg);
    EXPECT_EQ(text.find("nan"), std::string::npos);
    EXPECT_EQ(text.find("inf"), std::string::npos);
    // default loss splits into two single points (no line); rerope accuracy too; rerope loss keeps
    // 256-512 as a two-point line.
    const auto lines = polylines(svg);
    EXPECT_EQ(lines.size(), methods.size() * 2 * 2 - 2);
    EXPECT_EQ(count(svg, "<circle"), sweep.size() * 2 - 3);
    for (const auto& line : lines)
        for (const auto& [x, y] : line) EXPECT_TRUE(std::isfinite(x) && std::isfinite(y));
}

TEST(Report, RefusesEmptyDuplicateAndBadLengths) {
    EXPECT_THROW(sweep_markdown({}, 256), error);
    EXPECT_THROW(sweep_svg({}, 256), error);
    const auto sweep = make_sweep({256, 512});
    EXPECT_THROW(sweep_svg(sweep, 0), error);
    auto twice = sweep;
    twice.push_back(sweep[0]);
    try {
        sweep_markdown(twice, 256);
        ADD_FAILURE() << "duplicate cell accepted";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("method 'default' has two results for plain, score all at length 256"),
                  std::string::npos)
            << e.what();
    }
    auto zero = sweep;
    zero[0].result.length = 0;
    EXPECT_THROW(sweep_svg(zero, 256), error);
}

TEST(Report, HeatmapHasOneCellPerValueOnARedToGreenScale) {
    heatmap_panel p{"niah & co", {"0-50%", "50-100%"}, {"1024", "2048", "4096"}, {}, {}};
    p.values = {0, 50, 100, std::numeric_limits<double>::quiet_NaN(), 100, 25};
    p.counts = {2, 2, 2, 0, 1, 4};
    heatmap_panel q = p;
    q.title = "second";
    const std::string svg = heatmap_svg({p, q, p}, "found (%)", 0, 100);
    EXPECT_TRUE(svg.starts_with("<svg"));
    EXPECT_TRUE(svg.ends_with("</svg>\n"));
    std::size_t cells = 0;
    for (std::size_t at = svg.find("class=\"cell\""); at != std::string::npos; at = svg.find("class=\"cell\"", at + 1)) ++cells;
    EXPECT_EQ(cells, 3u * 6u);
    EXPECT_NE(svg.find("niah &amp; co"), std::string::npos);
    EXPECT_NE(svg.find("fill=\"#d73027\" stroke=\"#fff\"><title>0-50%, 1024: 0.0 (2 measured)"), std::string::npos);
    EXPECT_NE(svg.find("fill=\"#1a9850\" stroke=\"#fff\"><title>0-50%, 4096: 100.0 (2 measured)"), std::string::npos);
    EXPECT_NE(svg.find("fill=\"#fee08b\" stroke=\"#fff\"><title>0-50%, 2048: 50.0"), std::string::npos);
    EXPECT_NE(svg.find("fill=\"#ddd\" stroke=\"#fff\"><title>50-100%, 1024: no data (0 measured)"), std::string::npos);
    EXPECT_EQ(svg.find("nan"), std::string::npos);
    heatmap_panel bad = p;
    bad.values.pop_back();
    EXPECT_THROW(heatmap_svg({bad}, "x", 0, 100), error);
    EXPECT_THROW(heatmap_svg({}, "x", 0, 100), error);
    EXPECT_THROW(heatmap_svg({p}, "x", 1, 1), error);
}

}  // namespace stretch
