#include "eval/attention_bench.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <limits>

#include "core/rng.h"
#include "core/thread_pool.h"
#include "eval/throughput.h"
#include "io/atomic_file.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/gemm.h"
#include "variants/spec.h"

namespace stretch {

namespace {

// Useful flops of causal attention over one head's visible pairs: 2 D for q . k and 2 D for P V per
// pair (the forward); the backward's five products make 2.5 times that (FlashAttention-2's count, no
// recomputation counted). Every figure, the peer's included, is divided by the same count.
double forward_flops(std::int64_t time, std::int64_t heads, std::int64_t head_dim, std::int64_t window) {
    double pairs = 0;
    for (std::int64_t i = 0; i < time; ++i) pairs += double(window > 0 ? std::min(i + 1, window) : i + 1);
    return 4.0 * double(head_dim) * double(heads) * pairs;
}

struct inputs {
    std::vector<float> q, k, v, qf, kf, out, dout, lse, dq, dk, dv, dqf, dkf;
    explicit inputs(std::int64_t n) {
        rng generator(7);
        for (auto* x : {&q, &k, &v, &qf, &kf, &dout}) {
            x->resize(std::size_t(n));
            for (float& e : *x) e = float(generator.normal());
        }
        for (auto* x : {&out, &dq, &dk, &dv, &dqf, &dkf}) x->assign(std::size_t(n), 0.0f);
    }
};

// The peer: what softmax(QK^T + mask) V does when written with a BLAS and nothing else, one T x T
// score matrix per head (PyTorch eager's math path): S = scale Q K^T in full, a masked softmax row by
// row, O = P V in full. Threads split the heads.
void naive_attention(const inputs& x, std::vector<float>& out, const cpu::attention_dims& d, float scale,
                     std::vector<std::vector<float>>& scores) {
    const std::int64_t t = d.time_q, dim = d.head_dim, stride = d.heads * dim;
    pool().parallel_for(d.heads, [&](std::int64_t h0, std::int64_t h1, int thread) {
        auto& s = scores[std::size_t(thread)];
        s.resize(std::size_t(t * t));
        for (std::int64_t h = h0; h < h1; ++h) {
            cpu::gemm<float>(false, true, t, t, dim, scale, x.q.data() + h * dim, stride, x.k.data() + h * dim, stride,
                             0.0f, s.data(), t);
            for (std::int64_t i = 0; i < t; ++i) {
                float* row = s.data() + i * t;
                float max = -std::numeric_limits<float>::infinity();
                for (std::int64_t j = 0; j <= i; ++j) max = std::max(max, row[j]);
                float sum = 0;
                for (std::int64_t j = 0; j < t; ++j) {
                    row[j] = j <= i ? std::exp(row[j] - max) : 0.0f;
                    sum += row[j];
                }
                for (std::int64_t j = 0; j <= i; ++j) row[j] /= sum;
            }
            cpu::gemm<float>(false, false, t, dim, t, 1.0f, s.data(), t, x.v.data() + h * dim, stride, 0.0f,
                             out.data() + h * dim, stride);
        }
    });
}

// The kernel rules a registered method gives T queries at positions 0 .. T-1 (with its defaults for a
// model trained on train_len tokens): the bench times the variants' own data.
cpu::attention_rules method_rules(const std::string& spec, std::int64_t train_len, std::int64_t head_dim,
                                  std::int64_t time) {
    const variants::position_setup setup(variants::parse_spec(spec, "bench"),
                                         variants::model_context{train_len, head_dim, 10000.0, time}, "bench");
    return setup.rules(0, time, time);
}

struct row {
    std::int64_t time;
    double fused_s, naive_s, train_s, window_s, rerope_s, dca_s, string_s, chunked_s, sinks_s, sinks_train_s;
};

// The slope of log time against log T from the first length to the last: 2 for O(T^2), 1 for O(T).
double growth_slope(const std::vector<row>& rows, double row::*field) {
    return std::log((rows.back().*field) / (rows.front().*field)) /
           std::log(double(rows.back().time) / double(rows.front().time));
}

// Log-log time against T: one polyline per kernel, a dashed T^2 guide through the first full point.
std::string time_svg(const std::vector<row>& rows, std::int64_t window) {
    const double w = 700, h = 420, left = 70, right = 210, top = 30, bottom = 50;
    double t_min = 1e30, t_max = 0;
    for (const auto& r : rows)
        for (double s : {r.fused_s, r.window_s, r.rerope_s}) t_min = std::min(t_min, s), t_max = std::max(t_max, s);
    const double lx0 = std::log2(double(rows.front().time)), lx1 = std::log2(double(rows.back().time));
    const double ly0 = std::floor(std::log10(t_min)), ly1 = std::ceil(std::log10(t_max));
    const auto px = [&](double time) { return left + (std::log2(time) - lx0) / (lx1 - lx0) * (w - left - right); };
    const auto py = [&](double s) { return h - bottom - (std::log10(s) - ly0) / (ly1 - ly0) * (h - top - bottom); };
    std::string svg = fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"sans-serif\" "
        "font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        "<text x=\"{}\" y=\"18\" text-anchor=\"middle\" font-weight=\"bold\">fused attention forward, time vs T "
        "(log-log)</text>\n",
        w, h, (left + w - right) / 2);
    for (double e = ly0; e <= ly1; ++e)
        svg += fmt::format("<line x1=\"{0}\" y1=\"{1:.1f}\" x2=\"{2}\" y2=\"{1:.1f}\" stroke=\"#ddd\"/>"
                           "<text x=\"{3}\" y=\"{4:.1f}\" text-anchor=\"end\">1e{5:.0f} s</text>\n",
                           left, py(std::pow(10.0, e)), w - right, left - 4, py(std::pow(10.0, e)) + 4, e);
    for (const auto& r : rows)
        svg += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", px(double(r.time)),
                           h - bottom + 17, r.time);
    svg += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">T (tokens, log2 scale)</text>\n",
                       (left + w - right) / 2, h - 10);
    const struct {
        const char* name;
        const char* color;
        double row::*field;
    } series[] = {{"full (causal)", "#1f77b4", &row::fused_s},
                  {"rerope", "#d62728", &row::rerope_s},
                  {"window", "#2ca02c", &row::window_s}};
    double y_label = top + 10;
    for (const auto& s : series) {
        svg += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"", s.color);
        for (std::size_t i = 0; i < rows.size(); ++i)
            svg += fmt::format("{}{:.1f},{:.1f}", i ? " " : "", px(double(rows[i].time)), py(rows[i].*s.field));
        svg += "\"/>\n";
        for (const auto& r : rows)
            svg += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n", px(double(r.time)),
                               py(r.*s.field), s.color);
        const std::string name = s.name == std::string("window") ? fmt::format("window {}", window) : s.name;
        svg += fmt::format("<text x=\"{}\" y=\"{:.1f}\" fill=\"{}\">{}, slope {:.2f}</text>\n", w - right + 10,
                           y_label, s.color, name, growth_slope(rows, s.field));
        y_label += 18;
    }
    const double t0 = double(rows.front().time), s0 = rows.front().fused_s, t1 = double(rows.back().time);
    svg += fmt::format("<line x1=\"{:.1f}\" y1=\"{:.1f}\" x2=\"{:.1f}\" y2=\"{:.1f}\" stroke=\"#888\" "
                       "stroke-dasharray=\"4 4\"/><text x=\"{}\" y=\"{:.1f}\" fill=\"#888\">T^2 guide</text>\n",
                       px(t0), py(s0), px(t1), py(s0 * (t1 / t0) * (t1 / t0)), w - right + 10, y_label);
    return svg + "</svg>\n";
}

