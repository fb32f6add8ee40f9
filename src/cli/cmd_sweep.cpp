// `stretch sweep`: methods x lengths x modes on one model and text (eval/by_length.h per cell) ->
// results.csv, results.json, table.md (per-length loss and accuracy), plot.svg (loss and accuracy
// against length) and leaderboard.md (AM/GM/HM of per-length accuracy over one task set), in --out.
// Methods come from repeated --method flags or a JSON config file ({"methods": [...], "lengths":
// [...], "modes": [...], "score": "all", "apply": "always", "tokens": N}); without either, every registered method with
// its defaults, and the log-n combinations the published tables report. A non-finite result is an
// error, reported after the outputs are written. Under mpirun the method x mode cells are spread over
// the ranks and rank 0 writes the same files as one process (docs/distributed.md).
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/eval_checks.h"
#include "cli/model_options.h"
#include "cli/number_options.h"
#include "cli/position_options.h"
#include "cli/ranks.h"
#include "core/error.h"
#include "eval/by_length.h"
#include "eval/leaderboard.h"
#include "eval/report.h"
#include "io/atomic_file.h"
#include "io/corpus.h"
#include "io/json_text.h"
#include "io/output_lock.h"
#include "model/load.h"

namespace stretch::cli {

namespace {

struct sweep_args {
    std::string model, tokenizer, text, config, out = "sweep";
    std::vector<std::string> methods;
    std::string lengths;  // default: 1x, 2x, 4x, 8x, 16x n_ctx_train
    std::string modes = "plain,repeated";
    std::string score = "all";
    std::string apply = "always";
    std::int64_t tokens = 16384;
    int threads = 0;
};

// Every training-free position variant with its defaults, the modifiers alone and the combinations
// of the published tables (methods.md B: "X-log n†" = X+logn; the super baseline = window+logn).
std::vector<std::string> every_method() {
    std::vector<std::string> methods;
    for (const auto* def : variants::all_variants())
        if (!def->needs_training) methods.push_back(def->name);
    for (const auto& a : variants::aliases()) methods.push_back(a.name);
    for (const char* combo : {"ntk_mixed+logn", "yarn+logn", "rerope+logn", "leaky_rerope+logn"}) methods.push_back(combo);
    return methods;
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> items;
    std::size_t start = 0;
    while (start <= text.size()) {
        const std::size_t comma = text.find(',', start);
        items.push_back(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return items;
}

void apply_config(sweep_args& a, const std::string& path) {
    const auto j = nlohmann::json::parse(read_text_file(path), nullptr, false);
    if (j.is_discarded() || !j.is_object()) fail("{}: not a JSON object; expected {{\"methods\": [...], ...}}", path);
    for (const auto& [key, value] : j.items()) {
        try {
            if (key == "methods") a.methods = value.get<std::vector<std::string>>();
            else if (key == "lengths") a.lengths = fmt::format("{}", fmt::join(value.get<std::vector<std::int64_t>>(), ","));
            else if (key == "modes") a.modes = fmt::format("{}", fmt::join(value.get<std::vector<std::string>>(), ","));
            else if (key == "score") a.score = value.get<std::string>();
            else if (key == "apply") a.apply = value.get<std::string>();
            else if (key == "tokens") check_in_range(a.tokens = value.get<std::int64_t>(), token_range, path + ": tokens");
            else fail("{}: unknown key '{}'; expected one of: methods, lengths, modes, score, apply, tokens", path, key);
        } catch (const nlohmann::json::exception&) {
            fail("{}: key '{}' has the wrong type ({})", path, key, json_text(value));
        }
    }
}

// Every method x mode cell, spread over the ranks; on rank 0 all of them in order, elsewhere none.
// Cells travel as MessagePack, which keeps every number's bits (a NaN's sign included).
std::vector<sweep_result> evaluate_cells(const communicator& world, const transformer& model,
                                         const std::vector<std::int32_t>& tokens, const std::string& text_name,
                                         const eval_request& base, const std::vector<variants::position_spec>& specs,
                                         const std::vector<std::string>& labels, const std::vector<eval_mode>& modes) {
    const auto cells = spread_over_ranks(world, specs.size() * modes.size(), [&](std::size_t c) {
        const std::size_t i = c / modes.size();
        const auto results = evaluate_methods(model, tokens, text_name, base, {specs[i]}, {labels[i]}, {modes[c % modes.size()]});
        const auto bytes = nlohmann::json::to_msgpack(sweep_json(results, nullptr));
        return std::string(bytes.begin(), bytes.end());
    });
    std::vector<sweep_result> results;
    for (const std::string& cell : cells) {
        const auto found = sweep_results_from_json(nlohmann::json::from_msgpack(cell), "a sweep cell from a rank");
        results.insert(results.end(), found.begin(), found.end());
    }
    return results;
}

void run(sweep_args a, const communicator& world) {
    use_threads(a.threads, world);
    if (!a.config.empty()) apply_config(a, a.config);
    if (a.methods.empty()) a.methods = every_method();
    const loaded_model m = load_any_model(a.model, a.tokenizer);
    const std::string& model_path = m.path;
    const model_config& config = m.model->config();
    const std::int64_t n_ctx = config.n_ctx_train;
    if (a.lengths.empty()) a.lengths = fmt::format("{},{},{},{},{}", n_ctx, 2 * n_ctx, 4 * n_ctx, 8 * n_ctx, 16 * n_ctx);

    eval_request base;
    base.lengths = parse_lengths(a.lengths);
    base.score = parse_score_rule(a.score);
    base.apply = parse_apply_rule(a.apply);
    base.trained = variants::parse_spec(m.positions, fmt::format("{}: the model's own positions", model_path));
    base.token_budget = a.tokens;
    use_tokenizer(base, *m.tok);
    check_eval_request(base, n_ctx);
    require_eval_memory(config, base.lengths);
    std::vector<eval_mode> modes;
    for (const auto& m : split_list(a.modes)) modes.push_back(parse_eval_mode(m));
    // Parse and resolve every method before the first (slow) evaluation, so a typo fails at once.
    std::vector<variants::position_spec> specs;
    for (std::size_t i = 0; i < a.methods.size(); ++i) {
        const std::string where = fmt::format("method {} ('{}')", i + 1, a.methods[i]);
        specs.push_back(variants::parse_spec(a.methods[i], where));
        check_spec_at(specs.back(), where, config, lengths_using_method(base, n_ctx));
    }
    const auto tokens = read_text_tokens(*m.tok, a.text, "--text");
    std::unique_ptr<output_lock> lock;  // rank 0 alone writes
    if (world.root()) lock = std::make_unique<output_lock>(a.out, "--out");

    if (world.root())
        std::fprintf(stderr, "sweep: %zu methods x %zu lengths x %zu modes on %s, text %s%s\n", specs.size(),
                     base.lengths.size(), modes.size(), model_path.c_str(), a.text.c_str(),
                     world.size() > 1 ? fmt::format(", over {} ranks", world.size()).c_str() : "");
    std::vector<std::string> labels;
    for (const auto& spec : specs) labels.push_back(spec.text());
    const auto results = evaluate_cells(world, *m.model, tokens, a.text, base, specs, labels, modes);
    if (!world.root()) return;
    std::vector<std::string> non_finite;
    for (const sweep_result& r : results)
        if (!std::isfinite(r.result.loss) || !std::isfinite(r.result.accuracy))
            non_finite.push_back(fmt::format("{} {} at {}", r.method, eval_mode_name(r.result.mode), r.result.length));

    const nlohmann::json meta = {{"model", model_path}, {"text", a.text},     {"n_ctx_train", n_ctx},
                                 {"score", a.score},    {"apply", a.apply},   {"tokens", a.tokens},
                                 {"methods", a.methods}};
    const std::string table = write_sweep_files(a.out, results, meta, n_ctx);
    std::printf("%s\n", table.c_str());
    if (!non_finite.empty())
        fail("sweep: non-finite results for {}; outputs written to {}", fmt::join(non_finite, "; "), a.out);
    const std::string board = leaderboard_markdown(accuracy_leaderboard(results));
    write_text_atomic((std::filesystem::path(a.out) / "leaderboard.md").string(), board);
    std::printf("%s\nwrote %s/{results.csv,results.json,table.md,plot.svg,leaderboard.md}\n", board.c_str(),
                a.out.c_str());
}

}  // namespace

void add_sweep_command(CLI::App& app, const communicator& world) {
    auto args = std::make_shared<sweep_args>();
    CLI::App* cmd = app.add_subcommand("sweep", "evaluate methods x lengths x modes: tables, plot and leaderboard");
    add_model_options(cmd, args->model, args->tokenizer);
    cmd->add_option("--text", args->text, "held-out text file")->required();
    cmd->add_option("--method", args->methods,
                    "a method spec (repeatable; see `stretch variants`); default: every method");
    cmd->add_option("--config", args->config, "JSON file with methods, lengths, modes, score, apply, tokens");
    cmd->add_option("--lengths", args->lengths, "comma-separated lengths (default: 1x-16x n_ctx_train)");
    cmd->add_option("--modes", args->modes, "comma-separated: plain, repeated, mixed")->capture_default_str();
    cmd->add_option("--score", args->score, "all, last:N or beyond")->capture_default_str();
    cmd->add_option("--apply", args->apply, "always, or beyond_train (up to L_train the model runs its own encoding; methods.md G1)")->capture_default_str();
    cmd->add_option("--tokens", args->tokens, "scored tokens per cell")->capture_default_str()->check(in_range(token_range));
    cmd->add_option("--out", args->out, "output directory")->capture_default_str();
    add_threads_option(cmd, args->threads);
    cmd->callback([args, world] { run(*args, world); });
}

}  // namespace stretch::cli
