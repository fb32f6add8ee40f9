#include "eval/peer_process.h"

#include <sys/wait.h>

#include <array>
#include <cstdio>

#include "core/error.h"

namespace stretch {

std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (char ch : s) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
    return out + "'";
}

nlohmann::json run_peer_script(const std::string& command, const std::string& option, const std::string& hint) {
    FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) fail("{}: cannot start {}", option, command);
    std::string output;
    std::array<char, 4096> buffer{};
    while (std::fgets(buffer.data(), int(buffer.size()), pipe) != nullptr) output += buffer.data();
    const int status = pclose(pipe);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail("{}: {} exited with status {}, expected 0 ({})", option, command, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
             hint);
    nlohmann::json answer = nlohmann::json::parse(output, nullptr, false);
    if (!answer.is_object()) fail("{}: {} printed '{}', expected one JSON object", option, command, output);
    return answer;
}

}  // namespace stretch
