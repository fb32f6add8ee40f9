// The decoder-only Transformer (methods.md D1): embedding, n_layer blocks of
// (RMSNorm -> causal GQA self-attention with RoPE -> residual; RMSNorm -> SwiGLU FFN -> residual),
// final RMSNorm, LM head (tied to the embedding or not); or Post-LN blocks, Norm(alpha x + F(x)),
// with DeepNorm's alpha (D2, D3); or, with block = gau, 2 n_layer GAU layers (D4, D6:
// model/gau_block.h) between the same embedding and head. The position variant (config.pos)
// decides rotations and masks.
// The forward is written once, against the autograd ops: with a tape in the context it trains,
// without one it runs inference.
// Parameter names are GGUF's llama names (token_embd.weight, blk.N.attn_q.weight, ...).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "autograd/ops.h"
#include "core/rng.h"
#include "model/config.h"
#include "model/gau_block.h"
#include "model/kv_cache.h"
#include "variants/spec.h"

namespace stretch {

class transformer {
public:
    // Parameters are allocated (zero) in `type`; call `init` or load them.
    transformer(const model_config& config, dtype type = dtype::f32);

    const model_config& config() const { return config_; }
    dtype type() const { return type_; }

    // Pre-LN: GPT-2 / llm.c initialisation, N(0, 0.02) for matrices, residual projections (attn_output,
    // ffn_down, gau_out) scaled by 1/sqrt(2 n_layer), gains (norms, GAU's gamma) 1, biases 0. Post-LN:
    // Xavier for the block matrices, with DeepNorm's gain beta on V, O, the FFN and GAU's U, V, W_o.
    void init(rng& generator);

    // Every parameter with its GGUF name, in a fixed order (the optimizer and checkpoints rely on it).
    const std::vector<std::pair<std::string, ag::var>>& parameters() const { return parameters_; }

    // tokens: [B * T] ids, row-major [B, T]; returns logits [B * T, V], with the variant the model is
    // trained with (config().pos). `positions` [B * T]: each token's position as a variant that draws
    // them in training (random_pos, methods.md C7) drew it; the variant is then set up for training.
    ag::var forward(ag::context& ctx, std::span<const std::int32_t> tokens, std::int64_t batch, std::int64_t time,
                    std::span<const double> positions = {}) const;
    // The same forward with a position/attention variant (variants/spec.h). With a cache (batch 1,
    // no tape), the tokens continue the cached sequence and their keys and values are added to it.
    // `last_only` (batch 1, no tape): logits [1, V] of the last token only, skipping the LM head's
    // work on the rest of a prefill.
    // `drawn`: per-token positions of random-position training (no cache), as above.
    ag::var forward(ag::context& ctx, std::span<const std::int32_t> tokens, std::int64_t batch, std::int64_t time,
                    const variants::position_setup& positions, kv_cache* cache = nullptr, bool last_only = false,
                    std::span<const double> drawn = {}) const;

    // What a variant sees of this model when a run plans for `target_length` tokens.
    variants::model_context position_context(std::int64_t target_length) const;

private:
    struct block {
        ag::var attn_norm, wq, wk, wv, wo, ffn_norm, w_gate, w_down, w_up;
        ag::var q_bias, k_bias;  // RoPE + q/k bias only
    };
    ag::var add_parameter(const std::string& name, shape_t shape);

    model_config config_;
    dtype type_;
    ag::var tok_embd_, pos_embd_, out_norm_, output_;
    std::vector<block> blocks_;
    std::vector<gau_layer> gau_layers_;  // block = gau: these instead of blocks_
    std::vector<std::pair<std::string, ag::var>> parameters_;
};

}  // namespace stretch
