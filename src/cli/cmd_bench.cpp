// `stretch bench`: the speed figures of benchmarks.md that exist so far, each beside the machine's
// limit measured in the same run: f32 GEMM in the default model's training shapes as a fraction of
// the FMA peak and of the f32 GEMM library's own square sgemm (with OpenBLAS's beside it), and training tokens/s of the default model beside
// PyTorch CPU running the same model and steps (--peer-pytorch). With --model, a GGUF model's prefill
// and decode tokens/s instead, beside llama.cpp with --peer-llama-cpp (bench_inference.cpp). With
// --distributed, under mpirun: data-parallel training tokens/s and the gradient's mean over the ranks
// beside MPI_Allreduce of the same size (docs/distributed.md; bench/distributed.sh compares 2 ranks x
// 1 thread with 1 process x 2 threads).
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/bench_inference.h"
#include "cli/commands.h"
#include "cli/number_options.h"
#include "cli/ranks.h"
#include "core/cpu_info.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "eval/attention_bench.h"
#include "eval/peer_pytorch.h"
#include "eval/throughput.h"
#include "io/atomic_file.h"
#include "io/json_text.h"
#include "kernels/cpu/gemm.h"

namespace stretch::cli {

namespace {

struct bench_args {
    int threads = 0;
    double seconds = 1.0;
    std::int64_t train_steps = 5;
    std::string json;
    std::string attention_svg;
    std::string peer_pytorch;  // scripts/bench_pytorch.py
    std::string python = "/usr/bin/python3";
    bool distributed = false;
    std::int64_t reduce_floats = 0;  // default: the default model's parameter count
    std::shared_ptr<inference_bench_args> inference = std::make_shared<inference_bench_args>();  // --model
};

// PyTorch CPU on the same model, steps and threads, with the OpenBLAS core type that is fastest here.
nlohmann::json run_pytorch_peer(const bench_args& a, const run_config& config, std::int64_t warmup, double tokens_per_s) {
    const openblas_choice blas = fastest_openblas_core(a.python, a.peer_pytorch, config, pool().size());
    std::printf("\npeer   PyTorch's OpenBLAS, GEMM probe per OPENBLAS_CORETYPE (the FFN's training products):\n");
    nlohmann::json probes = nlohmann::json::array();
    for (const openblas_probe& p : blas.probes) {
        const std::string given = p.coretype.empty() ? "(unset)" : p.coretype;
        if (p.core.empty()) std::printf("         %-16s failed (not runnable on this CPU)\n", given.c_str());
        else std::printf("         %-16s %8.1f GFLOP/s  (ran %s kernels)\n", given.c_str(), p.gemm_gflops, p.core.c_str());
        probes.push_back({{"coretype", p.coretype}, {"core", p.core}, {"gemm_gflops", p.gemm_gflops}});
    }
    std::printf("peer   %s\n",
                pytorch_command(a.python, a.peer_pytorch, config, pool().size(), a.train_steps, warmup, blas.coretype).c_str());
    const pytorch_figure torch =
        measure_pytorch_training(a.python, a.peer_pytorch, config, pool().size(), a.train_steps, warmup, blas.coretype);
    std::printf("peer   PyTorch %s CPU (OpenBLAS %s kernels), same model, steps and threads: %.0f tokens/s; "
                "stretch / PyTorch = %.2fx\n",
                torch.torch_version.c_str(), torch.openblas_core.c_str(), torch.tokens_per_s, tokens_per_s / torch.tokens_per_s);
    return {{"pytorch_train_tokens_per_s", torch.tokens_per_s},
            {"pytorch_version", torch.torch_version},
            {"pytorch_openblas_coretype", blas.coretype},
            {"pytorch_openblas_core", torch.openblas_core},
            {"pytorch_openblas_probes", probes},
            {"train_speedup_vs_pytorch", tokens_per_s / torch.tokens_per_s}};
}

void run(const bench_args& a) {
    if (a.threads != 0) set_threads(a.threads);
    const run_config config = preset("default");
    const auto& m = config.model;
    const std::int64_t rows = config.train.batch_size * m.n_ctx_train;

    const double peak = measure_fma_peak_gflops(a.seconds);
    const double square = measure_square_sgemm(2048, a.seconds);
    const double openblas_square = measure_openblas_square_sgemm(2048, a.seconds);
    std::printf("cpu    %s, threads %d\n", cpu_model_name().c_str(), pool().size());
    std::printf("limit  FMA peak (independent FMAs, all threads)      %8.1f GFLOP/s\n", peak);
    std::printf("limit  sgemm 2048^3 (%s, split by rows)  %8.1f GFLOP/s  (%.0f%% of FMA peak)\n",
                cpu::f32_gemm_name().c_str(), square, 100 * square / peak);
    std::printf("peer   sgemm 2048^3 (OpenBLAS, %s kernels, split by rows)  %8.1f GFLOP/s  (%.0f%% of FMA peak)\n",
                openblas_core_name(), openblas_square, 100 * openblas_square / peak);
    std::printf("\n%-34s %10s %6s %6s %10s %6s %6s\n", "GEMM (default model, B*T rows)", "fwd GF/s", "%FMA",
                "%BLAS", "bwd GF/s", "%FMA", "%BLAS");
    nlohmann::json gemms = nlohmann::json::array();
    const struct {
        const char* name;
        std::int64_t k, n;
    } shapes[] = {{"attn_q/attn_output  [C -> C]", m.d_model, m.d_model},
                  {"attn_k/attn_v  [C -> kv]", m.d_model, m.key_width()},
                  {"ffn_gate/ffn_up  [C -> d_ff]", m.d_model, m.d_ff},
                  {"ffn_down  [d_ff -> C]", m.d_ff, m.d_model},
                  {"logits  [C -> V]", m.d_model, m.vocab_size}};
    for (const auto& s : shapes) {
        const gemm_figure f = measure_linear(rows, s.k, s.n, a.seconds);
        std::printf("%-34s %10.1f %5.0f%% %5.0f%% %10.1f %5.0f%% %5.0f%%\n", s.name, f.forward_gflops,
                    100 * f.forward_gflops / peak, 100 * f.forward_gflops / square, f.backward_gflops,
                    100 * f.backward_gflops / peak, 100 * f.backward_gflops / square);
        gemms.push_back({{"name", s.name}, {"m", rows}, {"k", s.k}, {"n", s.n}, {"forward_gflops", f.forward_gflops},
                         {"backward_gflops", f.backward_gflops}});
    }
    const nlohmann::json attention = run_attention_bench({.seconds = a.seconds, .svg = a.attention_svg}, square);
    const std::int64_t warmup = 2;
    const double tokens_per_s = measure_training_tokens_per_s(config, a.train_steps, warmup);
    std::printf("\ntraining, default model (%lld parameters, batch %lld x %lld): %.0f tokens/s\n",
                (long long)m.n_parameters(), (long long)config.train.batch_size, (long long)m.n_ctx_train, tokens_per_s);
    nlohmann::json report = {{"cpu", cpu_model_name()},
                             {"threads", pool().size()},
                             {"fma_peak_gflops", peak},
                             {"square_sgemm_gflops", square},
                             {"f32_gemm", cpu::f32_gemm_name()},
                             {"openblas_square_sgemm_gflops", openblas_square},
                             {"openblas_core", openblas_core_name()},
                             {"gemm", gemms},
                             {"attention", attention},
                             {"train_tokens_per_s", tokens_per_s}};
    if (!a.peer_pytorch.empty()) report.update(run_pytorch_peer(a, config, warmup, tokens_per_s));
    if (!a.json.empty()) {
        write_json_atomic(a.json, report);
    }
}

// Bus bandwidth (nccl-tests' convention): an all-reduce moves 2 (N - 1) / N of the buffer per rank,
// so the figure is comparable across rank counts and with the link's speed.
double bus_gb_per_s(std::int64_t floats, int ranks, double seconds) {
    return 2.0 * double(ranks - 1) / double(ranks) * double(floats) * sizeof(float) / seconds * 1e-9;
}

void run_distributed(const bench_args& a, const communicator& world) {
    use_threads(a.threads, world);
    const run_config config = preset("default");
    const std::int64_t warmup = 2;
    const double tokens_per_s = measure_training_tokens_per_s(config, a.train_steps, warmup, world);
    nlohmann::json report = {{"cpu", cpu_model_name()},
                             {"ranks", world.size()}, {"threads_per_rank", pool().size()},
                             {"train_tokens_per_s", tokens_per_s}};
    if (world.root())
        std::printf("cpu    %s\nranks %d x threads %d: training, default model (%lld parameters, global batch %lld x %lld): "
                    "%.0f tokens/s\n",
                    cpu_model_name().c_str(), world.size(), pool().size(), (long long)config.model.n_parameters(),
                    (long long)config.train.batch_size, (long long)config.model.n_ctx_train, tokens_per_s);
    if (world.size() > 1) {
        const std::int64_t floats = a.reduce_floats > 0 ? a.reduce_floats : config.model.n_parameters();
        const reduction_figure f = measure_gradient_reduction(floats, world, 20);
        const double ours = bus_gb_per_s(floats, world.size(), f.stretch_seconds);
        const double mpi = bus_gb_per_s(floats, world.size(), f.mpi_seconds);
        if (world.root()) {
            std::printf("gradient mean over %d ranks, %lld floats (%.1f MB):\n", world.size(), (long long)floats,
                        double(floats) * sizeof(float) * 1e-6);
            std::printf("  stretch (all-to-all, rank-ordered sum, all-gather)  %8.3f ms  %6.2f GB/s bus\n",
                        f.stretch_seconds * 1e3, ours);
            std::printf("  peer    MPI_Allreduce (MPI's sum)                    %8.3f ms  %6.2f GB/s bus\n",
                        f.mpi_seconds * 1e3, mpi);
            std::printf("  stretch / MPI time = %.2fx\n", f.stretch_seconds / f.mpi_seconds);
        }
        report["reduce_floats"] = floats;
        report["stretch_reduce_seconds"] = f.stretch_seconds;
        report["mpi_allreduce_seconds"] = f.mpi_seconds;
        report["stretch_reduce_bus_gb_per_s"] = ours;
        report["mpi_allreduce_bus_gb_per_s"] = mpi;
    }
    if (world.root() && !a.json.empty()) write_json_atomic(a.json, report);
}

}  // namespace

void add_bench_command(CLI::App& app, const communicator& world) {
    auto args = std::make_shared<bench_args>();
    CLI::App* cmd = app.add_subcommand("bench", "speed beside the machine's limits (GEMM, attention, training tokens/s)");
    add_threads_option(cmd, args->threads);
    cmd->add_option("--seconds", args->seconds, "time spent per figure")
        ->capture_default_str()
        ->check(in_range(real_range(0, 3600, true)));
    cmd->add_option("--train-steps", args->train_steps, "timed training steps")
        ->capture_default_str()
        ->check(in_range(integer_range(1, 1 << 20)));
    cmd->add_option("--json", args->json, "also write the figures as JSON to this file");
    cmd->add_option("--attention-svg", args->attention_svg, "write the attention time-vs-T plot (SVG) to this file");
    cmd->add_option("--peer-pytorch", args->peer_pytorch,
                    "run this PyTorch peer script (scripts/bench_pytorch.py) on the same model, steps and threads");
    cmd->add_option("--python", args->python, "interpreter for --peer-pytorch (Debian's, with python3-torch)")
        ->capture_default_str();
    cmd->add_flag("--distributed", args->distributed,
                  "under mpirun: data-parallel training tokens/s and the gradient's mean over the ranks beside "
                  "MPI_Allreduce");
    cmd->add_option("--reduce-floats", args->reduce_floats,
                    "with --distributed: gradient size to reduce (default: the default model's parameter count)")
        ->check(in_range(integer_range(1, (std::int64_t{1} << 31) - 1)));
    add_inference_bench_options(cmd, args->inference);
    cmd->callback([args, world] {
        if (args->distributed) return run_distributed(*args, world);
        if (world.size() > 1)
            fail("stretch bench: under mpirun, give --distributed (the other figures are one process's); found {} ranks",
                 world.size());
        if (args->inference->request.model.empty()) return run(*args);
        if (args->threads != 0) set_threads(args->threads);
        run_inference_bench(*args->inference, args->json);
    });
}

}  // namespace stretch::cli