// The second table: the newer methods' forward time beside plain causal attention, same run.
void print_method_costs(const std::vector<row>& rows, const attention_bench_options& o) {
    const std::int64_t train_len = 4 * o.window;
    const auto defaults = [&](const char* spec) {
        const variants::position_setup setup(variants::parse_spec(spec, "bench"),
                                             variants::model_context{train_len, o.head_dim, 10000.0, train_len}, "bench");
        return setup.full_text();
    };
    std::printf("\nforward time beside plain causal attention (the same run), at the registry defaults for L_train = %lld:"
                "\n  %s, %s, %s\n",
                (long long)train_len, defaults("dca").c_str(), defaults("string").c_str(), defaults("chunked").c_str());
    std::printf("  learned_sinks: one logit per head in each row's denominator, forward and forward + backward (x "
                "plain's)\n");
    std::printf("%6s %10s %10s %7s %10s %7s %11s %8s %10s %7s %13s %8s\n", "T", "plain ms", "dca ms", "x plain",
                "string ms", "x plain", "chunked ms", "x plain", "sinks ms", "x plain", "sinks f+b ms", "x plain");
    for (const row& r : rows)
        std::printf("%6lld %10.2f %10.2f %6.2fx %10.2f %6.2fx %11.2f %7.2fx %10.2f %6.2fx %13.2f %7.2fx\n",
                    (long long)r.time, 1e3 * r.fused_s, 1e3 * r.dca_s, r.dca_s / r.fused_s, 1e3 * r.string_s,
                    r.string_s / r.fused_s, 1e3 * r.chunked_s, r.chunked_s / r.fused_s, 1e3 * r.sinks_s,
                    r.sinks_s / r.fused_s, 1e3 * r.sinks_train_s, r.sinks_train_s / r.train_s);
}

}  // namespace

