#include "serve/positions.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"

namespace stretch::serve {

variants::position_spec auto_positions(const model_config& config, const std::string& model_method,
                                       std::int64_t target_length) {
    variants::position_spec spec = variants::parse_spec(model_method, "pos auto: the model's own method");
    const auto has_param = [](const variants::variant_def& def, const std::string& name) {
        return std::any_of(def.params.begin(), def.params.end(), [&](const auto& p) { return p.name == name; });
    };
    if (spec.position.def->name == "default") spec.position = {&variants::find_variant("yarn", "pos"), {}};
    if (!has_param(*spec.position.def, "factor")) return spec;
    double original = double(config.n_ctx_train);
    if (const auto given = spec.position.given.find("original_max_position_embeddings"); given != spec.position.given.end())
        original = std::stod(given->second);
    spec.position.given["factor"] = fmt::format("{}", std::max(1.0, double(target_length) / original));
    return spec;
}

std::shared_ptr<const layer_positions> request_positions(const transformer& model, const std::string& model_method,
                                                         const variants::position_spec& server_default,
                                                         const std::optional<std::string>& requested,
                                                         std::int64_t target_length) {
    const variants::position_spec spec = !requested ? server_default
                                         : *requested == "auto"
                                             ? auto_positions(model.config(), model_method, target_length)
                                             : variants::parse_spec(*requested, "pos");
    auto setup = std::make_shared<const layer_positions>(model.positions(spec, target_length, "pos"));
    if (setup->global().refill_cache_on_rotation_change())
        fail("pos: '{}' switches its rotation with the current length, which would re-rotate cached keys mid-request; "
             "expected a method with one rotation per request (e.g. 'auto', yarn, ntk)",
             spec.text());
    return setup;
}

}  // namespace stretch::serve
