// Running a peer's benchmark script (scripts/bench_*.py) and reading its one-line JSON answer: what
// the PyTorch and llama.cpp peers of `stretch bench` share.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace stretch {

// POSIX shell single quotes: nothing inside is special except the quote itself.
std::string shell_quote(const std::string& s);

// Runs `command` through the shell (its stderr goes straight to ours) and parses what it prints as
// one JSON object. Throws stretch::error naming `option` (e.g. --peer-pytorch) and the command when it
// cannot start, exits non-zero (`hint` says what it needs) or prints anything else.
nlohmann::json run_peer_script(const std::string& command, const std::string& option, const std::string& hint);

}  // namespace stretch
