#include "eval/perplexity.h"

#include <chrono>
#include <cmath>

#include "core/error.h"
#include "kernels/cpu/cross_entropy.h"

namespace stretch {

perplexity_result llama_perplexity(const transformer& model, const std::vector<std::int32_t>& tokens,
                                   const perplexity_request& request,
                                   const std::function<void(std::int64_t, double)>& progress) {
    const std::int64_t n_ctx = request.n_ctx, n_text = std::int64_t(tokens.size());
    if (n_ctx < 2) fail("-c: found {}, expected a context of at least 2 tokens", n_ctx);
    if (request.last_n < 0 || request.last_n > n_ctx - 1)
        fail("--score last:{}: expected 1 <= N <= {} (the predictions in a chunk of {})", request.last_n, n_ctx - 1, n_ctx);
    if (n_text < 2 * n_ctx)
        fail("-f: the text has {} tokens; expected at least 2 * n_ctx = {} (as llama-perplexity)", n_text, 2 * n_ctx);
    std::int64_t n_chunks = n_text / n_ctx;
    if (request.max_chunks > 0) n_chunks = std::min(n_chunks, request.max_chunks);
    const std::int64_t first = request.last_n > 0 ? n_ctx - 1 - request.last_n : n_ctx / 2;
    const std::int64_t vocab = model.config().vocab_size;
    const variants::position_setup setup(request.positions, model.position_context(n_ctx), "--pos");

    const auto start = std::chrono::steady_clock::now();
    perplexity_result r;
    double nll = 0, nll2 = 0;
    std::vector<std::int32_t> chunk(static_cast<std::size_t>(n_ctx));
    for (std::int64_t c = 0; c < n_chunks; ++c) {
        std::copy_n(tokens.begin() + c * n_ctx, n_ctx, chunk.begin());
        if (request.bos >= 0) chunk[0] = request.bos;
        ag::context inference;
        // Shares the forward's buffer when it is already f32: a second [T, V] copy doubled peak memory.
        const tensor out = model.forward(inference, chunk, 1, n_ctx, setup)->value;
        const tensor logits = out.type() == dtype::f32 ? out : out.to(dtype::f32);
        // Row j predicts token j + 1 of the chunk (the original text, not the BOS substitute).
        std::vector<std::int32_t> targets(static_cast<std::size_t>(n_ctx), -1);
        for (std::int64_t j = first; j < n_ctx - 1; ++j) targets[std::size_t(j)] = tokens[std::size_t(c * n_ctx + j + 1)];
        std::vector<double> losses(static_cast<std::size_t>(n_ctx), 0.0);
        cpu::cross_entropy_forward<float>(logits.data<float>(), targets.data(), losses.data(), nullptr, n_ctx, vocab);
        for (std::int64_t j = first; j < n_ctx - 1; ++j) {
            nll += losses[std::size_t(j)];
            nll2 += losses[std::size_t(j)] * losses[std::size_t(j)];
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
    return r;
}

}  // namespace stretch
