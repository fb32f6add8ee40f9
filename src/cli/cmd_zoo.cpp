// `stretch zoo`: train one model per entry of the zoo plan (eval/zoo.h) with the same data, steps
// and seed, then evaluate each with its own encoding and every inference-time method that applies,
// at 1x-16x the training length, plain and repeated -> one table, one plot and one leaderboard in
// --out (the files of `stretch sweep`), plus runtime.md. Models live in OUT/models/NAME: a finished
// one is reused, an interrupted one resumes from its checkpoint, so a killed zoo loses no work.
// Under mpirun the entries are spread over the ranks, each trained and evaluated by one rank as one
// process, and rank 0 writes the same files as a single process (docs/distributed.md).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/eval_checks.h"
#include "cli/number_options.h"
#include "cli/ranks.h"
#include "core/error.h"
#include "eval/by_length.h"
#include "eval/leaderboard.h"
#include "eval/report.h"
#include "eval/zoo.h"
#include "io/atomic_file.h"
#include "io/corpus.h"
#include "io/json_text.h"
#include "io/output_lock.h"
#include "model/load.h"
#include "train/checkpoint.h"
#include "train/trainer.h"

namespace stretch::cli {

namespace {

namespace fs = std::filesystem;

struct zoo_args {
    std::string preset = "default", config, out = "zoo", text, val;
    std::vector<std::string> data, sets, only, modes = {"plain", "repeated"};
    std::string apply = "beyond_train";  // as the GAU tables were evaluated (methods.md G1)
    std::vector<std::int64_t> lengths;
    std::int64_t steps = 0, seed = -1, tokens = 16384;
    int threads = 0;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

zoo_plan read_plan(const zoo_args& a) {
    zoo_plan plan = default_zoo_plan();
    if (!a.config.empty()) {
        std::string text;
        try {
            text = read_text_file(a.config);
        } catch (const error& e) {
            fail("--config {}", e.what());
        }
        const auto j = nlohmann::json::parse(text, nullptr, false);
        if (j.is_discarded()) fail("--config {}: not valid JSON; expected {{\"entries\": [...], \"inference\": [...]}}", a.config);
        apply_zoo_json(plan, j, a.config);
    }
    if (a.only.empty()) return plan;
    std::vector<zoo_entry> kept;
    for (const std::string& name : a.only) {
        const auto it = std::find_if(plan.entries.begin(), plan.entries.end(), [&](const zoo_entry& e) { return e.name == name; });
        if (it == plan.entries.end()) {
            std::vector<std::string> names;
            for (const auto& e : plan.entries) names.push_back(e.name);
            fail("--only {}: no such zoo entry; expected one of: {}", name, fmt::join(names, ", "));
        }
        kept.push_back(*it);
    }
    plan.entries = kept;
    return plan;
}

run_config entry_config(const zoo_args& a, const zoo_entry& entry) {
    run_config c = preset(a.preset);
    for (const auto& s : a.sets) apply_assignment(c, s);
    for (const auto& s : entry.settings) apply_assignment(c, s, fmt::format("zoo entry '{}': set", entry.name));
    if (a.steps != 0) c.train.steps = a.steps;
    if (a.seed >= 0) c.train.seed = static_cast<std::uint64_t>(a.seed);
    c.model.validate(entry.name.c_str());
    variants::parse_spec(c.model.pos, fmt::format("zoo entry '{}': pos", entry.name));
    return c;
}

// What training took when it happened (this run or an earlier one), for runtime.md.
double recorded_train_seconds(const fs::path& dir) {
    std::ifstream in(dir / "zoo-train.json");
    const auto j = nlohmann::json::parse(in, nullptr, false);
    return j.is_object() && j.contains("seconds") && j["seconds"].is_number() ? j["seconds"].get<double>()
                                                                              : std::numeric_limits<double>::quiet_NaN();
}

// Trains the entry's model into `dir`, or reuses / resumes what an earlier zoo left there (only if
// it was configured identically). Returns the seconds spent here.
double train_entry(const zoo_args& a, const run_config& config, const fs::path& dir) {
    const fs::path checkpoint = dir / "checkpoint.gguf";
    const bool started = fs::exists(checkpoint);
    if (started) {
        const nlohmann::json found = to_json(read_checkpoint_config(checkpoint.string())), wanted = to_json(config);
        for (const auto& [key, value] : wanted.items())
            if (found.value(key, nlohmann::json()) != value)
                fail("{}: trained with {} = {}, this zoo wants {}; use another --out or delete that folder",
                     checkpoint.string(), key, json_text(found.value(key, nlohmann::json())), json_text(value));
        if (fs::exists(dir / "model.gguf")) return recorded_train_seconds(dir);
    }
    train_options options;
    options.config = config;
    options.data = a.data;
    options.val = a.val;
    options.out_dir = dir.string();
    options.resume = started;
    const auto start = std::chrono::steady_clock::now();
    train(options);
    const double seconds = seconds_since(start);
    write_text_atomic((dir / "zoo-train.json").string(), json_text(nlohmann::json{{"seconds", seconds}}) + "\n");
    return seconds;
}

struct entry_evaluation {
    std::vector<sweep_result> cells;
    std::vector<std::string> refused;  // methods the model would not take
    double seconds = 0;
};

// Every method of one trained model, or what an identical earlier evaluation left in `cache`
// (same text, budget, lengths, modes, apply rule and methods): a killed zoo redoes no finished model.
entry_evaluation evaluate_entry(const transformer& model, const std::vector<variants::position_spec>& methods,
                                const std::vector<std::string>& labels, const eval_request& request,
                                const std::vector<eval_mode>& modes, const std::vector<std::int32_t>& text_tokens,
                                const std::string& text_name, const fs::path& cache) {
    std::vector<std::string> mode_names;
    for (const eval_mode m : modes) mode_names.push_back(eval_mode_name(m));
    const nlohmann::json key = {{"text", text_name},   {"tokens", request.token_budget},
                                {"lengths", request.lengths}, {"modes", mode_names},
                                {"apply", apply_rule_name(request.apply)}, {"methods", labels}};
    entry_evaluation out;
    if (std::ifstream in(cache); in) {
        const auto j = nlohmann::json::parse(in, nullptr, false);
        if (!j.is_discarded() && j.contains("meta") && j["meta"].value("key", nlohmann::json()) == key) {
            out.cells = sweep_results_from_json(j, cache.string());
            out.refused = j["meta"].value("refused", std::vector<std::string>{});
            out.seconds = j["meta"].value("seconds", 0.0);
            return out;
        }
    }
    const auto start = std::chrono::steady_clock::now();
    for (std::size_t m = 0; m < methods.size(); ++m) {
        // The composition rule is the registry's general one; a block design can still refuse a
        // method (FLASH takes rotation-only variants): that row is reported, not fatal. The
        // model's own encoding must always work.
        try {
            const auto cells = evaluate_methods(model, text_tokens, text_name, request, {methods[m]}, {labels[m]}, modes);
            out.cells.insert(out.cells.end(), cells.begin(), cells.end());
        } catch (const error& e) {
            if (m == 0) throw;
            std::fprintf(stderr, "zoo: %s does not apply: %s\n", labels[m].c_str(), e.what());
            out.refused.push_back(labels[m]);
        }
    }
    out.seconds = seconds_since(start);
    const nlohmann::json meta = {{"key", key}, {"refused", out.refused}, {"seconds", out.seconds}};
    write_text_atomic(cache.string(), json_text(sweep_json(out.cells, meta), 1) + "\n");
    return out;
}

// One entry's model trained (or reused) and evaluated, as rank 0 collects it.
struct entry_outcome {
    entry_evaluation evaluation;
    double train_seconds = 0;
    std::size_t rows = 0;  // methods evaluated
};

entry_outcome run_entry(const zoo_args& a, const zoo_entry& entry, const run_config& config, const eval_request& base,
                        const std::vector<variants::position_spec>& inference, const std::vector<eval_mode>& modes,
                        const std::vector<std::int32_t>& text_tokens) {
    const std::int64_t n_ctx = config.model.n_ctx_train;
    const fs::path dir = fs::path(a.out) / "models" / entry.name;
    std::fprintf(stderr, "zoo: %s (%s)\n", entry.name.c_str(), fmt::format("{}", fmt::join(entry.settings, " ")).c_str());
    entry_outcome out;
    out.train_seconds = train_entry(a, config, dir);
    const auto model = load_any_model(dir.string()).model;
    const auto trained = variants::parse_spec(model->config().pos, fmt::format("{}: pos", dir.string()));
    std::vector<variants::position_spec> methods{trained};
    for (const auto& m : inference)
        if (const auto composed = compose_method(trained, m))
            if (std::none_of(methods.begin(), methods.end(), [&](const auto& s) { return s.text() == composed->text(); }))
                methods.push_back(*composed);
    std::vector<std::string> labels;
    for (const auto& m : methods) labels.push_back(entry.name + ": " + m.text());
    // A learned table has no rows past its length (methods.md C3): those cells stay empty.
    eval_request request = base;
    request.trained = trained;
    const std::int64_t rows = variants::position_setup(trained, model->position_context(n_ctx), entry.name).learned_rows();
    if (rows > 0) std::erase_if(request.lengths, [&](std::int64_t length) { return length > rows; });
    out.evaluation = evaluate_entry(*model, methods, labels, request, modes, text_tokens, a.text, dir / "zoo-eval.json");
    out.rows = methods.size() - out.evaluation.refused.size();
    return out;
}

// An outcome between ranks: MessagePack keeps every number's bits (as cli/cmd_sweep.cpp's cells do).
std::string encode(const entry_outcome& o) {
    const nlohmann::json meta = {{"refused", o.evaluation.refused}, {"seconds", o.evaluation.seconds},
                                 {"train_seconds", o.train_seconds}, {"rows", o.rows}};
    const auto bytes = nlohmann::json::to_msgpack(sweep_json(o.evaluation.cells, meta));
    return std::string(bytes.begin(), bytes.end());
}

entry_outcome decode(const std::string& bytes) {
    const auto j = nlohmann::json::from_msgpack(bytes);
    entry_outcome o;
    o.evaluation.cells = sweep_results_from_json(j, "a zoo entry from a rank");
    o.evaluation.refused = j["meta"]["refused"].get<std::vector<std::string>>();
    o.evaluation.seconds = j["meta"]["seconds"].get<double>();
    o.train_seconds = j["meta"]["train_seconds"].get<double>();
    o.rows = j["meta"]["rows"].get<std::size_t>();
    return o;
}

void run(zoo_args a, const communicator& world) {
    use_threads(a.threads, world);
    if (a.text.empty()) a.text = a.val;
    const zoo_plan plan = read_plan(a);
    if (plan.entries.empty()) fail("zoo: the plan has no entries");
    // Everything is parsed and checked before the first (long) training run.
    std::vector<run_config> configs;
    for (const auto& e : plan.entries) configs.push_back(entry_config(a, e));
    const std::int64_t n_ctx = configs.front().model.n_ctx_train;
    for (std::size_t i = 0; i < configs.size(); ++i)
        if (configs[i].model.n_ctx_train != n_ctx)
            fail("zoo entry '{}': n_ctx_train = {}; every entry must train at the same length ({})",
                 plan.entries[i].name, configs[i].model.n_ctx_train, n_ctx);
    std::vector<variants::position_spec> inference;
    for (const auto& m : plan.inference) inference.push_back(variants::parse_spec(m, fmt::format("zoo inference '{}'", m)));
    eval_request base;
    base.lengths = a.lengths.empty() ? std::vector<std::int64_t>{n_ctx, 2 * n_ctx, 4 * n_ctx, 8 * n_ctx, 16 * n_ctx} : a.lengths;
    base.token_budget = a.tokens;
    base.apply = parse_apply_rule(a.apply);
    std::vector<eval_mode> modes;
    for (const auto& m : a.modes) modes.push_back(parse_eval_mode(m));
    std::int64_t smallest_vocab = configs.front().model.vocab_size;
    for (const run_config& c : configs) {
        smallest_vocab = std::min(smallest_vocab, c.model.vocab_size);
        require_eval_memory(c.model, base.lengths);
    }
    const auto text_tokens = read_byte_tokens(a.text, "--text", smallest_vocab);
    std::unique_ptr<output_lock> lock;  // rank 0 alone writes the tables (each rank its own models/NAME)
    if (world.root()) lock = std::make_unique<output_lock>(a.out, "--out");

    const auto outcomes = spread_over_ranks(world, plan.entries.size(), [&](std::size_t i) {
        return encode(run_entry(a, plan.entries[i], configs[i], base, inference, modes, text_tokens));
    });
    if (!world.root()) return;
    std::vector<sweep_result> results;
    std::vector<std::string> not_applicable;
    std::string runtime = "| model | train (s) | evaluate (s) | rows |\n|---|---:|---:|---:|\n";
    for (std::size_t i = 0; i < plan.entries.size(); ++i) {
        const entry_outcome e = decode(outcomes[i]);
        results.insert(results.end(), e.evaluation.cells.begin(), e.evaluation.cells.end());
        not_applicable.insert(not_applicable.end(), e.evaluation.refused.begin(), e.evaluation.refused.end());
        const std::string trained_in = std::isnan(e.train_seconds) ? "not recorded" : fmt::format("{:.1f}", e.train_seconds);
        runtime += fmt::format("| {} | {} | {:.1f} | {} |\n", plan.entries[i].name, trained_in, e.evaluation.seconds, e.rows);
    }

    const nlohmann::json meta = {{"preset", a.preset}, {"set", a.sets},       {"data", a.data},
                                 {"text", a.text},     {"n_ctx_train", n_ctx}, {"tokens", a.tokens},
                                 {"apply", a.apply},   {"inference", plan.inference}};
    std::printf("%s\n", write_sweep_files(a.out, results, meta, n_ctx).c_str());
    // The leaderboard ranks the rows measured on every task (post 8783: one task list for all).
    std::map<std::string, std::size_t> cells_per_method;
    std::size_t most = 0;
    for (const auto& r : results) most = std::max(most, ++cells_per_method[r.method]);
    std::vector<sweep_result> ranked;
    std::vector<std::string> unranked;
    for (const auto& r : results)
        if (cells_per_method[r.method] == most) ranked.push_back(r);
    for (const auto& [method, n] : cells_per_method)
        if (n != most) unranked.push_back(method);
    std::string board = leaderboard_markdown(accuracy_leaderboard(ranked));
    if (!unranked.empty())
        board += fmt::format("\nNot ranked (measured on fewer lengths): {}.\n", fmt::join(unranked, ", "));
    if (!not_applicable.empty())
        board += fmt::format("\nNot applicable (refused by the model, reason on stderr): {}.\n", fmt::join(not_applicable, ", "));
    write_text_atomic((fs::path(a.out) / "leaderboard.md").string(), board);
    write_text_atomic((fs::path(a.out) / "runtime.md").string(), runtime);
    std::printf("%s\n%s\nwrote %s/{results.csv,results.json,table.md,plot.svg,leaderboard.md,runtime.md}\n",
                board.c_str(), runtime.c_str(), a.out.c_str());
}

}  // namespace

void add_zoo_command(CLI::App& app, const communicator& world) {
    auto args = std::make_shared<zoo_args>();
    CLI::App* cmd = app.add_subcommand("zoo", "train one model per training-time variant, evaluate all at 1x-16x");
    cmd->add_option("--data", args->data, "training text file (repeatable)")->required();
    cmd->add_option("--val", args->val, "held-out text file for validation loss")->required();
    cmd->add_option("--text", args->text, "held-out text for the per-length evaluation (default: --val)");
    cmd->add_option("--out", args->out, "output directory (models/, tables, plot, leaderboard)")->capture_default_str();
    cmd->add_option("--preset", args->preset, "base configuration of every model: tiny or default")->capture_default_str();
    cmd->add_option("--set", args->sets, "a config key for every model, key=value (repeatable)");
    cmd->add_option("--config", args->config, "JSON zoo plan: {\"entries\": [{\"name\", \"set\"}], \"inference\": [...]}");
    cmd->add_option("--only", args->only, "train and evaluate only this entry (repeatable)");
    cmd->add_option("--steps", args->steps, "optimizer steps of every model (overrides the preset)")
        ->check(in_range(step_range));
    cmd->add_option("--seed", args->seed, "random seed of every model (overrides the preset)")->check(in_range(seed_range));
    cmd->add_option("--lengths", args->lengths, "evaluation lengths (default: 1x-16x n_ctx_train)")
        ->delimiter(',')
        ->check(in_range(token_range));
    cmd->add_option("--modes", args->modes, "plain, repeated, mixed")->delimiter(',')->capture_default_str();
    cmd->add_option("--tokens", args->tokens, "scored tokens per cell")->capture_default_str()->check(in_range(token_range));
    cmd->add_option("--apply", args->apply,
                    "always, or beyond_train (up to L_train every model runs its own encoding; methods.md G1)")
        ->capture_default_str();
    add_threads_option(cmd, args->threads);
    cmd->callback([args, world] { run(*args, world); });
}

}  // namespace stretch::cli
