// Training checkpoints: one GGUF file holding the model (model/gguf_model.h), the AdamW moments
// (`optim.m.<name>`, `optim.v.<name>`), the step, the data sampler's random state, a fingerprint of
// the training data, the rank count and the full run config (`stretch.config`, JSON). Written
// atomically (temporary file + fsync + rename), so a run killed at any moment leaves the previous
// checkpoint loadable. The optimizer passed in owns every element (train/adamw.h).
#pragma once

#include <cstdint>
#include <string>

#include "model/transformer.h"
#include "train/adamw.h"
#include "train/run_config.h"

namespace stretch {

struct training_state {
    std::int64_t step = 0;  // optimizer steps completed
    std::string sampler_state;
    std::string data_fingerprint;
    std::int64_t ranks = 1;  // the ranks that trained it (files from before data-parallel training: 1)
};

void save_checkpoint(const std::string& path, const run_config& config, const transformer& model,
                     adamw& optimizer, const training_state& state);

// The run config stored in a checkpoint (read first, to build the model and optimizer).
run_config read_checkpoint_config(const std::string& path);
// Restores weights and moments into objects built from that config; returns the state.
training_state load_checkpoint(const std::string& path, transformer& model, adamw& optimizer);

}  // namespace stretch
