// Helpers for tests of interrupted training runs (`stretch train`, `stretch finetune`): a run's log,
// a run killed with SIGKILL once it has checkpointed and moved on, and bit-identical losses.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cli.h"

namespace stretch::test {

// DIR/log.jsonl, one object per line.
inline std::vector<nlohmann::json> read_log(const std::string& dir) {
    std::vector<nlohmann::json> lines;
    std::istringstream in(read_file(dir + "/log.jsonl"));
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
    return lines;
}

// Starts `stretch VERB_AND_ARGS` (its output discarded), which writes into `dir`, and SIGKILLs it
// once DIR/checkpoint.gguf exists and its log holds more than `logged` lines — at whatever moment
// that is — or after 60 s. True when the signal ended it; false when the run finished first (it is
// too short for the test).
inline bool killed_after_checkpoint(const std::string& verb_and_args, const std::string& dir, std::size_t logged) {
    const pid_t child = fork();
    if (child < 0) return false;
    if (child == 0) {
        const std::string command = "exec " + stretch_binary() + " " + verb_and_args + " 2>/dev/null";
        execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
        _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
        if (std::filesystem::exists(dir + "/checkpoint.gguf") && read_log(dir).size() > logged) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    return WIFSIGNALED(status);
}

// The logs of two runs in DIR_A and DIR_B hold the same steps with the same losses and gradient
// norms, bit for bit (the JSON numbers are printed with round-trip precision).
inline ::testing::AssertionResult same_log(const std::string& dir_a, const std::string& dir_b) {
    const auto a = read_log(dir_a), b = read_log(dir_b);
    if (a.size() != b.size()) return ::testing::AssertionFailure() << a.size() << " log lines against " << b.size();
    for (std::size_t i = 0; i < a.size(); ++i)
        for (const char* key : {"step", "loss", "grad_norm", "val_loss"})
            if (a[i].value(key, -1.0) != b[i].value(key, -1.0))
                return ::testing::AssertionFailure() << "line " << i << ": " << key << " " << a[i].value(key, -1.0)
                                                     << " against " << b[i].value(key, -1.0);
    return ::testing::AssertionSuccess();
}

}  // namespace stretch::test
