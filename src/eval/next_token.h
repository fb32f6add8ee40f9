// Next-token loss and accuracy of a model's predictions, from the final hidden states, without a
// [T, V] logits buffer: the LM head runs on slices of rows and each slice is reduced to its
// cross-entropy (methods.md E1) at once. A 32k-token window of a 262k-token vocabulary would need
// 32 GiB of logits; a slice needs `slice_rows` x V.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "model/transformer.h"

namespace stretch {

struct next_token_scores {
    std::vector<double> loss;        // nats, per scored row
    std::vector<std::uint8_t> hit;   // argmax == target
};

// Rows [first, end) of hidden [T, C] (a forward's transformer::hidden) against `targets` [T]
// (row i predicts targets[i]; rows with a negative target are skipped: loss 0, hit 0).
// `on_logits(row, logits)` sees each slice's logits [rows, V] (rows row, row + 1, ...) before they
// are reduced (the KL divergence of eval/kl_divergence.h).
inline constexpr std::int64_t score_slice_rows = 128;
using logits_visitor = std::function<void(std::int64_t row, const tensor& logits)>;
next_token_scores score_next_tokens(const transformer& model, const tensor& hidden,
                                    std::span<const std::int32_t> targets, std::int64_t first, std::int64_t end,
                                    std::int64_t slice_rows = score_slice_rows, const logits_visitor& on_logits = {});

// The final hidden states [T, C] of `tokens` read from an empty context. With f32 cache types, the
// plain forward; with types of their own (f16, bf16, q8_0, q4_0) the window is read through a KV
// cache of those types in one prefill, so that every query attends to keys and values as that cache
// holds them — as llama.cpp's llama-perplexity, which reads every chunk through its cache.
tensor window_hidden(const transformer& model, std::span<const std::int32_t> tokens, const layer_positions& setup,
                     const kv_cache_types& cache_types);

}  // namespace stretch
