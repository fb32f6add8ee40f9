// Inference speed of a GGUF model for `stretch bench --model` (benchmarks.md: prefill and decode
// tokens/s beside llama.cpp on the same file and threads): prefill of `prefill` tokens in one
// forward, decode of `decode` tokens one at a time after it, and decode with `cached` tokens already
// in the KV cache; each beside the machine's memory bandwidth, measured in the same run by a
// streaming sum, since decode streams every weight once per token. Token i of a run is
// 1 + (i * 7919) mod (V - 1), as in scripts/bench_llama_cpp.py (the peer). Nothing here is asserted
// by tests.
#pragma once

#include <cstdint>
#include <string>

#include "model/gguf_model.h"
#include "model/kv_cache.h"

namespace stretch {

struct inference_bench_request {
    std::string model;
    std::int64_t prefill = 512, decode = 128, cached = 8192, cached_decode = 32;
    int repeat = 3;  // each figure is the best of this many runs
    quantized_weights weights = quantized_weights::keep;
    kv_cache_types cache_types;  // every cache of the run (--cache-type-k / --cache-type-v)
};

struct inference_figures {
    double prefill_tokens_per_s = 0, decode_tokens_per_s = 0, cached_decode_tokens_per_s = 0;
    double weight_bytes = 0;       // every parameter once: what one decoded token streams
    double cache_bytes_per_token = 0;  // keys and values of one cached token, every layer
    // Keys and values one token decoded after the long cache reads: every cached row of a global
    // layer, only the last `window` of a sliding-window layer (Gemma 3's five of six).
    double cached_decode_cache_bytes = 0;
    double stream_gb_per_s = 0;    // the machine's read bandwidth, all threads
    double int8_dot_peak_gops = 0;  // the integer dot instruction's peak, all threads (0: portable kernel)
    // One prefill-shaped product (ffn_up of layer 0, M = prefill rows) both ways (kernels/cpu/quant_matmul.h).
    double integer_product_gops = 0, dequantized_sgemm_gops = 0;
};

inference_figures measure_inference(const inference_bench_request& request);

// The same three tokens/s figures from llama.cpp: `python script` (scripts/bench_llama_cpp.py, with
// llama-cpp-python) on the same file, token ids, counts and `threads`. Throws stretch::error naming
// the script when it cannot run or answers something else.
// `flash_attn`: llama.cpp's flash attention on or off (the caller runs both: the peer at its best).
inference_figures measure_llama_cpp(const std::string& python, const std::string& script,
                                    const inference_bench_request& request, int threads, bool flash_attn);
// The command line measure_llama_cpp runs (printed by `stretch bench` so it can be rerun by hand).
std::string llama_cpp_command(const std::string& python, const std::string& script,
                              const inference_bench_request& request, int threads, bool flash_attn);

// GB/s of a sum over a buffer far larger than the caches, split over the pool's threads.
double measure_stream_gb_per_s(double seconds);

}  // namespace stretch
