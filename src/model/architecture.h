// The architectures stretch reads from GGUF (general.architecture), one small table each: what the
// architecture fixes about the model beyond the `<arch>.*` keys its files carry, as values of
// model_config's fields (model/config_fields.h). Facts from llama.cpp's llama-model.cpp (hparams
// and tensors per architecture) and its per-architecture graph builders. Adding an architecture is
// one entry here and its test (docs/architecture.md, "Adding an architecture").
#pragma once

#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/config.h"

namespace stretch {

struct architecture {
    std::string_view name;
    std::string_view models;  // what ships with it, for help and errors
    // Field values the architecture implies (before the file's own keys, which take precedence).
    std::vector<std::pair<std::string_view, nlohmann::json>> fixed;
    // Values that follow from others once the keys are read (Gemma's embedding scale sqrt(C)).
    std::function<void(model_config&)> derive;
};

const std::vector<architecture>& architectures();
// Throws stretch::error naming `where` and listing the known architectures.
const architecture& find_architecture(std::string_view name, std::string_view where);

}  // namespace stretch