nlohmann::json run_attention_bench(const attention_bench_options& o, double blas_square_gflops) {
    const float scale = 1.0f / std::sqrt(float(o.head_dim));
    std::printf("\nfused attention (batch 1, %lld heads, D = %lld; GFLOP/s count causal pairs only; %%BLAS: of the "
                "square sgemm above)\n",
                (long long)o.heads, (long long)o.head_dim);
    std::printf("%6s %10s %8s %6s %10s %8s %7s %10s %8s %6s %10s %10s %8s\n", "T", "fwd ms", "GF/s", "%BLAS",
                "naive ms", "GF/s", "fused x", "fwd+bwd ms", "GF/s", "%BLAS", "window ms", "rerope ms", "rerope/");
    std::printf("%6s %10s %8s %6s %10s %8s %7s %10s %8s %6s %10s %10s %8s\n", "", "", "", "", "", "", "", "", "", "",
                fmt::format("w={}", o.window).c_str(), fmt::format("w={}", o.window).c_str(), "plain");
    std::vector<row> rows;
    nlohmann::json figures = nlohmann::json::array();
    std::vector<std::vector<float>> naive_scores(std::size_t(pool().size()));
    for (const std::int64_t t : o.lengths) {
        const cpu::attention_dims d{1, t, t, o.heads, o.heads, o.head_dim};
        inputs x(t * o.heads * o.head_dim);
        cpu::attention_rules window;
        window.window = o.window;
        const std::int64_t train_len = 4 * o.window, dim = o.head_dim;
        const cpu::attention_rules rerope = method_rules(fmt::format("rerope:window={}", o.window), train_len, dim, t);
        const cpu::attention_rules dca = method_rules("dca", train_len, dim, t);
        const cpu::attention_rules shifted = method_rules("string", train_len, dim, t);
        const cpu::attention_rules chunked = method_rules("chunked", train_len, dim, t);
        // Learned sinks are weights, not a spec's data: s_h = 0 (learned_sinks' initial value) per head.
        cpu::attention_rules sinks;
        sinks.sink_logits.assign(std::size_t(o.heads), 0.0);
        std::vector<float> d_sink(std::size_t(o.heads));
        const cpu::far_operands<float> far{x.qf.data(), x.kf.data()};
        const auto forward = [&](const cpu::attention_rules& rules, cpu::far_operands<float> f) {
            cpu::attention_forward<float>(x.q.data(), x.k.data(), x.v.data(), x.out.data(), x.lse.data(), d, scale,
                                          rules, f);
        };
        x.lse.resize(std::size_t(o.heads * t));
        const auto forward_backward = [&](const cpu::attention_rules& rules) {
            forward(rules, {});
            cpu::attention_backward<float>(x.q.data(), x.k.data(), x.v.data(), x.out.data(), x.lse.data(),
                                           x.dout.data(), x.dq.data(), x.dk.data(), x.dv.data(), d, scale, rules, {},
                                           nullptr, nullptr, rules.sink_logits.empty() ? nullptr : d_sink.data());
        };
        // All ten in turn, so that their ratios hold on a busy machine; seconds per figure as above.
        const std::vector<double> s = best_times(10 * o.seconds, {
            [&] { forward({}, {}); },
            [&] { naive_attention(x, x.out, d, scale, naive_scores); },
            [&] { forward_backward({}); },
            [&] { forward(window, {}); },
            [&] { forward(rerope, far); },
            [&] { forward(dca, far); },
            [&] { forward(shifted, far); },
            [&] { forward(chunked, {}); },
            [&] { forward(sinks, {}); },
            [&] { forward_backward(sinks); },
        });
        const row r{t, s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9]};
        const double flops = forward_flops(t, o.heads, o.head_dim, 0);
        const double fwd = flops / r.fused_s * 1e-9, naive = flops / r.naive_s * 1e-9;
        const double train = 3.5 * flops / r.train_s * 1e-9;
        std::printf("%6lld %10.2f %8.1f %5.0f%% %10.2f %8.1f %6.2fx %10.2f %8.1f %5.0f%% %10.2f %10.2f %7.2fx\n",
                    (long long)t, 1e3 * r.fused_s, fwd, 100 * fwd / blas_square_gflops, 1e3 * r.naive_s, naive,
                    r.naive_s / r.fused_s, 1e3 * r.train_s, train, 100 * train / blas_square_gflops, 1e3 * r.window_s,
                    1e3 * r.rerope_s, r.rerope_s / r.fused_s);
        figures.push_back({{"time", t},
                           {"forward_s", r.fused_s},
                           {"forward_gflops", fwd},
                           {"naive_s", r.naive_s},
                           {"naive_gflops", naive},
                           {"forward_backward_s", r.train_s},
                           {"forward_backward_gflops", train},
                           {"window_forward_s", r.window_s},
                           {"window_forward_gflops",
                            forward_flops(t, o.heads, o.head_dim, o.window) / r.window_s * 1e-9},
                           {"rerope_forward_s", r.rerope_s},
                           {"rerope_over_plain", r.rerope_s / r.fused_s},
                           {"dca_forward_s", r.dca_s},
                           {"dca_over_plain", r.dca_s / r.fused_s},
                           {"string_forward_s", r.string_s},
                           {"string_over_plain", r.string_s / r.fused_s},
                           {"chunked_forward_s", r.chunked_s},
                           {"chunked_over_plain", r.chunked_s / r.fused_s},
                           {"learned_sinks_forward_s", r.sinks_s},
                           {"learned_sinks_over_plain", r.sinks_s / r.fused_s},
                           {"learned_sinks_forward_backward_s", r.sinks_train_s},
                           {"learned_sinks_forward_backward_over_plain", r.sinks_train_s / r.train_s}});
        rows.push_back(r);
    }
    std::printf("growth of time with T (log-log slope, %lld to %lld): full %.2f, window %.2f, rerope %.2f\n",
                (long long)rows.front().time, (long long)rows.back().time, growth_slope(rows, &row::fused_s),
                growth_slope(rows, &row::window_s), growth_slope(rows, &row::rerope_s));
    print_method_costs(rows, o);
    if (!o.svg.empty()) {
        const std::string text = time_svg(rows, o.window);
        write_file_atomic(o.svg, std::as_bytes(std::span(text.data(), text.size())));
        std::printf("wrote %s\n", o.svg.c_str());
    }
    return {{"heads", o.heads},
            {"head_dim", o.head_dim},
            {"window", o.window},
            {"lengths", figures},
            {"growth_slope",
             {{"full", growth_slope(rows, &row::fused_s)},
              {"window", growth_slope(rows, &row::window_s)},
              {"rerope", growth_slope(rows, &row::rerope_s)}}}};
}

}  // namespace stretch
