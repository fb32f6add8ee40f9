// The position/attention variant options every verb that runs a model shares, generated from the
// variant registry: --pos SPEC (variants/spec.h) and one flag per modifier (--logn, --window, --sinks)
// that appends it with its defaults.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "variants/spec.h"

namespace stretch::cli {

struct position_options {
    std::string pos;  // empty: the model's own (plain RoPE, or the scaling its GGUF file declares)
    std::vector<std::string> modifiers;
    variants::position_spec parse(const std::string& model_default = "default") const {
        return variants::parse_spec_with_modifiers(pos.empty() ? model_default : pos, modifiers, "--pos");
    }
};

void add_position_options(CLI::App* cmd, const std::shared_ptr<position_options>& options);

}  // namespace stretch::cli
