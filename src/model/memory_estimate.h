// Memory a run will need, estimated from the model's shape before anything is allocated: a length,
// context or model that cannot fit in what the machine has (core/memory.h) is refused in one line
// naming the flag and the estimate instead of being killed by the OOM killer half-way.
// The estimate counts the buffers of one forward (model/transformer.cpp): inside a block every
// intermediate of the layer stays alive until its end (the residual stream, the normed input, the
// projections, the rotated queries and keys — twice for two-score methods — the attention output,
// the SwiGLU's three [T, d_ff]); the rotation tables; the logits [rows, V]; the KV cache [capacity,
// key + value width] per layer. Training keeps every layer's intermediates on the tape, their
// gradients in the backward, and four copies of the parameters (value, gradient, two AdamW moments).
// tests/model/test_memory_estimate.cpp holds the estimate to within a factor of two of the peak
// resident memory measured in real runs.
#pragma once

#include <cstdint>
#include <string>

#include "model/config.h"
#include "model/kv_cache.h"

namespace stretch {

struct memory_estimate {
    double parameters = 0, activations = 0, logits = 0, kv_cache = 0;  // bytes
    double total() const { return parameters + activations + logits + kv_cache; }
    // "activations 1.1 GiB, logits 2.1 GiB": the nonzero parts.
    std::string parts() const;
};

// One inference forward (no tape) over `time` new tokens of one sequence with `past` tokens already
// in a KV cache of `cache_capacity` tokens (0: no cache), with `logit_rows` rows of logits alive at
// once (a slice of rows when scoring, eval/next_token.h; 1 when decoding). The weights are not
// counted: they are loaded already.
// The cache holds `cache_types` (model/kv_cache.h).
memory_estimate inference_memory(const model_config& model, std::int64_t time, std::int64_t logit_rows,
                                 std::int64_t past = 0, std::int64_t cache_capacity = 0,
                                 const kv_cache_types& cache_types = {});
// One training step on `batch` windows of `window` tokens, the parameters and optimizer included.
memory_estimate training_memory(const model_config& model, std::int64_t batch, std::int64_t window);

// Fails as core/memory.h's require_memory does, naming `what` (the flag and value, "--lengths
// 10000000") and the estimate's parts, when the estimate exceeds the memory available.
void require_memory(const memory_estimate& need, const std::string& what);

}  // namespace stretch
