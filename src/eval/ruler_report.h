// Reports of a `stretch ruler` run (eval/ruler.h): the task x length table with the leaderboard's
// three means (eval/leaderboard.h, methods.md G7) over the same task set at every length and over
// all cells, the NIAH depth x length heatmaps, and JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/report.h"
#include "eval/ruler.h"

namespace stretch {

// AM, GM and HM of scores named `tasks`. GM and HM need every score > 0 (methods.md G7): when one is
// not, they are absent and `undefined_because` names the first such task and its score.
struct ruler_means {
    double am = 0;
    std::optional<double> gm, hm;
    std::string undefined_because;
};
ruler_means means_of(std::span<const double> scores, std::span<const std::string> tasks);

// The means over the chosen tasks at one length, and over every task@length cell.
struct ruler_summary {
    std::vector<std::string> tasks;         // in run order
    std::vector<std::int64_t> lengths;      // ascending
    std::vector<ruler_means> by_length;     // one per length
    std::vector<std::string> cell_names;    // "task@length", the set the overall means average
    ruler_means overall;
};
// Throws stretch::error when a task lacks a length another has (every mean over the same tasks).
ruler_summary summarize_ruler(const std::vector<ruler_cell>& cells);

// Plain-text table: one row per task, one column per length (scores 0-100), then AM, GM and HM rows
// ("-" where undefined), then the overall means and why GM/HM are undefined where they are.
std::string ruler_table(const std::vector<ruler_cell>& cells, const ruler_summary& summary);

// Depth bins of the heatmap: needle depth in tenths of the context, "0-10%" .. "90-100%".
inline constexpr int ruler_depth_bins = 10;
// One panel per NIAH task that ran: rows depth bins, columns lengths, value = 100 x the fraction of
// answers found whose needle lies in the bin (a sample with several needles adds each answer to its
// own bin). Empty when no NIAH task ran.
std::vector<heatmap_panel> ruler_heatmaps(const std::vector<ruler_cell>& cells);

// {"meta": meta, "tasks", "lengths", "results": [{"task", "length", "score", "seconds",
//  "samples": [{"size", "prompt_tokens", "answers", "depths", "found", "prediction", "score"}]}],
//  "means": {"by_length": [{"length", "am", "gm", "hm", "undefined_because"}], "overall": {...}, "cells": [...]}}
// with gm/hm null where undefined.
nlohmann::json ruler_json(const std::vector<ruler_cell>& cells, const ruler_summary& summary, const nlohmann::json& meta);

}  // namespace stretch
