// The zoo (issue 4, "train short, test long"): one small model trained per training-time choice
// (position encoding, attention normaliser, block design, norm placement), all with the same data,
// steps and seed, then each evaluated at 1x-16x its training length with its own encoding and with
// every inference-time method that applies to it. This header holds the plan: which models, and
// which inference methods compose with which training choice. cli/cmd_zoo.cpp runs it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "variants/spec.h"

namespace stretch {

struct zoo_entry {
    std::string name;                   // row label and the model's folder name
    std::vector<std::string> settings;  // config assignments (`key=value`, as `stretch train --set`)
};

struct zoo_plan {
    std::vector<zoo_entry> entries;
    std::vector<std::string> inference;  // methods tried on every trained model, where they apply
};

// Every training-time variant of methods.md groups C-D that the registry and config know, each
// changing one thing from the default model, and the inference-time methods of the published tables.
zoo_plan default_zoo_plan();

// {"entries": [{"name": ..., "set": ["key=value", ...]}, ...], "inference": [...]}; either key may be
// left out (the default's is kept). Throws stretch::error naming `where` and the bad key or item.
void apply_zoo_json(zoo_plan& plan, const nlohmann::json& object, const std::string& where);

// An inference-time method applied to a model trained with `trained`: a position variant other
// than `default` replaces the trained RoPE (only a RoPE-trained model can take it: the rest have no
// rotation to rescale), modifiers are added to the trained ones. nullopt when the method does not
// apply or adds nothing the trained spec does not already have.
std::optional<variants::position_spec> compose_method(const variants::position_spec& trained,
                                                      const variants::position_spec& method);

}  // namespace stretch
