#include "eval/gguf_bench.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include <fmt/format.h>

#include "core/error.h"
#include "core/rng.h"
#include "core/thread_pool.h"
#include "eval/peer_process.h"
#include "eval/throughput.h"
#include "generate/generator.h"
#include "io/json_text.h"
#include "kernels/cpu/quant_matmul.h"
#include "model/load.h"
#include "model/memory_estimate.h"

namespace stretch {

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t) { return std::chrono::duration<double>(clock_type::now() - t).count(); }

std::vector<std::int32_t> bench_tokens(std::int64_t first, std::int64_t count, std::int64_t vocab) {
    std::vector<std::int32_t> ids(static_cast<std::size_t>(count));
    for (std::int64_t i = 0; i < count; ++i) ids[std::size_t(i)] = std::int32_t(1 + ((first + i) * 7919) % (vocab - 1));
    return ids;
}

// Seconds to decode tokens [first, first + count) one at a time.
double time_decode(const transformer& model, const layer_positions& setup, kv_cache& cache, std::int64_t first,
                   std::int64_t count) {
    const auto ids = bench_tokens(first, count, model.config().vocab_size);
    const auto start = clock_type::now();
    for (const std::int32_t id : ids) feed(model, setup, cache, std::span(&id, 1), 1);
    return seconds_since(start);
}

double weight_bytes(const transformer& model) {
    double bytes = 0;
    for (const auto& [name, v] : model.parameters()) bytes += v->quantized ? double(v->quantized->data.size()) : double(v->value.bytes());
    return bytes;
}

// GOP/s of ffn_up of layer 0 with `rows` activation rows, both ways (0 when it is not quantised).
void measure_products(const transformer& model, std::int64_t rows, int repeat, inference_figures& out) {
    for (const auto& [name, v] : model.parameters()) {
        if (name != "blk.0.ffn_up.weight" || !v->quantized) continue;
        const cpu::quantized_matrix& w = *v->quantized;
        rng generator(1);
        std::vector<float> x(std::size_t(rows * w.cols)), y(std::size_t(rows * w.rows));
        for (float& value : x) value = float(generator.normal());
        const double ops = 2.0 * double(rows) * double(w.rows) * double(w.cols);
        double integer = 1e30, sgemm = 1e30;
        for (int r = 0; r < repeat; ++r) {
            auto start = clock_type::now();
            cpu::quantized_linear_integer(x.data(), w, y.data(), rows);
            integer = std::min(integer, seconds_since(start));
            start = clock_type::now();
            cpu::quantized_linear_dequantized(x.data(), w, y.data(), rows);
            sgemm = std::min(sgemm, seconds_since(start));
        }
        out.integer_product_gops = ops / integer * 1e-9;
        out.dequantized_sgemm_gops = ops / sgemm * 1e-9;
    }
}

}  // namespace

double measure_stream_gb_per_s(double seconds) {
    std::vector<std::uint64_t> buffer(std::size_t(32) << 20, 1);  // 256 MiB, 8x this machine's L3
    auto& tp = pool();
    std::vector<std::uint64_t> sums(std::size_t(tp.size()));
    double best = 1e30;
    const auto begin = clock_type::now();
    for (int reps = 0; reps < 3 || seconds_since(begin) < seconds; ++reps) {
        const auto start = clock_type::now();
        tp.parallel_for(std::int64_t(buffer.size()), [&](std::int64_t i0, std::int64_t i1, int thread) {
            std::uint64_t sum = 0;  // integer adds reassociate freely: the compiler vectorises the loop
            for (std::int64_t i = i0; i < i1; ++i) sum += buffer[std::size_t(i)];
            sums[std::size_t(thread)] += sum;
        });
        best = std::min(best, seconds_since(start));
    }
    return double(buffer.size() * sizeof(std::uint64_t)) / best * 1e-9;
}

