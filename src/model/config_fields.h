// Every field of model_config, once: its key (`--set key=value`, config files, the checkpoint's
// JSON and GGUF's `stretch.<key>`), the key llama.cpp reads it from where there is one
// (`<arch>.` + suffix, e.g. gemma3.attention.sliding_window), its type, range and help. The CLI's
// keys (train/run_config), the GGUF writer and reader (model/gguf_model) and the round-trip test
// iterate this table; nothing lists the fields by hand.
#pragma once

#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/config.h"

namespace stretch {

enum class field_kind { integer, real, boolean, text };

struct config_field {
    std::string_view key;
    field_kind kind = field_kind::integer;
    std::string_view help;
    // The suffix of llama.cpp's GGUF key after "<arch>." ("" when llama.cpp has none).
    std::string_view gguf;
    // A GGUF file written by another tool must carry the key (its architecture gives no default).
    bool required = false;
    double min = -std::numeric_limits<double>::infinity();  // integers and reals, inclusive
    double max = std::numeric_limits<double>::infinity();
    std::vector<std::string_view> choices;  // text: the allowed values (empty: any)
    std::function<nlohmann::json(const model_config&)> get;
    std::function<void(model_config&, const nlohmann::json&)> set;  // the value already checked
    // What the GGUF writer stores under the llama.cpp key (a resolved default: head_dim 0 is written
    // as d_model / n_head); null: nothing (a feature the model does not use). Default: get.
    std::function<nlohmann::json(const model_config&)> gguf_value;
};

const std::vector<config_field>& model_fields();
const config_field* find_model_field(std::string_view key);

// "an integer in [1, 65536]", "pre, post or sandwich", ...: what the field accepts.
std::string field_expectation(const config_field& field);

// Sets the field from a JSON value after checking its type and range; `where` names the source in
// the error ("--set d_model=0", "model.gguf: gemma3.block_count").
void set_field(model_config& config, const config_field& field, const nlohmann::json& value, const std::string& where);

// The text of `key=value` as the JSON value the field takes; throws naming `where` when it is not.
nlohmann::json parse_field_text(const config_field& field, const std::string& text, const std::string& where);

}  // namespace stretch
