// --cache-type-k and --cache-type-v, llama.cpp's flags for the storage types of the KV cache (f32,
// f16, bf16, q8_0, q4_0: model/kv_cache.h), as every verb that runs a model takes them.
#pragma once

#include <CLI/CLI.hpp>

#include "model/kv_cache.h"

namespace stretch::cli {

// `types` must outlive the parse (a verb's argument struct).
void add_cache_type_options(CLI::App* cmd, kv_cache_types& types);

}  // namespace stretch::cli
