// The training-throughput peer of benchmarks.md: scripts/bench_pytorch.py runs the same model, batch
// and steps in PyTorch CPU (Debian's python3-torch, eager mode) on the same number of threads. This
// builds its command line from a run_config, runs it and reads its one-line JSON answer.
#pragma once

#include <cstdint>
#include <string>

#include "train/run_config.h"

namespace stretch {

struct pytorch_figure {
    double tokens_per_s = 0;
    std::int64_t parameters = 0;
    std::string torch_version;
};

// Runs `python script` with the model and optimizer keys of `config`, `threads`, `steps` timed steps
// after `warmup`. Throws stretch::error naming the script when it cannot run, answers something
// other than the expected JSON, or builds a model whose parameter count differs from stretch's.
pytorch_figure measure_pytorch_training(const std::string& python, const std::string& script,
                                        const run_config& config, int threads, std::int64_t steps,
                                        std::int64_t warmup);

// The command line measure_pytorch_training runs (shown by `stretch bench` so it can be rerun by hand).
std::string pytorch_command(const std::string& python, const std::string& script, const run_config& config,
                            int threads, std::int64_t steps, std::int64_t warmup);

}  // namespace stretch
