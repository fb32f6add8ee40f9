// Ladder Side-Tuning (methods.md E3; Sung et al. 2022, arXiv 2206.06522; Su's LST-CLUE setup,
// kexue.fm/archives/9138 and github.com/bojone/LST-CLUE src/snippets.py): a small side Transformer
// beside a frozen backbone of n_b layers, reading the backbone's states through bias-free
// down-projections,
//     h_0 = Down_0(e)                                  e: the backbone's embedding output
//     h_i = SideLayer_i(h_{i-1}) + Down_i(b_{(i+1) skip - 1}),   i = 1 .. n_s (0-based: layer i-1)
// with b_k the output of backbone layer k and skip = n_b / n_s. Defaults are Su's: 4 side layers of
// width 128, 4 heads, FFN 512. The side layers are Post-LN (as his BERT side network), initialised
// as his snippet does, "DeepNorm's idea": every side matrix N(0, 1 / (fan_in n_s)), gains 1 (a
// plain normal where he truncates one and rescales it to the same variance); the down-projections
// Xavier normal (Keras's default for his Dense layers is Xavier uniform, the same variance).
//
// The backbone runs without a tape: no backbone op is recorded, no gradient or optimizer state
// exists for it, and a step costs its forward plus the side network's forward and backward. For a
// language model the side network's output goes up to the backbone's width through Up (zero at the
// start, so training starts from the backbone's own predictions) and is added to the last backbone
// layer's output before the frozen final norm and LM head (stretch's choice, methods.md E3); those
// two frozen ops are recorded, as the gradient must pass through them.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/rng.h"
#include "model/transformer.h"
#include "train/adamw.h"
#include "train/run_config.h"

namespace stretch {

class ladder_side_network {
public:
    // A side network for `backbone` with the lst_* keys of `config`, rows of `context` tokens;
    // `language_model` adds Up. Parameters in the backbone's dtype.
    ladder_side_network(const transformer& backbone, const finetune_config& config, std::int64_t context,
                        bool language_model);

    // The side network's (named "lst.*"); the backbone's are never among them.
    const parameter_list& parameters() const { return parameters_; }
    void initialise(rng& generator);
    std::int64_t width() const { return side_.config().d_model; }

    // The side network's last states [B*T, width]; `backbone_positions` set up for the backbone at T.
    ag::var features(ag::context& ctx, std::span<const std::int32_t> tokens, std::int64_t batch, std::int64_t time,
                     const layer_positions& backbone_positions) const;
    // A language model's logits [B*T, V] through the frozen final norm and LM head.
    ag::var logits(ag::context& ctx, std::span<const std::int32_t> tokens, std::int64_t batch, std::int64_t time,
                   const layer_positions& backbone_positions) const;

private:
    struct taps {
        ag::var embedding;             // e
        std::vector<ag::var> layers;   // b_{(i+1) skip - 1}, i = 0 .. n_s - 1
        ag::var last;                  // the last backbone layer's output
    };
    taps run_backbone(std::span<const std::int32_t> tokens, std::int64_t batch, std::int64_t time,
                      const layer_positions& positions) const;
    ag::var run_side(ag::context& ctx, const taps& t, std::int64_t batch, std::int64_t time) const;

    const transformer& backbone_;
    transformer side_;
    std::int64_t skip_;
    std::vector<ag::var> down_;  // [width, C]: Down_0 .. Down_{n_s}
    ag::var up_;                 // [C, width] (language models)
    parameter_list parameters_;
};

}  // namespace stretch
