#include "eval/throughput.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include <cblas.h>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#include "autograd/ops.h"
#include "core/rng.h"
#include "core/thread_pool.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/quant_matmul.h"
#include "model/transformer.h"
#include "train/adamw.h"
#include "train/data_parallel.h"

namespace stretch {

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

// Runs `iterations` rounds of 12 independent FMA chains; returns the flops done. Twelve
// accumulators cover the FMA latency (4 cycles) times the number of FMA pipes with room to spare.
double fma_loop(std::int64_t iterations) {
#if defined(__AVX512F__)
    __m512 acc[12];
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(float(i));
    const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (std::int64_t it = 0; it < iterations; ++it)
        for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    __m512 sum = acc[0];
    for (int i = 1; i < 12; ++i) sum = _mm512_add_ps(sum, acc[i]);
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, sum);  // not _mm512_reduce_add_ps: GCC 12's trips -Wuninitialized (bug 105593)
    volatile float sink = lanes[0];
    (void)sink;
    return double(iterations) * 12 * 16 * 2;
#elif defined(__AVX2__) && defined(__FMA__)
    __m256 acc[12];
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(float(i));
    const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (std::int64_t it = 0; it < iterations; ++it)
        for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    float out[8];
    __m256 sum = acc[0];
    for (int i = 1; i < 12; ++i) sum = _mm256_add_ps(sum, acc[i]);
    _mm256_storeu_ps(out, sum);
    volatile float sink = out[0];
    (void)sink;
    return double(iterations) * 12 * 8 * 2;
#else
    float acc[12];
    for (int i = 0; i < 12; ++i) acc[i] = float(i);
    for (std::int64_t it = 0; it < iterations; ++it)
        for (int i = 0; i < 12; ++i) acc[i] = acc[i] * 0.999999f + 1e-7f;
    volatile float sink = acc[0];
    (void)sink;
    return double(iterations) * 12 * 2;
#endif
}

}  // namespace

std::vector<double> best_times(double seconds, const std::vector<std::function<void()>>& fns) {
    std::vector<double> best(fns.size(), 1e30);
    const auto start = clock_type::now();
    for (int round = 0; round < 3 || seconds_since(start) < seconds; ++round)
        for (std::size_t f = 0; f < fns.size(); ++f) {
            const auto t = clock_type::now();
            fns[f]();
            best[f] = std::min(best[f], seconds_since(t));
        }
    return best;
}

double best_time(double seconds, const std::function<void()>& fn) { return best_times(seconds, {fn})[0]; }

namespace {

// G-operations per second of `loop` (which returns the operations it did) run on every pool thread
// at once, the best of repeated runs lasting about `seconds`.
double measure_peak(double seconds, const std::function<double()>& loop) {
    auto& tp = pool();
    double ops = 0;
    const double t = best_time(seconds, [&] {
        std::vector<double> done(static_cast<std::size_t>(tp.size()));
        tp.parallel_for(tp.size(), [&](std::int64_t b, std::int64_t e, int thread) {
            for (std::int64_t i = b; i < e; ++i) done[std::size_t(thread)] += loop();
        });
        ops = 0;
        for (double d : done) ops += d;
    });
    return ops / t * 1e-9;
}

constexpr std::int64_t peak_iterations = 2'000'000;

}  // namespace

double measure_fma_peak_gflops(double seconds) {
    return measure_peak(seconds, [] { return fma_loop(peak_iterations); });
}

double measure_int8_dot_peak_gops(double seconds) {
    const cpu::quant_kernel kernel = cpu::best_quant_kernel();
    if (cpu::int8_dot_loop(kernel, 1) == 0) return 0;
    return measure_peak(seconds, [kernel] { return cpu::int8_dot_loop(kernel, peak_iterations); });
}

gemm_figure measure_linear(std::int64_t m, std::int64_t k, std::int64_t n, double seconds) {
    rng generator(1);
    auto random = [&](std::int64_t count) {
        std::vector<float> v(static_cast<std::size_t>(count));
        for (auto& x : v) x = float(generator.normal());
        return v;
    };
    auto x = random(m * k), w = random(n * k), dy = random(m * n);
    std::vector<float> y(std::size_t(m * n)), dx(std::size_t(m * k)), dw(std::size_t(n * k));
    const double flops = 2.0 * double(m) * double(n) * double(k);
    gemm_figure f{m, k, n, 0, 0};
    f.forward_gflops = flops / best_time(seconds / 2, [&] { cpu::linear_forward<float>(x.data(), w.data(), y.data(), m, k, n); }) * 1e-9;
    f.backward_gflops = 2 * flops /
                        best_time(seconds / 2, [&] {
                            cpu::linear_backward<float>(x.data(), w.data(), dy.data(), dx.data(), dw.data(), m, k, n, false);
                        }) *
                        1e-9;
    return f;
}

