// A sequence classifier that `stretch finetune --task classify` wrote (DIR/finetuned.gguf: the
// trained parameters, the classes, the base model's path and the run config), read back for use:
// the base model with the method's parameters put back (probe: none; full: every weight; lora: the
// adapters merged into their matrices; lst: the side network), and the head on the pooled state
// the run trained with (pooling last or mean). What classifier guidance (generate/classifier_guide.h)
// asks of it: log p(k | tokens) for many token rows that share a prefix and differ in one last token.
//
// Two ways to compute it, which agree to float rounding: `log_probs` runs every row from its first
// token (any method); a `prefix` keeps the classifier's KV cache of the shared prefix (and, for mean
// pooling, the sum of its states) so that each candidate costs one more token — the causal
// backbone's states of the prefix do not depend on what follows. LST cannot: its side network has
// no cache (can_cache() is false).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "model/kv_cache.h"
#include "model/load.h"
#include "train/run_config.h"

namespace stretch {

class ladder_side_network;

class finetuned_classifier {
public:
    // Reads DIR/finetuned.gguf; errors name `flag` ("--guide DIR: ...").
    finetuned_classifier(const std::string& dir, const std::string& flag);
    ~finetuned_classifier();

    const std::vector<std::string>& classes() const { return classes_; }
    const tokenizer& tok() const { return *base_.tok; }
    const std::string& base_path() const { return base_.path; }
    // The class `text` names: a class as stored, else its index; errors name `flag`.
    std::int32_t class_index(const std::string& text, const std::string& flag) const;

    // log p(k | row) [rows][K] of `rows` token rows of equal length (tokens [rows * length]), each
    // run on its own from its first token.
    std::vector<std::vector<double>> log_probs(std::span<const std::int32_t> tokens, std::int64_t rows) const;

    bool can_cache() const { return ladder_ == nullptr; }
    // A prefix's cached states, for up to `capacity` tokens.
    struct prefix {
        kv_cache cache;
        layer_positions positions;
        std::vector<double> state_sum;  // [C] the sum of the prefix's final states (mean pooling)
        std::vector<std::int32_t> tokens;
    };
    prefix start(std::int64_t capacity) const;
    void extend(prefix& p, std::span<const std::int32_t> tokens) const;
    // log p(k | prefix + c) [candidates][K], one token more per candidate (the cache is unchanged).
    std::vector<std::vector<double>> log_probs_after(const prefix& p, std::span<const std::int32_t> candidates) const;

private:
    // log_softmax of the head's logits on pooled states [rows, C].
    std::vector<std::vector<double>> head(const tensor& pooled) const;

    loaded_model base_;
    run_config config_;
    std::vector<std::string> classes_;
    std::unique_ptr<ladder_side_network> ladder_;
    tensor head_weight_, head_bias_;  // [K, C] f32, [K] f32
};

}  // namespace stretch
