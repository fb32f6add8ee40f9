// `stretch finetune`: adapt a model the loader reads (train/finetune.h). The run config starts from
// finetune's training keys, then --config, then --set, then the flags that stand for single keys
// (--method, --lora-rank, ...); the model's shape is the loaded model's, and only --pos changes it.
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "cli/commands.h"
#include "cli/model_options.h"
#include "cli/number_options.h"
#include "cli/position_options.h"
#include "cli/ranks.h"
#include "cli/training_flags.h"
#include "core/error.h"
#include "train/finetune.h"

namespace stretch::cli {

namespace {

// The flags that set one run-config key each, in the order they are applied (after --set).
struct key_flag {
    const char* flag;
    const char* key;
    const char* help;
    const char* number_type;  // "INT" or "FLOAT" for a number key (its range checked and shown), else null
};
const key_flag key_flags[] = {
    {"--method", "method", "full, lora, lst or probe (classify: the head alone)", nullptr},
    {"--task", "task", "lm (text files) or classify (JSONL {\"text\", \"label\"})", nullptr},
    {"--objective", "objective", "classify: ce, hinge, exact or exact_log", nullptr},
    {"--pooling", "pooling", "classify: last or mean", nullptr},
    {"--context", "context", "tokens per sequence or passage (0: the model's n_ctx_train)", "INT"},
    {"--lora-rank", "lora_rank", "LoRA rank r", "INT"},
    {"--lora-alpha", "lora_alpha", "LoRA alpha (the update is alpha / r B A)", "FLOAT"},
    {"--lora-targets", "lora_targets", "matrices with adapters, comma-separated: q,k,v,o,gate,up,down", nullptr},
};

struct finetune_args {
    std::string model, tokenizer;
    std::shared_ptr<training_flags> run = std::make_shared<training_flags>();
    std::vector<std::optional<std::string>> keys = std::vector<std::optional<std::string>>(std::size(key_flags));
    std::shared_ptr<position_options> positions = std::make_shared<position_options>();
};

// The model keys (the shape) come from -m: a --config or --set that changes one is refused.
void refuse_model_keys(const run_config& before, const run_config& after, const std::string& where) {
    const nlohmann::json a = to_json(before), b = to_json(after);
    for (const config_key_info& k : config_keys())
        if (k.model && a[k.name] != b[k.name])
            fail("{}: {} is a key of the model's shape, which stretch finetune takes from -m; expected training and "
                 "fine-tuning keys (positions: --pos)",
                 where, k.name);
}

void run(const finetune_args& a) {
    use_threads(a.run->threads, communicator{});
    finetune_options options;
    options.config = finetune_preset();
    apply_training_flags(options.config, *a.run, refuse_model_keys);
    for (std::size_t i = 0; i < std::size(key_flags); ++i)
        if (a.keys[i]) apply_value(options.config, key_flags[i].key, *a.keys[i], key_flags[i].flag);
    options.model = a.model;
    options.tokenizer = a.tokenizer;
    options.pos = a.positions->pos;
    options.pos_modifiers = a.positions->modifiers;
    set_run_files(options, *a.run);
    finetune(options);
}

}  // namespace

void add_finetune_command(CLI::App& app) {
    auto args = std::make_shared<finetune_args>();
    CLI::App* cmd = app.add_subcommand("finetune", "adapt a model: full, LoRA or ladder side-tuning, for language "
                                                   "modelling or classification");
    add_model_options(cmd, args->model, args->tokenizer);
    add_training_flags(cmd, args->run,
                       {.data = "training text file (lm) or JSONL passages (classify) (repeatable)",
                        .val = "held-out text file or JSONL passages",
                        .out = "output directory (checkpoint.gguf, log.jsonl; model.gguf, adapter.gguf or finetuned.gguf)",
                        .keys = "training and fine-tuning keys"});
    for (std::size_t i = 0; i < std::size(key_flags); ++i) {
        const key_flag& k = key_flags[i];
        CLI::Option* option = cmd->add_option_function<std::string>(
            k.flag, [args, i](const std::string& value) { args->keys[i] = value; },
            fmt::format("{} (the key {})", k.help, k.key));
        if (k.number_type != nullptr) option->type_name(k.number_type)->check(in_range(key_range(k.key)));
    }
    add_position_options(cmd, args->positions);
    cmd->callback([args] { run(*args); });
}

}  // namespace stretch::cli
