// The flags `stretch train` and `stretch finetune` share: where the run config comes from (--config,
// then each --set, then --seed), the data, the output folder, --steps, --threads and --resume.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "train/run_config.h"

namespace stretch::cli {

struct training_flags {
    std::string config_file, val, out;
    std::vector<std::string> assignments, data;
    std::int64_t steps = 0, seed = -1;  // 0, -1: the config's
    int threads = 0;
    bool resume = false;
};

// What the shared flags mean to one verb.
struct training_flags_help {
    const char* data;  // what a --data file holds
    const char* val;
    const char* out;   // the files the run writes
    const char* keys;  // which keys --config and --set may name
};

void add_training_flags(CLI::App* cmd, const std::shared_ptr<training_flags>& flags, const training_flags_help& help);

// Applies --config, then every --set in order, then --seed to `config`. `check` sees the config
// before and after each of --config and --set, and `where` names it (finetune refuses model keys).
using config_change_check = std::function<void(const run_config& before, const run_config& after, const std::string& where)>;
void apply_training_flags(run_config& config, const training_flags& flags, const config_change_check& check = {});

// The fields train_options and finetune_options share.
template <class Options>
void set_run_files(Options& options, const training_flags& flags) {
    options.data = flags.data;
    options.val = flags.val;
    options.out_dir = flags.out;
    options.resume = flags.resume;
    if (flags.steps != 0) options.steps = flags.steps;
}

}  // namespace stretch::cli
