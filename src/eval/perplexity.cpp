#include "eval/perplexity.h"

#include <chrono>
#include <cmath>
#include <memory>

#include <fmt/format.h>

#include "core/error.h"
#include "eval/by_length.h"
#include "eval/next_token.h"

namespace stretch {

perplexity_result llama_perplexity(const transformer& model, const std::vector<std::int32_t>& tokens,
                                   const perplexity_request& request,
                                   const std::function<void(std::int64_t, double)>& progress) {
    const std::int64_t n_ctx = request.n_ctx, n_text = std::int64_t(tokens.size());
    if (request.last_n < 0 || request.last_n > n_ctx - 1)
        fail("--score last:{}: expected 1 <= N <= {} (the predictions in a chunk of {})", request.last_n, n_ctx - 1, n_ctx);
    if (request.last_n == 0 && n_ctx < 3)
        fail("-c: found {}, expected at least 3 tokens (llama-perplexity scores positions n_ctx/2 .. n_ctx-2)", n_ctx);
    const std::int64_t sample = request.last_n > 0 && request.sample_tokens > 0 ? request.sample_tokens : n_ctx;
    if (sample < n_ctx)
        fail("--sample-tokens {}: expected at least the context size {} (each chunk is a sample's last n_ctx tokens)",
             sample, n_ctx);
    if (n_text < 2 * sample)
        fail("-f: the text has {} tokens; expected at least 2 * {} = {} (as llama-perplexity)", n_text,
             sample > n_ctx ? "sample_tokens" : "n_ctx", 2 * sample);
    std::int64_t n_chunks = n_text / sample;
    if (request.max_chunks > 0) n_chunks = std::min(n_chunks, request.max_chunks);
    const std::int64_t first = request.last_n > 0 ? n_ctx - 1 - request.last_n : n_ctx / 2;
    const layer_positions setup = model.positions(request.positions, n_ctx, "--pos");
    // Row j of a chunk predicts token j + 1 of the chunk (the original text, not the BOS substitute).
    const auto targets_of = [&](std::int64_t c) {
        const std::int64_t at = c * sample + sample - n_ctx;  // the chunk is the sample's last n_ctx tokens
        std::vector<std::int32_t> targets(static_cast<std::size_t>(n_ctx), -1);
        for (std::int64_t j = first; j < n_ctx - 1; ++j) targets[std::size_t(j)] = tokens[std::size_t(at + j + 1)];
        return targets;
    };
    kl_layout layout{model.config().vocab_size, n_ctx, n_ctx - 1 - first, n_chunks, fnv1a_start,
                     fmt::format("pos {}, --cache-type-k {}, --cache-type-v {}", request.positions.text(),
                                 cpu::kv_type_name(request.cache_types.k), cpu::kv_type_name(request.cache_types.v))};
    for (std::int64_t c = 0; c < n_chunks; ++c)
        for (const std::int32_t t : targets_of(c))
            if (t >= 0) layout.targets_hash = fnv1a(layout.targets_hash, t);
    std::unique_ptr<kl_base_writer> kl_writer;
    std::unique_ptr<kl_comparison> kl_compare;
    if (!request.kl_base.empty() && request.kl_divergence)
        kl_compare = std::make_unique<kl_comparison>(request.kl_base, layout);
    else if (!request.kl_base.empty())
        kl_writer = std::make_unique<kl_base_writer>(request.kl_base, layout);

    const auto start = std::chrono::steady_clock::now();
    perplexity_result r;
    r.targets_hash = fnv1a_start;
    double nll = 0, nll2 = 0;
    std::vector<std::int32_t> chunk(static_cast<std::size_t>(n_ctx));
    for (std::int64_t c = 0; c < n_chunks; ++c) {
        std::copy_n(tokens.begin() + (c * sample + sample - n_ctx), n_ctx, chunk.begin());
        const std::vector<std::int32_t> targets = targets_of(c);
        if (request.bos >= 0) chunk[0] = request.bos;
        const tensor hidden = window_hidden(model, chunk, setup, request.cache_types);
        const next_token_scores s =
            score_next_tokens(model, hidden, targets, first, n_ctx - 1, score_slice_rows,
                              [&](std::int64_t row, const tensor& logits) {
                                  if (kl_writer) kl_writer->add(logits, logits.dim(0));
                                  if (kl_compare) kl_compare->add(logits, logits.dim(0), targets.data() + row);
                              });
        for (std::int64_t j = first; j < n_ctx - 1; ++j) {
            const double loss = s.loss[std::size_t(j - first)];
            nll += loss;
            nll2 += loss * loss;
            r.targets_hash = fnv1a(r.targets_hash, targets[std::size_t(j)]);
        }
        r.tokens += n_ctx - 1 - first;
        r.chunks = c + 1;
        if (progress) progress(c + 1, std::exp(nll / double(r.tokens)));
    }
    const double mean = nll / double(r.tokens), variance = nll2 / double(r.tokens) - mean * mean;
    r.nll = mean;
    r.ppl = std::exp(mean);
    r.ppl_error = variance > 0 && r.tokens > 1 ? std::sqrt(variance / double(r.tokens - 1)) * r.ppl : 0.0;
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (kl_writer) kl_writer->commit();
    if (kl_compare) r.kl = kl_compare->result();
    return r;
}

}  // namespace stretch
