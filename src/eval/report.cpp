// Sweep reports: CSV, JSON, Markdown tables and an SVG chart of loss and accuracy against length; SVG heatmaps.
#include "eval/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <tuple>
#include <utility>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json_text.h"

namespace stretch {

namespace {

// The cells of one (mode, score rule): methods in first-seen order, lengths ascending.
struct section {
    std::string title;  // "plain, score all"
    std::vector<std::string> methods;
    std::vector<std::int64_t> lengths;
    std::map<std::pair<std::size_t, std::int64_t>, const length_result*> cells;  // (method index, length)

    const length_result* cell(std::size_t method, std::int64_t length) const {
        const auto it = cells.find({method, length});
        return it == cells.end() ? nullptr : it->second;
    }
};

std::vector<section> sections_of(const std::vector<sweep_result>& results) {
    if (results.empty()) fail("sweep: no results to report");
    std::vector<section> sections;
    for (const sweep_result& r : results) {
        const length_result& x = r.result;
        if (x.length <= 0) fail("sweep: method '{}' has length {}; expected a positive length", r.method, x.length);
        const std::string title = fmt::format("{}, score {}", eval_mode_name(x.mode), x.score.text());
        auto s = std::find_if(sections.begin(), sections.end(), [&](const section& t) { return t.title == title; });
        if (s == sections.end()) s = sections.insert(sections.end(), section{title, {}, {}, {}});
        const auto m = std::find(s->methods.begin(), s->methods.end(), r.method);
        const auto index = std::size_t(m - s->methods.begin());
        if (m == s->methods.end()) s->methods.push_back(r.method);
        if (!s->cells.emplace(std::pair(index, x.length), &x).second)
            fail("sweep: method '{}' has two results for {} at length {}; expected one", r.method, title, x.length);
        if (std::find(s->lengths.begin(), s->lengths.end(), x.length) == s->lengths.end())
            s->lengths.push_back(x.length);
    }
    for (section& s : sections) std::sort(s.lengths.begin(), s.lengths.end());
    return sections;
}

std::string csv_field(const std::string& text) {
    if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
    std::string out = "\"";
    for (const char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string xml_escape(std::string_view text) {
    std::string out;
    for (const char c : text) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

using metric = double length_result::*;

// Values beyond this are as useless on a chart as infinities; both leave a gap.
bool plottable(double v) { return std::isfinite(v) && std::abs(v) < 1e100; }

// A y axis: [lo, hi] widened to multiples of a 1-2-5 step giving about four intervals.
struct axis {
    double lo = 0, hi = 1, step = 0.25;
    int decimals = 2;
};

axis nice_axis(double lo, double hi) {
    if (lo > hi) return {};  // no plottable value
    if (lo == hi) {
        const double pad = std::max(std::abs(lo) * 0.05, 0.05);
        lo -= pad, hi += pad;
    }
    const double raw = (hi - lo) / 4;
    const double unit = std::pow(10.0, std::floor(std::log10(raw)));
    const double step = unit * (raw <= unit ? 1 : raw <= 2 * unit ? 2 : raw <= 5 * unit ? 5 : 10);
    return {std::floor(lo / step) * step, std::ceil(hi / step) * step, step,
            std::max(0, -int(std::floor(std::log10(step))))};
}

// The opening of a self-contained SVG document on a white background (every chart here starts so).
std::string svg_open(double width, double height) {
    return fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0f}\" height=\"{:.0f}\" viewBox=\"0 0 {:.0f} {:.0f}\" "
        "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n",
        width, height, width, height);
}

constexpr const char* palette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr const char* dashes[] = {"", " stroke-dasharray=\"6,3\"", " stroke-dasharray=\"2,3\""};
constexpr double panel_w = 420, panel_h = 280;
constexpr double pad_left = 62, pad_right = 18, pad_top = 34, pad_bottom = 46, inset = 12;

struct panel_frame {
    double left, top;       // panel origin
    double log_lo, log_hi;  // shared log2 x range
    axis y;
    double px(double length) const {
        const double w = panel_w - pad_left - pad_right - 2 * inset;
        return left + pad_left + inset + (std::log2(length) - log_lo) / (log_hi - log_lo) * w;
    }
    double py(double v) const {
        const double h = panel_h - pad_top - pad_bottom;
        return top + pad_top + h - (v - y.lo) / (y.hi - y.lo) * h;
    }
};

void draw_panel(std::string& svg, const section& s, const panel_frame& f, metric field, const std::string& title,
                const std::vector<std::int64_t>& all_lengths, std::int64_t n_ctx_train) {
    const double x0 = f.left + pad_left, x1 = f.left + panel_w - pad_right;
    const double y0 = f.top + pad_top, y1 = f.top + panel_h - pad_bottom;
    svg += fmt::format(
        "<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"none\" stroke=\"#444\"/>\n", x0, y0,
        x1 - x0, y1 - y0);
    svg += fmt::format("<text x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\n",
                       (x0 + x1) / 2, f.top + 15, xml_escape(title));
    for (int k = 0; f.y.lo + k * f.y.step <= f.y.hi + f.y.step / 2; ++k) {
        const double v = f.y.lo + k * f.y.step, y = f.py(v);
        svg += fmt::format("<line x1=\"{:.2f}\" y1=\"{:.2f}\" x2=\"{:.2f}\" y2=\"{:.2f}\" stroke=\"#ddd\"/>\n", x0, y,
                           x1, y);
        svg += fmt::format("<text x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"end\">{:.{}f}</text>\n", x0 - 4, y + 4, v,
                           f.y.decimals);
    }
    for (const std::int64_t length : all_lengths) {
        const double x = f.px(double(length));
        svg += fmt::format("<line x1=\"{:.2f}\" y1=\"{:.2f}\" x2=\"{:.2f}\" y2=\"{:.2f}\" stroke=\"#444\"/>\n", x, y1,
                           x, y1 + 4);
        svg += fmt::format("<text x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"middle\">{}</text>\n", x, y1 + 17, length);
    }
    svg += fmt::format("<text x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"middle\">length (log2 scale)</text>\n",
                       (x0 + x1) / 2, y1 + 36);
    const double xt = f.px(double(n_ctx_train));
    svg += fmt::format(
        "<line x1=\"{:.2f}\" y1=\"{:.2f}\" x2=\"{:.2f}\" y2=\"{:.2f}\" stroke=\"#000\" "
        "stroke-dasharray=\"5,4\"/>\n<text x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"middle\">train</text>\n",
        xt, y0, xt, y1, xt, y0 - 4);
    for (std::size_t m = 0; m < s.methods.size(); ++m) {
        const std::string style = fmt::format("stroke=\"{}\"{}", palette[m % 10], dashes[m / 10 % 3]);
        svg += fmt::format("<g class=\"series\" data-method=\"{}\">\n", xml_escape(s.methods[m]));
        std::vector<std::pair<double, double>> run;  // contiguous plottable points
        auto flush = [&] {
            if (run.size() >= 2) {
                svg += fmt::format("<polyline fill=\"none\" stroke-width=\"2\" {} points=\"", style);
                for (std::size_t i = 0; i < run.size(); ++i)
                    svg += fmt::format("{}{:.2f},{:.2f}", i ? " " : "", run[i].first, run[i].second);
                svg += "\"/>\n";
            }
            run.clear();
        };
        for (const std::int64_t length : s.lengths) {
            const length_result* cell = s.cell(m, length);
            if (!cell) continue;  // not measured: join its neighbours
            const double v = cell->*field;
            if (!plottable(v)) {
                flush();
                continue;
            }
            const double x = f.px(double(length)), y = f.py(v);
            run.emplace_back(x, y);
            svg += fmt::format(
                "<circle cx=\"{:.2f}\" cy=\"{:.2f}\" r=\"3\" fill=\"{}\"><title>{} @ {}: {:.4f}</title></circle>\n", x,
                y, palette[m % 10], xml_escape(s.methods[m]), length, v);
        }
        flush();
        svg += "</g>\n";
    }
}

// Red (lo) through yellow to green (hi), ColorBrewer's RdYlGn end and middle colours.
std::string heat_colour(double t) {
    constexpr double stops[3][3] = {{215, 48, 39}, {254, 224, 139}, {26, 152, 80}};
    t = std::clamp(t, 0.0, 1.0) * 2;
    const int i = t >= 1 ? 1 : 0;
    const double f = t - i;
    const auto channel = [&](int c) { return int(std::lround(stops[i][c] + f * (stops[i + 1][c] - stops[i][c]))); };
    return fmt::format("#{:02x}{:02x}{:02x}", channel(0), channel(1), channel(2));
}

constexpr double heat_cell_w = 58, heat_cell_h = 22, heat_label_w = 84, heat_top = 40, heat_bottom = 34;

double heat_panel_w(const heatmap_panel& p) { return heat_label_w + heat_cell_w * double(p.columns.size()) + 20; }
double heat_panel_h(const heatmap_panel& p) { return heat_top + heat_cell_h * double(p.rows.size()) + heat_bottom; }

void draw_heat_panel(std::string& svg, const heatmap_panel& p, double left, double top, double lo, double hi) {
    const double x0 = left + heat_label_w, y0 = top + heat_top;
    svg += fmt::format("<text x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text>\n",
                       x0 + heat_cell_w * double(p.columns.size()) / 2, top + 18, xml_escape(p.title));
    for (std::size_t r = 0; r < p.rows.size(); ++r)
        svg += fmt::format("<text x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"end\">{}</text>\n", x0 - 6,
                           y0 + heat_cell_h * (double(r) + 0.5) + 4, xml_escape(p.rows[r]));
    for (std::size_t c = 0; c < p.columns.size(); ++c)
        svg += fmt::format("<text x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"middle\">{}</text>\n",
                           x0 + heat_cell_w * (double(c) + 0.5), y0 + heat_cell_h * double(p.rows.size()) + 16,
                           xml_escape(p.columns[c]));
    svg += fmt::format("<g class=\"heatmap\" data-title=\"{}\">\n", xml_escape(p.title));
    for (std::size_t r = 0; r < p.rows.size(); ++r)
        for (std::size_t c = 0; c < p.columns.size(); ++c) {
            const double v = p.values[r * p.columns.size() + c];
            const bool known = std::isfinite(v);
            const double x = x0 + heat_cell_w * double(c), y = y0 + heat_cell_h * double(r);
            svg += fmt::format(
                "<rect class=\"cell\" x=\"{:.2f}\" y=\"{:.2f}\" width=\"{:.2f}\" height=\"{:.2f}\" fill=\"{}\" "
                "stroke=\"#fff\"><title>{}, {}: {} ({} measured)</title></rect>\n",
                x, y, heat_cell_w, heat_cell_h, known ? heat_colour((v - lo) / (hi - lo)) : std::string("#ddd"),
                xml_escape(p.rows[r]), xml_escape(p.columns[c]), known ? fmt::format("{:.1f}", v) : std::string("no data"),
                p.counts[r * p.columns.size() + c]);
            svg += fmt::format("<text x=\"{:.2f}\" y=\"{:.2f}\" text-anchor=\"middle\" font-size=\"11\">{}</text>\n",
                               x + heat_cell_w / 2, y + heat_cell_h / 2 + 4, known ? fmt::format("{:.0f}", v) : "-");
        }
    svg += "</g>\n";
}

}  // namespace

std::string heatmap_svg(const std::vector<heatmap_panel>& panels, std::string_view value_name, double lo, double hi) {
    if (panels.empty()) fail("heatmap: no panels to draw");
    if (!(lo < hi)) fail("heatmap: the scale runs from {} to {}; expected lo < hi", lo, hi);
    for (const heatmap_panel& p : panels)
        if (p.rows.empty() || p.columns.empty() || p.values.size() != p.rows.size() * p.columns.size() ||
            p.counts.size() != p.values.size())
            fail("heatmap: panel '{}' has {} rows, {} columns, {} values and {} counts; expected rows x columns of each",
                 p.title, p.rows.size(), p.columns.size(), p.values.size(), p.counts.size());
    constexpr std::size_t per_row = 2;
    std::vector<double> column_w(per_row, 0);
    std::vector<double> row_h((panels.size() + per_row - 1) / per_row, 0);
    for (std::size_t i = 0; i < panels.size(); ++i) {
        column_w[i % per_row] = std::max(column_w[i % per_row], heat_panel_w(panels[i]));
        row_h[i / per_row] = std::max(row_h[i / per_row], heat_panel_h(panels[i]));
    }
    double width = 0, height = 30;  // 30: the scale's caption
    for (const double w : column_w) width += w;
    for (const double h : row_h) height += h;
    width = std::max(width, 360.0);
    std::string svg = svg_open(width, height);
    double top = 0;
    for (std::size_t row = 0; row < row_h.size(); ++row) {
        double left = 0;
        for (std::size_t column = 0; column < per_row && row * per_row + column < panels.size(); ++column) {
            draw_heat_panel(svg, panels[row * per_row + column], left, top, lo, hi);
            left += column_w[column];
        }
        top += row_h[row];
    }
    for (int k = 0; k <= 10; ++k)
        svg += fmt::format("<rect x=\"{:.2f}\" y=\"{:.2f}\" width=\"18\" height=\"12\" fill=\"{}\"/>\n",
                           10 + 18.0 * k, top + 8, heat_colour(k / 10.0));
    svg += fmt::format("<text x=\"{:.2f}\" y=\"{:.2f}\">{}: {} to {}</text>\n", 10 + 18.0 * 11 + 8, top + 18,
                       xml_escape(value_name), lo, hi);
    return svg + "</svg>\n";
}

std::string markdown_escape(std::string_view text) {
    std::string out;
    for (const char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
    return out;
}

std::string sweep_csv(const std::vector<sweep_result>& results) {
    std::string out = "method,mode,score,length,loss,ppl,bpb,accuracy,tokens,seconds\n";
    for (const sweep_result& r : results) {
        const length_result& x = r.result;
        out += fmt::format("{},{},{},{},{},{},{},{},{},{}\n", csv_field(r.method), eval_mode_name(x.mode),
                           csv_field(x.score.text()), x.length, x.loss, x.ppl, x.bpb, x.accuracy, x.tokens, x.seconds);
    }
    return out;
}

nlohmann::json sweep_json(const std::vector<sweep_result>& results, const nlohmann::json& meta) {
    // A non-finite number stays in the value: JSON text writes it as null, MessagePack (how sweep cells
    // travel between MPI ranks, cli/cmd_sweep.cpp) keeps its bits.
    nlohmann::json rows = nlohmann::json::array();
    for (const sweep_result& r : results) {
        const length_result& x = r.result;
        rows.push_back({{"method", r.method},
                        {"mode", eval_mode_name(x.mode)},
                        {"score", x.score.text()},
                        {"length", x.length},
                        {"loss", x.loss},
                        {"ppl", x.ppl},
                        {"bpb", x.bpb},
                        {"accuracy", x.accuracy},
                        {"tokens", x.tokens},
                        {"seconds", x.seconds}});
    }
    return {{"meta", meta}, {"results", rows}};
}

std::vector<sweep_result> sweep_results_from_json(const nlohmann::json& document, const std::string& where) {
    if (!document.is_object() || !document.contains("results") || !document["results"].is_array())
        fail("{}: expected {{\"meta\": ..., \"results\": [...]}}", where);
    const auto number = [](const nlohmann::json& v) { return v.is_null() ? std::numeric_limits<double>::quiet_NaN() : v.get<double>(); };
    std::vector<sweep_result> results;
    for (const auto& row : document["results"]) {
        try {
            sweep_result r;
            r.method = row.at("method").get<std::string>();
            r.result.mode = parse_eval_mode(row.at("mode").get<std::string>());
            r.result.score = parse_score_rule(row.at("score").get<std::string>());
            r.result.length = row.at("length").get<std::int64_t>();
            r.result.loss = number(row.at("loss"));
            r.result.ppl = number(row.at("ppl"));
            r.result.bpb = number(row.at("bpb"));
            r.result.accuracy = number(row.at("accuracy"));
            r.result.tokens = row.at("tokens").get<std::int64_t>();
            r.result.seconds = number(row.at("seconds"));
            results.push_back(r);
        } catch (const nlohmann::json::exception&) {
            fail("{}: result row {} lacks a field or has one of the wrong type", where, json_text(row));
        }
    }
    return results;
}

std::string sweep_markdown(const std::vector<sweep_result>& results, std::int64_t n_ctx_train) {
    std::string out;
    for (const section& s : sections_of(results)) {
        for (const auto& [field, name] : {std::pair<metric, const char*>{&length_result::loss, "loss (nats/token)"},
                                          {&length_result::accuracy, "accuracy"}}) {
            out += fmt::format("### {}: {}\n\n| method |", s.title, name);
            for (const std::int64_t length : s.lengths)
                out += fmt::format(" {}{} |", length, length == n_ctx_train ? " (train)" : "");
            out += "\n|---|";
            for (std::size_t i = 0; i < s.lengths.size(); ++i) out += "---:|";
            out += "\n";
            for (std::size_t m = 0; m < s.methods.size(); ++m) {
                out += fmt::format("| {} |", markdown_escape(s.methods[m]));
                for (const std::int64_t length : s.lengths) {
                    const length_result* cell = s.cell(m, length);
                    out += cell ? fmt::format(" {:.4f} |", cell->*field) : std::string(" - |");
                }
                out += "\n";
            }
            out += "\n";
        }
    }
    return out;
}

std::string sweep_svg(const std::vector<sweep_result>& results, std::int64_t n_ctx_train) {
    if (n_ctx_train <= 0) fail("sweep: n_ctx_train {}; expected a positive training length", n_ctx_train);
    const std::vector<section> sections = sections_of(results);
    std::vector<std::int64_t> all_lengths;
    std::size_t longest_name = 0;
    for (const section& s : sections) {
        all_lengths.insert(all_lengths.end(), s.lengths.begin(), s.lengths.end());
        for (const std::string& m : s.methods) longest_name = std::max(longest_name, m.size());
    }
    std::sort(all_lengths.begin(), all_lengths.end());
    all_lengths.erase(std::unique(all_lengths.begin(), all_lengths.end()), all_lengths.end());
    // One x range for every panel (the training length included) so panels line up.
    double log_lo = std::log2(double(std::min(all_lengths.front(), n_ctx_train)));
    double log_hi = std::log2(double(std::max(all_lengths.back(), n_ctx_train)));
    if (log_lo == log_hi) log_lo -= 1, log_hi += 1;

    const double legend_w = std::max(160.0, 7.0 * double(longest_name) + 50);
    const double width = 2 * panel_w + legend_w, height = panel_h * double(sections.size());
    std::string svg = svg_open(width, height);
    for (std::size_t i = 0; i < sections.size(); ++i) {
        const section& s = sections[i];
        const double top = panel_h * double(i);
        for (const auto& [column, field, name] :
             {std::tuple<int, metric, const char*>{0, &length_result::loss, "loss (nats/token)"},
              {1, &length_result::accuracy, "accuracy"}}) {
            double lo = std::numeric_limits<double>::infinity(), hi = -lo;
            for (const auto& entry : s.cells)
                if (plottable(entry.second->*field))
                    lo = std::min(lo, entry.second->*field), hi = std::max(hi, entry.second->*field);
            const panel_frame frame{panel_w * column, top, log_lo, log_hi, nice_axis(lo, hi)};
            draw_panel(svg, s, frame, field, fmt::format("{}: {}", s.title, name), all_lengths, n_ctx_train);
        }
        for (std::size_t m = 0; m < s.methods.size(); ++m) {
            const double x = 2 * panel_w + 10, y = top + pad_top + 10 + 18 * double(m);
            svg += fmt::format(
                "<line x1=\"{:.2f}\" y1=\"{:.2f}\" x2=\"{:.2f}\" y2=\"{:.2f}\" stroke=\"{}\" stroke-width=\"2\"{}/>\n"
                "<text x=\"{:.2f}\" y=\"{:.2f}\">{}</text>\n",
                x, y, x + 24, y, palette[m % 10], dashes[m / 10 % 3], x + 30, y + 4, xml_escape(s.methods[m]));
        }
    }
    return svg + "</svg>\n";
}

std::string write_sweep_files(const std::string& dir, const std::vector<sweep_result>& results,
                              const nlohmann::json& meta, std::int64_t n_ctx_train) {
    const std::filesystem::path out(dir);
    std::filesystem::create_directories(out);
    write_text_atomic((out / "results.csv").string(), sweep_csv(results));
    write_json_atomic((out / "results.json").string(), sweep_json(results, meta));
    const std::string table = sweep_markdown(results, n_ctx_train);
    write_text_atomic((out / "table.md").string(), table);
    write_text_atomic((out / "plot.svg").string(), sweep_svg(results, n_ctx_train));
    return table;
}

}  // namespace stretch
