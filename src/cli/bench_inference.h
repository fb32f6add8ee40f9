// `stretch bench --model FILE`: the inference figures of a GGUF model (eval/gguf_bench.h) beside the
// memory bandwidth and, with --peer-llama-cpp, beside llama.cpp in the same run. Its own file so that
// cmd_bench.cpp only adds the options and chooses the section.
#pragma once

#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "eval/gguf_bench.h"

namespace stretch::cli {

struct inference_bench_args {
    inference_bench_request request;
    bool dequantize = false;
    std::string peer_llama_cpp;      // scripts/bench_llama_cpp.py
    std::string llama_python = "python3";
};

void add_inference_bench_options(CLI::App* cmd, const std::shared_ptr<inference_bench_args>& args);
void run_inference_bench(inference_bench_args args, const std::string& json);

}  // namespace stretch::cli