inference_figures measure_inference(const inference_bench_request& r) {
    if (r.prefill < 1 || r.decode < 1 || r.cached < 1 || r.cached_decode < 1 || r.repeat < 1)
        fail("bench --model: token counts and --repeat must be positive; found prefill {}, decode {}, cached {}, "
             "cached decode {}, repeat {}",
             r.prefill, r.decode, r.cached, r.cached_decode, r.repeat);
    const loaded_model m = load_any_model(r.model, "", r.weights);
    const transformer& model = *m.model;
    const std::int64_t vocab = model.config().vocab_size;
    const std::int64_t total = r.cached + r.repeat * r.cached_decode;
    require_memory(inference_memory(model.config(), r.prefill, 1, 0, r.prefill + r.decode, r.cache_types),
                   fmt::format("--prefill {} --decode {}", r.prefill, r.decode));
    require_memory(inference_memory(model.config(), std::min<std::int64_t>(512, r.cached), 1, total, total, r.cache_types),
                   fmt::format("--cached {} --cached-decode {}", r.cached, r.cached_decode));
    const auto spec = variants::parse_spec(m.positions, "bench");
    inference_figures out;
    out.weight_bytes = weight_bytes(model);
    out.cache_bytes_per_token = double(cache_bytes_per_token(model.config(), r.cache_types));
    const model_config& c = model.config();
    for (std::int64_t il = 0; il < c.n_attention_layers(); ++il) {
        const std::int64_t window = c.layer(il).window;
        const std::int64_t rows = window > 0 ? std::min(window, r.cached) : r.cached;
        out.cached_decode_cache_bytes += double(rows) * out.cache_bytes_per_token / double(c.n_attention_layers());
    }
    out.stream_gb_per_s = measure_stream_gb_per_s(1.0);
    out.int8_dot_peak_gops = measure_int8_dot_peak_gops(0.5);
    measure_products(model, r.prefill, r.repeat, out);

    const layer_positions short_setup = model.positions(spec, r.prefill + r.decode, "bench");
    double prefill = 1e30, decode = 1e30;
    for (int rep = 0; rep < r.repeat; ++rep) {
        kv_cache cache(model.config(), r.prefill + r.decode, model.type(), r.cache_types);
        const auto ids = bench_tokens(0, r.prefill, vocab);
        const auto start = clock_type::now();
        feed(model, short_setup, cache, ids, r.prefill);
        prefill = std::min(prefill, seconds_since(start));
        decode = std::min(decode, time_decode(model, short_setup, cache, r.prefill, r.decode));
    }
    out.prefill_tokens_per_s = double(r.prefill) / prefill;
    out.decode_tokens_per_s = double(r.decode) / decode;

    // The long cache is filled once (untimed, in chunks of 512); then `repeat` windows of
    // cached_decode tokens follow it and the best counts (the cache grows by a few percent meanwhile).
    const layer_positions long_setup = model.positions(spec, total, "bench");
    kv_cache cache(model.config(), total, model.type(), r.cache_types);
    feed(model, long_setup, cache, bench_tokens(0, r.cached, vocab), 512);
    double cached = 1e30;
    for (int rep = 0; rep < r.repeat; ++rep)
        cached = std::min(cached, time_decode(model, long_setup, cache, r.cached + rep * r.cached_decode, r.cached_decode));
    out.cached_decode_tokens_per_s = double(r.cached_decode) / cached;
    return out;
}

std::string llama_cpp_command(const std::string& python, const std::string& script, const inference_bench_request& r,
                              int threads, bool flash_attn) {
    return fmt::format(
        "{} {} --model {} --threads {} --prefill {} --decode {} --cached {} --cached-decode {} --repeat {} --flash-attn {}",
        shell_quote(python), shell_quote(script), shell_quote(r.model), threads, r.prefill, r.decode, r.cached,
        r.cached_decode, r.repeat, flash_attn ? 1 : 0);
}

inference_figures measure_llama_cpp(const std::string& python, const std::string& script, const inference_bench_request& r,
                                    int threads, bool flash_attn) {
    const nlohmann::json answer =
        run_peer_script(llama_cpp_command(python, script, r, threads, flash_attn), "--peer-llama-cpp",
                        "needs llama-cpp-python: pip install llama-cpp-python; --llama-python names the interpreter");
    inference_figures f;
    for (auto [key, field] : {std::pair{"prefill_tokens_per_s", &inference_figures::prefill_tokens_per_s},
                              {"decode_tokens_per_s", &inference_figures::decode_tokens_per_s},
                              {"cached_decode_tokens_per_s", &inference_figures::cached_decode_tokens_per_s}}) {
        if (!answer.contains(key) || !answer[key].is_number())
            fail("--peer-llama-cpp: {} printed '{}', expected a number under {}", script, json_text(answer), key);
        f.*field = answer[key].get<double>();
    }
    return f;
}

}  // namespace stretch
