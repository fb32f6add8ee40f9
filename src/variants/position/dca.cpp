// `dca` — Dual Chunk Attention (arXiv 2402.17463, ChunkLlama; vLLM's DualChunkRotaryEmbedding and
// dual-chunk flash attention, which serve Qwen2.5-1M). The sequence is cut into chunks of
// c = chunk_size - local_size tokens; every key sits at j mod c, and the query at one of three
// positions, by the chunk the key lies in:
//   intra-chunk  (the query's own chunk):    i mod c
//   successive   (the chunk before it):      min(i mod c + c, chunk_size)
//   inter-chunk  (every earlier chunk):      min(2c - 1, chunk_size)
// The three attentions are merged by log-sum-exp, i.e. one softmax over all their scores, and no
// relative position exceeds chunk_size. As a two-score variant (derived): intra-chunk pairs, and
// successive pairs with i mod c < local_size, have rho = i - j exactly (plain RoPE); for every other
// pair the query position is the constant min(2c - 1, chunk_size) (the successive one reaches its cap
// chunk_size = c + local_size exactly when i mod c >= local_size, and then local_size < c), the key's
// j mod c. The far keys
// of query i are j < c (floor(i / c) - [i mod c < local_size]). The KV cache keeps keys unrotated and
// rotates them at j and j mod c every step, so decoding equals recomputation.
// Defaults (ChunkLlama's replace_with_chunkllama): chunk_size = 3 L_train / 4, local_size = L_train / 16;
// Qwen2.5-1M ships chunk_size = L_train = 262144, local_size = 8192. chunk_size >= L with
// local_size <= chunk_size / 2 gives default. vLLM's optional logit factor
// max(1, 0.1 ln(L / original_max_position_embeddings) + 1) on q and k is not part of this variant.
// Source: arXiv 2402.17463; github.com/HKUNLP/ChunkLlama chunkllama_attn_replace.py;
// vllm/model_executor/layers/rotary_embedding/dual_chunk_rope.py, vllm/attention/backends/dual_chunk_flash_attn.py.
#include <algorithm>

#include "core/error.h"
#include "variants/common.h"

namespace stretch::variants {
namespace {

const registrar reg{variant_def{
    .name = "dca",
    .kind = variant_kind::position,
    .summary = "Dual Chunk Attention: keys at j mod c, intra/successive/inter-chunk query positions",
    .source = "arXiv 2402.17463; vLLM DualChunkRotaryEmbedding (Qwen2.5-1M)",
    .params = {{.name = "chunk_size", .type = param_type::integer, .default_value = "auto",
                .help = "no relative position exceeds it; chunks are chunk_size - local_size long (auto: 3 L_train / 4)",
                .min = 2.0,
                .automatic = [](const model_context& c) { return double(std::max<std::int64_t>(2, 3 * c.n_ctx_train / 4)); }},
               {.name = "local_size", .type = param_type::integer, .default_value = "auto",
                .help = "queries this close to their chunk's start see the previous chunk exactly (auto: L_train / 16)",
                .min = 0.0,
                .automatic = [](const model_context& c) { return double(c.n_ctx_train / 16); }}},
    .far = [](const param_values& p, const model_context&) {
        const std::int64_t size = p.integer("chunk_size"), local = p.integer("local_size"), c = size - local;
        const double inter_query = double(std::min(2 * c - 1, size));
        return far_branch{[c, local](std::int64_t i) { return c * (i / c - (i % c < local ? 1 : 0)); },
                          [inter_query](std::int64_t) { return inter_query; },
                          [c](std::int64_t j) { return double(j % c); }};
    },
    .validate = [](const param_values& p, const model_context&) {
        if (p.integer("local_size") >= p.integer("chunk_size"))
            fail("dca.local_size = {} must be below dca.chunk_size = {} (chunks are chunk_size - local_size long)",
                 p.integer("local_size"), p.integer("chunk_size"));
    },
}};

}  // namespace
}  // namespace stretch::variants
