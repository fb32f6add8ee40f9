// The training-throughput peer of benchmarks.md: scripts/bench_pytorch.py runs the same model, batch
// and steps in PyTorch CPU (Debian's python3-torch, eager mode) on the same number of threads. This
// builds its command line from a run_config, runs it and reads its one-line JSON answer.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "train/run_config.h"

namespace stretch {

struct pytorch_figure {
    double tokens_per_s = 0;
    std::int64_t parameters = 0;
    std::string torch_version;
    std::string openblas_core;  // the core type its OpenBLAS ran
};

// The peer at its best: Debian's OpenBLAS picks its kernels by CPU model and falls back to SSE3 ones
// on a CPU it does not know (issue 19: 61 GFLOP/s on a Sapphire Rapids Xeon, 4x slower than with
// OPENBLAS_CORETYPE=SkylakeX). So the script's GEMM probe runs under each core type that could suit
// an x86-64 CPU, and the peer runs with the fastest, set for its command only.
struct openblas_probe {
    std::string coretype;  // OPENBLAS_CORETYPE given ("": OpenBLAS's own choice)
    std::string core;      // the core type OpenBLAS reported using ("": the probe failed, e.g. SIGILL)
    double gemm_gflops = 0;
};
struct openblas_choice {
    std::string coretype;  // the fastest probe's OPENBLAS_CORETYPE
    std::vector<openblas_probe> probes;
};
openblas_choice fastest_openblas_core(const std::string& python, const std::string& script, const run_config& config,
                                      int threads);

// Runs `python script` with the model and optimizer keys of `config`, `threads`, `steps` timed steps
// after `warmup`. Throws stretch::error naming the script when it cannot run, answers something
// other than the expected JSON, or builds a model whose parameter count differs from stretch's.
// `coretype`: OPENBLAS_CORETYPE for the command ("": OpenBLAS's own choice); OPENBLAS_L2_SIZE is
// unset for it.
pytorch_figure measure_pytorch_training(const std::string& python, const std::string& script,
                                        const run_config& config, int threads, std::int64_t steps,
                                        std::int64_t warmup, const std::string& coretype);

// The command line measure_pytorch_training runs (shown by `stretch bench` so it can be rerun by hand).
std::string pytorch_command(const std::string& python, const std::string& script, const run_config& config,
                            int threads, std::int64_t steps, std::int64_t warmup, const std::string& coretype);

}  // namespace stretch
