#include "core/error.h"

#include <cstdio>
#include <cstdlib>

namespace stretch {
namespace {

std::string one_line(const std::string& message) {
    std::string out;
    out.reserve(message.size());
    for (char c : message) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) out += fmt::format("\\x{:02x}", u);
        else out += c;
    }
    return out;
}

}  // namespace

error::error(const std::string& message) : std::runtime_error(one_line(message)) {}

void assertion_failed(const char* expression, const char* file, int line) {
    std::fprintf(stderr, "stretch: internal invariant failed: %s (%s:%d)\n", expression, file, line);
    std::abort();
}

}  // namespace stretch
