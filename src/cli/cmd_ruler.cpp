// `stretch ruler -m MODEL --lengths ... [--tasks ...]`: the RULER tasks that need no downloaded data
// (eval/ruler.h), a task x length table with the leaderboard's three means on stdout, and optionally
// JSON and the NIAH depth x length heatmaps as SVG (docs/ruler.md).
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/number_options.h"
#include "cli/position_options.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "eval/by_length.h"
#include "eval/ruler.h"
#include "eval/ruler_report.h"
#include "io/atomic_file.h"
#include "io/corpus.h"
#include "io/json_text.h"
#include "model/load.h"
#include "model/memory_estimate.h"

namespace stretch::cli {

namespace {

constexpr const char* default_haystack = "austen-persuasion.txt";

struct ruler_args {
    std::string model, tokenizer, lengths, tasks = "all", haystack, json, svg;
    std::int64_t samples = 10;
    std::uint64_t seed = 42;
    int threads = 0;
    std::shared_ptr<position_options> positions = std::make_shared<position_options>();
};

// --haystack, else the held-out Austen novel where scripts/common.sh looks for the texts.
std::string haystack_path(const std::string& given) {
    if (!given.empty()) return given;
    std::vector<std::string> folders;
    if (const char* env = std::getenv("STRETCH_DATA")) folders.emplace_back(env);
    folders.insert(folders.end(), {"../shared/data", "data"});
    for (const std::string& folder : folders)
        if (std::filesystem::is_regular_file(folder + "/" + default_haystack)) return folder + "/" + default_haystack;
    fail("--haystack: not given, and no {} in $STRETCH_DATA, ../shared/data or data/ (scripts/get_data.sh fetches "
         "it); expected a text for RULER's essay haystack",
         default_haystack);
}

ruler_sources read_sources(const std::vector<const ruler_task*>& tasks, const std::string& haystack) {
    ruler_sources sources;
    const auto any = [&](bool (ruler_task::*needs)() const) {
        return std::any_of(tasks.begin(), tasks.end(), [&](const ruler_task* t) { return (t->*needs)(); });
    };
    if (any(&ruler_task::needs_words)) sources.words = read_wonderwords(wonderwords_folder());
    if (any(&ruler_task::needs_essay)) {
        const std::string path = haystack_path(haystack);
        sources.essay = haystack_words(read_text_file(path), path);
    }
    return sources;
}

void run(const ruler_args& a) {
    if (a.threads != 0) set_threads(a.threads);
    const loaded_model m = load_any_model(a.model, a.tokenizer);
    ruler_request request;
    request.lengths = parse_lengths(a.lengths.empty() ? std::to_string(m.model->config().n_ctx_train) : a.lengths);
    request.tasks = parse_ruler_tasks(a.tasks);
    if (!a.svg.empty() && std::none_of(request.tasks.begin(), request.tasks.end(),
                                       [](const ruler_task* t) { return t->family == ruler_family::niah; }))
        fail("--svg: no NIAH task in --tasks, so there is no depth x length heatmap to draw");
    request.samples = a.samples;
    request.seed = a.seed;
    for (const std::int64_t length : request.lengths)  // each sample: a prompt and its answer within `length` tokens
        require_memory(inference_memory(m.model->config(), std::min<std::int64_t>(512, length), 1, length, length),
                       fmt::format("--lengths {}", length));
    request.positions = a.positions->choose(m.positions, m.path, m.model->config(), request.lengths);
    const ruler_sources sources = read_sources(request.tasks, a.haystack);
    std::fprintf(stderr, "ruler: %s, pos %s, %lld samples per cell\n", m.path.c_str(), request.positions.text().c_str(),
                 (long long)a.samples);
    const auto cells = run_ruler(*m.model, *m.tok, sources, request, [](const ruler_cell& c) {
        std::fprintf(stderr, "  %-16s length %6lld  score %6.2f  %.1fs  last answer: %s\n", c.task.c_str(),
                     (long long)c.length, c.score, c.seconds, json_text(nlohmann::json(c.samples.back().prediction)).c_str());
    });
    const ruler_summary summary = summarize_ruler(cells);
    std::printf("%s", ruler_table(cells, summary).c_str());
    if (!a.json.empty())
        write_json_atomic(a.json, ruler_json(cells, summary,
                                             {{"model", m.path},
                                              {"pos", request.positions.text()},
                                              {"samples", a.samples},
                                              {"seed", a.seed},
                                              {"haystack", sources.essay.empty() ? "" : haystack_path(a.haystack)}}));
    if (!a.svg.empty()) write_text_atomic(a.svg, heatmap_svg(ruler_heatmaps(cells), "answers found (%)", 0, 100));
}

}  // namespace

void add_ruler_command(CLI::App& app) {
    auto args = std::make_shared<ruler_args>();
    CLI::App* cmd = app.add_subcommand("ruler", "RULER's synthetic tasks (NIAH, variable tracking, common/frequent words)");
    add_model_options(cmd, args->model, args->tokenizer);
    cmd->add_option("--lengths", args->lengths, "target lengths in model tokens, prompt and answer (default: n_ctx_train)");
    cmd->add_option("--tasks", args->tasks, "comma-separated task names, or all")->capture_default_str();
    cmd->add_option("--samples", args->samples, "samples per task and length")
        ->capture_default_str()
        ->check(in_range(integer_range(1, 1 << 20)));
    cmd->add_option("--seed", args->seed, "seed of the samples")->capture_default_str()->check(in_range(seed_range));
    cmd->add_option("--haystack", args->haystack,
                    std::string("text of the essay haystack (default: ") + default_haystack + " of the data folder)");
    cmd->add_option("--json", args->json, "also write the results, every sample's answer included, as JSON");
    cmd->add_option("--svg", args->svg, "also draw the NIAH tasks' depth x length heatmaps into this SVG file");
    add_threads_option(cmd, args->threads);
    add_position_options(cmd, args->positions);
    cmd->callback([args] { run(*args); });
}

}  // namespace stretch::cli
