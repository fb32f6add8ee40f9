// Google Benchmark of the CPU kernels in the default model's shapes. Each GEMM-like benchmark reports
// GFLOP/s and its fraction of the machine's FMA peak, measured once at start-up in the same run
// (benchmarks.md: a figure only means something beside its limit). Run:
//   ./build/stretch_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <vector>

#include "core/rng.h"
#include "core/thread_pool.h"
#include "eval/throughput.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/gemm.h"

namespace {

using namespace stretch;

double fma_peak() {
    static const double peak = measure_fma_peak_gflops(0.3);
    return peak;
}

std::vector<float> random_vector(std::int64_t n, std::uint64_t seed) {
    rng generator(seed);
    std::vector<float> v(static_cast<std::size_t>(n));
    for (auto& x : v) x = float(generator.normal());
    return v;
}

void report(benchmark::State& state, double flops_per_iteration) {
    state.counters["GFLOP/s"] = benchmark::Counter(flops_per_iteration * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    state.counters["peak_GFLOP/s"] = fma_peak();
}

// Args: M (rows = batch * time), K (in), N (out).
void linear_forward(benchmark::State& state) {
    const std::int64_t m = state.range(0), k = state.range(1), n = state.range(2);
    auto x = random_vector(m * k, 1), w = random_vector(n * k, 2);
    std::vector<float> y(std::size_t(m * n));
    for (auto _ : state) cpu::linear_forward<float>(x.data(), w.data(), y.data(), m, k, n);
    report(state, 2.0 * double(m * n * k));
}

void linear_backward(benchmark::State& state) {
    const std::int64_t m = state.range(0), k = state.range(1), n = state.range(2);
    auto x = random_vector(m * k, 1), w = random_vector(n * k, 2), dy = random_vector(m * n, 3);
    std::vector<float> dx(std::size_t(m * k)), dw(std::size_t(n * k));
    for (auto _ : state) cpu::linear_backward<float>(x.data(), w.data(), dy.data(), dx.data(), dw.data(), m, k, n, false);
    report(state, 4.0 * double(m * n * k));
}

// Args: batch, T, heads, kv heads, head dim. FLOPs counted for the full T x T products (2 GEMMs of
// 2 T^2 D each per head), which is what the materialising kernel executes.
void attention_forward(benchmark::State& state) {
    const cpu::attention_dims d{state.range(0), state.range(1), state.range(1), state.range(2), state.range(3), state.range(4)};
    auto q = random_vector(d.batch * d.time_q * d.heads * d.head_dim, 1);
    auto k = random_vector(d.batch * d.time_k * d.heads_kv * d.head_dim, 2);
    auto v = random_vector(d.batch * d.time_k * d.heads_kv * d.head_dim, 3);
    std::vector<float> out(q.size());
    for (auto _ : state) cpu::attention_forward<float>(q.data(), k.data(), v.data(), out.data(), nullptr, d, 0.125f);
    report(state, 4.0 * double(d.batch * d.heads * d.time_q * d.time_k * d.head_dim));
}

const std::int64_t rows = 16 * 256;  // the default preset's batch x n_ctx_train

}  // namespace

BENCHMARK(linear_forward)->Args({rows, 256, 256})->Args({rows, 256, 128})->Args({rows, 256, 688})->Args({rows, 688, 256})->Args({rows, 256, 256})->UseRealTime();
BENCHMARK(linear_backward)->Args({rows, 256, 256})->Args({rows, 256, 128})->Args({rows, 256, 688})->Args({rows, 688, 256})->UseRealTime();
BENCHMARK(attention_forward)->Args({1, 256, 8, 4, 32})->Args({1, 1024, 8, 4, 32})->Args({1, 4096, 8, 4, 32})->UseRealTime();

BENCHMARK_MAIN();
