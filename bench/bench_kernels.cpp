// Google Benchmark of the CPU kernels in the default model's shapes. Each GEMM-like benchmark reports
// GFLOP/s and its fraction of the machine's FMA peak, measured once at start-up in the same run
// (benchmarks.md: a figure only means something beside its limit). Run:
//   ./build/stretch_bench --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cstring>
#include <vector>

#include "core/rng.h"
#include "core/thread_pool.h"
#include "eval/gguf_bench.h"
#include "eval/throughput.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/quant_matmul.h"

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

// Decode's matrix-vector product y = W x through the integer kernel, on Q4_1 (SmolLM2's blocks),
// Q8_0 (its 49152-row output matrix), Q5_0 (Gemma-3-270M's attn_q/k, ffn_gate/up) or Q6_K (half of
// Gemma's ffn_down). Args: N (out), K (in), copies, kernel (quant_kernel), type (ggml_type). `copies` distinct matrices are multiplied in turn, so with many of them the weights
// stream from memory as in decode (SmolLM2's 96.6 MB per token) and with one they stay in cache; the
// figure is GB/s of weights beside the read bandwidth.
void quantized_matvec(benchmark::State& state) {
    const std::int64_t n = state.range(0), k = state.range(1), copies = state.range(2);
    const auto kernel = static_cast<cpu::quant_kernel>(state.range(3));
    const auto type = static_cast<gguf::ggml_type>(state.range(4));
    if (!cpu::quant_kernel_supported(kernel)) {
        state.SkipWithError("kernel not supported by this CPU");
        return;
    }
    state.SetLabel(fmt::format("{} {}", gguf::ggml_type_name(type), cpu::quant_kernel_name(kernel)));
    // Blocks of random bytes under a sane f16 scale (0.01) at the block start (Q6_K: its end) and, for
    // Q4_1, a min (-0.01) after it (ggml-common.h's layouts).
    const auto& traits = gguf::traits(type);
    rng generator(7);
    std::vector<std::byte> bytes(std::size_t(n * k / traits.block_size) * traits.type_size);
    for (auto& b : bytes) b = std::byte(generator.next_u64() & 0xff);
    for (std::size_t b = 0; b < bytes.size(); b += traits.type_size) {
        const std::uint16_t d = 0x211f, m = 0xa11f;
        std::memcpy(&bytes[b + (type == gguf::ggml_type::q6_k ? 208 : 0)], &d, 2);
        if (type == gguf::ggml_type::q4_1) std::memcpy(&bytes[b + 2], &m, 2);
    }
    std::vector<cpu::quantized_matrix> w;
    for (std::int64_t c = 0; c < copies; ++c) w.push_back(cpu::make_quantized_matrix(type, n, k, bytes.data(), "bench"));
    auto x = random_vector(k, 1);
    std::vector<float> y(static_cast<std::size_t>(n));
    std::int64_t next = 0;
    for (auto _ : state) {
        cpu::quantized_linear_integer(x.data(), w[std::size_t(next)], y.data(), 1, kernel);
        next = (next + 1) % copies;
    }
    state.counters["GB/s"] = benchmark::Counter(double(bytes.size()) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
    static const double bandwidth = measure_stream_gb_per_s(0.3);
    state.counters["bandwidth_GB/s"] = bandwidth;
}

const std::int64_t rows = 16 * 256;  // the default preset's batch x n_ctx_train

}  // namespace

BENCHMARK(linear_forward)->Args({rows, 256, 256})->Args({rows, 256, 128})->Args({rows, 256, 688})->Args({rows, 688, 256})->Args({rows, 256, 256})->UseRealTime();
BENCHMARK(linear_backward)->Args({rows, 256, 256})->Args({rows, 256, 128})->Args({rows, 256, 688})->Args({rows, 688, 256})->UseRealTime();
BENCHMARK(attention_forward)->Args({1, 256, 8, 4, 32})->Args({1, 1024, 8, 4, 32})->Args({1, 4096, 8, 4, 32})->UseRealTime();

constexpr int avx512 = int(cpu::quant_kernel::avx512_vnni), avx2 = int(cpu::quant_kernel::avx2);
constexpr int q4_1 = int(gguf::ggml_type::q4_1), q8_0 = int(gguf::ggml_type::q8_0), q5_0 = int(gguf::ggml_type::q5_0),
              q6_k = int(gguf::ggml_type::q6_k);
BENCHMARK(quantized_matvec)->ArgsProduct({{1536}, {576}, {1, 256}, {avx512, avx2}, {q4_1}})->UseRealTime();
BENCHMARK(quantized_matvec)->ArgsProduct({{49152}, {576}, {1, 4}, {avx512, avx2}, {q8_0}})->UseRealTime();
// Gemma-3-270M's ffn_up (2048 x 640): 0.9 MB of Q5_0; 256 copies stream 231 MB.
BENCHMARK(quantized_matvec)->ArgsProduct({{2048}, {640}, {1, 256}, {avx512, avx2}, {q5_0}})->UseRealTime();
// Gemma's ffn_down (640 x 2048): 1.1 MB of Q6_K; 256 copies stream 275 MB.
BENCHMARK(quantized_matvec)->ArgsProduct({{640}, {2048}, {1, 256}, {avx512, avx2}, {q6_k}})->UseRealTime();

BENCHMARK_MAIN();
