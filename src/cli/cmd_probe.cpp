// `stretch probe`: the relative-position probe of methods.md G6 (eval/probe.h) — one small model
// per spec trained to output the position index of n identical tokens; prints a Markdown table of
// accuracies and writes the predictions per position as JSON.
#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/number_options.h"
#include "core/thread_pool.h"
#include "eval/probe.h"
#include "io/atomic_file.h"
#include "io/json_text.h"
#include "train/adamw.h"

namespace stretch::cli {

namespace {

struct probe_args {
    probe_options options;
    std::string json;
    int threads = 0;
};

void run(probe_args a) {
    if (a.threads != 0) set_threads(a.threads);
    const probe_options& o = a.options;
    std::fprintf(stderr, "probe: n = %lld identical tokens, labels 1..n; d_model %lld, %lld layers, %lld heads; %lld steps, "
                 "lr %g, seed %llu\n", (long long)o.length, (long long)o.d_model, (long long)o.n_layer, (long long)o.n_head,
                 (long long)o.steps, o.lr, (unsigned long long)o.seed);
    const auto results = run_probe(o);
    std::printf("| spec | accuracy | positions right | distinct predictions | final loss |\n|---|---:|---:|---:|---:|\n");
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : results) {
        const auto right = std::int64_t(std::lround(r.accuracy * double(o.length)));
        std::printf("| %s | %.4f | %lld / %lld | %lld | %.4f |\n", r.spec.c_str(), r.accuracy, (long long)right,
                    (long long)o.length, (long long)r.distinct_predictions, r.final_loss);
        rows.push_back({{"spec", r.spec}, {"accuracy", r.accuracy}, {"distinct_predictions", r.distinct_predictions},
                        {"final_loss", r.final_loss}, {"predicted", r.predicted}});
    }
    std::printf("\nchance (one constant label): %.4f\n", 1.0 / double(o.length));
    if (!a.json.empty()) {
        const nlohmann::json report = {{"length", o.length}, {"steps", o.steps},     {"lr", o.lr},
                                       {"d_model", o.d_model}, {"n_layer", o.n_layer}, {"n_head", o.n_head},
                                       {"seed", o.seed},     {"results", rows}};
        write_json_atomic(a.json, report);
    }
}

}  // namespace

void add_probe_command(CLI::App& app) {
    auto args = std::make_shared<probe_args>();
    // methods.md G6's cases: relative encodings (and none) with softmax; absolute encodings; relu^2 / n
    // on NoPE, where only n = seq or fixed lets row sums grow with i (D5); relu^2 / n with RoPE.
    args->options.specs = {"default",
                           "nope",
                           "alibi",
                           "random_pos",
                           "sinusoidal",
                           "learned",
                           "nope+relu2:n_def=visible",
                           "nope+relu2:n_def=seq",
                           "nope+relu2:n_def=fixed",
                           "relu2:n_def=visible"};
    CLI::App* cmd = app.add_subcommand("probe", "the relative-position probe (methods.md G6): can each encoding count n identical tokens?");
    cmd->add_option("--pos", args->options.specs, "specs to train, one model each (repeat the flag)")->capture_default_str();
    cmd->add_option("--length", args->options.length, "n: tokens, and labels 1..n")
        ->capture_default_str()
        ->check(in_range(integer_range(2, max_tokens)));
    cmd->add_option("--steps", args->options.steps, "AdamW steps per model")->capture_default_str()->check(in_range(step_range));
    cmd->add_option("--lr", args->options.lr, "peak learning rate (10 % warm-up, cosine decay)")
        ->capture_default_str()
        ->check(in_range(adamw_ranges::lr));
    cmd->add_option("--d-model", args->options.d_model, "model width")
        ->capture_default_str()
        ->check(in_range(integer_range(2, 1 << 16)));
    cmd->add_option("--layers", args->options.n_layer, "blocks")->capture_default_str()->check(in_range(integer_range(1, 1 << 12)));
    cmd->add_option("--heads", args->options.n_head, "attention heads")
        ->capture_default_str()
        ->check(in_range(integer_range(1, 1 << 10)));
    cmd->add_option("--seed", args->options.seed, "initialisation seed, the same for every spec")
        ->capture_default_str()
        ->check(in_range(seed_range));
    cmd->add_option("--json", args->json, "also write every result, with the prediction at each position, to this file");
    add_threads_option(cmd, args->threads);
    cmd->callback([args] { run(*args); });
}

}  // namespace stretch::cli