double measure_square_sgemm(std::int64_t n, double seconds) {
    std::vector<float> a(std::size_t(n * n), 0.5f), b(std::size_t(n * n), 0.25f), c(std::size_t(n * n));
    const double t = best_time(seconds, [&] { cpu::linear_forward<float>(a.data(), b.data(), c.data(), n, n, n); });
    return 2.0 * double(n) * double(n) * double(n) / t * 1e-9;
}

double measure_openblas_square_sgemm(std::int64_t n, double seconds) {
    std::vector<float> a(std::size_t(n * n), 0.5f), b(std::size_t(n * n), 0.25f), c(std::size_t(n * n));
    const auto blas_n = static_cast<blasint>(n);
    const double t = best_time(seconds, [&] {
        pool().parallel_for(n, [&](std::int64_t r0, std::int64_t r1, int) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(r1 - r0), blas_n, blas_n, 1.0f,
                        a.data() + r0 * n, blas_n, b.data(), blas_n, 0.0f, c.data() + r0 * n, blas_n);
        });
    });
    return 2.0 * double(n) * double(n) * double(n) / t * 1e-9;
}

const char* openblas_core_name() { return openblas_get_corename(); }

double measure_training_tokens_per_s(const run_config& config, std::int64_t steps, std::int64_t warmup,
                                     const communicator& ranks) {
    transformer model(config.model);
    rng generator(config.train.seed);
    model.init(generator);
    data_parallel parallel(model.parameters(), ranks, config.train);
    adamw optimizer(model.parameters(), config.train, parallel.owned());
    const std::int64_t b = config.train.batch_size, t = config.model.n_ctx_train;
    batch global;
    global.inputs.resize(std::size_t(b * t));
    global.targets.resize(std::size_t(b * t));
    double elapsed = 0;
    for (std::int64_t step = 1; step <= warmup + steps; ++step) {
        // The same generator on every rank: one global batch, cut into the ranks' slices.
        for (auto& id : global.inputs) id = std::int32_t(generator.below(std::uint64_t(config.model.vocab_size)));
        for (auto& id : global.targets) id = std::int32_t(generator.below(std::uint64_t(config.model.vocab_size)));
        const auto start = clock_type::now();
        // The trainer's step (train/trainer.cpp): the slices, the gradients' mean over the ranks,
        // global-norm clipping, AdamW, and (ZeRO-1) the parameters shared again.
        for (std::int64_t j = 0; j < parallel.slices_per_rank(); ++j) {
            const batch slice = parallel.slice(global, j, t);
            ag::tape tape;
            ag::context ctx{&tape};
            tape.backward(ag::cross_entropy(ctx, model.forward(ctx, slice.inputs, parallel.rows_per_slice(), t),
                                            slice.targets, "loss"));
            parallel.add_slice_gradients();
        }
        parallel.reduce_gradients();
        const double norm = parallel.grad_norm(optimizer);
        if (config.train.grad_clip > 0 && norm > config.train.grad_clip) optimizer.scale_grads(config.train.grad_clip / norm);
        optimizer.update(config.train.lr, step);
        optimizer.zero_grad();
        parallel.share_parameters();
        if (step > warmup) elapsed += seconds_since(start);
    }
    return double(steps * b * t) / elapsed;
}

reduction_figure measure_gradient_reduction(std::int64_t floats, const communicator& ranks, std::int64_t rounds) {
    rng generator(7);
    tensor values({floats}), gradient({floats});
    for (std::int64_t i = 0; i < floats; ++i) gradient.data<float>()[i] = float(generator.normal());
    ag::var parameter = ag::make_var(values, "gradient", true);
    parameter->grad = gradient;
    train_config one_slice;
    one_slice.batch_size = ranks.size();
    data_parallel parallel({{"gradient", parameter}}, ranks, one_slice);
    std::vector<float> buffer(gradient.data<float>(), gradient.data<float>() + floats);
    const auto time = [&](const std::function<void()>& reduce) {
        reduce();  // warm-up: buffers allocated, pages touched, connections made
        ranks.barrier();
        const auto start = clock_type::now();
        for (std::int64_t r = 0; r < rounds; ++r) reduce();
        ranks.barrier();
        return seconds_since(start) / double(rounds);
    };
    reduction_figure f;
    f.floats = floats;
    f.stretch_seconds = time([&] {
        parallel.add_slice_gradients();
        parallel.reduce_gradients();
    });
    f.mpi_seconds = time([&] { ranks.mpi_all_reduce_sum(buffer); });
    return f;
}

}  // namespace stretch
