// Seeded random numbers whose whole state can be saved and restored (exact training resume).
// The engine is std::mt19937_64, fully specified by the C++ standard, so a seed gives the same
// stream on every platform; the distributions are written out here (the std:: distributions are
// implementation-defined and std::normal_distribution caches a value outside the engine).
#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace stretch {

class rng {
public:
    explicit rng(std::uint64_t seed = 0) : engine_(seed) {}

    std::uint64_t next_u64() { return engine_(); }
    // Uniform in [0, 1) with 53 random bits.
    double uniform() { return double(engine_() >> 11) * 0x1.0p-53; }
    // Uniform integer in [0, n), n > 0, without modulo bias.
    std::uint64_t below(std::uint64_t n);
    // Standard normal (Box–Muller; two engine draws per value, nothing cached).
    double normal();

    // The engine state as text, and back; restoring gives the identical stream.
    std::string state() const;
    // Throws stretch::error naming `where` when the text is not an engine state.
    void set_state(const std::string& text, const char* where);

private:
    std::mt19937_64 engine_;
};

}  // namespace stretch
