// `stretch passkey -m MODEL --lengths ... --depths ...`: passkey retrieval (eval/passkey.h), an
// accuracy table over lengths x depths, and JSON.
#include <cstdio>
#include <memory>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/cache_options.h"
#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/number_options.h"
#include "cli/position_options.h"
#include "core/error.h"
#include "core/numbers.h"
#include "core/thread_pool.h"
#include "eval/by_length.h"
#include "eval/passkey.h"
#include "io/atomic_file.h"
#include "io/json_text.h"
#include "model/load.h"
#include "model/memory_estimate.h"

namespace stretch::cli {

namespace {

struct passkey_args {
    std::string model, tokenizer, lengths, depths = "0,0.25,0.5,0.75,1", json;
    std::int64_t trials = 10;
    std::uint64_t seed = 0;
    int threads = 0;
    kv_cache_types cache_types;
    std::shared_ptr<position_options> positions = std::make_shared<position_options>();
};

std::vector<double> parse_depths(const std::string& text) {
    std::vector<double> out;
    std::stringstream in(text);
    for (std::string item; std::getline(in, item, ',');) out.push_back(parse_real(item, real_range(0, 1), "--depths"));
    return out;
}

void run(const passkey_args& a) {
    if (a.threads != 0) set_threads(a.threads);
    const loaded_model m = load_any_model(a.model, a.tokenizer);
    passkey_request request;
    const std::int64_t n_ctx = m.model->config().n_ctx_train;
    request.lengths = parse_lengths(a.lengths.empty() ? fmt::format("{},{}", std::max<std::int64_t>(1, n_ctx / 2), n_ctx) : a.lengths);
    request.depths = parse_depths(a.depths);
    request.trials = a.trials;
    request.seed = a.seed;
    request.cache_types = a.cache_types;
    for (const std::int64_t length : request.lengths)  // each trial is a generation after a prompt of `length` tokens
        require_memory(inference_memory(m.model->config(), std::min<std::int64_t>(512, length), 1, length, length + 64,
                                        a.cache_types),
                       fmt::format("--lengths {}", length));
    request.positions = a.positions->choose(m.positions, m.path, m.model->config(), request.lengths);
    std::fprintf(stderr, "passkey: %s, pos %s, %lld trials per cell\n", m.path.c_str(),
                 request.positions.text().c_str(), (long long)a.trials);
    nlohmann::json rows = nlohmann::json::array();
    const auto cells = run_passkey(*m.model, *m.tok, request, [&](const passkey_cell& c) {
        std::fprintf(stderr, "  length %6lld (%6lld tokens)  depth %.2f  %lld/%lld  %.1fs  last answer: %s\n",
                     (long long)c.length, (long long)c.prompt_tokens, c.depth, (long long)c.correct,
                     (long long)c.trials, c.seconds, json_text(nlohmann::json(c.last_answer)).c_str());
        rows.push_back({{"length", c.length}, {"prompt_tokens", c.prompt_tokens}, {"depth", c.depth},
                        {"n_junk", c.n_junk}, {"trials", c.trials}, {"correct", c.correct},
                        {"accuracy", double(c.correct) / double(c.trials)}, {"seconds", c.seconds}});
    });
    std::printf("%10s", "length");
    for (const double d : request.depths) std::printf(" %7.2f", d);
    std::printf("\n");
    for (std::size_t l = 0; l < request.lengths.size(); ++l) {
        std::printf("%10lld", (long long)request.lengths[l]);
        for (std::size_t d = 0; d < request.depths.size(); ++d) {
            const auto& c = cells[l * request.depths.size() + d];
            std::printf(" %7.2f", double(c.correct) / double(c.trials));
        }
        std::printf("\n");
    }
    if (!a.json.empty()) {
        const nlohmann::json report = {{"model", m.path}, {"pos", request.positions.text()}, {"results", rows}};
        write_json_atomic(a.json, report);
    }
}

}  // namespace

void add_passkey_command(CLI::App& app) {
    auto args = std::make_shared<passkey_args>();
    CLI::App* cmd = app.add_subcommand("passkey", "passkey retrieval accuracy over lengths x depths");
    add_model_options(cmd, args->model, args->tokenizer);
    cmd->add_option("--lengths", args->lengths, "prompt lengths in tokens (default: n_ctx_train/2, n_ctx_train)");
    cmd->add_option("--depths", args->depths, "needle depths in [0, 1]")->capture_default_str();
    cmd->add_option("--trials", args->trials, "passkeys per cell")
        ->capture_default_str()
        ->check(in_range(integer_range(1, 1 << 20)));
    cmd->add_option("--seed", args->seed, "seed of the passkeys")->capture_default_str()->check(in_range(seed_range));
    cmd->add_option("--json", args->json, "also write the results as JSON to this file");
    add_threads_option(cmd, args->threads);
    add_position_options(cmd, args->positions);
    add_cache_type_options(cmd, args->cache_types);
    cmd->callback([args] { run(*args); });
}

}  // namespace stretch::cli
