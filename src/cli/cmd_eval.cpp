// `stretch eval`: per-length loss, perplexity, bits per byte and accuracy of any model on a
// held-out text in the model's own tokens (eval/by_length.h), as a table on stdout and optionally
// JSON (with the loss and accuracy per bucket of positions, and G3's scored-targets hash).
#include <algorithm>
#include <cstdio>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/cache_options.h"
#include "cli/commands.h"
#include "cli/eval_checks.h"
#include "cli/model_options.h"
#include "cli/number_options.h"
#include "cli/position_options.h"
#include "core/thread_pool.h"
#include "eval/by_length.h"
#include "io/atomic_file.h"
#include "io/corpus.h"
#include "io/json_text.h"
#include "model/load.h"

namespace stretch::cli {

namespace {

struct eval_args {
    std::string model, tokenizer;
    std::string text;
    std::string lengths = "256,512,1024,2048,4096";
    std::string mode = "plain";
    std::string score = "all";
    std::string apply = "always";
    std::string json;
    std::int64_t tokens = 16384, bucket = 256, sample_tokens = 0;
    int threads = 0;
    kv_cache_types cache_types;
    std::shared_ptr<position_options> positions = std::make_shared<position_options>();
};

// G3's samples: each the longest length + 1 tokens unless --sample-tokens says more (a table whose
// lengths run separately gives every run its longest length + 1, so all score the same targets).
std::int64_t g3_sample_tokens(const eval_request& request, std::int64_t given) {
    const std::int64_t longest = *std::max_element(request.lengths.begin(), request.lengths.end());
    if (given == 0) return request.score.last_n > 0 ? longest + 1 : 0;
    if (request.score.last_n == 0)
        fail("--sample-tokens {}: G3's samples exist only with --score last:N; found --score {}", given,
             request.score.text());
    if (given < longest + 1)
        fail("--sample-tokens {}: shorter than the longest length {} + 1; expected at least {}", given, longest,
             longest + 1);
    return given;
}

void run(const eval_args& a) {
    if (a.threads != 0) set_threads(a.threads);
    eval_request request;
    request.lengths = parse_lengths(a.lengths);
    request.mode = parse_eval_mode(a.mode);
    request.score = parse_score_rule(a.score);
    request.token_budget = a.tokens;
    request.bucket = a.bucket;
    request.cache_types = a.cache_types;
    const loaded_model m = load_any_model(a.model, a.tokenizer);
    const transformer& model = *m.model;
    const model_config& config = model.config();
    const std::string& model_path = m.path;
    const std::int64_t n_ctx = config.n_ctx_train;
    request.apply = parse_apply_rule(a.apply);
    use_tokenizer(request, *m.tok);
    request.sample_tokens = g3_sample_tokens(request, a.sample_tokens);
    check_eval_request(request, n_ctx);
    check_cache_types(config, a.cache_types);
    require_eval_memory(config, request.lengths, a.cache_types);
    request.trained = variants::parse_spec(m.positions, fmt::format("{}: the model's own positions", model_path));
    request.positions = a.positions->choose(m.positions, model_path, config, lengths_using_method(request, n_ctx));
    request.positions_where = a.positions->where(model_path);
    const auto tokens = read_text_tokens(*m.tok, a.text, "--text");

    const std::string method = request.positions.text();
    std::printf("model %s (n_ctx_train %lld), text %s (%zu tokens), mode %s, score %s, pos %s, apply %s\n",
                model_path.c_str(), (long long)n_ctx, a.text.c_str(), tokens.size(), a.mode.c_str(),
                request.score.text().c_str(), method.c_str(), a.apply.c_str());
    std::printf("%8s %7s %9s %9s %10s %7s %8s %9s %8s\n", "length", "x_train", "mode", "loss", "ppl", "bpb",
                "accuracy", "tokens", "seconds");
    nlohmann::json results = nlohmann::json::array();
    for (const std::int64_t length : request.lengths) {
        eval_request one = request;
        one.lengths = {length};
        const length_result r = evaluate_by_length(model, tokens, a.text, one).front();
        std::printf("%8lld %7s %9s %9.4f %10.3f %7.4f %8.4f %9lld %8.1f\n", (long long)r.length,
                    fmt::format("{:g}", double(r.length) / double(n_ctx)).c_str(), eval_mode_name(r.mode), r.loss,
                    r.ppl, r.bpb, r.accuracy, (long long)r.tokens, r.seconds);
        std::fflush(stdout);
        nlohmann::json buckets = nlohmann::json::array();
        for (const bucket_result& b : r.buckets)
            buckets.push_back(
                {{"first", b.first}, {"end", b.end}, {"loss", b.loss}, {"accuracy", b.accuracy}, {"tokens", b.tokens}});
        results.push_back({{"length", r.length},
                           {"mode", eval_mode_name(r.mode)},
                           {"score", r.score.text()},
                           {"loss", r.loss},
                           {"ppl", r.ppl},
                           {"bpb", r.bpb},
                           {"accuracy", r.accuracy},
                           {"tokens", r.tokens},
                           {"bytes", r.bytes},
                           {"seconds", r.seconds},
                           {"targets_hash", fmt::format("{:016x}", r.targets_hash)},
                           {"buckets", buckets}});
    }
    if (!a.json.empty()) {
        const nlohmann::json report = {{"model", model_path}, {"text", a.text},   {"n_ctx_train", n_ctx},
                                       {"pos", method},       {"apply", a.apply}, {"results", results}};
        write_json_atomic(a.json, report);
    }
}

}  // namespace

void add_eval_command(CLI::App& app) {
    auto args = std::make_shared<eval_args>();
    CLI::App* cmd = app.add_subcommand("eval", "loss, perplexity, bits per byte and accuracy per context length");
    add_model_options(cmd, args->model, args->tokenizer);
    cmd->add_option("--text", args->text, "held-out text file")->required();
    cmd->add_option("--lengths", args->lengths, "comma-separated context lengths")->capture_default_str();
    cmd->add_option("--mode", args->mode, "plain, repeated or mixed (half the windows each)")->capture_default_str();
    cmd->add_option("--score", args->score,
                    "all, last:N (G3: every length scores the same last N tokens of each sample) or beyond "
                    "(the positions past n_ctx_train)")
        ->capture_default_str();
    cmd->add_option("--bucket", args->bucket, "positions per bucket of the JSON's per-position losses")
        ->capture_default_str()
        ->check(in_range(token_range));
    cmd->add_option("--apply", args->apply, "always, or beyond_train (up to L_train the model runs its own encoding; methods.md G1)")->capture_default_str();
    cmd->add_option("--tokens", args->tokens, "scored tokens per length (at least one window)")
        ->capture_default_str()
        ->check(in_range(token_range));
    cmd->add_option("--sample-tokens", args->sample_tokens,
                    "with --score last:N, tokens per sample (default: the longest length + 1); runs of one "
                    "table's lengths given separately share it, and so score the same targets")
        ->check(in_range(token_range));
    cmd->add_option("--json", args->json, "also write the results as JSON to this file");
    add_threads_option(cmd, args->threads);
    add_position_options(cmd, args->positions);
    add_cache_type_options(cmd, args->cache_types);
    cmd->callback([args] { run(*args); });
}

}  // namespace stretch::cli
