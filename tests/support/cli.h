// Helpers for tests that run the `stretch` binary the way a user does: a command's exit status and
// output, the data folder, and fresh temporary directories.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace stretch::test {

struct command_result {
    int status = -1;     // exit code
    std::string output;  // stdout and stderr together
};

inline command_result run_command(const std::string& command) {
    command_result r;
    FILE* pipe = popen((command + " 2>&1").c_str(), "r");
    if (pipe == nullptr) return r;
    std::array<char, 4096> buffer{};
    while (fgets(buffer.data(), int(buffer.size()), pipe) != nullptr) r.output += buffer.data();
    const int raw = pclose(pipe);
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return r;
}

inline std::string stretch_binary() { return STRETCH_BINARY; }

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
