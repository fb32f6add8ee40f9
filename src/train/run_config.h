// Everything a training run is configured by: the model's shape (model/config.h) and the training
// hyper-parameters, as one flat list of named keys. Presets give the starting values; a JSON config
// file (`--config FILE`, a flat object) and `--set key=value` override them, in that order. The key
// table in run_config.cpp is the single list of keys: help, parsing, JSON and the checkpoint's
// metadata are all generated from it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/numbers.h"
#include "model/config.h"

namespace stretch {

struct train_config {
    std::int64_t steps = 800;
    std::int64_t batch_size = 16;    // sequences per step, over all ranks (the global batch)
    std::int64_t micro_batches = 1;  // slices of each rank's share, run one after another
    bool zero = false;               // ZeRO-1: shard the AdamW moments over the ranks
    double lr = 2e-3;
    double min_lr_ratio = 0.1;   // cosine schedule decays to lr * min_lr_ratio
    std::int64_t warmup_steps = 50;
    double weight_decay = 0.1;   // decoupled (AdamW), matrices only
    double beta1 = 0.9;
    double beta2 = 0.95;
    double adam_eps = 1e-8;
    double grad_clip = 1.0;      // global L2 norm; 0 = off
    std::int64_t eval_every = 100;
    std::int64_t eval_windows = 16;  // validation windows of n_ctx_train tokens
    std::int64_t checkpoint_every = 100;
    std::int64_t log_every = 10;
    std::uint64_t seed = 1337;
};

// How `stretch finetune` adapts a pretrained model (train/finetune.h; methods.md E1-E3). `stretch
// train` leaves these at their defaults.
struct finetune_config {
    // full: every weight; lora: low-rank adapters; lst: a ladder side network; probe: the head alone
    std::string method = "full";
    std::string task = "lm";      // lm: next-token cross-entropy; classify: a head on a pooled hidden state
    std::string objective = "ce";  // classify: ce, hinge (Crammer-Singer), exact, exact_log
    std::string pooling = "last";  // classify: the last token's hidden state, or the mean over the passage
    bool prefixes = false;         // classify: each drawn passage cut to a random length (FUDGE's prefix classifier)
    std::int64_t context = 0;      // tokens per training sequence (lm) or passage (classify); 0: n_ctx_train
    std::int64_t lora_rank = 8;
    double lora_alpha = 16;
    std::string lora_targets = "q,k,v,o,gate,up,down";
    std::int64_t lst_layers = 4, lst_width = 128, lst_heads = 4, lst_ffn = 512;  // Su's LST-CLUE side network
    double exact_margin = 0;        // clip mu_y - mu_i at this before dividing by sigma; 0: no margin
    double exact_variance = 1;      // sigma^2 at the first step
    double exact_min_variance = 0.01;  // sigma^2 at the last (log-linear in between)
    bool operator==(const finetune_config&) const = default;
};

struct run_config {
    model_config model;
    train_config train;
    finetune_config finetune;
};

// "tiny" (seconds, for tests) or "default" (the demo model).
run_config preset(const std::string& name);
// stretch finetune's starting training keys (its model is the one it loads).
run_config finetune_preset();

// Applies a flat JSON object of keys; `where` names the source (a file) in errors.
void apply_json(run_config& config, const nlohmann::json& object, const std::string& where);
// Applies "key=value"; `where` names its source in errors ("--set KEY: found ...").
void apply_assignment(run_config& config, const std::string& assignment, const std::string& where = "--set");
void apply_config_file(run_config& config, const std::string& path);
// Sets key `name` from its text, as --set does; errors name `where` alone (a flag that stands for
// the key: "--lora-rank: found '0', expected an integer in [1, 65536]").
void apply_value(run_config& config, const std::string& name, const std::string& text, const std::string& where);

// Fails naming `where` and the first key whose value is outside its range (what --set and a config
// file are held to; for a config built in code).
void check_ranges(const run_config& config, const std::string& where);

// All keys with their current values (what a checkpoint stores and a report prints).
nlohmann::json to_json(const run_config& config);

// The range of number key `name` (what a flag standing for it shows and checks).
number_range key_range(const std::string& name);

struct config_key_info {
    std::string name;
    std::string help;
    bool model = false;     // a field of the model's shape (model/config_fields.h)
    bool finetune = false;  // a key of stretch finetune alone
};
std::vector<config_key_info> config_keys();

}  // namespace stretch
