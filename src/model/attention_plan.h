// What one forward's attention layers need from the position variant, and the step every layer
// takes before attending, shared by the Transformer blocks (model/transformer.cpp) and the GAU
// layers (model/gau_block.cpp): rotation tables (methods.md eq. 0.2: theta', m, the far branch's
// positions), the kernel's rules, KeyNorm, RoPE on queries and keys, and the KV cache.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "model/kv_cache.h"
#include "model/layer_positions.h"
#include "variants/spec.h"

namespace stretch {

using rope_table_ptr = std::shared_ptr<const cpu::rope_table>;

// Rotation tables of one forward, shared by every layer with the same variant: queries and the keys
// to rotate at their positions, and for a two-score variant the far-branch positions of both.
struct rotation_plan {
    rope_table_ptr query, key, query_far, key_far;
};

struct layer_attention {
    rotation_plan plan;
    cpu::attention_rules rules;
    bool two_score = false;
    bool unrotated_cache = false;  // the cache keeps this layer's keys before rotation
    double key_norm_eps = 0;       // > 0: KeyNorm
};

// Every attention layer's plan; layers that share a setup (layer_positions) share one plan.
struct layer_plans {
    std::vector<layer_attention> distinct;
    std::vector<std::size_t> of_layer;  // [n_layers] -> index into distinct
    const layer_attention& operator[](std::int64_t il) const { return distinct[of_layer[std::size_t(il)]]; }
};

// Queries sit at past .. past + time - 1, or, in random-position training (methods.md C7), at the
// `drawn` positions [B * T] of every token of the batch.
layer_plans plan_layers(const layer_positions& positions, std::int64_t past, std::int64_t time, bool cached,
                        std::span<const double> drawn = {});

// The shape of one layer's query and key heads, as ag::rope reads them.
struct head_shape {
    std::int64_t batch = 1, time = 0, past = 0, heads = 1, heads_kv = 1, head_dim = 0;
    cpu::rope_pairing pairing = cpu::rope_pairing::interleaved;
};

// What ag::attention takes: rotated queries and keys (and far operands), keys and values of every
// position (the cache's rows [0, past + time) with a cache). k or v is null when the cache stores it
// in a type of its own (f16, bf16, q8_0, q4_0): the kernel then reads the cache's rows (attend).
struct attention_operands {
    ag::var q, k, v, q_far, k_far;
};

// KeyNorm on k_raw, RoPE on q and k, and with a cache: the new keys and values written to layer il
// and all of them read back. `prefix` names the intermediates ("blk.3.").
attention_operands prepare_attention(ag::context& ctx, const ag::var& q_raw, ag::var k_raw, const ag::var& v,
                                     const layer_attention& layer, const head_shape& shape, kv_cache* cache,
                                     std::int64_t il, const std::string& prefix);

// prepare_attention, then causal attention with the layer's rules and the model's logit scale:
// [B*T, H*D] from the raw projections. `sinks`: the layer's learned sink logits [H], or null.
ag::var attend(ag::context& ctx, const ag::var& q_raw, const ag::var& k_raw, const ag::var& v,
               const layer_attention& layer, const head_shape& shape, kv_cache* cache, std::int64_t il,
               const std::string& prefix, double logit_scale, const ag::var& sinks = nullptr);

}  // namespace stretch
