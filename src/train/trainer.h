// The training loop: batches of random windows, forward with a tape, backward, global-norm
// clipping, AdamW with warm-up + cosine, validation loss every K steps, a JSONL log line per logged
// step, a progress bar on a terminal (plain lines otherwise), and atomic checkpoints every K steps
// and at the end. `resume` continues from DIR/checkpoint.gguf so that every later loss is
// bit-identical to an uninterrupted run with the same thread count. A non-finite loss or gradient
// stops training with an error naming the first tensor that went bad; the last checkpoint is left
// as it was.
//
// Under mpirun every rank calls `train` with the same options and its own communicator: each reads
// its slices of every global batch (train/data_parallel.h); rank 0 alone reads the validation text,
// takes the output folder, logs and writes checkpoints (with every rank's optimizer state: they
// load into any run of the same rank count) and model.gguf. docs/distributed.md.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/communicator.h"
#include "train/run_config.h"

namespace stretch {

struct train_options {
    run_config config;                  // ignored on resume, except for the overrides below
    std::vector<std::string> data;      // training text files
    std::string val;                    // held-out text file
    std::string out_dir;
    bool resume = false;
    std::optional<std::int64_t> steps;  // overrides config.train.steps (also on resume)
    communicator ranks;                 // the ranks training together (default: this process alone)
};

void train(const train_options& options);

}  // namespace stretch
