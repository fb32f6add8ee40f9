#include "core/numbers.h"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"

namespace stretch {

namespace {

std::string number_text(double v) { return fmt::format("{:.10g}", v); }

}  // namespace

bool number_range::contains(double v) const {
    if (!std::isfinite(v)) return false;
    if (integer && v != std::floor(v)) return false;
    const bool above = min_open ? v > min : v >= min;
    const bool below = max_open ? v < max : v <= max;
    return above && below;
}

std::string number_range::interval() const {
    const auto bound = [&](double v) { return integer ? std::to_string(std::int64_t(v)) : number_text(v); };
    return fmt::format("{}{}, {}{}", min_open ? '(' : '[', bound(min), bound(max), max_open ? ')' : ']');
}

std::string number_range::text() const { return fmt::format("{} in {}", integer ? "an integer" : "a number", interval()); }

std::optional<double> parse_number(std::string_view text, const number_range& range) {
    const char* end = text.data() + text.size();
    double v = 0;
    if (range.integer) {
        std::int64_t i = 0;
        const auto [ptr, ec] = std::from_chars(text.data(), end, i);
        if (ec != std::errc() || ptr != end || i > max_exact_integer || i < -max_exact_integer) return std::nullopt;
        v = double(i);
    } else {
        const auto [ptr, ec] = std::from_chars(text.data(), end, v);
        if (ec != std::errc() || ptr != end) return std::nullopt;
    }
    if (text.empty() || !range.contains(v)) return std::nullopt;
    return v;
}

std::string refusal(std::string_view text, const number_range& range) {
    return fmt::format("found '{}', expected {}", text, range.text());
}

std::int64_t parse_integer(std::string_view text, const number_range& range, std::string_view what) {
    const auto v = parse_number(text, range);
    if (!v || !range.integer) fail("{}: {}", what, refusal(text, range));
    return static_cast<std::int64_t>(*v);
}

double parse_real(std::string_view text, const number_range& range, std::string_view what) {
    const auto v = parse_number(text, range);
    if (!v) fail("{}: {}", what, refusal(text, range));
    return *v;
}

void check_in_range(double value, const number_range& range, std::string_view what) {
    if (!range.contains(value)) fail("{}: found {}, expected {}", what, number_text(value), range.text());
}

}  // namespace stretch
