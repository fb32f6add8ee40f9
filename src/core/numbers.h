// Numbers written by a user (a flag, a spec's key=value, a config key) are parsed in one place: the
// whole text must be a number of the expected kind and lie in its range, checked before any
// arithmetic, or the error names what was written (the flag or key), the text found and the range
// accepted: "--n-predict: found '4611686018427387904', expected an integer in [0, 2147483648]".
// The limits below bound every count stretch takes, so sums and products of a few of them with a
// model's dimensions stay far inside int64.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stretch {

// The most tokens anything may count: a length, a context, a budget, a position, a window (2^31;
// times a model width < 2^24 and a layer count < 2^8 it still fits int64 with room).
inline constexpr std::int64_t max_tokens = std::int64_t{1} << 31;
// The largest magnitude of a real-valued setting (a scaling factor, a RoPE base, a rate).
inline constexpr double max_real = 1e12;
// Threads of the pool: llama.cpp's GGML_MAX_N_THREADS is the same 512.
inline constexpr std::int64_t max_threads = 512;
// Integer ranges stay within +-2^53, where every integer is exact in a double.
inline constexpr std::int64_t max_exact_integer = std::int64_t{1} << 53;

struct number_range {
    double min = -max_real, max = max_real;  // bounds, inclusive unless open
    bool integer = false;
    bool min_open = false, max_open = false;
    bool contains(double v) const;
    // "[1, 2147483648]", "(0, 1]".
    std::string interval() const;
    // "an integer in [1, 2147483648]", "a number in (0, 1]".
    std::string text() const;
};

inline number_range integer_range(std::int64_t min, std::int64_t max) {
    return {double(min), double(max), true, false, false};
}
inline number_range real_range(double min, double max, bool min_open = false, bool max_open = false) {
    return {min, max, false, min_open, max_open};
}

// The value when all of `text` is a number in `range` (integers decimal, "1e3" is not one; reals in
// any from_chars form, finite), else nothing.
std::optional<double> parse_number(std::string_view text, const number_range& range);
// "found 'TEXT', expected RANGE": the words of every refusal.
std::string refusal(std::string_view text, const number_range& range);
// parse_number, or throws stretch::error "WHAT: found 'TEXT', expected RANGE".
std::int64_t parse_integer(std::string_view text, const number_range& range, std::string_view what);
double parse_real(std::string_view text, const number_range& range, std::string_view what);
// The same check for a number already parsed (a JSON value).
void check_in_range(double value, const number_range& range, std::string_view what);

}  // namespace stretch
