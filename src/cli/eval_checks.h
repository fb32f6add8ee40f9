// What eval, sweep and zoo check before their first window: that every length fits in memory
// (model/memory_estimate.h), and at which lengths the method under test runs at all.
#pragma once

#include <cstdint>
#include <vector>

#include "eval/by_length.h"
#include "model/config.h"

namespace stretch::cli {

// Fails naming "--lengths L" and the estimate for the first length whose forward cannot fit (with
// a cache of `cache_types` for the window when they are not f32: eval/next_token.h).
void require_eval_memory(const model_config& model, const std::vector<std::int64_t>& lengths,
                         const kv_cache_types& cache_types = {});
// The lengths at which `request.positions` runs: all, or under --apply beyond_train those past L_train.
std::vector<std::int64_t> lengths_using_method(const eval_request& request, std::int64_t n_ctx_train);

}  // namespace stretch::cli
