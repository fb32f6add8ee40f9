#include "model/architecture.h"

#include <cmath>

#include <fmt/format.h>

#include "core/error.h"

namespace stretch {

const std::vector<architecture>& architectures() {
    static const std::vector<architecture> table = {
        // GGUF's llama layout: the converter permutes Q and K so that RoPE pairs (2i, 2i+1)
        // (llama.cpp's LLAMA_ROPE_TYPE_NORM).
        {.name = "llama",
         .models = "Llama 2/3, Mistral, SmolLM, TinyLlama, stretch's own models",
         .fixed = {{"rope_pairing", "interleaved"}}},
        // Gemma 3: pre- and post-norms around both sublayers, QK-norm, GeGLU with tanh GELU, embeddings
        // scaled by sqrt(C), five sliding-window layers (base 10^4) per global one (the file's
        // rope.freq_base); the logit scale is 1/sqrt(head_dim), except for the 27B model, whose
        // query_pre_attn_scalar is C / n_head (gemma_pytorch config.py, as llama.cpp hard-codes it).
        {.name = "gemma3",
         .models = "Gemma 3 (270M .. 27B)",
         .fixed = {{"rope_pairing", "half"},
                   {"norm_position", "sandwich"},
                   {"ffn", "geglu"},
                   {"qk_norm", true},
                   {"global_every", 6},
                   {"rope_base_local", 10000.0}},
         .derive =
             [](model_config& c) {
                 c.embed_scale = std::sqrt(double(c.d_model));
                 if (c.n_layer == 62) c.attn_scale = 1.0 / std::sqrt(double(c.d_model / c.n_head));
             }},
        // Qwen2 / Qwen2.5: biases on the query, key and value projections (llama.cpp's NEOX rope).
        {.name = "qwen2", .models = "Qwen2, Qwen2.5", .fixed = {{"rope_pairing", "half"}, {"attn_bias", "qkv"}}},
        // Qwen3: QK-norm instead of Qwen2's biases; head_dim from attention.key_length (128), not C / n_head.
        {.name = "qwen3", .models = "Qwen3 (dense)", .fixed = {{"rope_pairing", "half"}, {"qk_norm", true}}},
    };
    return table;
}

const architecture& find_architecture(std::string_view name, std::string_view where) {
    std::string known;
    for (const architecture& a : architectures()) {
        if (a.name == name) return a;
        known += fmt::format("{}{} ({})", known.empty() ? "" : ", ", a.name, a.models);
    }
    fail("{}: general.architecture = '{}'; expected one of: {}", where, name, known);
}

}  // namespace stretch
