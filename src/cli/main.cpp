// The `stretch` binary: parses the verb and its options and runs it. Whatever goes wrong ends here, in
// one line on stderr, "stretch: error: ...", and exit status 1: stretch's own errors (bad input,
// naming the file, key or flag), a bad flag, and every other exception (a file system error, memory
// exhausted, one escaping a worker thread) — never an abort. Writing to a closed pipe or past the
// file-size limit is an error like any other (EPIPE, EFBIG), not a signal that kills the run.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "cli/commands.h"
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

}  // namespace

int main(int argc, char** argv) {
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGXFSZ, SIG_IGN);
    std::set_terminate(on_terminate);
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
    stretch::cli::add_ruler_command(app);
    stretch::cli::add_generate_command(app);
    stretch::cli::add_probe_command(app);
    stretch::cli::add_serve_command(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& e) {  // --help
        return app.exit(e);
    } catch (...) {
        return report(describe(std::current_exception()));
    }
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) return report(fmt::format("standard output: {}", std::strerror(errno)));
    return 0;
}
