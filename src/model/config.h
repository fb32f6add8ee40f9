// Hyper-parameters of a decoder-only Transformer (methods.md D1, the llama2.c / Llama layout).
// Only the shape of the model lives here; how it is trained is train/run_config.h.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/cpu/rope.h"

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
    // methods.md D2/D3: "pre" (x + F(Norm(x)), a final norm) or "post" (Norm(alpha x + F(x))); with
    // deepnorm, post with alpha = (2N)^(1/4) and Xavier init of gain (8N)^(-1/4) on V, O and the FFN.
    std::string norm_position = "pre";
    bool deepnorm = false;
    double residual_alpha() const;  // 1 unless deepnorm

    std::int64_t head_dim() const { return d_model / n_head; }
    // Throws stretch::error naming the key whose value is impossible (`where`: file or flag name).
    void validate(const char* where) const;
    std::int64_t n_parameters() const;
};

}  // namespace stretch
