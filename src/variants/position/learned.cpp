// `learned` — learned absolute positions (methods.md C3): a trained table P [L_max, C]
// (position_embd.weight) added to the token embeddings, GPT-2 / llm.c's wte + wpe; no rotation.
// Any position >= L_max is an error naming it and L_max, never a silent clamp. Train with it.
// Source: github.com/karpathy/llm.c train_gpt2.c (encoder).
#include "variants/variant.h"

namespace stretch::variants {
namespace {

const registrar reg{variant_def{
    .name = "learned",
    .kind = variant_kind::position,
    .summary = "a trained table of absolute positions added to the embedding (needs training)",
    .source = "methods.md C3; llm.c train_gpt2.c",
    .params = {{.name = "max_positions", .type = param_type::integer, .default_value = "auto",
                .help = "L_max, rows of the table (auto: L_train)", .min = 1.0,
                .automatic = [](const model_context& c) { return double(c.n_ctx_train); }}},
    .frequencies = [](const param_values&, const model_context& c, std::int64_t) {
        return rotation{std::vector<double>(std::size_t(c.n_rot / 2), 0.0), 1.0};
    },
    .learned_rows = [](const param_values& p, const model_context&) { return p.integer("max_positions"); },
    .needs_training = true,
}};

}  // namespace
}  // namespace stretch::variants
