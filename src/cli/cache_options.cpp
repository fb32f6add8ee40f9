#include "cli/cache_options.h"

#include <fmt/format.h>

namespace stretch::cli {

namespace {

CLI::Validator kv_type_check() {
    return CLI::Validator(
        [](std::string& text) {
            return cpu::find_kv_type(text) ? std::string()
                                           : fmt::format("found '{}', expected one of {}", text, cpu::kv_type_names());
        },
        "{" + cpu::kv_type_names() + "}");
}

}  // namespace

void add_cache_type_options(CLI::App* cmd, kv_cache_types& types) {
    const auto add = [&](const char* flag, cpu::kv_type& type, const char* what) {
        cmd->add_option_function<std::string>(
               flag, [&type](const std::string& name) { type = *cpu::find_kv_type(name); },
               fmt::format("KV cache type of {} (llama.cpp's; q8_0 and q4_0 store them Hadamard-rotated; default f32)",
                           what))
            ->check(kv_type_check());
    };
    add("--cache-type-k", types.k, "the keys");
    add("--cache-type-v", types.v, "the values");
}

}  // namespace stretch::cli
