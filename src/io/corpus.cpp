#include "io/corpus.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace stretch {

std::string read_text_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("{}: cannot open file ({}), expected a readable text file", path, std::strerror(errno));
    std::ostringstream buffer;
    buffer << in.rdbuf();
    if (in.bad()) fail("{}: read error", path);
    return buffer.str();
}

std::vector<std::int32_t> read_byte_tokens(const std::string& path, const char* what) {
    std::string text;
    try {
        text = read_text_file(path);
    } catch (const error& e) {
        fail("{} {}", what, e.what());
    }
    if (text.empty()) fail("{} {}: file is empty, expected text", what, path);
    std::vector<std::int32_t> tokens(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) tokens[i] = static_cast<unsigned char>(text[i]);
    return tokens;
}

}  // namespace stretch
