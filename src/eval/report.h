// Reports of a `stretch sweep` (methods × lengths × modes): CSV and JSON for machines, Markdown
// tables in the layout of the published length tables (published-tables.md), and a self-contained
// SVG of loss and accuracy against length; and the SVG heatmap `stretch ruler` draws. Sweep results
// are grouped into sections by (mode, score rule); methods keep first-seen order.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "eval/by_length.h"

namespace stretch {

// Header "method,mode,score,length,loss,ppl,bpb,accuracy,tokens,seconds", one row per cell; numbers
// in shortest round-trip form, fields with a comma or quote quoted as RFC 4180 says.
std::string sweep_csv(const std::vector<sweep_result>& results);

// {"meta": meta, "results": [{the CSV's fields}, ...]}; a non-finite number stays in the value and is
// written as null in its JSON text.
nlohmann::json sweep_json(const std::vector<sweep_result>& results, const nlohmann::json& meta);
// The results back from sweep_json's form (null -> NaN); throws stretch::error naming `where` and
// the first malformed row.
std::vector<sweep_result> sweep_results_from_json(const nlohmann::json& document, const std::string& where);

// Per section, a loss table and an accuracy table: rows = methods, columns = lengths ascending, the
// training length's header marked "(train)". Throws stretch::error when there are no results or a
// method has two results for one length of a section.
std::string sweep_markdown(const std::vector<sweep_result>& results, std::int64_t n_ctx_train);

// Per section, two panels (loss and accuracy against length, log2 x axis shared by all panels), one
// polyline per method per contiguous run of finite points, markers, a legend, and a dashed line at
// n_ctx_train. Non-finite values leave a gap. Same errors as sweep_markdown, and n_ctx_train > 0.
std::string sweep_svg(const std::vector<sweep_result>& results, std::int64_t n_ctx_train);

// Writes results.csv, results.json ({"meta": meta, ...}), table.md and plot.svg into `dir` (created
// if missing), each atomically; returns the table.
std::string write_sweep_files(const std::string& dir, const std::vector<sweep_result>& results,
                              const nlohmann::json& meta, std::int64_t n_ctx_train);

// One heatmap of a grid of values (e.g. `stretch ruler`'s NIAH accuracy: needle depth x length).
struct heatmap_panel {
    std::string title;
    std::vector<std::string> rows, columns;  // labels, top to bottom and left to right
    std::vector<double> values;              // [rows, columns] row-major; NaN: no data (drawn grey)
    std::vector<std::int64_t> counts;        // [rows, columns]: how many measurements each value averages
};

// The panels side by side (two per row), each cell coloured on a red-yellow-green scale from `lo` to
// `hi` and labelled with its value, a tooltip giving the count; `value_name` labels the scale.
// Throws stretch::error when there are no panels, a panel's sizes disagree, or lo >= hi.
std::string heatmap_svg(const std::vector<heatmap_panel>& panels, std::string_view value_name, double lo, double hi);

// `text` with '|' escaped, for a Markdown table cell.
std::string markdown_escape(std::string_view text);

}  // namespace stretch
