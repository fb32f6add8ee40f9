// The training loop: batches of rows, forward with a tape, backward, global-norm clipping, AdamW with
// warm-up + cosine, validation every K steps, a JSONL log line per logged step, a progress bar on a
// terminal (plain lines otherwise), and atomic checkpoints every K steps and at the end. `resume`
// continues from DIR/checkpoint.gguf so that every later loss is bit-identical to an uninterrupted
// run with the same thread count. A non-finite loss or gradient stops training with an error naming
// the first tensor that went bad; the last checkpoint is left as it was.
//
// One loop for every run: what it trains is a `training_job` (its parameters, the loss of a slice,
// validation, the files it writes) fed by a `batch_source`. `train` builds a byte-level model from
// scratch; `finetune` (train/finetune.h) adapts a loaded one, with other parameters and loss heads.
//
// Under mpirun every rank calls `train` with the same options and its own communicator: each reads
// its slices of every global batch (train/data_parallel.h); rank 0 alone reads the validation text,
// takes the output folder, logs and writes checkpoints (with every rank's optimizer state: they
// load into any run of the same rank count) and the final files. docs/distributed.md.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/communicator.h"
#include "core/rng.h"
#include "io/gguf.h"
#include "io/output_lock.h"
#include "train/adamw.h"
#include "train/data_loader.h"
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

// Trains a byte-level model from scratch on text files.
void train(const train_options& options);

// What a run trains.
class training_job {
public:
    virtual ~training_job() = default;
    // What the optimizer updates, in a fixed order (checkpoints store them by name).
    virtual const parameter_list& parameters() const = 0;
    // A fresh run's starting values of the parameters (a resumed run loads them instead).
    virtual void initialise(rng& generator) = 0;
    // The mean loss [1] over the slice's scored targets; `step` counts from 1 (schedules that
    // follow the run, as EXACT's variance).
    virtual ag::var loss(ag::context& ctx, const batch& slice, std::int64_t step) const = 0;
    // The held-out metrics after `step`, val_loss first (the one the progress line shows). Rank 0 only.
    virtual std::vector<std::pair<std::string, double>> validate(std::int64_t step) const = 0;
    // The metadata every file of the run carries (checkpoints and final files).
    virtual void describe(gguf::writer& out) const = 0;
    // Writes the final files into `dir` (rank 0); returns their paths.
    virtual std::vector<std::string> write_outputs(const std::string& dir) const = 0;
};

// A run in an output folder: takes the folder (rank 0) and settles the run config — on resume the
// checkpoint's, with what the command line gave differently reported — before the job is built.
class training_run {
public:
    // `given`: the run config to use unless resuming; `steps` overrides its steps either way.
    training_run(const run_config& given, const std::string& out_dir, bool resume, std::optional<std::int64_t> steps,
                 const communicator& ranks);

    const run_config& config() const { return config_; }
    bool resuming() const { return resume_; }
    const std::string& checkpoint_path() const { return checkpoint_path_; }
    const communicator& ranks() const { return ranks_; }

    // Trains `job` on `data` up to config().train.steps and writes its files.
    void run(training_job& job, batch_source& data);

private:
    communicator ranks_;
    std::unique_ptr<output_lock> lock_;  // rank 0 alone writes to the output folder
    std::string out_dir_, checkpoint_path_, log_path_;
    bool resume_;
    run_config config_;
};

}  // namespace stretch
