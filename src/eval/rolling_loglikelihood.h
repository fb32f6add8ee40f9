// lm-evaluation-harness's rolling log-likelihood (output_type loglikelihood_rolling: its perplexity
// tasks), request for request as its API models (local-completions) send it, so that
// `stretch ppl --score rolling` computes what lm-eval reports through `stretch serve`.
// lm-eval 0.4 with max_length M (lm_eval/models/api_models.py, lm_eval/utils.py): the document's
// tokens t (no BOS) are predicted in windows of W = M - 2 tokens (M - 1 per request, one of them
// context: get_rolling_token_windows with context_len 1, then make_disjoint_window). The first
// request is [prefix] + t[0, W) scoring t[0, W); each later one ends at e = the next W tokens' end
// and is t[e - W - 1, e), scoring its last min(W, remaining) tokens, everything before them
// context. The prefix token is the BOS id, or EOS when BOS is absent or 0 (`bos or eos`).
// The metrics are lm-eval's: word_perplexity = exp(-LL / words), byte_perplexity = exp(-LL / bytes),
// bits_per_byte = -LL / bytes / ln 2, words = len(re.split(r"\s+", text)), bytes = UTF-8 bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/transformer.h"
#include "variants/spec.h"

namespace stretch {

struct rolling_request {
    std::vector<std::int32_t> tokens;  // what one completion request sends
    std::int64_t context = 1;          // leading tokens not scored (lm-eval's ctxlen)
};

std::vector<rolling_request> rolling_requests(const std::vector<std::int32_t>& document, std::int32_t prefix,
                                              std::int64_t max_length);

struct rolling_result {
    double loglikelihood = 0;  // nats, summed over every scored token
    std::int64_t tokens = 0, requests = 0, words = 0, bytes = 0;
    double token_perplexity = 0, word_perplexity = 0, byte_perplexity = 0, bits_per_byte = 0;
};

// `document_tokens`: the text's tokens without BOS; `text`: the document as lm-eval sees it. Each
// request is read through a cache of `cache_types` when they are not f32 (eval/next_token.h).
rolling_result rolling_loglikelihood(const transformer& model, const variants::position_spec& positions,
                                     const std::vector<std::int32_t>& document_tokens, std::string_view text,
                                     std::int32_t prefix, std::int64_t max_length,
                                     const kv_cache_types& cache_types = {});

// Python's len(re.split(r"\s+", text)) for UTF-8 text: maximal runs of str.isspace() characters
// plus one.
std::int64_t count_words(std::string_view text);

}  // namespace stretch
