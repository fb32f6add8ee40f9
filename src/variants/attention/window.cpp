// `window` — window (local) attention (methods.md B13): key j is visible to query i iff
// 0 <= i - j < w (the window counts the query itself). With w = L_train on a relative-position
// model it is Su's "super baseline" (post 9431): no unseen relative position, and every query sees
// as many keys as in training; `super_baseline` names window + logn. w >= L is full attention,
// w = 1 gives o_i = v_i. On real RoPE LLMs a pure window makes PPL explode: keep sinks (B17).
// Source: https://kexue.fm/archives/9431, /9948.
#include "variants/common.h"

namespace stretch::variants {
namespace {

const registrar reg{variant_def{
    .name = "window",
    .kind = variant_kind::modifier,
    .summary = "local attention: each query sees its last w keys (w = L_train: the super baseline)",
    .source = "methods.md B13; kexue.fm/archives/9431",
    .params = {{.name = "w", .type = param_type::integer, .default_value = "auto",
                .help = "keys visible to a query, itself included (auto: L_train)", .min = 1.0,
                .automatic = [](const model_context& c) { return double(c.n_ctx_train); }}},
    .mask = [](const param_values& p, const model_context&, cpu::attention_rules& rules) {
        rules.window = p.integer("w");
    },
}};

}  // namespace
}  // namespace stretch::variants
