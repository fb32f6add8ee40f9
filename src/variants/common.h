// Pieces several variant files share: the extension ratio s = L_target / L_train (methods.md B,
// opening paragraph) that scaling factors default to, the `factor` parameter built on it, the
// L_train / 4 window and the two-score split at a distance.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>

#include "variants/variant.h"

namespace stretch::variants {

// s = max(1, L_target / L_train): factor 1 (no scaling) up to the training length.
inline double extension_ratio(const model_context& c) {
    return std::max(1.0, double(c.target_length) / double(c.n_ctx_train));
}

inline param_spec factor_param(std::string help) {
    return {.name = "factor", .type = param_type::real, .default_value = "auto", .help = std::move(help), .min = 1.0,
            .automatic = extension_ratio};
}

// Integer window defaulting to L_train / 4 (Su's ReRoPE optimum lies in 1/4..1/2 of L_train, post 9708).
inline param_spec quarter_window_param(std::string name, std::string help) {
    return {.name = std::move(name), .type = param_type::integer, .default_value = "auto", .help = std::move(help),
            .min = 1.0, .automatic = [](const model_context& c) { return double(std::max<std::int64_t>(1, c.n_ctx_train / 4)); }};
}

// The split of the ReRoPE family: the keys at distance i - j >= from are far (methods.md B9).
inline std::function<std::int64_t(std::int64_t)> beyond_distance(std::int64_t from) {
    return [from](std::int64_t i) { return i - from + 1; };
}

}  // namespace stretch::variants
