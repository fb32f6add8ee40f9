// Leaderboard means (methods.md G7): arithmetic, geometric and harmonic means of each method's task
// scores, with every row averaged over the identical task list (post 8783: averaging the Human row
// over fewer tasks than the models flips GM/HM rankings). GM and HM refuse scores that are not
// finite and > 0 instead of silently returning 0 or NaN.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "eval/report.h"

namespace stretch {

struct leaderboard_row {
    std::string method;
    double am = 0, gm = 0, hm = 0;
    int rank_am = 0, rank_gm = 0, rank_hm = 0;  // 1 = best; tied means share a rank (1, 2, 2, 4)
};

struct leaderboard {
    std::string metric = "score";       // what the scores are, for the table and errors
    std::vector<std::string> tasks;     // the one task list every row is averaged over
    std::vector<leaderboard_row> rows;  // sorted by am, highest first; ties keep input order
};

// Throws stretch::error on an empty span.
double arithmetic_mean(std::span<const double> scores);
// Throw stretch::error when a score is not finite and > 0, naming `what` (e.g. the method), the
// task (tasks[i], or "#i" when no names are given) and the score.
double geometric_mean(std::span<const double> scores, std::string_view what, std::span<const std::string> tasks = {},
                      std::string_view metric = "score");
double harmonic_mean(std::span<const double> scores, std::string_view what, std::span<const std::string> tasks = {},
                     std::string_view metric = "score");

// Refuses (naming the method, the missing task and the shared task set) unless every method has
// exactly the same tasks. Rows tied on AM keep method-name order.
leaderboard make_leaderboard(const std::map<std::string, std::map<std::string, double>>& scores_by_method_then_task,
                             std::string_view metric = "score");

// Task "<mode>@<length>" (plus "/<score rule>" when not "all"), score = accuracy; methods and tasks
// in first-seen order. Every length of the sweep is a task, the training length included.
leaderboard accuracy_leaderboard(const std::vector<sweep_result>& results);

// Markdown table: rank (by AM), method, AM, GM, HM (each with its own rank), then the task list.
std::string leaderboard_markdown(const leaderboard& board);

}  // namespace stretch
