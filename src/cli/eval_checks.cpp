#include "cli/eval_checks.h"

#include <algorithm>

#include <fmt/format.h>

#include "eval/next_token.h"
#include "model/memory_estimate.h"

namespace stretch::cli {

void require_eval_memory(const model_config& model, const std::vector<std::int64_t>& lengths,
                         const kv_cache_types& cache_types) {
    for (const std::int64_t length : lengths)
        require_memory(inference_memory(model, length, std::min<std::int64_t>(length, score_slice_rows), 0,
                                        cache_types.plain() ? 0 : length, cache_types),
                       fmt::format("--lengths {}", length));
}

std::vector<std::int64_t> lengths_using_method(const eval_request& request, std::int64_t n_ctx_train) {
    std::vector<std::int64_t> out;
    for (const std::int64_t length : request.lengths)
        if (request.apply == apply_rule::always || length > n_ctx_train) out.push_back(length);
    return out;
}

}  // namespace stretch::cli
