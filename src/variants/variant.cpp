#include "variants/variant.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"

namespace stretch::variants {

namespace {

// Function-local so that registrars in other translation units can run in any order.
std::vector<variant_def>& registry() {
    static std::vector<variant_def> defs;
    return defs;
}

}  // namespace

registrar::registrar(variant_def def) {
    for (param_spec& p : def.params) {
        const double limit = p.type == param_type::integer ? double(max_tokens) : max_real;
        p.min = std::max(p.min, -limit);
        p.max = std::min(p.max, limit);
    }
    STRETCH_ASSERT(std::none_of(registry().begin(), registry().end(), [&](const variant_def& d) { return d.name == def.name; }));
    registry().push_back(std::move(def));
}

std::vector<const variant_def*> all_variants() {
    std::vector<const variant_def*> out;
    for (const auto& d : registry()) out.push_back(&d);
    std::sort(out.begin(), out.end(), [](const variant_def* a, const variant_def* b) {
        if (a->kind != b->kind) return a->kind == variant_kind::position;
        if ((a->name == "default") != (b->name == "default")) return a->name == "default";
        return a->name < b->name;
    });
    return out;
}

const variant_def& find_variant(std::string_view name, std::string_view where) {
    for (const auto& d : registry())
        if (d.name == name) return d;
    std::vector<std::string> names;
    for (const auto* d : all_variants()) names.push_back(d->name);
    for (const auto& a : aliases()) names.push_back(a.name);
    fail("{}: unknown variant '{}'; expected one of: {}", where, name, fmt::join(names, ", "));
}

const std::vector<alias>& aliases() {
    static const std::vector<alias> list{
        {"super_baseline", "window+logn",
         "window attention at w = L_train with log-n scaling at inference (methods.md B13, post 9431)"},
        {"llama4_temp", "attn_temp:beta=0.1,floor_len=8192,offset=1",
         "Llama 4's attention temperature 1 + 0.1 ln(floor((p + 1) / 8192) + 1)"},
        {"mistral3_temp", "attn_temp:beta=0.1,offset=0",
         "Mistral 3's llama_4_scaling_beta temperature 1 + 0.1 ln(1 + floor(p / L_orig)), L_orig = L_train"},
    };
    return list;
}

const param_values::value& param_values::at(std::string_view name) const {
    const auto it = values_.find(name);
    STRETCH_ASSERT(it != values_.end());
    return it->second;
}

double param_values::real(std::string_view name) const { return std::get<double>(at(name)); }

std::int64_t param_values::integer(std::string_view name) const {
    return static_cast<std::int64_t>(std::get<double>(at(name)));
}

const std::string& param_values::text(std::string_view name) const { return std::get<std::string>(at(name)); }

const std::vector<double>& param_values::list(std::string_view name) const {
    return std::get<std::vector<double>>(at(name));
}

}  // namespace stretch::variants
