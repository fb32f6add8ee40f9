// One function per verb; each lives in cmd_<verb>.cpp and adds its subcommand to the app. The verbs
// that spread over MPI ranks take the world they run in (core/communicator.h).
#pragma once

#include <CLI/CLI.hpp>

#include "core/communicator.h"

namespace stretch::cli {

void add_train_command(CLI::App& app, const communicator& world);
void add_finetune_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_bench_command(CLI::App& app, const communicator& world);
void add_variants_command(CLI::App& app);
void add_sweep_command(CLI::App& app, const communicator& world);
void add_zoo_command(CLI::App& app, const communicator& world);
void add_ppl_command(CLI::App& app);
void add_passkey_command(CLI::App& app);
void add_ruler_command(CLI::App& app);
void add_generate_command(CLI::App& app);
void add_probe_command(CLI::App& app);
void add_serve_command(CLI::App& app);

}  // namespace stretch::cli
