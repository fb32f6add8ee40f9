// The `stretch` binary: parses the verb and its options, runs it, and turns a stretch::error into
// one line on stderr and exit status 1. The only place that catches stretch::error.
#include <cstdio>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
    CLI::App app{"stretch: train Transformer language models short, read them long"};
    app.require_subcommand(1);
    stretch::cli::add_train_command(app);
    stretch::cli::add_eval_command(app);
    stretch::cli::add_bench_command(app);
    stretch::cli::add_variants_command(app);
    stretch::cli::add_sweep_command(app);
    stretch::cli::add_zoo_command(app);
    stretch::cli::add_ppl_command(app);
    stretch::cli::add_passkey_command(app);
    stretch::cli::add_generate_command(app);
    stretch::cli::add_probe_command(app);
    stretch::cli::add_serve_command(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const stretch::error& e) {
        std::fprintf(stderr, "stretch: error: %s\n", e.what());
        return 1;
    }
    return 0;
}
