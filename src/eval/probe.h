// The relative-position probe (methods.md G6, post 9105): the input is n copies of one token (no
// BOS) and the target at position p is the label p + 1, a classification over n labels. A small
// model is trained on it per position/attention spec, with the same seed, steps and shape, and the
// accuracy per position is reported. With softmax attention and position only in the logits (RoPE,
// ALiBi, NoPE, ...) every position computes the same thing whatever the weights, so at most one
// position can be right; absolute encodings and normalisers whose row sums grow with the number of
// keys can count.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace stretch {

struct probe_options {
    std::vector<std::string> specs;  // one model per spec (config key `pos`)
    std::int64_t length = 64;        // n = L_train: positions 0 .. n-1, labels 1 .. n
    std::int64_t steps = 300;
    double lr = 3e-3;
    std::int64_t d_model = 64, n_layer = 2, n_head = 4;
    std::uint64_t seed = 1;
};

struct probe_result {
    std::string spec;
    std::vector<std::int32_t> predicted;  // argmax label at each position after training
    double accuracy = 0;                  // fraction of positions p whose prediction is p + 1
    std::int64_t distinct_predictions = 0;
    double final_loss = 0;                // cross-entropy of the last training step, nats
};

// The input token (label 0 is never a target, so it is the one id that is not a label).
constexpr std::int32_t probe_token = 0;

// Trains and evaluates one model per spec; throws stretch::error naming a bad spec or option.
std::vector<probe_result> run_probe(const probe_options& options);

}  // namespace stretch
