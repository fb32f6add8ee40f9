#include "model/layer_positions.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "core/error.h"

namespace stretch {

namespace {

// The spec with its window at most `window` keys: the layer's own window, or a narrower one the
// spec names.
variants::position_spec within_window(variants::position_spec spec, std::int64_t window, const std::string& where) {
    const variants::variant_def& def = variants::find_variant("window", where);
    for (variants::spec_term& m : spec.modifiers)
        if (m.def == &def) {
            const auto given = m.given.find("w");
            std::int64_t w = window + 1;
            if (given != m.given.end()) std::from_chars(given->second.data(), given->second.data() + given->second.size(), w);
            if (w > window) m.given["w"] = std::to_string(window);
            return spec;
        }
    spec.modifiers.push_back({&def, {{"w", std::to_string(window)}}});
    return spec;
}

}  // namespace

layer_positions::layer_positions(const model_config& config, const variants::position_spec& spec,
                                 std::int64_t target_length, const std::string& where, bool training) {
    variants::model_context context = config.position_context(target_length);
    context.training = training;
    // Learned sinks are weights: a run can use them only on a model that has them.
    if (variants::trains_learned_sinks(spec) && !variants::trains_learned_sinks(variants::parse_spec(config.pos, "pos")))
        fail("{}: '{}' uses learned attention sinks, but the model (pos = '{}') was not trained with them "
             "(no blk.N.attn_sinks.weight); expected a model trained with learned_sinks",
             where, spec.text(), config.pos);
    setups_.push_back(std::make_unique<variants::position_setup>(spec, context, where));
    const variants::position_setup* global_setup = setups_.front().get();
    const variants::position_setup* local_setup = nullptr;
    const variants::position_setup* nope_setup = nullptr;
    if (config.sliding_window > 0 && !config.is_gau()) {
        variants::model_context local = context;
        local.base = config.rope_base_local;
        const variants::position_spec local_spec =
            within_window(spec.all_layers ? spec : variants::parse_spec("default", where), config.sliding_window, where);
        const std::string local_where = fmt::format("{} (sliding-window layers: {})", where, local_spec.text());
        setups_.push_back(std::make_unique<variants::position_setup>(local_spec, local, local_where));
        local_setup = setups_.back().get();
    }
    if (config.nope_every > 0 && !config.is_gau()) {
        variants::position_spec nope_spec = spec;
        nope_spec.position = {&variants::find_variant("nope", where), {}};
        setups_.push_back(std::make_unique<variants::position_setup>(nope_spec, context, where + " (NoPE layers)"));
        nope_setup = setups_.back().get();
    }
    for (std::int64_t il = 0; il < config.n_attention_layers(); ++il) {
        const bool transformer_block = !config.is_gau();
        const variants::position_setup* s = global_setup;
        if (transformer_block && config.windowed(il)) s = local_setup;
        if (transformer_block && !config.rotates(il)) s = nope_setup;
        if (s->per_layer()) s = &s->layer(il);
        of_layer_.push_back(s);
    }
}

const variants::position_setup& layer_positions::layer(std::int64_t il) const {
    return *of_layer_.at(std::size_t(il));
}

}  // namespace stretch
