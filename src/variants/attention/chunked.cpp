// `chunked` — chunked local attention (Llama 4): the sequence is cut into chunks of C tokens and a
// query sees only the keys of its own chunk: key j is visible to query i iff j <= i and
// floor(j / C) == floor(i / C). Unlike a window, the first query of a chunk sees a single key.
// Llama 4 uses C = 8192 (attention_chunk_size) on three layers of four, its NoPE layers attending
// globally (llama.cpp: LLAMA_SWA_TYPE_CHUNKED, n_swa 8192). C >= L is full attention. The KV cache
// keeps every key; the kernel skips the tiles before a query's chunk (O(T C) work). Default
// C = L_train, so no query sees more keys than in training.
// Source: HF transformers Llama 4 (attention_chunk_size); llama.cpp src/llama-model.cpp (LLM_ARCH_LLAMA4:
// swa_type LLAMA_SWA_TYPE_CHUNKED, n_swa 8192).
#include "variants/common.h"

namespace stretch::variants {
namespace {

const registrar reg{variant_def{
    .name = "chunked",
    .kind = variant_kind::modifier,
    .summary = "local chunks: each query sees only the keys of its own chunk of C (Llama 4)",
    .source = "HF Llama 4 attention_chunk_size; llama.cpp LLAMA_SWA_TYPE_CHUNKED",
    .params = {{.name = "chunk", .type = param_type::integer, .default_value = "auto",
                .help = "C, tokens per chunk (auto: L_train)", .min = 1.0,
                .automatic = [](const model_context& c) { return double(c.n_ctx_train); }}},
    .mask = [](const param_values& p, const model_context&, cpu::attention_rules& rules) {
        rules.chunk = p.integer("chunk");
    },
}};

}  // namespace
}  // namespace stretch::variants
