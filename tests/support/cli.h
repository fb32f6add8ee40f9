// Helpers for tests that run the `stretch` binary the way a user does: a command's exit status and
// output, the data folder, and fresh temporary directories.
#pragma once

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "core/communicator.h"

namespace stretch::test {

struct command_result {
    int status = -1;        // exit code; -1 when a signal ended the command
    int signal = 0;         // the signal that ended it (also when its shell reported 128 + N), else 0
    std::string output;     // stdout and stderr together
    long peak_rss_kib = 0;  // the largest resident set of the command and its children
};

// Runs `command` with /bin/sh, its stderr joined to stdout.
inline command_result run_command(const std::string& command) {
    command_result r;
    int fds[2];
    if (pipe(fds) != 0) return r;
    const pid_t child = fork();
    if (child < 0) return r;
    if (child == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    close(fds[1]);
    std::array<char, 4096> buffer{};
    for (ssize_t n; (n = read(fds[0], buffer.data(), buffer.size())) != 0;)
        if (n > 0) r.output.append(buffer.data(), std::size_t(n));
        else if (errno != EINTR) break;
    close(fds[0]);
    int raw = 0;
    rusage usage{};
    while (wait4(child, &raw, 0, &usage) < 0 && errno == EINTR) {
    }
    r.peak_rss_kib = usage.ru_maxrss;
    if (WIFSIGNALED(raw)) {
        r.signal = WTERMSIG(raw);
    } else if (WIFEXITED(raw)) {
        r.status = WEXITSTATUS(raw);
        if (r.status > 128 && r.status < 128 + 65) r.signal = r.status - 128;  // the shell's report of a killed child
    }
    return r;
}

// What every refused input must give (docs/reliability.md): exit status 1, no signal, and one error
// line, "stretch: error: ...", the last of the output, holding `words`.
inline ::testing::AssertionResult one_line_error(const command_result& r, std::string_view words) {
    std::string text = r.output;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    const auto start = text.rfind('\n') + 1;  // npos + 1 == 0
    const std::string last = text.substr(start);
    const auto failure = [&](const std::string& what) {
        return ::testing::AssertionFailure() << what << "; status " << r.status << ", signal " << r.signal
                                             << ", output:\n" << r.output;
    };
    if (r.signal != 0) return failure("ended by a signal");
    if (r.status != 1) return failure("exit status is not 1");
    if (!last.starts_with("stretch: error: ")) return failure("the last line is not the error");
    if (text.find("stretch: error: ") != start) return failure("more than one error line");
    if (last.find(words) == std::string::npos) return failure("the error does not say '" + std::string(words) + "'");
    return ::testing::AssertionSuccess();
}

inline std::string stretch_binary() { return STRETCH_BINARY; }

// `mpirun -np N` of the MPI stretch was built with (docs/distributed.md): the ranks talk over TCP on
// the loopback interface, as they would between machines; root may run it (CI does); waiting ranks
// yield their core (the tests share two); OpenMPI's help messages unaggregated (its aggregation
// can garble a line). Empty when stretch was built without MPI: the tests then GTEST_SKIP with
// `without_mpi`.
inline std::string mpirun(int ranks) {
    const std::string launcher = mpi_launcher();
    if (launcher.empty()) return "";
    return "env OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_mpi_yield_when_idle=1 "
           "OMPI_MCA_orte_base_help_aggregate=0 " +
           launcher + " -np " + std::to_string(ranks) +
           " --oversubscribe --bind-to none --mca btl self,tcp --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo ";
}
inline constexpr const char* without_mpi =
    "stretch was built without MPI (CMake's FindMPI found no libopenmpi-dev): nothing to run under mpirun";

// An error under mpirun (cli/main.cpp): one "stretch: error:" holding `words`, and a failed job;
// OpenMPI adds its own banner about the abort.
inline ::testing::AssertionResult one_error_of_the_job(const command_result& r, std::string_view words) {
    const std::string marker = "stretch: error: ";
    const auto first = r.output.find(marker);
    if (r.status == 0) return ::testing::AssertionFailure() << "the job succeeded:\n" << r.output;
    if (first == std::string::npos || r.output.find(marker, first + 1) != std::string::npos)
        return ::testing::AssertionFailure() << "not exactly one error line:\n" << r.output;
    const std::string line = r.output.substr(first, r.output.find('\n', first) - first);
    if (line.find(words) == std::string::npos)
        return ::testing::AssertionFailure() << "the error does not say '" << words << "': " << line;
    return ::testing::AssertionSuccess();
}

// STRETCH_DATA, else ../shared/data beside the source tree, else data/ fetched by scripts/get_data.sh.
inline std::string data_dir() {
    if (const char* env = std::getenv("STRETCH_DATA")) return env;
    const std::filesystem::path source(STRETCH_SOURCE_DIR);
    const auto shared = source.parent_path() / "shared" / "data";
    if (std::filesystem::exists(shared / "austen-emma.txt")) return shared.string();
    return (source / "data").string();
}

inline std::string data_file(const std::string& name) { return data_dir() + "/" + name; }

// A new empty directory under the system's temporary folder.
inline std::string fresh_dir(const std::string& tag) {
    std::string pattern = (std::filesystem::temp_directory_path() / ("stretch-" + tag + "-XXXXXX")).string();
    char* made = mkdtemp(pattern.data());
    return made ? std::string(made) : std::string();
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline void write_file(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

}  // namespace stretch::test
