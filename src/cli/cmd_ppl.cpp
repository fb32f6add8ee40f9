// `stretch ppl -m MODEL -f TEXT -c CTX`: perplexity as llama.cpp's llama-perplexity computes it
// (eval/perplexity.h), with per-chunk progress in its "[chunk]ppl," form, the final
// "PPL = x +/- y" line, and JSON like `stretch eval`.
#include <algorithm>
#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
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
    std::string model, tokenizer, text, score = "all", json;
    std::int64_t n_ctx = 512, chunks = 0;
    int threads = 0;
    bool dequantize = false;
    std::shared_ptr<position_options> positions = std::make_shared<position_options>();
};

void run(const ppl_args& a) {
    if (a.threads != 0) set_threads(a.threads);
    if (a.score == "rolling") {
        const loaded_model m = load_any_model(a.model, a.tokenizer,
                                              a.dequantize ? quantized_weights::dequantize : quantized_weights::keep);
        require_memory(inference_memory(m.model->config(), a.n_ctx, std::min<std::int64_t>(a.n_ctx, score_slice_rows)),
                       fmt::format("-c {}", a.n_ctx));
        run_rolling_ppl(m, a.text, a.n_ctx, a.positions->choose(m.positions, m.path, m.model->config(), {a.n_ctx}), a.json);
        return;
    }
    const score_rule score = parse_score_rule(a.score);
    if (score.beyond) fail("--score beyond: ppl scores the second half of each chunk or last:N; expected all or last:N");
    if (score.last_n == 0 && a.n_ctx - 1 - a.n_ctx / 2 < 1)
        fail("-c {}: a chunk of {} tokens has no position to score (llama.cpp's rule scores positions n_ctx/2 .. "
             "n_ctx-2); expected -c 3 or more, or --score last:N",
             a.n_ctx, a.n_ctx);
    const loaded_model m = load_any_model(a.model, a.tokenizer,
                                          a.dequantize ? quantized_weights::dequantize : quantized_weights::keep);
    const model_config& config = m.model->config();
    require_memory(inference_memory(config, a.n_ctx, std::min<std::int64_t>(a.n_ctx, score_slice_rows)),
                   fmt::format("-c {}", a.n_ctx));
    perplexity_request request;
    request.n_ctx = a.n_ctx;
    request.last_n = score.last_n;
    request.max_chunks = a.chunks;
    request.positions = a.positions->choose(m.positions, m.path, config, {a.n_ctx});
    request.bos = m.tok->add_bos_default() ? m.tok->bos() : -1;
    const std::vector<std::int32_t> tokens = read_text_tokens(*m.tok, a.text, "-f", m.tok->add_bos_default());
    std::fprintf(stderr, "ppl: %s (%s, n_ctx_train %lld), %s: %zu tokens, n_ctx %lld, pos %s\n", m.path.c_str(),
                 m.format.c_str(), (long long)m.model->config().n_ctx_train, a.text.c_str(), tokens.size(),
                 (long long)a.n_ctx, request.positions.text().c_str());
    const perplexity_result r = llama_perplexity(*m.model, tokens, request, [](std::int64_t chunk, double ppl) {
        std::fprintf(stderr, "[%lld]%.4f,", (long long)chunk, ppl);
        std::fflush(stderr);
    });
    std::fprintf(stderr, "\n");
    std::printf("Final estimate: PPL = %.4f +/- %.5f  (%lld chunks, %lld tokens scored, %.1f s)\n", r.ppl, r.ppl_error,
                (long long)r.chunks, (long long)r.tokens, r.seconds);
    if (!a.json.empty()) {
        const nlohmann::json report = {
            {"model", m.path},
            {"text", a.text},
            {"n_ctx_train", m.model->config().n_ctx_train},
            {"pos", request.positions.text()},
            {"results",
             {{{"length", a.n_ctx}, {"mode", "llama_ppl"}, {"score", a.score}, {"loss", r.nll}, {"ppl", r.ppl},
               {"ppl_error", r.ppl_error}, {"tokens", r.tokens}, {"chunks", r.chunks}, {"seconds", r.seconds}}}}};
        write_json_atomic(a.json, report);
    }
}

}  // namespace

void add_ppl_command(CLI::App& app) {
    auto args = std::make_shared<ppl_args>();
    CLI::App* cmd = app.add_subcommand("ppl", "perplexity as llama.cpp's llama-perplexity computes it");
    cmd->add_option("-m,--model", args->model, "GGUF model, llama2.c checkpoint, or training output directory")
        ->required();
    cmd->add_option("--tokenizer", args->tokenizer, "llama2.c tokenizer.bin (default: beside the model)");
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
    cmd->callback([args] { run(*args); });
}

}  // namespace stretch::cli
