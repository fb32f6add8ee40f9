// Log-probabilities of tokens from logits, as OpenAI's `logprobs` reports them: the chosen token's
// log-softmax and the k most likely alternatives, computed in double from f32 logits.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/transformer.h"
#include "serve/job.h"

namespace stretch::serve {

// `logits` [V]: the log-probability of `id` and the k most likely tokens (lower id first on ties).
scored_token score_token(std::span<const float> logits, std::int32_t id, int k);

// Rows of hidden [T, C] (final hidden states of a prompt's tokens), row i scored against
// targets[i] (rows with a negative target are skipped); the LM head runs on slices of `slice_rows`
// rows so that no [T, V] buffer is made (as eval/next_token.h).
std::vector<scored_token> score_rows(const transformer& model, const tensor& hidden,
                                     std::span<const std::int32_t> targets, int k, std::int64_t slice_rows = 128);

}  // namespace stretch::serve
