// The decoder-only Transformer (methods.md D1): embedding (times embed_scale), n_layer blocks of
// (RMSNorm -> causal GQA self-attention with RoPE -> residual; RMSNorm -> gated FFN -> residual),
// final RMSNorm, LM head (tied to the embedding or not). What each block is comes from its
// layer_desc (model/config.h), filled per architecture (model/architecture.h): q/k/v/o biases,
// QK-norm, head width, Pre-LN, Post-LN Norm(alpha x + F(x)) with DeepNorm's alpha (D2, D3) or
// sandwich norms, SwiGLU or GeGLU, its window and RoPE base. With block = gau, 2 n_layer GAU layers
// (D4, D6: model/gau_block.h) sit between the same embedding and head. The position variant
// decides rotations and masks (model/layer_positions.h).
// The forward is written once, against the autograd ops: with a tape in the context it trains,
// without one it runs inference.
// Parameter names are GGUF's (token_embd.weight, blk.N.attn_q.weight, blk.N.attn_q_norm.weight, ...).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "autograd/ops.h"
#include "core/rng.h"
#include "model/config.h"
#include "model/gau_block.h"
#include "model/kv_cache.h"
#include "model/layer_positions.h"
#include "variants/spec.h"

namespace stretch {

// Makes parameter `name` of `shape`: a zero tensor to initialise, or the file's weights.
using parameter_source = std::function<ag::var(const std::string& name, const shape_t& shape)>;

// What a fine-tuning method changes in a forward (train/lora.h, train/ladder.h); either may be empty.
struct forward_hooks {
    // LoRA: the product a block uses for y = x W^T, given x, W and y (returns y, or y plus its update).
    std::function<ag::var(ag::context& ctx, const ag::var& x, const ag::var& w, const ag::var& y)> project;
    // Ladder side-tuning: sees the input of the first block (layer -1) and every block's output
    // (layer il), and returns what goes on (the same stream, or one with something added).
    std::function<ag::var(ag::context& ctx, std::int64_t layer, const ag::var& x)> after_layer;
};

class transformer {
public:
    // Parameters are allocated (zero) in `type` and then `init`ed or loaded, or come from `source`.
    explicit transformer(const model_config& config, dtype type = dtype::f32, const parameter_source& source = {});

    // Every parameter's name and shape, in the constructor's order, without allocating any.
    static std::vector<std::pair<std::string, shape_t>> parameter_shapes(const model_config& config);

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
    // The same forward with a position/attention variant (layer_positions). With a cache (batch 1,
    // no tape), the tokens continue the cached sequence and their keys and values are added to it.
    // `last_only` (batch 1, no tape): logits [1, V] of the last token only, skipping the LM head's
    // work on the rest of a prefill.
    // `drawn`: per-token positions of random-position training (no cache), as above.
    ag::var forward(ag::context& ctx, std::span<const std::int32_t> tokens, std::int64_t batch, std::int64_t time,
                    const layer_positions& positions, kv_cache* cache = nullptr, bool last_only = false,
                    std::span<const double> drawn = {}) const;
    // The forward up to the LM head: the final hidden states [B*T, C] (normalised), which
    // `logits` turns into [rows, V]; scoring long windows of a large vocabulary a slice of rows at a
    // time keeps [T, V] out of memory (eval/next_token.h).
    // `hooks`: a fine-tuning method's changes (no cache).
    ag::var hidden(ag::context& ctx, std::span<const std::int32_t> tokens, std::int64_t batch, std::int64_t time,
                   const layer_positions& positions, kv_cache* cache = nullptr, std::span<const double> drawn = {},
                   const forward_hooks& hooks = {}) const;
    // The blocks alone, from an input stream x [B*T, C] instead of the embedding, without the final
    // norm: a side network's layers (train/ladder.h). No cache, no drawn positions.
    ag::var blocks(ag::context& ctx, const ag::var& x, std::int64_t batch, std::int64_t time,
                   const layer_positions& positions, const forward_hooks& hooks = {}) const;
    // The final norm (none in a Post-LN stack): what `hidden` applies after the blocks.
    ag::var final_norm(ag::context& ctx, const ag::var& x) const;
    // `independent_rows`: each row's logits as that row would get alone (ag::linear_decode): the
    // next-token rows of a serving batch.
    ag::var logits(ag::context& ctx, const ag::var& hidden, bool independent_rows = false) const;

