// LoRA (Hu et al. 2021, arXiv 2106.09685): chosen weight matrices W [out, in] of a frozen model get a
// trainable low-rank update,
//     y = x W^T + (alpha / r) (x A^T) B^T,   A [r, in], B [out, r],
// A drawn from N(0, 1/in) and B zero (the paper's Gaussian A and zero B), so training starts from the
// model as it was. W stays as loaded, quantised blocks included: ag::linear propagates through a
// frozen quantised W without differentiating it.
//
// Saved as llama.cpp reads LoRA adapters (src/llama-adapter.cpp, convert_lora_to_gguf.py):
// general.type = "adapter", adapter.type = "lora", adapter.lora.alpha (f32), and per matrix
// `<W's tensor name>.lora_a` with GGUF ne [in, r] and `.lora_b` with ne [r, out] (stretch's shapes
// [r, in] and [out, r]); llama.cpp scales the update by alpha / r, r = ne[0] of lora_b.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/rng.h"
#include "model/transformer.h"
#include "train/adamw.h"

namespace stretch {

class lora_adapters {
public:
    // Adapters on the block matrices of `model` that `targets` names (comma-separated q, k, v, o,
    // gate, up, down), in the model's dtype; fails naming `where` when the model has none of them.
    lora_adapters(const transformer& model, const std::string& targets, std::int64_t rank, double alpha,
                  const std::string& where);

    // lora_a and lora_b of every adapted matrix, in the model's parameter order, under llama.cpp's names.
    const parameter_list& parameters() const { return parameters_; }
    void initialise(rng& generator);
    // The forward's hook (model/transformer.h): a targeted matrix's product plus its update.
    forward_hooks hooks() const;
    // W + (alpha / r) B A of every adapted matrix (dequantised to f32), by W's name.
    std::unordered_map<std::string, tensor> merged() const;
    // llama.cpp's adapter file for a base model of architecture `arch`.
    void write_adapter(const std::string& path, const std::string& arch) const;

private:
    struct adapter {
        std::string name;  // W's tensor name
        ag::var weight, a, b;
    };
    std::vector<adapter> adapters_;
    std::unordered_map<const ag::node*, std::size_t> by_weight_;
    parameter_list parameters_;
    std::int64_t rank_;
    double alpha_;
};

}  // namespace stretch
