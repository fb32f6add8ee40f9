// `stretch ppl -m MODEL -f TEXT -c CTX`: perplexity as llama.cpp's llama-perplexity computes it
// (eval/perplexity.h), with per-chunk progress in its "[chunk]ppl," form, the final
// "PPL = x +/- y" line, and JSON like `stretch eval`.
#include <algorithm>
#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/cache_options.h"
#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/number_options.h"
#include "cli/position_options.h"
#include "cli/ppl_rolling.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "eval/by_length.h"
#include "eval/next_token.h"
#include "eval/perplexity.h"
#include "io/atomic_file.h"
#include "io/corpus.h"
#include "io/json_text.h"
#include "model/load.h"
#include "model/memory_estimate.h"

namespace stretch::cli {

namespace {

struct ppl_args {
    std::string model, tokenizer, text, score = "all", json, kl_base;
    std::int64_t n_ctx = 512, chunks = 0;
    int threads = 0;
    bool dequantize = false, kl_divergence = false;
    kv_cache_types cache_types;
    std::shared_ptr<position_options> positions = std::make_shared<position_options>();
};

// One chunk's forward, read through a cache of the chunk's length when the types are not f32.
memory_estimate chunk_memory(const model_config& config, const ppl_args& a) {
    return inference_memory(config, a.n_ctx, std::min<std::int64_t>(a.n_ctx, score_slice_rows), 0,
                            a.cache_types.plain() ? 0 : a.n_ctx, a.cache_types);
}

// llama-perplexity's KL divergence report, in its words.
void print_kl(const kl_result& kl, double ppl) {
    std::printf("KL divergence from the base run (%s), %lld tokens:\n", kl.base.c_str(), (long long)kl.tokens);
    std::printf("Mean PPL(Q)/PPL(base): %.6f  (PPL(base) = %.4f)\n", ppl / kl.base_ppl, kl.base_ppl);
    std::printf("Mean    KLD: %10.6f +/- %.6f\n", kl.mean, kl.mean_error);
    std::printf("Maximum KLD: %10.6f\n99.0%%   KLD: %10.6f\nMedian  KLD: %10.6f\n", kl.max, kl.p99, kl.median);
    std::printf("Same top p: %.3f %%\n", 100 * kl.same_top);
}

void run(const ppl_args& a) {
    if (a.threads != 0) set_threads(a.threads);
    if (a.score == "rolling") {
        const loaded_model m = load_any_model(a.model, a.tokenizer,
                                              a.dequantize ? quantized_weights::dequantize : quantized_weights::keep);
        if (!a.kl_base.empty()) fail("--kl-divergence-base: --score rolling has no KL divergence; expected all or last:N");
        require_memory(chunk_memory(m.model->config(), a), fmt::format("-c {}", a.n_ctx));
        run_rolling_ppl(m, a.text, a.n_ctx, a.positions->choose(m.positions, m.path, m.model->config(), {a.n_ctx}),
                        a.cache_types, a.json);
        return;
    }
    if (a.kl_divergence && a.kl_base.empty())
        fail("--kl-divergence: expected --kl-divergence-base FILE too (the file a base run wrote)");
    const score_rule score = parse_score_rule(a.score);
    if (score.beyond) fail("--score beyond: ppl scores the second half of each chunk or last:N; expected all or last:N");
    if (score.last_n == 0 && a.n_ctx - 1 - a.n_ctx / 2 < 1)
        fail("-c {}: a chunk of {} tokens has no position to score (llama.cpp's rule scores positions n_ctx/2 .. "
             "n_ctx-2); expected -c 3 or more, or --score last:N",
             a.n_ctx, a.n_ctx);
    const loaded_model m = load_any_model(a.model, a.tokenizer,
                                          a.dequantize ? quantized_weights::dequantize : quantized_weights::keep);
    const model_config& config = m.model->config();
    check_cache_types(config, a.cache_types);
    require_memory(chunk_memory(config, a), fmt::format("-c {}", a.n_ctx));
    perplexity_request request;
    request.n_ctx = a.n_ctx;
    request.last_n = score.last_n;
    request.max_chunks = a.chunks;
    request.positions = a.positions->choose(m.positions, m.path, config, {a.n_ctx});
    request.bos = m.tok->add_bos_default() ? m.tok->bos() : -1;
    request.cache_types = a.cache_types;
    request.kl_base = a.kl_base;
    request.kl_divergence = a.kl_divergence;
    const std::vector<std::int32_t> tokens = read_text_tokens(*m.tok, a.text, "-f", m.tok->add_bos_default());
    std::fprintf(stderr, "ppl: %s (%s, n_ctx_train %lld), %s: %zu tokens, n_ctx %lld, pos %s, cache %s / %s\n",
                 m.path.c_str(), m.format.c_str(), (long long)m.model->config().n_ctx_train, a.text.c_str(),
                 tokens.size(), (long long)a.n_ctx, request.positions.text().c_str(),
                 cpu::kv_type_name(a.cache_types.k), cpu::kv_type_name(a.cache_types.v));
    const perplexity_result r = llama_perplexity(*m.model, tokens, request, [](std::int64_t chunk, double ppl) {
        std::fprintf(stderr, "[%lld]%.4f,", (long long)chunk, ppl);
        std::fflush(stderr);
    });
    std::fprintf(stderr, "\n");
    std::printf("Final estimate: PPL = %.4f +/- %.5f  (%lld chunks, %lld tokens scored, %.1f s)\n", r.ppl, r.ppl_error,
                (long long)r.chunks, (long long)r.tokens, r.seconds);
    if (r.kl) print_kl(*r.kl, r.ppl);
    if (!a.json.empty()) {
        nlohmann::json result = {{"length", a.n_ctx}, {"mode", "llama_ppl"}, {"score", a.score}, {"loss", r.nll},
                                 {"ppl", r.ppl},      {"ppl_error", r.ppl_error}, {"tokens", r.tokens},
                                 {"chunks", r.chunks}, {"seconds", r.seconds}};
        if (r.kl)
            result["kl_divergence"] = {{"base", r.kl->base},         {"mean", r.kl->mean},
                                       {"mean_error", r.kl->mean_error}, {"median", r.kl->median},
                                       {"p99", r.kl->p99},           {"max", r.kl->max},
                                       {"same_top", r.kl->same_top}, {"base_ppl", r.kl->base_ppl}};
        const nlohmann::json report = {{"model", m.path},
                                       {"text", a.text},
                                       {"n_ctx_train", m.model->config().n_ctx_train},
                                       {"pos", request.positions.text()},
                                       {"cache_type_k", cpu::kv_type_name(a.cache_types.k)},
                                       {"cache_type_v", cpu::kv_type_name(a.cache_types.v)},
                                       {"results", {result}}};
        write_json_atomic(a.json, report);
    }
}

}  // namespace

void add_ppl_command(CLI::App& app) {
    auto args = std::make_shared<ppl_args>();
    CLI::App* cmd = app.add_subcommand("ppl", "perplexity as llama.cpp's llama-perplexity computes it");
    add_model_options(cmd, args->model, args->tokenizer);
    cmd->add_option("-f,--file", args->text, "text file")->required();
    cmd->add_option("-c,--ctx-size", args->n_ctx, "context (chunk) size in tokens")
        ->capture_default_str()
        ->check(in_range(integer_range(2, max_tokens)));
    cmd->add_option("--score", args->score, "all: llama.cpp's second half of each chunk; last:N: the last N; rolling: "
                    "lm-eval's loglikelihood_rolling with -c as its max_length")
        ->capture_default_str();
    cmd->add_option("--chunks", args->chunks, "at most this many chunks (0: all)")
        ->capture_default_str()
        ->check(in_range(integer_range(0, max_tokens)));
    cmd->add_option("--json", args->json, "also write the result as JSON to this file");
    add_threads_option(cmd, args->threads);
    cmd->add_flag("--dequantize", args->dequantize, "multiply in f32 with quantised weights dequantised at load");
    add_position_options(cmd, args->positions);
    add_cache_type_options(cmd, args->cache_types);
    cmd->add_option("--kl-divergence-base", args->kl_base,
                    "write the scored tokens' log-probabilities to this file (the base run), or with "
                    "--kl-divergence read them and report the KL divergence from them (llama-perplexity's flags)");
    cmd->add_flag("--kl-divergence", args->kl_divergence, "compare with --kl-divergence-base (see there)");
    cmd->callback([args] { run(*args); });
}

}  // namespace stretch::cli
