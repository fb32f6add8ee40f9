// `stretch finetune`: a model the one loader reads (model/load.h) trained further by the loop of
// train/trainer.h — the loop of `stretch train`, with another parameter set and another loss head:
//   method full: every weight (quantised matrices dequantised: f32 master weights);
//          lora: low-rank adapters on chosen matrices (train/lora.h), the base frozen in its blocks;
//          lst:  a ladder side network (train/ladder.h), the backbone frozen and run without a tape;
//          probe: a classification head alone on the frozen model (a linear probe).
//   task lm: next-token cross-entropy on windows of `context` tokens of text files, with any --pos
//            (context-extension fine-tuning: e.g. twice n_ctx_train with linear:factor=2);
//        classify: a linear head on a pooled hidden state — the last token's by default: in a causal
//            model only it has read the whole passage (Hugging Face's LlamaForSequenceClassification
//            pools the same way); or the mean over the passage — from JSONL passages
//            (train/labelled_passages.h), with the objective ce, hinge, exact or exact_log
//            (kernels/cpu/objectives.h). EXACT's variance follows its schedule over the run's steps.
// Files in --out: checkpoint.gguf (for --resume: the trained parameters, their moments and the run
// config, whose model section must match -m), log.jsonl, and
//   lm with full or lora: model.gguf, the whole fine-tuned model (LoRA merged into its matrices) with
//       the base's tokenizer and the run's positions as its own, read by every verb;
//   lora with lm: adapter.gguf, the adapters as llama.cpp loads them (llama-cpp-python's lora_path);
//   classify, or lst: finetuned.gguf, the trained parameters (a classifier's classes named in
//       stretch.finetune.classes) and the base model's path (stretch.finetune.base).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "train/run_config.h"

namespace stretch {

struct finetune_options {
    std::string model;      // what load_any_model reads
    std::string tokenizer;  // a llama2.c model's tokenizer.bin ("": beside it)
    run_config config;      // training and fine-tuning keys; the model section is the loaded model's
    std::string pos;        // --pos ("": the model's own) and its modifier flags
    std::vector<std::string> pos_modifiers;
    std::vector<std::string> data;  // text files (lm) or JSONL (classify)
    std::string val;
    std::string out_dir;
    bool resume = false;
    std::optional<std::int64_t> steps;
};

void finetune(const finetune_options& options);

}  // namespace stretch
