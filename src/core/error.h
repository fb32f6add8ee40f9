// Errors and invariants. `stretch::error` is for bad input (a file, a key, a length): one line naming
// what, what was found and what was expected; only cli/main.cpp catches it, and the server
// (serve/), which answers the one request that caused it with a 4xx. STRETCH_ASSERT is for
// internal invariants a user cannot trigger; it is always on and aborts with the location.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace stretch {

struct error : std::runtime_error {
    // Control characters in the message (a newline inside a file's string, say) are written as
    // \xNN, so that an error stays one line whatever the input quoted in it holds.
    explicit error(const std::string& message);
};

template <class... Args>
[[noreturn]] void fail(fmt::format_string<Args...> format, Args&&... args) {
    throw error(fmt::format(format, std::forward<Args>(args)...));
}

[[noreturn]] void assertion_failed(const char* expression, const char* file, int line);

}  // namespace stretch

#define STRETCH_ASSERT(condition)                                                   \
    do {                                                                            \
        if (!(condition)) ::stretch::assertion_failed(#condition, __FILE__, __LINE__); \
    } while (0)
