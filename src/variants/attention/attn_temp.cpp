// `attn_temp` — attention temperature tuning (Llama 4, Mistral 3, Mistral Large 3): the logits of
// the query at position p are multiplied by
//   c(p) = 1 + beta ln(floor((p + offset) / floor_len) + 1)
// (llama.cpp's llm_graph_input_attn_temp: f_attn_temp_scale, n_attn_temp_floor_scale,
// f_attn_temp_offset), so c = 1 while p + offset < floor_len and rises by beta ln 2, ln 3, ... at
// every further multiple of floor_len. Unlike `logn` it steps with the absolute position, not with
// the number of visible keys. Presets (aliases):
//   llama4_temp   = beta 0.1, floor_len 8192, offset 1: Llama 4's 1 + 0.1 ln(floor((p + 1) / 8192) + 1)
//                   (HF attn_temperature_tuning, floor_scale 8192, attn_scale 0.1; fixed in llama.cpp's
//                   code, applied there on the NoPE layers only — here on every layer the spec reaches);
//   mistral3_temp = beta 0.1, offset 0, floor_len = L_orig: Mistral 3's llama_4_scaling_beta,
//                   1 + beta ln(1 + floor(p / original_max_position_embeddings)).
// A GGUF file that carries <arch>.attention.temperature_scale gets this modifier with beta from it
// and floor_len from <arch>.attention.temperature_length, else rope.scaling.original_context_length
// (llama.cpp: Mistral Large 3 / DeepSeek 2 read the first, Mistral 3 the second), offset 0.
// Defaults: beta 0.1, floor_len L_train, offset 0.
// Source: llama.cpp src/llama-graph.cpp, src/llama-model.cpp (LLM_ARCH_LLAMA4, LLM_ARCH_MISTRAL3);
// HF transformers Llama4TextAttention, Ministral 3 (llama_4_scaling_beta).
#include <cmath>

#include "variants/common.h"

namespace stretch::variants {
namespace {

double temperature(const param_values& p, const model_context&, std::int64_t position, std::int64_t, std::int64_t) {
    const double steps = std::floor((double(position) + p.real("offset")) / double(p.integer("floor_len")));
    return 1.0 + p.real("beta") * std::log(steps + 1.0);
}

const registrar reg{variant_def{
    .name = "attn_temp",
    .kind = variant_kind::modifier,
    .summary = "scale query p's logits by 1 + beta ln(floor((p + offset) / floor_len) + 1) (Llama 4, Mistral 3)",
    .source = "llama.cpp llm_graph_input_attn_temp; HF Llama 4 / Ministral 3",
    .params = {{.name = "beta", .type = param_type::real, .default_value = "0.1",
                .help = "strength of the log step (llama.cpp f_attn_temp_scale, HF llama_4_scaling_beta)", .min = 0.0},
               {.name = "floor_len", .type = param_type::integer, .default_value = "auto",
                .help = "positions per step; c = 1 below it (auto: L_train)", .min = 1.0,
                .automatic = [](const model_context& c) { return double(c.n_ctx_train); }},
               {.name = "offset", .type = param_type::real, .default_value = "0",
                .help = "added to the position before the division (Llama 4: 1)", .min = 0.0}},
    .query_scale = temperature,
}};

}  // namespace
}  // namespace stretch::variants
