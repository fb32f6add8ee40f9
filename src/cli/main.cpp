// The `stretch` binary: parses the verb and its options and runs it. Whatever goes wrong ends here, in
// one line on stderr, "stretch: error: ...", and exit status 1: stretch's own errors (bad input,
// naming the file, key or flag), a bad flag, and every other exception (a file system error, memory
// exhausted, one escaping a worker thread) — never an abort. Writing to a closed pipe or past the
// file-size limit is an error like any other (EPIPE, EFBIG), not a signal that kills the run.
// Under mpirun (docs/distributed.md) a failing rank ends the whole job (MPI_Abort) after its line;
// an error every rank meets is printed once, by rank 0.
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <thread>

#include <fmt/format.h>

#include "cli/commands.h"
#include "core/communicator.h"
#include "core/error.h"

namespace {

// One line, whatever the message quotes: control characters (a newline in a path or a flag's value)
// are written as escapes.
std::string one_line(std::string_view text) {
    std::string out;
    for (const char c : text) {
        if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if ((unsigned char)c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", (unsigned char)c);
        else out += c;
    }
    return out;
}

int report(std::string_view message) {
    std::fprintf(stderr, "stretch: error: %s\n", one_line(message).c_str());
    return 1;
}

std::string describe(const std::exception_ptr& thrown) {
    try {
        std::rethrow_exception(thrown);
    } catch (const std::bad_alloc&) {
        return "out of memory: an allocation failed (std::bad_alloc)";
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown exception";
    }
}

// An exception that escapes a worker thread or a noexcept function ends in std::terminate: still
// one line and status 1, not SIGABRT.
[[noreturn]] void on_terminate() {
    const std::exception_ptr thrown = std::current_exception();
    std::fflush(stdout);
    report(thrown ? describe(thrown) : "terminated without an exception");
    std::_Exit(1);
}

// One rank's error ends the job. A rank other than 0 waits a moment first: when every rank meets the
// same error (a bad flag, a missing file), rank 0's abort ends it before it prints a second line.
[[noreturn]] void end_job(const stretch::communicator& world, const std::string& message) {
    if (!world.root()) std::this_thread::sleep_for(std::chrono::seconds(1));
    report(world.root() ? message : fmt::format("rank {} of {}: {}", world.rank(), world.size(), message));
    world.abort(1);
}

// The verbs that spread their work over MPI ranks; every other one runs as one process.
bool spreads_over_ranks(std::string_view verb) {
    return verb == "train" || verb == "sweep" || verb == "zoo" || verb == "bench";
}

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGXFSZ, SIG_IGN);
    std::set_terminate(on_terminate);
    std::unique_ptr<stretch::mpi_session> mpi;
    try {
        mpi = std::make_unique<stretch::mpi_session>(argc, argv);
    } catch (...) {
        return report(describe(std::current_exception()));
    }
    const stretch::communicator& world = mpi->world();
    CLI::App app{"stretch: train Transformer language models short, read them long"};
    app.require_subcommand(1);
    stretch::cli::add_train_command(app, world);
    stretch::cli::add_finetune_command(app);
    stretch::cli::add_eval_command(app);
    stretch::cli::add_bench_command(app, world);
    stretch::cli::add_variants_command(app);
    stretch::cli::add_sweep_command(app, world);
    stretch::cli::add_zoo_command(app, world);
    stretch::cli::add_ppl_command(app);
    stretch::cli::add_passkey_command(app);
    stretch::cli::add_ruler_command(app);
    stretch::cli::add_generate_command(app);
    stretch::cli::add_probe_command(app);
    stretch::cli::add_serve_command(app);
    try {
        const std::string_view verb = argc > 1 ? argv[1] : "";
        if (world.size() > 1 && !spreads_over_ranks(verb))
            stretch::fail("stretch {}: runs as one process; under mpirun only train, sweep, zoo and bench spread over the "
                          "ranks (found {} ranks)",
                          verb, world.size());
        app.parse(argc, argv);
    } catch (const CLI::Success& e) {  // --help
        return app.exit(e);
    } catch (...) {
        if (world.size() > 1) end_job(world, describe(std::current_exception()));
        return report(describe(std::current_exception()));
    }
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) return report(fmt::format("standard output: {}", std::strerror(errno)));
    return 0;
}
