// `hwfa` — Hybrid Window-Full Attention (methods.md B14, post 9603): blocks 1..N-1 use window
// attention with RoPE (window w), the last block full causal attention with no position encoding
// and the trained log-n scale. Default w: the largest with receptive field (w - 1)(N - 1) + 1 <=
// 3/4 L_train. `n_full` full blocks at the end (placement last) or spread through the middle
// (placement middle: N/2 for one, N/3 and 2N/3 for two, ...); `full_pe` nope (HWFA) or rope (the
// training half of HWFA2, post 9731; its switch of the full blocks to ReRoPE at inference is
// `--pos` with full_pe=rope and a rerope spec for them, not yet a parameter). Needs training.
// Source: https://kexue.fm/archives/9603, /9731.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "variants/variant.h"

namespace stretch::variants {
namespace {

bool is_full(const param_values& p, const model_context& c, std::int64_t il) {
    const std::int64_t n_full = p.integer("n_full"), n = c.n_layer;
    for (std::int64_t f = 1; f <= n_full; ++f) {
        const std::int64_t at = p.text("placement") == "last" ? n - f : f * n / (n_full + 1);
        if (il == at) return true;
    }
    return false;
}

std::string hwfa_layer(const param_values& p, const model_context& c, std::int64_t il) {
    if (!is_full(p, c, il)) return fmt::format("default+window:w={}", p.integer("window"));
    std::string spec = p.text("full_pe") == "nope" ? "nope" : "default";
    if (p.text("full_logn") == "true") spec += "+logn:mode=trained";
    return spec;
}

const registrar reg{variant_def{
    .name = "hwfa",
    .kind = variant_kind::position,
    .summary = "window-attention blocks with RoPE and full NoPE block(s) with log n (needs training)",
    .source = "methods.md B14; kexue.fm/archives/9603, 9731",
    .params = {{.name = "window", .type = param_type::integer, .default_value = "auto",
                .help = "w of the window blocks (auto: largest with (w-1)(N-1)+1 <= 3/4 L_train)", .min = 1.0,
                .automatic = [](const model_context& c) {
                    const double blocks = double(std::max<std::int64_t>(1, c.n_layer - 1));
                    return std::max(1.0, std::floor((0.75 * double(c.n_ctx_train) - 1) / blocks) + 1);
                }},
               {.name = "n_full", .type = param_type::integer, .default_value = "1", .help = "full-attention blocks",
                .min = 1.0},
               {.name = "placement", .type = param_type::text, .default_value = "last",
                .help = "last: the final blocks; middle: spread at N/(n_full+1) steps", .choices = {"last", "middle"}},
               {.name = "full_pe", .type = param_type::text, .default_value = "nope",
                .help = "position encoding of the full blocks", .choices = {"nope", "rope"}},
               {.name = "full_logn", .type = param_type::text, .default_value = "true",
                .help = "trained log-n scale in the full blocks", .choices = {"true", "false"}}},
    .layer_spec = hwfa_layer,
    .validate = [](const param_values& p, const model_context& c) {
        if (p.integer("n_full") > c.n_layer)
            fail("hwfa.n_full = {} exceeds the model's {} blocks", p.integer("n_full"), c.n_layer);
    },
    .needs_training = true,
}};

}  // namespace
}  // namespace stretch::variants
