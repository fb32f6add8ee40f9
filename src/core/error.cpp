#include "core/error.h"

#include <cstdio>
#include <cstdlib>

namespace stretch {

void assertion_failed(const char* expression, const char* file, int line) {
    std::fprintf(stderr, "stretch: internal invariant failed: %s (%s:%d)\n", expression, file, line);
    std::abort();
}

}  // namespace stretch
