// The one spec syntax for choosing position/attention variants, on every verb and in config files:
//   position[:key=value,key=value][+modifier[:key=value,...]]...
// e.g. "rerope:window=64+logn", "yarn:factor=8", "window+logn"; list values are separated by ';'
// ("longrope:short_factor=1;1;1.2"). A trailing "@all" applies the spec to the sliding-window layers
// of an architecture that has them too (by default it applies to the global layers only:
// model/layer_positions.h). At most one position variant (default: `default`), any set of
// distinct modifiers; aliases (`super_baseline`) expand before parsing. Unknown names and keys are
// rejected with the list of valid ones. A parsed spec is resolved against a model (defaults that
// depend on L_train or the target length, ranges, cross-checks) into a `position_setup`, which is
// what a forward uses.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kernels/cpu/rope.h"
#include "variants/variant.h"

namespace stretch::variants {

struct spec_term {
    const variant_def* def = nullptr;
    std::map<std::string, std::string> given;  // key -> value text, as written
};

struct position_spec {
    spec_term position;              // always set after parsing (`default` when none is named)
    std::vector<spec_term> modifiers;  // in registry order
    bool all_layers = false;           // "@all": the sliding-window layers too
    // Canonical text: the position variant, then modifiers, each with the keys given explicitly.
    std::string text() const;
};

// `where` names the flag or config key in errors ("--pos", "sweep.json: methods[2]").
position_spec parse_spec(const std::string& text, const std::string& where);
// Whether a term of the spec trains learned attention sinks (variant_def::learned_sink_init).
bool trains_learned_sinks(const position_spec& spec);
// Joins a --pos value and --logn style flags: "rerope:window=64" + {"logn"}.
position_spec parse_spec_with_modifiers(const std::string& text, const std::vector<std::string>& modifiers,
                                        const std::string& where);

// A spec resolved against a model: what one forward needs from the variants.
class position_setup {
public:
    position_setup(const position_spec& spec, const model_context& context, const std::string& where);

    const model_context& context() const { return context_; }
    const std::string& text() const { return text_; }
    // Every parameter with its resolved value: "yarn:factor=4,beta_fast=32,..." (for reports).
    const std::string& full_text() const { return full_text_; }

    rotation frequencies(std::int64_t length) const;
    const std::optional<far_branch>& far() const { return far_; }
    // Rules for T_q query rows at positions first_query .. first_query + T_q - 1, `length` tokens in context.
    cpu::attention_rules rules(std::int64_t first_query, std::int64_t time_q, std::int64_t length) const;
    // A far branch needs the keys before rotation: the KV cache keeps them so (methods.md B9).
    bool cache_unrotated_keys() const { return far_.has_value(); }
    // [T, C] to add to the token embeddings of positions first .. first + T - 1; empty when the
    // variant adds none.
    std::vector<double> absolute(std::int64_t first, std::int64_t time) const;
    // Layer-wise variants: whether blocks differ, and block il's own setup.
    bool per_layer() const { return !layers_.empty(); }
    const position_setup& layer(std::int64_t il) const { return layers_.at(std::size_t(il)); }
    // Whether the variant changes only the rotations (and absolute encodings added to the embedding),
    // never the attention's mask, scale, bias, normaliser, keys or projections.
    bool rotations_only() const;
    // > 0: keys are L2-normalised per head with this epsilon (KeyNorm).
    double key_norm_eps() const;
    bool qk_bias() const { return position_.def->qk_bias; }
    // The initial logit of learned attention sinks when a term of the spec trains them; none otherwise.
    std::optional<double> learned_sink_init() const;
    // Rows of the learned position table the model needs (0: none).
    std::int64_t learned_rows() const {
        return position_.def->learned_rows ? position_.def->learned_rows(position_.values, context_) : 0;
    }
    // Random-position training (C7): whether the variant draws each training sequence's positions, and
    // one draw of `length` positions.
    bool draws_positions() const { return bool(position_.def->train_positions); }
    std::vector<double> draw_positions(rng& generator, std::int64_t length) const {
        return position_.def->train_positions(position_.values, context_, generator, length);
    }
    bool refill_cache_on_rotation_change() const { return position_.def->refill_cache_on_rotation_change; }

private:
    struct resolved {
        const variant_def* def;
        param_values values;
    };
    model_context context_;
    resolved position_;
    std::vector<resolved> modifiers_;
    std::optional<far_branch> far_;
    std::vector<position_setup> layers_;
    std::string text_, full_text_;
};

}  // namespace stretch::variants
