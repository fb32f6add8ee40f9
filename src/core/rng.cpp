#include "core/rng.h"

#include <cmath>
#include <numbers>
#include <sstream>

#include "core/error.h"

namespace stretch {

std::uint64_t rng::below(std::uint64_t n) {
    STRETCH_ASSERT(n > 0);
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;  // reject the incomplete last block
    for (;;) {
        std::uint64_t x = engine_();
        if (x < limit) return x % n;
    }
}

double rng::normal() {
    const double u1 = 1.0 - uniform();  // (0, 1]: log is finite
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

std::string rng::state() const {
    std::ostringstream out;
    out << engine_;
    return out.str();
}

void rng::set_state(const std::string& text, const char* where) {
    std::istringstream in(text);
    std::mt19937_64 restored;
    in >> restored;
    if (in.fail()) fail("{}: random-number state is corrupt (expected {} numbers of mt19937_64 state)", where, 312);
    engine_ = restored;
}

}  // namespace stretch
