// Hyper-parameters of a decoder-only Transformer (methods.md D1, the llama2.c / Llama layout, and
// the architectures of model/architecture.h: Gemma 3, Qwen2, Qwen3) or of a GAU stack (D4, D6).
// Only the shape of the model lives here; how it is trained is train/run_config.h. Every field is
// listed once, in model/config_fields.h, which the CLI keys, the GGUF writer and reader and the
// round-trip test iterate. `layer(il)` is the per-layer description the forward reads.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/cpu/rope.h"
#include "variants/variant.h"

namespace stretch {

// What one Transformer block is: everything the forward reads about layer il.
struct layer_desc {
    std::int64_t n_head = 1, n_head_kv = 1, head_dim = 0;
    std::int64_t n_rot = 0;          // rotated dimensions of a head (partial rotary: < head_dim)
    bool rotates = true;             // false: a NoPE layer
    double rope_base = 10000.0;
    std::int64_t window = 0;         // > 0: the layer sees only its last `window` keys (sliding window)
    bool q_bias = false, k_bias = false, v_bias = false, o_bias = false;
    bool qk_norm = false;            // per-head RMSNorm with learned gains on queries and keys
    bool pre_norm = true;            // x + F(Norm(x)); else Post-LN Norm(alpha x + F(x))
    bool post_norm = false;          // the sublayer's output normalised before the residual (sandwich)
    bool gelu = false;               // FFN gate GELU (tanh form, GeGLU) instead of SiLU (SwiGLU)
    std::int64_t d_ff = 0;
    std::int64_t key_width() const { return head_dim * n_head_kv; }
};

struct model_config {
    // GGUF general.architecture: which table of model/architecture.h filled the fields below.
    std::string arch = "llama";
    std::int64_t vocab_size = 256;  // byte-level by default
    std::int64_t d_model = 256;
    std::int64_t n_layer = 4;
    std::int64_t n_head = 8;
    std::int64_t n_head_kv = 8;  // < n_head: grouped-query attention
    std::int64_t head_dim = 0;   // width of a query/key/value head; 0: d_model / n_head
    std::int64_t n_rot = 0;      // rotated dimensions of a head (partial rotary); 0: all of them
    std::int64_t d_ff = 688;     // FFN hidden width
    std::int64_t n_ctx_train = 256;
    double rope_base = 10000.0;
    double norm_eps = 1e-5;
    bool tie_embeddings = true;
    cpu::rope_pairing rope_pairing = cpu::rope_pairing::interleaved;
    // "swiglu": silu(x W_gate) * (x W_up); "geglu": gelu_tanh(x W_gate) * (x W_up) (Gemma).
    std::string ffn = "swiglu";
    // Projections with a bias, as letters of "qkvo" (Qwen2: "qkv").
    std::string attn_bias;
    bool qk_norm = false;       // RMSNorm with learned gains on every query and key head (Gemma 3, Qwen3)
    double embed_scale = 1.0;   // token embeddings are multiplied by this (Gemma: sqrt(d_model))
    double attn_scale = 0.0;    // logit scale; 0: 1 / sqrt(head_dim)
    // Sliding-window layers (Gemma 3, Mistral): > 0, layers see only their last sliding_window keys,
    // except every global_every-th layer (il % global_every == global_every - 1), which attends
    // globally; global_every = 0 makes every layer windowed. Windowed layers rotate with
    // rope_base_local.
    std::int64_t sliding_window = 0;
    std::int64_t global_every = 0;
    double rope_base_local = 10000.0;
    // NoPE layers (Llama 4, SmolLM3): > 0, every nope_every-th layer does not rotate.
    std::int64_t nope_every = 0;
    // The position/attention variant the model is trained with and evaluated with by default
    // (a --pos spec, variants/spec.h): e.g. "window:w=64+logn:mode=trained".
    std::string pos = "default";
    // methods.md D2/D3: "pre" (x + F(Norm(x)), a final norm), "post" (Norm(alpha x + F(x)), Xavier
    // init) or "sandwich" (x + Norm(F(Norm(x))), Gemma 2/3, a final norm); with deepnorm, post with
    // residual scale alpha and Xavier gain beta on V, O and the FFN: deepnorm_constants "paper"
    // (DeepNet's decoder-only row, alpha = (2N)^(1/4), beta = (8N)^(-1/4)) or "adam" (Su's constants
    // for Adam, post 8978: alpha = (2N)^(1/2), beta = (2N)^(-1/2)).
    std::string norm_position = "pre";
    bool deepnorm = false;
    std::string deepnorm_constants = "paper";
    double residual_alpha() const;  // 1 unless deepnorm
    double init_gain() const;       // beta; 1 unless deepnorm
    // methods.md D4: "transformer" (attention + FFN blocks) or "gau". Two GAU layers match one
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

    std::int64_t head_width() const { return head_dim > 0 ? head_dim : d_model / n_head; }
    // The rotated dimensions of one attention head (RoPE's d): s for GAU.
    std::int64_t rotary_dim() const { return is_gau() ? gau_key_dim : n_rot > 0 ? n_rot : head_width(); }
    // Widths of one layer's cached keys and values.
    std::int64_t key_width() const { return is_gau() ? gau_key_dim : head_width() * n_head_kv; }
    std::int64_t value_width() const { return is_gau() ? gau_value_dim() : head_width() * n_head_kv; }
    // Whether layer il attends through a sliding window, and whether it rotates.
    bool windowed(std::int64_t il) const {
        return sliding_window > 0 && (global_every == 0 || il % global_every != global_every - 1);
    }
    bool rotates(std::int64_t il) const { return nope_every == 0 || (il + 1) % nope_every != 0; }
    // Transformer block il as the forward reads it.
    layer_desc layer(std::int64_t il) const;
    // The logit scale of every layer: attn_scale, or 1 / sqrt(head width).
    double logit_scale() const;

    // Throws stretch::error naming the key whose value is impossible (`where`: file or flag name).
    void validate(const char* where) const;
    std::int64_t n_parameters() const;
    // "2 layers, d_model 32, 4 heads / 2 kv" or "4 GAU layers, d_model 32, e 64, s 16, FLASH chunk 16".
    std::string shape_text() const;
    // What a variant sees of this model's global layers when a run plans for `target_length` tokens.
    variants::model_context position_context(std::int64_t target_length) const;
};

}  // namespace stretch
