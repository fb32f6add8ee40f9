// Autoregressive generation with a KV cache (model/kv_cache.h): prefill the prompt in chunks, then
// one token per step through the sampler, with optional classifier-free guidance (methods.md F1: a
// second context — the negative prompt plus the same generated tokens — advancing in lockstep) and
// optional classifier guidance (F2, generate/classifier_guide.h: the candidates re-weighted by a
// classifier of the prefix before the draw); both may act in the same step, CFG first.
// Works on token ids; tokenizing and printing are the caller's.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "generate/classifier_guide.h"
#include "generate/sampler.h"
#include "model/transformer.h"
#include "variants/spec.h"

namespace stretch {

struct generation_request {
    std::vector<std::int32_t> prompt;
    std::int64_t n_predict = 64;
    sampling_params sampling;
    std::vector<std::int32_t> stop;  // generation ends after any of these (e.g. EOS)
    // Guidance: with scale != 1, `negative` (e.g. BOS + negative prompt) is the guidance context.
    double cfg_scale = 1.0;
    std::vector<std::int32_t> negative;
    classifier_guidance guide;         // --guide, --guide-class, --guide-scale, --guide-top-k
    std::int64_t prefill_chunk = 512;  // prompt tokens per forward (bounds the attention scratch)
    kv_cache_types cache_types;        // --cache-type-k / --cache-type-v
};

// Returns the generated ids (the stop token included when one ends it); `on_token` sees each as it
// is chosen. The position variant is resolved for prompt + n_predict tokens.
std::vector<std::int32_t> generate(const transformer& model, const variants::position_spec& positions,
                                   const generation_request& request,
                                   const std::function<void(std::int32_t)>& on_token = {});

// Logits [V] of the token after `tokens`, fed through `cache` in chunks (the cache keeps them).
std::vector<float> feed(const transformer& model, const layer_positions& setup, kv_cache& cache,
                        std::span<const std::int32_t> tokens, std::int64_t chunk);

}  // namespace stretch
