// Training checkpoints: one GGUF file holding the run's metadata (what its job describes: for
// `stretch train` the model's shape and vocabulary and the full run config, `stretch.config`, JSON),
// the step, the data sampler's random state, a fingerprint of the training data, the rank count, the
// trained parameters under their names and their AdamW moments (`optim.m.<name>`, `optim.v.<name>`).
// Written atomically (temporary file + fsync + rename), so a run killed at any moment leaves the
// previous checkpoint loadable. The optimizer passed in owns every element (train/adamw.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "io/gguf.h"
#include "train/adamw.h"
#include "train/run_config.h"

namespace stretch {

struct training_state {
    std::int64_t step = 0;  // optimizer steps completed
    std::string sampler_state;
    std::string data_fingerprint;
    std::int64_t ranks = 1;  // the ranks that trained it (files from before data-parallel training: 1)
};

// `describe` writes the run's metadata first; the state, the optimizer's parameters and moments follow.
void save_checkpoint(const std::string& path, const std::function<void(gguf::writer&)>& describe, adamw& optimizer,
                     const training_state& state);

// The run config stored in a checkpoint (read first, to build the model and optimizer).
run_config read_checkpoint_config(const std::string& path);
// Restores the parameters' values and moments into an optimizer built from that config; returns the state.
training_state load_checkpoint(const std::string& path, adamw& optimizer);

}  // namespace stretch
