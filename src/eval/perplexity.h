// Perplexity as llama.cpp's llama-perplexity computes it (methods.md G4 `llama_ppl`), so numbers
// compare with llama.cpp's on the same file: the text's tokens are cut into non-overlapping chunks
// of n_ctx (the remainder dropped), each chunk's first token is replaced by BOS when the vocabulary
// adds one, each chunk is evaluated from an empty context, and only the second half is scored
// (positions n_ctx/2 .. n_ctx-2 predicting the next token). `last:N` scores the last N predictions
// of each chunk instead; with `sample_tokens` S > n_ctx the text is cut into samples of S tokens and
// each chunk is the last n_ctx tokens of one (G3, as `stretch eval --score last:N`: runs at
// different n_ctx with the same S score the same targets; the result carries their hash).
// PPL = exp(mean NLL), with llama.cpp's error estimate
// ppl * sqrt((mean(nll^2) - mean(nll)^2) / (count - 1)).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "eval/kl_divergence.h"
#include "model/transformer.h"
#include "variants/spec.h"

namespace stretch {

struct perplexity_request {
    std::int64_t n_ctx = 512;
    std::int64_t last_n = 0;        // 0: llama.cpp's second half
    std::int64_t max_chunks = 0;    // 0: every whole chunk of the text
    std::int64_t sample_tokens = 0; // last:N only: samples of this many tokens (0: n_ctx)
    std::int32_t bos = -1;          // >= 0: replaces the first token of every chunk
    variants::position_spec positions = variants::parse_spec("default", "--pos");
    kv_cache_types cache_types;     // not f32: each chunk is read through a cache of these types
    // --kl-divergence-base FILE: write the scored rows' log-probabilities there, or with
    // kl_divergence compare this run's with them (eval/kl_divergence.h).
    std::string kl_base;
    bool kl_divergence = false;
};

struct perplexity_result {
    double ppl = 0, ppl_error = 0, nll = 0;  // nll: mean nats per scored token
    std::int64_t tokens = 0, chunks = 0;
    std::uint64_t targets_hash = 0;  // FNV-1a of the scored target ids (eval/by_length.h)
    double seconds = 0;
    std::optional<kl_result> kl;  // with --kl-divergence
};

// `progress(chunk, running_ppl)` after every chunk. Throws stretch::error when the text has fewer
// than two chunks' worth of tokens (as llama-perplexity) or a setting is impossible.
perplexity_result llama_perplexity(const transformer& model, const std::vector<std::int32_t>& tokens,
                                   const perplexity_request& request,
                                   const std::function<void(std::int64_t, double)>& progress = {});

}  // namespace stretch
