// `stretch ppl --score rolling`: lm-evaluation-harness's rolling log-likelihood
// (eval/rolling_loglikelihood.h) with -c as lm-eval's max_length.
#pragma once

#include <string>

#include "model/load.h"
#include "variants/spec.h"

namespace stretch::cli {

void run_rolling_ppl(const loaded_model& m, const std::string& text_path, std::int64_t max_length,
                     const variants::position_spec& positions, const kv_cache_types& cache_types,
                     const std::string& json_path);

}  // namespace stretch::cli
