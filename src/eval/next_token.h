// Next-token loss and accuracy of a model's predictions, from the final hidden states, without a
// [T, V] logits buffer: the LM head runs on slices of rows and each slice is reduced to its
// cross-entropy (methods.md E1) at once. A 32k-token window of a 262k-token vocabulary would need
// 32 GiB of logits; a slice needs `slice_rows` x V.
#pragma once

#include <cstdint>
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
inline constexpr std::int64_t score_slice_rows = 128;
next_token_scores score_next_tokens(const transformer& model, const tensor& hidden,
                                    std::span<const std::int32_t> targets, std::int64_t first, std::int64_t end,
                                    std::int64_t slice_rows = score_slice_rows);

}  // namespace stretch
