// `stretch generate -m MODEL -p PROMPT -n N`: streamed sampling with a KV cache (generate/), any
// position variant, the model's chat template (--chat) and classifier-free guidance
// (--cfg-negative-prompt, --cfg-scale; methods.md F1) and classifier guidance (--guide DIR,
// --guide-class, --guide-scale, --guide-top-k; methods.md F2).
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "cli/cache_options.h"
#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/number_options.h"
#include "cli/position_options.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "generate/generator.h"
#include "io/chat_template.h"
#include "model/load.h"
#include "model/memory_estimate.h"
#include "train/classifier.h"

namespace stretch::cli {

namespace {

struct generate_args {
    std::string model, tokenizer, prompt, negative_prompt, guide, guide_class;
    std::int64_t n_predict = 128;
    double cfg_scale = 1.0;
    double guide_scale = 1.0;
    std::int64_t guide_top_k = 20;
    bool chat = false;
    int threads = 0;
    sampling_params sampling;
    kv_cache_types cache_types;
    std::shared_ptr<position_options> positions = std::make_shared<position_options>();
};

// The classifier must read the generating model's token ids as its own: the same vocabulary.
void check_same_tokens(const tokenizer& model, const std::string& model_path, const finetuned_classifier& guide,
                       const std::string& dir) {
    if (guide.tok().vocab_size() != model.vocab_size())
        fail("--guide {}: the classifier's base {} has {} tokens, expected the generating model's tokenizer ({}: {} tokens)",
             dir, guide.base_path(), guide.tok().vocab_size(), model_path, model.vocab_size());
    for (std::int32_t id = 0; id < model.vocab_size(); ++id)
        if (guide.tok().token_bytes(id) != model.token_bytes(id))
            fail("--guide {}: token {} of the classifier's base {} is '{}', expected the generating model's tokenizer "
                 "({}: '{}')", dir, id, guide.base_path(), guide.tok().token_bytes(id), model_path, model.token_bytes(id));
}

void run(const generate_args& a) {
    if (a.threads != 0) set_threads(a.threads);
    const loaded_model m = load_any_model(a.model, a.tokenizer);
    const tokenizer& tok = *m.tok;
    generation_request g;
    g.n_predict = a.n_predict;
    g.sampling = a.sampling;
    g.cfg_scale = a.cfg_scale;
    g.cache_types = a.cache_types;
    std::unique_ptr<finetuned_classifier> guide;
    if (!a.guide.empty()) {
        guide = std::make_unique<finetuned_classifier>(a.guide, "--guide");
        check_same_tokens(tok, m.path, *guide, a.guide);
        g.guide = {guide.get(), guide->class_index(a.guide_class, "--guide-class"), a.guide_scale, a.guide_top_k};
        g.guide.validate();
    }
    std::string prompt = a.prompt;
    if (tok.eos() >= 0) g.stop.push_back(tok.eos());
    if (a.chat) {
        const chat_prompt chat = apply_chat_template(m.chat_template, a.prompt, m.path);
        prompt = chat.text;
        for (const auto& stop : chat.stops)
            if (const auto id = tok.find(stop)) g.stop.push_back(*id);
    }
    const bool bos = tok.add_bos_default();
    g.prompt = tok.encode(prompt, bos);
    if (a.cfg_scale != 1.0) {
        g.negative = tok.encode(a.negative_prompt, bos);
        if (g.negative.empty() && tok.bos() >= 0) g.negative = {tok.bos()};
    }
    if (g.prompt.empty()) fail("-p: the prompt encodes to no tokens; expected some text");
    const std::int64_t total = std::int64_t(g.prompt.size()) + g.n_predict;
    memory_estimate need = inference_memory(m.model->config(), std::min(g.prefill_chunk, std::int64_t(g.prompt.size())),
                                            1, total, total, a.cache_types);
    if (a.cfg_scale != 1.0) need.kv_cache *= 2;  // the guidance context has a cache of its own
    require_memory(need, fmt::format("-n {} after {} prompt tokens", g.n_predict, g.prompt.size()));
    const auto positions = a.positions->choose(m.positions, m.path, m.model->config(), {total});
    std::fprintf(stderr, "generate: %s (%s), pos %s, %zu prompt tokens\n", m.path.c_str(), m.format.c_str(),
                 positions.text().c_str(), g.prompt.size());
    if (!a.chat) std::fputs(a.prompt.c_str(), stdout);
    generate(*m.model, positions, g, [&](std::int32_t id) {
        std::fputs(tok.token_bytes(id).c_str(), stdout);
        // A reader that went away (a closed pipe: EPIPE, SIGPIPE is ignored) ends the run.
        if (std::fflush(stdout) != 0) fail("standard output: {}", std::strerror(errno));
    });
    std::fputs("\n", stdout);
}

}  // namespace

void add_generate_command(CLI::App& app) {
    auto args = std::make_shared<generate_args>();
    CLI::App* cmd = app.add_subcommand("generate", "sample text from a model with a KV cache");
    add_model_options(cmd, args->model, args->tokenizer);
    cmd->add_option("-p,--prompt", args->prompt, "prompt text")->required();
    cmd->add_option("-n,--n-predict", args->n_predict, "tokens to generate")
        ->capture_default_str()
        ->check(in_range(integer_range(0, max_tokens)));
    cmd->add_option("--temp", args->sampling.temperature, "temperature (0: greedy)")
        ->capture_default_str()
        ->check(in_range(real_range(0, max_real)));
    cmd->add_option("--top-k", args->sampling.top_k, "keep the k most likely tokens (0: off)")
        ->capture_default_str()
        ->check(in_range(integer_range(0, max_tokens)));
    cmd->add_option("--top-p", args->sampling.top_p, "nucleus: smallest set with this mass (1: off)")
        ->capture_default_str()
        ->check(in_range(real_range(0, 1, true)));
    cmd->add_option("--min-p", args->sampling.min_p, "keep tokens with p >= min-p * p_max (0: off)")
        ->capture_default_str()
        ->check(in_range(real_range(0, 1)));
    cmd->add_option("--repeat-penalty", args->sampling.repeat_penalty, "CTRL repetition penalty (1: off)")
        ->capture_default_str()
        ->check(in_range(real_range(0, max_real, true)));
    cmd->add_option("--repeat-last-n", args->sampling.repeat_last_n, "tokens the penalty looks back over")
        ->capture_default_str()
        ->check(in_range(integer_range(0, max_tokens)));
    cmd->add_option("--seed", args->sampling.seed, "sampling seed")->capture_default_str()->check(in_range(seed_range));
    cmd->add_flag("--chat", args->chat, "wrap the prompt in the model's chat template (ChatML, Llama-2)");
    cmd->add_option("--cfg-negative-prompt", args->negative_prompt, "guidance context (default: empty, i.e. BOS)");
    cmd->add_option("--cfg-scale", args->cfg_scale, "classifier-free guidance gamma (1: off)")
        ->capture_default_str()
        ->check(in_range(real_range(-max_real, max_real)));
    cmd->add_option("--guide", args->guide,
                    "classifier guidance: a stretch finetune --task classify output folder (FUDGE; methods.md F2)");
    cmd->add_option("--guide-class", args->guide_class, "the class to steer towards (its name or index)");
    cmd->add_option("--guide-scale", args->guide_scale, "classifier guidance gamma (>= 0; 0: the model's own top-k)")
        ->capture_default_str()
        ->check(in_range(real_range(0, max_real)));
    cmd->add_option("--guide-top-k", args->guide_top_k, "candidates the classifier scores per step")
        ->capture_default_str()
        ->check(in_range(integer_range(1, max_tokens)));
    add_threads_option(cmd, args->threads);
    add_position_options(cmd, args->positions);
    add_cache_type_options(cmd, args->cache_types);
    cmd->callback([args] {
        if (args->guide.empty() && !args->guide_class.empty()) fail("--guide-class: given without --guide; expected both");
        if (!args->guide.empty() && args->guide_class.empty()) fail("--guide {}: no --guide-class; expected the class to steer towards", args->guide);
        run(*args);
    });
}

}  // namespace stretch::cli
