#include "cli/training_flags.h"

#include "cli/number_options.h"

namespace stretch::cli {

void add_training_flags(CLI::App* cmd, const std::shared_ptr<training_flags>& flags, const training_flags_help& help) {
    cmd->add_option("--data", flags->data, help.data)->required();
    cmd->add_option("--val", flags->val, help.val)->required();
    cmd->add_option("--out", flags->out, help.out)->required();
    cmd->add_option("--config", flags->config_file, std::string("JSON file of ") + help.keys + " (a flat object)");
    cmd->add_option("--set", flags->assignments, std::string("override one of the ") + help.keys + ": key=value (repeatable)");
    cmd->add_option("--steps", flags->steps, "optimizer steps (overrides the config)")->check(in_range(step_range));
    cmd->add_option("--seed", flags->seed, "random seed (overrides the config)")->check(in_range(seed_range));
    add_threads_option(cmd, flags->threads);
    cmd->add_flag("--resume", flags->resume, "continue from OUT/checkpoint.gguf");
}

void apply_training_flags(run_config& config, const training_flags& flags, const config_change_check& check) {
    const auto apply = [&](const std::string& where, const auto& change) {
        const run_config before = config;
        change();
        if (check) check(before, config, where);
    };
    if (!flags.config_file.empty()) apply(flags.config_file, [&] { apply_config_file(config, flags.config_file); });
    for (const auto& s : flags.assignments) apply("--set " + s.substr(0, s.find('=')), [&] { apply_assignment(config, s); });
    if (flags.seed >= 0) config.train.seed = static_cast<std::uint64_t>(flags.seed);
}

}  // namespace stretch::cli
