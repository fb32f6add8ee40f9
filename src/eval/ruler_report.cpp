#include "eval/ruler_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "core/error.h"
#include "eval/leaderboard.h"

namespace stretch {

namespace {

const ruler_cell* find_cell(const std::vector<ruler_cell>& cells, const std::string& task, std::int64_t length) {
    for (const ruler_cell& c : cells)
        if (c.task == task && c.length == length) return &c;
    return nullptr;
}

nlohmann::json means_json(const ruler_means& m) {
    const auto optional = [](const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(nullptr); };
    return {{"am", m.am}, {"gm", optional(m.gm)}, {"hm", optional(m.hm)}, {"undefined_because", m.undefined_because}};
}

std::string mean_text(const std::optional<double>& v) { return v ? fmt::format("{:.2f}", *v) : std::string("-"); }

}  // namespace

ruler_means means_of(std::span<const double> scores, std::span<const std::string> tasks) {
    ruler_means m;
    m.am = arithmetic_mean(scores);
    for (std::size_t i = 0; i < scores.size(); ++i)
        if (!(std::isfinite(scores[i]) && scores[i] > 0)) {
            m.undefined_because = fmt::format("{} scored {}", i < tasks.size() ? tasks[i] : fmt::format("#{}", i), scores[i]);
            return m;
        }
    m.gm = geometric_mean(scores, "ruler", tasks);
    m.hm = harmonic_mean(scores, "ruler", tasks);
    return m;
}

ruler_summary summarize_ruler(const std::vector<ruler_cell>& cells) {
    if (cells.empty()) fail("ruler: no results to report");
    ruler_summary s;
    for (const ruler_cell& c : cells) {
        if (std::find(s.tasks.begin(), s.tasks.end(), c.task) == s.tasks.end()) s.tasks.push_back(c.task);
        if (std::find(s.lengths.begin(), s.lengths.end(), c.length) == s.lengths.end()) s.lengths.push_back(c.length);
    }
    std::sort(s.lengths.begin(), s.lengths.end());
    std::vector<double> all;
    for (const std::int64_t length : s.lengths) {
        std::vector<double> scores;
        for (const std::string& task : s.tasks) {
            const ruler_cell* c = find_cell(cells, task, length);
            if (!c) fail("ruler: task {} has no result at length {}; every mean is over the same tasks", task, length);
            scores.push_back(c->score);
            all.push_back(c->score);
            s.cell_names.push_back(fmt::format("{}@{}", task, length));
        }
        std::vector<std::string> names;
        for (const std::string& task : s.tasks) names.push_back(fmt::format("{}@{}", task, length));
        s.by_length.push_back(means_of(scores, names));
    }
    s.overall = means_of(all, s.cell_names);
    return s;
}

std::string ruler_table(const std::vector<ruler_cell>& cells, const ruler_summary& summary) {
    std::size_t name_w = 4;
    for (const std::string& task : summary.tasks) name_w = std::max(name_w, task.size());
    std::string out = fmt::format("{:<{}}", "task", name_w);
    for (const std::int64_t length : summary.lengths) out += fmt::format(" {:>9}", length);
    out += "\n";
    for (const std::string& task : summary.tasks) {
        out += fmt::format("{:<{}}", task, name_w);
        for (const std::int64_t length : summary.lengths) out += fmt::format(" {:>9.2f}", find_cell(cells, task, length)->score);
        out += "\n";
    }
    const auto means_row = [&](const char* name, const auto& text) {
        out += fmt::format("{:<{}}", name, name_w);
        for (const ruler_means& m : summary.by_length) out += fmt::format(" {:>9}", text(m));
        out += "\n";
    };
    means_row("AM", [](const ruler_means& m) { return fmt::format("{:.2f}", m.am); });
    means_row("GM", [](const ruler_means& m) { return mean_text(m.gm); });
    means_row("HM", [](const ruler_means& m) { return mean_text(m.hm); });
    const ruler_means& o = summary.overall;
    out += fmt::format("means over the same {} tasks at each length; over all {} cells: AM {:.2f}, GM {}, HM {}\n",
                       summary.tasks.size(), summary.cell_names.size(), o.am, mean_text(o.gm), mean_text(o.hm));
    if (!o.undefined_because.empty())
        out += fmt::format("GM and HM need every score > 0 (methods.md G7): {}\n", o.undefined_because);
    return out;
}

std::vector<heatmap_panel> ruler_heatmaps(const std::vector<ruler_cell>& cells) {
    std::vector<heatmap_panel> panels;
    std::vector<std::int64_t> lengths;
    for (const ruler_cell& c : cells)
        if (std::find(lengths.begin(), lengths.end(), c.length) == lengths.end()) lengths.push_back(c.length);
    std::sort(lengths.begin(), lengths.end());
    for (const ruler_task& task : ruler_tasks()) {
        if (task.family != ruler_family::niah) continue;
        heatmap_panel p;
        p.title = std::string(task.name);
        for (int b = 0; b < ruler_depth_bins; ++b)
            p.rows.push_back(fmt::format("{}-{}%", 100 * b / ruler_depth_bins, 100 * (b + 1) / ruler_depth_bins));
        for (const std::int64_t length : lengths) p.columns.push_back(std::to_string(length));
        std::vector<double> found(p.rows.size() * p.columns.size(), 0);
        p.counts.assign(found.size(), 0);
        bool any = false;
        for (const ruler_cell& c : cells) {
            if (c.task != task.name) continue;
            any = true;
            const auto column = std::size_t(std::find(lengths.begin(), lengths.end(), c.length) - lengths.begin());
            for (const ruler_prediction& s : c.samples)
                for (std::size_t a = 0; a < s.depths.size(); ++a) {
                    const auto bin = std::size_t(std::clamp(int(s.depths[a] * ruler_depth_bins), 0, ruler_depth_bins - 1));
                    found[bin * p.columns.size() + column] += s.found[a];
                    ++p.counts[bin * p.columns.size() + column];
                }
        }
        if (!any) continue;
        for (std::size_t i = 0; i < found.size(); ++i)
            p.values.push_back(p.counts[i] ? 100 * found[i] / double(p.counts[i]) : std::numeric_limits<double>::quiet_NaN());
        panels.push_back(std::move(p));
    }
    return panels;
}

nlohmann::json ruler_json(const std::vector<ruler_cell>& cells, const ruler_summary& summary, const nlohmann::json& meta) {
    nlohmann::json results = nlohmann::json::array();
    for (const ruler_cell& c : cells) {
        nlohmann::json samples = nlohmann::json::array();
        for (const ruler_prediction& s : c.samples)
            samples.push_back({{"size", s.size},
                               {"prompt_tokens", s.tokens},
                               {"answers", s.answers},
                               {"depths", s.depths},
                               {"found", s.found},
                               {"prediction", s.prediction},
                               {"score", s.score}});
        results.push_back(
            {{"task", c.task}, {"length", c.length}, {"score", c.score}, {"seconds", c.seconds}, {"samples", samples}});
    }
    nlohmann::json by_length = nlohmann::json::array();
    for (std::size_t i = 0; i < summary.lengths.size(); ++i) {
        nlohmann::json m = means_json(summary.by_length[i]);
        m["length"] = summary.lengths[i];
        by_length.push_back(m);
    }
    return {{"meta", meta},
            {"tasks", summary.tasks},
            {"lengths", summary.lengths},
            {"results", results},
            {"means", {{"by_length", by_length}, {"overall", means_json(summary.overall)}, {"cells", summary.cell_names}}}};
}

}  // namespace stretch