    // One step of a serving batch (continuous batching): sequences that each continue their own KV
    // cache with their own position setup and their own count of new tokens (a prefill chunk, or
    // the one token of a decode step). Returns the final hidden states [sum T_i, C] of every new
    // token, sequence after sequence, and advances every cache. The linear layers run once over the
    // stacked one-token rows (ag::linear_decode) and once per longer sequence, and attention runs
    // per sequence against its own cache, so each sequence's rows are what a forward of that
    // sequence alone computes (bit for bit for quantised weights; f32 products round their sums in
    // an order that may depend on the row count). One-token sequences come first (asserted).
    struct sequence_step {
        std::span<const std::int32_t> tokens;
        const layer_positions* positions = nullptr;
        kv_cache* cache = nullptr;
    };
    ag::var hidden_batch(ag::context& ctx, std::span<const sequence_step> steps) const;

    // The setup of every layer for `spec` when a run plans for `target_length` tokens.
    layer_positions positions(const variants::position_spec& spec, std::int64_t target_length, const std::string& where,
                              bool training = false) const {
        return layer_positions(config_, spec, target_length, where, training);
    }
    // What a variant sees of this model's global layers when a run plans for `target_length` tokens.
    variants::model_context position_context(std::int64_t target_length) const;

private:
    struct block {
        layer_desc shape;
        ag::var attn_norm, wq, wk, wv, wo, ffn_norm, w_gate, w_down, w_up;
        ag::var q_bias, k_bias, v_bias, o_bias;   // attn_bias, or RoPE + q/k bias (C8) for q and k
        ag::var q_norm, k_norm;                   // QK-norm gains [head_dim]
        ag::var attn_post_norm, ffn_post_norm;    // sandwich norms
        ag::var attn_sinks;                       // learned sink logits [n_head] (learned_sinks)
    };
    // How a block multiplies by its weights and attends: one forward's (ag::linear, its cache), or a
    // serving batch's (grouped products, each sequence against its own cache).
    struct block_step {
        std::function<ag::var(const ag::var& x, const ag::var& w, const std::string& name)> project;
        std::function<ag::var(const ag::var& q_raw, const ag::var& k_raw, const ag::var& v, const layer_desc& d,
                              std::int64_t il, const std::string& prefix, const ag::var& sinks)>
            attend;
    };
    ag::var block_forward(ag::context& ctx, const block& b, const ag::var& x, const block_step& step,
                          std::int64_t il) const;
    // Every block on x, the rows of `batch` sequences of `time` new tokens after `past` cached ones.
    ag::var run_blocks(ag::context& ctx, ag::var x, std::int64_t batch, std::int64_t time, const layer_positions& positions,
                       kv_cache* cache, std::span<const double> drawn, const forward_hooks& hooks) const;
    // The input of the first block: token embeddings (scaled) plus learned or absolute positions
    // of tokens at past .. past + time - 1.
    ag::var embed(ag::context& ctx, std::span<const std::int32_t> tokens, std::int64_t batch, std::int64_t time,
                  std::int64_t past, const layer_positions& positions) const;

    model_config config_;
    dtype type_;
    ag::var tok_embd_, pos_embd_, out_norm_, output_;
    std::vector<block> blocks_;
    std::vector<gau_layer> gau_layers_;  // block = gau: these instead of blocks_
    std::vector<std::pair<std::string, ag::var>> parameters_;
};

}  // namespace stretch
