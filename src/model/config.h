// Hyper-parameters of a decoder-only Transformer (methods.md D1, the llama2.c / Llama layout) or of
// a GAU stack (D4, D6). Only the shape of the model lives here; how it is trained is
// train/run_config.h.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/cpu/rope.h"
#include "variants/variant.h"

namespace stretch {

struct model_config {
    std::int64_t vocab_size = 256;  // byte-level by default
    std::int64_t d_model = 256;
    std::int64_t n_layer = 4;
    std::int64_t n_head = 8;
    std::int64_t n_head_kv = 8;  // < n_head: grouped-query attention
    std::int64_t d_ff = 688;     // SwiGLU hidden width
    std::int64_t n_ctx_train = 256;
    double rope_base = 10000.0;
    double norm_eps = 1e-5;
    bool tie_embeddings = true;
    cpu::rope_pairing rope_pairing = cpu::rope_pairing::interleaved;
    // The position/attention variant the model is trained with and evaluated with by default
    // (a --pos spec, variants/spec.h): e.g. "window:w=64+logn:mode=trained".
    std::string pos = "default";
    // methods.md D2/D3: "pre" (x + F(Norm(x)), a final norm) or "post" (Norm(alpha x + F(x)), Xavier
    // init); with deepnorm, post with residual scale alpha and Xavier gain beta on V, O and the FFN:
    // deepnorm_constants "paper" (DeepNet's decoder-only row, alpha = (2N)^(1/4), beta = (8N)^(-1/4))
    // or "adam" (Su's constants for Adam, post 8978: alpha = (2N)^(1/2), beta = (2N)^(-1/2)).
    std::string norm_position = "pre";
    bool deepnorm = false;
    std::string deepnorm_constants = "paper";
    double residual_alpha() const;  // 1 unless deepnorm
    double init_gain() const;       // beta; 1 unless deepnorm
    // methods.md D4: "transformer" (attention + SwiGLU blocks) or "gau". Two GAU layers match one
    // block in parameters (3Ce = 6C^2 each vs 12C^2), so a gau model of n_layer blocks has 2 n_layer
    // GAU layers: the same n_layer keeps the size comparable (n_head, n_head_kv and d_ff are unused).
    std::string block = "transformer";
    std::int64_t gau_expansion = 2;  // e = gau_expansion * d_model (the paper's e = 2C)
    std::int64_t gau_key_dim = 128;  // s, the single head's query/key width
    std::int64_t flash_chunk = 0;    // > 0: FLASH mixed-chunk attention in chunks of this many tokens (D6)
    bool is_gau() const { return block == "gau"; }
    std::int64_t gau_value_dim() const { return gau_expansion * d_model; }
    // Layers that attend (each a residual sublayer of its own in a GAU stack).
    std::int64_t n_attention_layers() const { return is_gau() ? 2 * n_layer : n_layer; }
    // The rotated dimensions of one attention head (RoPE's d): s for GAU.
    std::int64_t rotary_dim() const { return is_gau() ? gau_key_dim : head_dim(); }
    // Widths of one layer's cached keys and values.
    std::int64_t key_width() const { return is_gau() ? gau_key_dim : head_dim() * n_head_kv; }
    std::int64_t value_width() const { return is_gau() ? gau_value_dim() : head_dim() * n_head_kv; }

    std::int64_t head_dim() const { return d_model / n_head; }
    // Throws stretch::error naming the key whose value is impossible (`where`: file or flag name).
    void validate(const char* where) const;
    std::int64_t n_parameters() const;
    // "2 layers, d_model 32, 4 heads / 2 kv" or "4 GAU layers, d_model 32, e 64, s 16, FLASH chunk 16".
    std::string shape_text() const;
    // What a variant sees of this model when a run plans for `target_length` tokens.
    variants::model_context position_context(std::int64_t target_length) const;
};

}  // namespace stretch
