// The position/attention variant options every verb that runs a model shares, generated from the
// variant registry: --pos SPEC (variants/spec.h) and one flag per modifier (--logn, --window, --sinks)
// that appends it with its defaults.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "model/config.h"
#include "variants/spec.h"

namespace stretch::cli {

struct position_options {
    std::string pos;  // empty: the model's own (plain RoPE, or the scaling its GGUF file declares)
    std::vector<std::string> modifiers;

    // What a run's errors blame for the spec: --pos (and the modifier flags) when given, else the
    // model file that declares its own encoding.
    std::string where(const std::string& model_path) const;
    // The spec the run uses, resolved against the model at every length it will run at, so that a
    // bad value is refused before the run starts and blamed on where() it came from.
    variants::position_spec choose(const std::string& model_default, const std::string& model_path,
                                   const model_config& model, const std::vector<std::int64_t>& lengths) const;
};

// Resolves `spec` against the model at each length (variants::position_setup), so that a value it
// cannot take fails now, blamed on `where`.
void check_spec_at(const variants::position_spec& spec, const std::string& where, const model_config& model,
                   const std::vector<std::int64_t>& lengths);

void add_position_options(CLI::App* cmd, const std::shared_ptr<position_options>& options);

}  // namespace stretch::cli
