#include "cli/bench_inference.h"

#include <algorithm>
#include <cstdio>
#include <tuple>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/cache_options.h"
#include "cli/number_options.h"
#include "core/cpu_info.h"
#include "core/thread_pool.h"
#include "io/atomic_file.h"
#include "io/json_text.h"
#include "kernels/cpu/quant_matmul.h"

namespace stretch::cli {

void add_inference_bench_options(CLI::App* cmd, const std::shared_ptr<inference_bench_args>& args) {
    inference_bench_request& r = args->request;
    cmd->add_option("--model", r.model, "GGUF model: measure its prefill and decode tokens/s instead");
    cmd->add_option("--prefill", r.prefill, "--model: prompt tokens in one forward")
        ->capture_default_str()
        ->check(in_range(token_range));
    cmd->add_option("--decode", r.decode, "--model: tokens decoded one at a time after the prompt")
        ->capture_default_str()
        ->check(in_range(token_range));
    cmd->add_option("--cached", r.cached, "--model: tokens already in the cache for the long decode")
        ->capture_default_str()
        ->check(in_range(token_range));
    cmd->add_option("--cached-decode", r.cached_decode, "--model: tokens timed after the long cache")
        ->capture_default_str()
        ->check(in_range(token_range));
    cmd->add_option("--repeat", r.repeat, "--model: each figure is the best of this many runs")
        ->capture_default_str()
        ->check(in_range(integer_range(1, 1000)));
    cmd->add_flag("--dequantize", args->dequantize, "--model: multiply in f32 with the weights dequantised at load");
    add_cache_type_options(cmd, r.cache_types);
    cmd->add_option("--peer-llama-cpp", args->peer_llama_cpp,
                    "--model: run this llama.cpp peer script (scripts/bench_llama_cpp.py) on the same file and threads");
    cmd->add_option("--llama-python", args->llama_python, "interpreter for --peer-llama-cpp (with llama-cpp-python)")
        ->capture_default_str();
}

namespace {

// llama.cpp on the same file, ids and threads, with flash attention off and on: each figure beside
// the faster of the two (the peer at its best; which one wins differs by figure and CPU).
nlohmann::json run_llama_cpp_peer(const inference_bench_args& a, const inference_figures& ours) {
    const auto& r = a.request;
    inference_figures runs[2];
    for (const bool flash_attn : {false, true}) {
        std::printf("\npeer   %s\n", llama_cpp_command(a.llama_python, a.peer_llama_cpp, r, pool().size(), flash_attn).c_str());
        runs[flash_attn] = measure_llama_cpp(a.llama_python, a.peer_llama_cpp, r, pool().size(), flash_attn);
    }
    nlohmann::json report;
    std::printf("%-30s %10s %17s %8s %10s\n", "figure (tokens/s)", "stretch", "llama.cpp FA off", "FA on", "ratio");
    for (const auto& [name, field, key] :
         {std::tuple{"prefill", &inference_figures::prefill_tokens_per_s, "prefill"},
          {"decode", &inference_figures::decode_tokens_per_s, "decode"},
          {"decode after the long cache", &inference_figures::cached_decode_tokens_per_s, "cached_decode"}}) {
        const double off = runs[0].*field, on = runs[1].*field, best = std::max(off, on);
        std::printf("%-30s %10.1f %17.1f %8.1f %9.2fx  (vs FA %s)\n", name, ours.*field, off, on, ours.*field / best,
                    on > off ? "on" : "off");
        report[std::string("llama_cpp_") + key + "_tokens_per_s"] = best;
        report[std::string("llama_cpp_") + key + "_flash_attn"] = on > off;
        report[std::string("llama_cpp_") + key + "_tokens_per_s_flash_attn_off"] = off;
        report[std::string("llama_cpp_") + key + "_tokens_per_s_flash_attn_on"] = on;
        report[std::string(key) + "_ratio_vs_llama_cpp"] = ours.*field / best;
    }
    return report;
}

}  // namespace

void run_inference_bench(inference_bench_args a, const std::string& json) {
    a.request.weights = a.dequantize ? quantized_weights::dequantize : quantized_weights::keep;
    const inference_figures f = measure_inference(a.request);
    const auto& r = a.request;
    const double decode_gb_s = f.weight_bytes * f.decode_tokens_per_s * 1e-9;
    std::printf("cpu    %s\n", cpu_model_name().c_str());
    std::printf("model  %s, weights %s (%.1f MB streamed per decoded token), %s dot products, threads %d\n",
                r.model.c_str(), a.dequantize ? "dequantised to f32" : "quantised", f.weight_bytes * 1e-6,
                cpu::quant_kernel_name(cpu::best_quant_kernel()), pool().size());
    std::printf("cache  keys %s, values %s: %.0f bytes per cached token\n", cpu::kv_type_name(r.cache_types.k),
                cpu::kv_type_name(r.cache_types.v), f.cache_bytes_per_token);
    std::printf("limit  memory read bandwidth (streaming sum, all threads)   %8.1f GB/s\n", f.stream_gb_per_s);
    if (f.int8_dot_peak_gops > 0)
        std::printf("limit  integer dot peak (%s, all threads)           %8.1f GOP/s\n",
                    cpu::quant_kernel_name(cpu::best_quant_kernel()), f.int8_dot_peak_gops);
    if (f.integer_product_gops > 0)
        std::printf("kernel ffn_up of layer 0 with %lld rows: integer dots %.1f GOP/s (%.0f%% of the integer dot peak), "
                    "dequantised sgemm %.1f GOP/s\n",
                    (long long)r.prefill, f.integer_product_gops,
                    f.int8_dot_peak_gops > 0 ? 100 * f.integer_product_gops / f.int8_dot_peak_gops : 0.0,
                    f.dequantized_sgemm_gops);
    std::printf("\n%-42s %12s\n", "figure", "tokens/s");
    std::printf("%-42s %12.1f\n", fmt::format("prefill {} tokens", r.prefill).c_str(), f.prefill_tokens_per_s);
    std::printf("%-42s %12.1f   (%.1f GB/s of weights, %.0f%% of the bandwidth)\n",
                fmt::format("decode {} tokens", r.decode).c_str(), f.decode_tokens_per_s, decode_gb_s,
                100 * decode_gb_s / f.stream_gb_per_s);
    // After the long cache each token reads every weight and every cached key and value it attends to once.
    const double cached_gb_s = (f.weight_bytes + f.cached_decode_cache_bytes) * f.cached_decode_tokens_per_s * 1e-9;
    std::printf("%-42s %12.1f   (%.1f GB/s of weights and cache, %.0f%% of the bandwidth)\n",
                fmt::format("decode {} tokens after {} cached", r.cached_decode, r.cached).c_str(),
                f.cached_decode_tokens_per_s, cached_gb_s, 100 * cached_gb_s / f.stream_gb_per_s);
    nlohmann::json report = {{"cpu", cpu_model_name()},
                             {"model", r.model},
                             {"threads", pool().size()},
                             {"weights", a.dequantize ? "dequantized" : "quantized"},
                             {"kernel", cpu::quant_kernel_name(cpu::best_quant_kernel())},
                             {"prefill", r.prefill},
                             {"decode", r.decode},
                             {"cached", r.cached},
                             {"cached_decode", r.cached_decode},
                             {"cache_type_k", cpu::kv_type_name(r.cache_types.k)},
                             {"cache_type_v", cpu::kv_type_name(r.cache_types.v)},
                             {"cache_bytes_per_token", f.cache_bytes_per_token},
                             {"cached_decode_cache_bytes", f.cached_decode_cache_bytes},
                             {"stream_gb_per_s", f.stream_gb_per_s},
                             {"int8_dot_peak_gops", f.int8_dot_peak_gops},
                             {"weight_bytes", f.weight_bytes},
                             {"integer_product_gops", f.integer_product_gops},
                             {"dequantized_sgemm_gops", f.dequantized_sgemm_gops},
                             {"prefill_tokens_per_s", f.prefill_tokens_per_s},
                             {"decode_tokens_per_s", f.decode_tokens_per_s},
                             {"decode_weight_gb_per_s", decode_gb_s},
                             {"cached_decode_tokens_per_s", f.cached_decode_tokens_per_s},
                             {"cached_decode_gb_per_s", cached_gb_s}};
    if (!a.peer_llama_cpp.empty()) report.update(run_llama_cpp_peer(a, f));
    if (!json.empty()) {
        write_json_atomic(json, report);
    }
}

}  // namespace stretch::cli
