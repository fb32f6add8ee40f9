// The position method of one request (issue 15): the request's `pos` — a --pos spec, "auto", or
// absent for the server's default — resolved for the request's target length, prompt +
// max_tokens, once: every key the request caches is rotated with it (never re-rotated).
//   "auto" is the smallest scaling of the model's own method that covers the target length: a
//   method with a `factor` (linear, ntk, yarn, llama3, ...) gets factor = max(1, L / L_orig), L_orig
//   its original_max_position_embeddings when given, else the training length; plain RoPE is
//   scaled with YaRN (identity at factor 1, so a request within the training length runs plain
//   RoPE); a method with nothing to scale (windows, ReRoPE) stays as it is.
// A method whose rotation switches with the current length (LongRoPE) would need its cache
// recomputed mid-request; the server refuses it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "model/layer_positions.h"
#include "model/transformer.h"
#include "variants/spec.h"

namespace stretch::serve {

// The spec "auto" stands for, for a model whose own method is `model_method`.
variants::position_spec auto_positions(const model_config& config, const std::string& model_method,
                                       std::int64_t target_length);

// Throws stretch::error naming "pos" for a spec that does not parse or resolve.
std::shared_ptr<const layer_positions> request_positions(const transformer& model, const std::string& model_method,
                                                         const variants::position_spec& server_default,
                                                         const std::optional<std::string>& requested,
                                                         std::int64_t target_length);

}  // namespace stretch::serve
