// Leaderboard means over one shared task set (methods.md G7).
#include "eval/leaderboard.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"

namespace stretch {

namespace {

// One method's score per task.
struct method_scores {
    std::string method;
    std::map<std::string, double> by_task;
};

void require_positive(std::span<const double> scores, std::string_view what, std::span<const std::string> tasks,
                      std::string_view metric) {
    if (scores.empty()) fail("leaderboard: {} has no scores to average", what);
    for (std::size_t i = 0; i < scores.size(); ++i) {
        if (std::isfinite(scores[i]) && scores[i] > 0) continue;
        const std::string task = i < tasks.size() ? tasks[i] : fmt::format("#{}", i);
        fail("leaderboard: {} has {} {} on task {}; the geometric and harmonic means need every score > 0", what,
             metric, scores[i], task);
    }
}

int rank_of(double value, const std::vector<leaderboard_row>& rows, double leaderboard_row::*mean) {
    int better = 0;
    for (const leaderboard_row& row : rows) better += row.*mean > value;
    return better + 1;
}

// `tasks`: every task of every method, in display order. Refuses unless each method has all of them.
leaderboard build(const std::vector<method_scores>& methods, const std::vector<std::string>& tasks,
                  std::string_view metric) {
    if (methods.empty()) fail("leaderboard: no methods to rank");
    if (tasks.empty()) fail("leaderboard: no tasks to average over");
    std::vector<std::string> shared;
    for (const std::string& task : tasks)
        if (std::all_of(methods.begin(), methods.end(),
                        [&](const method_scores& m) { return m.by_task.contains(task); }))
            shared.push_back(task);
    for (const method_scores& m : methods)
        for (const std::string& task : tasks)
            if (!m.by_task.contains(task))
                fail(
                    "leaderboard: method '{}' has no {} for task {}; every row must be averaged over the same "
                    "tasks (shared by all: {})",
                    m.method, metric, task, shared.empty() ? "none" : fmt::format("{}", fmt::join(shared, ", ")));

    leaderboard board{std::string(metric), tasks, {}};
    for (const method_scores& m : methods) {
        std::vector<double> scores;
        for (const std::string& task : tasks) scores.push_back(m.by_task.at(task));
        const std::string what = fmt::format("method '{}'", m.method);
        board.rows.push_back({m.method, arithmetic_mean(scores), geometric_mean(scores, what, tasks, metric),
                              harmonic_mean(scores, what, tasks, metric), 0, 0, 0});
    }
    for (leaderboard_row& row : board.rows) {
        row.rank_am = rank_of(row.am, board.rows, &leaderboard_row::am);
        row.rank_gm = rank_of(row.gm, board.rows, &leaderboard_row::gm);
        row.rank_hm = rank_of(row.hm, board.rows, &leaderboard_row::hm);
    }
    std::stable_sort(board.rows.begin(), board.rows.end(),
                     [](const leaderboard_row& a, const leaderboard_row& b) { return a.am > b.am; });
    return board;
}

}  // namespace

double arithmetic_mean(std::span<const double> scores) {
    if (scores.empty()) fail("leaderboard: no scores to average");
    double sum = 0;
    for (const double x : scores) sum += x;
    return sum / double(scores.size());
}

double geometric_mean(std::span<const double> scores, std::string_view what, std::span<const std::string> tasks,
                      std::string_view metric) {
    require_positive(scores, what, tasks, metric);
    double log_sum = 0;
    for (const double x : scores) log_sum += std::log(x);
    return std::exp(log_sum / double(scores.size()));
}

double harmonic_mean(std::span<const double> scores, std::string_view what, std::span<const std::string> tasks,
                     std::string_view metric) {
    require_positive(scores, what, tasks, metric);
    double inverse_sum = 0;
    for (const double x : scores) inverse_sum += 1 / x;
    return double(scores.size()) / inverse_sum;
}

leaderboard make_leaderboard(const std::map<std::string, std::map<std::string, double>>& scores_by_method_then_task,
                             std::string_view metric) {
    std::vector<method_scores> methods;
    std::set<std::string> tasks;
    for (const auto& [method, by_task] : scores_by_method_then_task) {
        methods.push_back({method, by_task});
        for (const auto& entry : by_task) tasks.insert(entry.first);
    }
    return build(methods, std::vector<std::string>(tasks.begin(), tasks.end()), metric);
}

leaderboard accuracy_leaderboard(const std::vector<sweep_result>& results) {
    std::vector<method_scores> methods;
    std::vector<std::string> tasks;
    for (const sweep_result& r : results) {
        const bool every_position = r.result.score.text() == "all";
        const std::string task = fmt::format("{}@{}{}{}", eval_mode_name(r.result.mode), r.result.length,
                                             every_position ? "" : "/", every_position ? "" : r.result.score.text());
        auto m =
            std::find_if(methods.begin(), methods.end(), [&](const method_scores& s) { return s.method == r.method; });
        if (m == methods.end()) m = methods.insert(methods.end(), {r.method, {}});
        if (!m->by_task.emplace(task, r.result.accuracy).second)
            fail("leaderboard: method '{}' has two results for task {}; expected one per task", r.method, task);
        if (std::find(tasks.begin(), tasks.end(), task) == tasks.end()) tasks.push_back(task);
    }
    return build(methods, tasks, "accuracy");
}

std::string leaderboard_markdown(const leaderboard& board) {
    std::string out = "| rank | method | AM | GM | HM |\n|---:|---|---:|---:|---:|\n";
    for (const leaderboard_row& row : board.rows)
        out += fmt::format("| {} | {} | {:.4f} ({}) | {:.4f} ({}) | {:.4f} ({}) |\n", row.rank_am,
                           markdown_escape(row.method), row.am, row.rank_am, row.gm, row.rank_gm, row.hm, row.rank_hm);
    out += fmt::format("\nMeans of {} over the same {} tasks for every row: {}\n", board.metric, board.tasks.size(),
                       fmt::join(board.tasks, ", "));
    return out;
}

}  // namespace stretch
