// Speed measurements for `stretch bench` and bench/: every figure is taken beside the machine's
// limit in the same run (benchmarks.md): the FMA peak is measured by a loop of independent fused
// multiply-adds on every thread, and the BLAS's own best by a large square sgemm.
// Not a profiler, and nothing here is asserted by tests.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/communicator.h"
#include "train/run_config.h"

namespace stretch {

// Seconds of the fastest call of each fn, calling them in turn (fn0, fn1, ..., fn0, ...) until
// `seconds` have passed (at least 3 rounds): a load that comes and goes touches all of them alike,
// so their ratios hold even on a busy machine.
std::vector<double> best_times(double seconds, const std::vector<std::function<void()>>& fns);
double best_time(double seconds, const std::function<void()>& fn);

// f32 GFLOP/s of independent FMAs on all pool threads for about `seconds`.
double measure_fma_peak_gflops(double seconds);
// GOP/s of the quantised products' integer dot instruction (cpu::int8_dot_loop of the kernel
// best_quant_kernel() chose) on all pool threads for about `seconds`; 0 for the portable kernel.
double measure_int8_dot_peak_gops(double seconds);

// GFLOP/s of cpu::linear_forward / linear_backward (dx and dw) for y[M,N] = x[M,K] w[N,K]^T,
// the best of repeated runs lasting about `seconds` in all.
struct gemm_figure {
    std::int64_t m = 0, k = 0, n = 0;
    double forward_gflops = 0;
    double backward_gflops = 0;
};
gemm_figure measure_linear(std::int64_t m, std::int64_t k, std::int64_t n, double seconds);

// GFLOP/s of one square sgemm (n x n x n) split by rows over the pool threads like our products:
// through our f32 GEMM library (the limit our shapes are measured against), and through OpenBLAS's
// cblas_sgemm (the BLAS a PyTorch CPU build uses: a peer).
double measure_square_sgemm(std::int64_t n, double seconds);
double measure_openblas_square_sgemm(std::int64_t n, double seconds);
// OpenBLAS's name for the kernels it chose (its core type, e.g. "Haswell"; OPENBLAS_CORETYPE overrides it).
const char* openblas_core_name();

// Training tokens/s of a model (forward, backward, gradient clipping and AdamW on random tokens: the
// trainer's step), after `warmup` steps; under several ranks, data-parallel (train/data_parallel.h)
// with batch_size the global batch, and the figure is the global tokens over this rank's time.
double measure_training_tokens_per_s(const run_config& config, std::int64_t steps, std::int64_t warmup,
                                     const communicator& ranks = {});

// Seconds per mean of a gradient of `floats` f32 values over the ranks (one slice per rank), as the
// trainer forms it (all-to-all, rank-ordered sum, all-gather; train/data_parallel.h), and per
// MPI_Allreduce of the same buffer (MPI's own sum, in an order MPI picks): the average of `rounds`
// calls between barriers, after one warm-up call.
struct reduction_figure {
    std::int64_t floats = 0;
    double stretch_seconds = 0;
    double mpi_seconds = 0;
};
reduction_figure measure_gradient_reduction(std::int64_t floats, const communicator& ranks, std::int64_t rounds);

}  // namespace stretch
