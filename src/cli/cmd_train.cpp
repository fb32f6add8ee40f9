// `stretch train`: build the run config (preset, then --config, then --set, then --seed), read the
// corpora and run the training loop (train/trainer.h); under mpirun, data-parallel over the ranks
// (docs/distributed.md).
#include <memory>
#include <optional>

#include "cli/commands.h"
#include "cli/number_options.h"
#include "cli/ranks.h"
#include "train/trainer.h"

namespace stretch::cli {

namespace {

struct train_args {
    std::string preset = "default";
    std::string config_file;
    std::vector<std::string> assignments;
    std::vector<std::string> data;
    std::string val;
    std::string out;
    std::int64_t steps = 0;
    std::int64_t seed = -1;
    int threads = 0;
    bool resume = false;
};

void run(const train_args& a, const communicator& world) {
    use_threads(a.threads, world);
    train_options options;
    options.ranks = world;
    options.config = preset(a.preset);
    if (!a.config_file.empty()) apply_config_file(options.config, a.config_file);
    for (const auto& s : a.assignments) apply_assignment(options.config, s);
    if (a.seed >= 0) options.config.train.seed = static_cast<std::uint64_t>(a.seed);
    options.data = a.data;
    options.val = a.val;
    options.out_dir = a.out;
    options.resume = a.resume;
    if (a.steps != 0) options.steps = a.steps;
    train(options);
}

}  // namespace

void add_train_command(CLI::App& app, const communicator& world) {
    auto args = std::make_shared<train_args>();
    CLI::App* cmd = app.add_subcommand("train", "train a model from scratch on text files (byte-level)");
    cmd->add_option("--preset", args->preset, "starting configuration: tiny or default")->capture_default_str();
    cmd->add_option("--config", args->config_file, "JSON file of config keys (a flat object)");
    cmd->add_option("--set", args->assignments, "override one config key: key=value (repeatable)");
    cmd->add_option("--data", args->data, "training text file (repeatable)")->required();
    cmd->add_option("--val", args->val, "held-out text file for validation loss")->required();
    cmd->add_option("--out", args->out, "output directory (checkpoint.gguf, model.gguf, log.jsonl)")->required();
    cmd->add_option("--steps", args->steps, "optimizer steps (overrides the config)")->check(in_range(step_range));
    add_threads_option(cmd, args->threads);
    cmd->add_option("--seed", args->seed, "random seed (overrides the config)")->check(in_range(seed_range));
    cmd->add_flag("--resume", args->resume, "continue from OUT/checkpoint.gguf");
    cmd->callback([args, world] { run(*args, world); });
}

}  // namespace stretch::cli
