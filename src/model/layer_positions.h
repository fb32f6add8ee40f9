// The position variant of every attention layer of a model, resolved for one run. The spec a user
// names (--pos) applies to the global layers. The sliding-window layers of an architecture that has
// them (Gemma 3: five per global layer) keep plain RoPE at their own base inside their window —
// Google's 128k Gemma 3 models scale only the global layers, and llama.cpp reads the file's rope
// scaling for them alone — unless the spec ends in "@all", which gives them the spec too (within
// their window). NoPE layers (nope_every) take the spec's modifiers without a rotation.
// Layer-wise variants (HWFA) give each block the setup the variant names for it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/config.h"
#include "variants/spec.h"

namespace stretch {

class layer_positions {
public:
    // `target_length`: the tokens the run plans for (automatic scaling factors follow it);
    // `training`: the trainer's forward (random-position training draws positions then).
    layer_positions(const model_config& config, const variants::position_spec& spec, std::int64_t target_length,
                    const std::string& where, bool training = false);

    // Attention layer il's setup.
    const variants::position_setup& layer(std::int64_t il) const;
    // The global layers' setup: what names the run, and whose rotation decides when a KV cache must
    // be recomputed (LongRoPE).
    const variants::position_setup& global() const { return *setups_.front(); }
    std::int64_t n_layers() const { return std::int64_t(of_layer_.size()); }

private:
    std::vector<std::unique_ptr<variants::position_setup>> setups_;  // global first, then local, NoPE
    std::vector<const variants::position_setup*> of_layer_;           // [n_attention_layers]
};

}  // namespace stretch
