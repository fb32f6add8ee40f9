// `stretch train`: build the run config (preset, then --config, then --set, then --seed), read the
// corpora and run the training loop (train/trainer.h); under mpirun, data-parallel over the ranks
// (docs/distributed.md).
#include <memory>

#include "cli/commands.h"
#include "cli/ranks.h"
#include "cli/training_flags.h"
#include "train/trainer.h"

namespace stretch::cli {

namespace {

struct train_args {
    std::string preset = "default";
    std::shared_ptr<training_flags> run = std::make_shared<training_flags>();
};

void run(const train_args& a, const communicator& world) {
    use_threads(a.run->threads, world);
    train_options options;
    options.ranks = world;
    options.config = preset(a.preset);
    apply_training_flags(options.config, *a.run);
    set_run_files(options, *a.run);
    train(options);
}

}  // namespace

void add_train_command(CLI::App& app, const communicator& world) {
    auto args = std::make_shared<train_args>();
    CLI::App* cmd = app.add_subcommand("train", "train a model from scratch on text files (byte-level)");
    cmd->add_option("--preset", args->preset, "starting configuration: tiny or default")->capture_default_str();
    add_training_flags(cmd, args->run,
                       {.data = "training text file (repeatable)",
                        .val = "held-out text file for validation loss",
                        .out = "output directory (checkpoint.gguf, model.gguf, log.jsonl)",
                        .keys = "config keys"});
    cmd->callback([args, world] { run(*args, world); });
}

}  // namespace stretch::cli
