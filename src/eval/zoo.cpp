#include "eval/zoo.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"
#include "io/json_text.h"

namespace stretch {

zoo_plan default_zoo_plan() {
    zoo_plan plan;
    // One change from the default model each (methods.md C1-C8, B12-B15, D2-D5; docs/methods.md's
    // learned_sinks, p_rope, pose).
    plan.entries = {
        {"rope", {"pos=default"}},
        {"nope", {"pos=nope"}},
        {"sinusoidal", {"pos=sinusoidal"}},
        {"learned", {"pos=learned"}},
        {"alibi", {"pos=alibi"}},
        {"rope_qk_bias", {"pos=rope_qk_bias"}},
        {"random_pos", {"pos=random_pos:l_rand=4096"}},  // L_rand above the longest test length (C7)
        {"logn_trained", {"pos=default+logn:mode=trained"}},
        {"window_trained", {"pos=default+window:w=64"}},  // L_train / 4, the optimum of B13
        {"hwfa", {"pos=hwfa"}},
        {"keynorm", {"pos=default+keynorm"}},
        {"relu2", {"pos=default+relu2"}},
        {"learned_sinks", {"pos=default+learned_sinks"}},  // gpt-oss's sink logit per head (docs/methods.md)
        {"p_rope", {"pos=p_rope"}},                         // the lowest quarter of frequencies unrotated
        {"pose", {"pos=pose"}},                             // skipped positions up to 8 L_train (PoSE)
        {"post_ln", {"norm_position=post"}},
        // Untied: with the tied head DeepNorm's stream starts as Norm(embedding) (alpha > 1 on the
        // residual, beta < 1 on the sublayers), so the head's logits E x favour the current byte
        // (step-2 loss 5.93 > ln 256) and 800 steps stayed on the byte-frequency plateau (val 3.092).
        {"deepnorm", {"norm_position=post", "deepnorm=true", "tie_embeddings=false"}},
        {"gau", {"block=gau"}},                         // 2 n_layer GAU layers, softmax (D4)
        {"flash", {"block=gau", "flash_chunk=64"}},     // FLASH mixed chunks of L_train / 4 (D6)
    };
    // The rows of published-tables.md's tables that need no training (B3, B6, B9, B10, B12, B13).
    plan.inference = {"ntk", "yarn", "rerope", "leaky_rerope", "logn", "rerope+logn", "window+logn"};
    return plan;
}

void apply_zoo_json(zoo_plan& plan, const nlohmann::json& object, const std::string& where) {
    if (!object.is_object()) fail("{}: expected a JSON object with entries and/or inference", where);
    for (const auto& [key, value] : object.items()) {
        if (key == "inference") {
            if (!value.is_array()) fail("{}: inference must be a list of method specs, found {}", where, json_text(value));
            plan.inference.clear();
            for (const auto& m : value) {
                if (!m.is_string()) fail("{}: inference item {} is not a string", where, json_text(m));
                plan.inference.push_back(m.get<std::string>());
            }
        } else if (key == "entries") {
            if (!value.is_array()) fail("{}: entries must be a list of {{\"name\", \"set\"}} objects", where);
            plan.entries.clear();
            for (const auto& e : value) {
                if (!e.is_object() || !e.contains("name") || !e["name"].is_string())
                    fail("{}: entry {} has no \"name\" string; expected {{\"name\": ..., \"set\": [...]}}", where, json_text(e));
                zoo_entry entry{e["name"].get<std::string>(), {}};
                for (const auto& [k, v] : e.items()) {
                    if (k == "name") continue;
                    if (k != "set" || !v.is_array())
                        fail("{}: entry '{}' has key '{}'; expected only name and set (a list of key=value)", where,
                             entry.name, k);
                    for (const auto& s : v) {
                        if (!s.is_string()) fail("{}: entry '{}': set item {} is not a string", where, entry.name, json_text(s));
                        entry.settings.push_back(s.get<std::string>());
                    }
                }
                plan.entries.push_back(std::move(entry));
            }
        } else {
            fail("{}: unknown key '{}'; expected entries or inference", where, key);
        }
    }
    for (std::size_t i = 0; i < plan.entries.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (plan.entries[i].name == plan.entries[j].name)
                fail("{}: entry name '{}' is used twice; each model needs its own folder", where, plan.entries[i].name);
}

std::optional<variants::position_spec> compose_method(const variants::position_spec& trained,
                                                      const variants::position_spec& method) {
    variants::position_spec out = trained;
    bool changed = false;
    const bool method_moves_rope = method.position.def->name != "default" || !method.position.given.empty();
    if (method_moves_rope) {
        if (trained.position.def->name != "default") return std::nullopt;
        out.position = method.position;
        changed = true;
    }
    for (const auto& m : method.modifiers) {
        const bool present = std::any_of(trained.modifiers.begin(), trained.modifiers.end(),
                                         [&](const variants::spec_term& t) { return t.def == m.def; });
        if (present) continue;
        out.modifiers.push_back(m);
        changed = true;
    }
    if (!changed) return std::nullopt;
    // Re-parsed so the modifiers come in registry order and the text is canonical.
    return variants::parse_spec(out.text(), "zoo method '" + method.text() + "'");
}

}  // namespace stretch
