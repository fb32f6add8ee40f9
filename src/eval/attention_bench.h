// The "fused attention" figures of benchmarks.md for `stretch bench`, each beside the machine's
// limit and the peer measured in the same run: causal forward and forward + backward GFLOP/s of
// kernels/cpu/attention at T = 512 ... 8192 (D = 64) beside the BLAS's square sgemm and a naive
// materialised softmax(QK^T)V; the cost of ReRoPE's two scores and of a window beside plain causal
// attention; the cost of dca's and string's two scores and of Llama 4's chunks at their registry
// defaults for a model trained on 4 w tokens; learned sinks' forward and forward + backward beside
// plain attention's; and a log-log SVG of time against T (O(T^2) full,
// O(T w) window).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace stretch {

struct attention_bench_options {
    std::vector<std::int64_t> lengths = {512, 1024, 2048, 4096, 8192};
    std::int64_t heads = 4;  // one K/V head per query head, batch 1
    std::int64_t head_dim = 64;
    std::int64_t window = 512;  // for the window and the ReRoPE figures; the training length of the others is 4 w
    double seconds = 1.0;       // per figure
    std::string svg;            // write the time-vs-T plot here when not empty
};

// Prints the section's table and returns its figures as JSON. `blas_square_gflops` is the square
// sgemm measured by the caller in the same run.
nlohmann::json run_attention_bench(const attention_bench_options& options, double blas_square_gflops);

}  // namespace stretch
