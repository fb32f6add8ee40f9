// `sinks` — attention sinks / Λ-mask (methods.md B17): keep the first n_sink tokens plus the most
// recent W. position_mode = cache (StreamingLLM, default): positions are assigned by slot in the
// evicting cache, so sink j is seen from query i at distance min(i, n_sink + W - 1) - j and window
// keys at their true distance; this is a far branch (keys at distance >= W, query at min(i, n_sink + W - 1), key
// at j). position_mode = original (LM-Infinite's mask form): original positions, mask only. It
// does not extend the usable context; it fixes the pure-window failure (B13). Defaults: n_sink 4,
// W = L_train - n_sink. Cannot be combined with another far-branch variant (rerope, ...).
// Source: arXiv 2309.17453; github.com/mit-han-lab/streaming-llm; https://kexue.fm/archives/9948.
#include <algorithm>

#include "variants/common.h"

namespace stretch::variants {
namespace {

const registrar reg{variant_def{
    .name = "sinks",
    .kind = variant_kind::modifier,
    .summary = "keep the first n_sink tokens plus a window of W (StreamingLLM)",
    .source = "methods.md B17; arXiv 2309.17453",
    .params = {{.name = "n_sink", .type = param_type::integer, .default_value = "4",
                .help = "leading tokens that stay visible", .min = 0.0},
               {.name = "window", .type = param_type::integer, .default_value = "auto",
                .help = "W recent keys visible, the query included (auto: L_train - n_sink)", .min = 1.0,
                .automatic = [](const model_context& c) { return double(std::max<std::int64_t>(1, c.n_ctx_train - 4)); }},
               {.name = "position_mode", .type = param_type::text, .default_value = "cache",
                .help = "cache: positions by cache slot (StreamingLLM); original: true positions, mask only",
                .choices = {"cache", "original"}}},
    .far = [](const param_values& p, const model_context&) {
        if (p.text("position_mode") != "cache") return far_branch{};
        const std::int64_t last_slot = p.integer("n_sink") + p.integer("window") - 1;
        return far_branch{beyond_distance(p.integer("window")), [last_slot](std::int64_t i) { return double(std::min(i, last_slot)); },
                          [](std::int64_t j) { return double(j); }};
    },
    .mask = [](const param_values& p, const model_context&, cpu::attention_rules& rules) {
        rules.window = p.integer("window");
        rules.n_sink = p.integer("n_sink");
    },
}};

}  // namespace
}  // namespace stretch::variants
