#include "variants/spec.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "core/numbers.h"

namespace stretch::variants {

namespace {

std::vector<std::string> split(const std::string& text, char sep) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        const std::size_t at = text.find(sep, start);
        parts.push_back(text.substr(start, at == std::string::npos ? std::string::npos : at - start));
        if (at == std::string::npos) return parts;
        start = at + 1;
    }
}

// The '+'-joined terms of a spec; a '+' that is a number's exponent sign ("factor=1e+30") is not a join.
std::vector<std::string> split_terms(const std::string& text) {
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    std::vector<std::string> terms{""};
    for (std::size_t i = 0; i < text.size(); ++i) {
        const bool exponent = i >= 2 && (text[i - 1] == 'e' || text[i - 1] == 'E') &&
                              (digit(text[i - 2]) || text[i - 2] == '.') && i + 1 < text.size() && digit(text[i + 1]);
        if (text[i] == '+' && !exponent)
            terms.emplace_back();
        else
            terms.back() += text[i];
    }
    return terms;
}

std::string format_number(double v) { return fmt::format("{:.10g}", v); }

std::vector<std::string> param_names(const variant_def& def) {
    std::vector<std::string> names;
    for (const auto& p : def.params) names.push_back(p.name);
    return names;
}

spec_term parse_term(const std::string& term, const std::string& where) {
    const std::size_t colon = term.find(':');
    const std::string name = term.substr(0, colon);
    spec_term out;
    out.def = &find_variant(name, where);
    if (colon == std::string::npos) return out;
    for (const std::string& item : split(term.substr(colon + 1), ',')) {
        const std::size_t eq = item.find('=');
        const std::string key = item.substr(0, eq);
        const auto& params = out.def->params;
        const bool known = std::any_of(params.begin(), params.end(), [&](const param_spec& p) { return p.name == key; });
        if (!known) {
            const auto names = param_names(*out.def);
            fail("{}: unknown key '{}' for variant '{}'; expected one of: {}", where, key, name,
                 names.empty() ? std::string("(it has no parameters)") : fmt::format("{}", fmt::join(names, ", ")));
        }
        if (eq == std::string::npos || eq + 1 == item.size())
            fail("{}: key '{}' of variant '{}' has no value; expected {}={}", where, key, name, key, "<value>");
        if (out.given.count(key)) fail("{}: key '{}' of variant '{}' is given twice", where, key, name);
        out.given[key] = item.substr(eq + 1);
    }
    return out;
}

std::string term_text(const spec_term& t) {
    std::vector<std::string> items;
    for (const auto& p : t.def->params)
        if (auto it = t.given.find(p.name); it != t.given.end()) items.push_back(p.name + "=" + it->second);
    return items.empty() ? t.def->name : fmt::format("{}:{}", t.def->name, fmt::join(items, ","));
}

std::string expand_aliases(const std::string& text) {
    std::vector<std::string> terms;
    for (const std::string& term : split_terms(text)) {
        const auto it = std::find_if(aliases().begin(), aliases().end(), [&](const alias& a) { return a.name == term; });
        terms.push_back(it == aliases().end() ? term : it->expansion);
    }
    return fmt::format("{}", fmt::join(terms, "+"));
}

int registry_rank(const variant_def* def) {
    const auto all = all_variants();
    return static_cast<int>(std::find(all.begin(), all.end(), def) - all.begin());
}

param_values::value parse_value(const param_spec& p, const std::string& text, const std::string& what) {
    auto checked = [&](const std::string& item) { return parse_real(item, p.range(), what); };
    switch (p.type) {
        case param_type::integer:
        case param_type::real: return checked(text);
        case param_type::text:
            if (std::find(p.choices.begin(), p.choices.end(), text) == p.choices.end())
                fail("{} = '{}'; expected one of: {}", what, text, fmt::join(p.choices, ", "));
            return text;
        case param_type::real_list: {
            std::vector<double> values;
            for (const std::string& item : split(text, ';')) values.push_back(checked(item));
            return values;
        }
    }
    return 0.0;
}

std::string value_text(const param_values::value& v) {
    if (const auto* d = std::get_if<double>(&v)) return format_number(*d);
    if (const auto* s = std::get_if<std::string>(&v)) return *s;
    std::vector<std::string> items;
    for (double d : std::get<std::vector<double>>(v)) items.push_back(format_number(d));
    return fmt::format("{}", fmt::join(items, ";"));
}

}  // namespace

std::string position_spec::text() const {
    std::vector<std::string> terms;
    if (position.def->name != "default" || !position.given.empty() || modifiers.empty())
        terms.push_back(term_text(position));
    for (const auto& m : modifiers) terms.push_back(term_text(m));
    return fmt::format("{}{}", fmt::join(terms, "+"), all_layers ? "@all" : "");
}

position_spec parse_spec(const std::string& text, const std::string& where) {
    return parse_spec_with_modifiers(text, {}, where);
}

position_spec parse_spec_with_modifiers(const std::string& text, const std::vector<std::string>& extra,
                                        const std::string& where) {
    position_spec spec;
    std::string base = text.empty() ? "default" : text;
    if (const std::size_t at = base.find('@'); at != std::string::npos) {
        if (base.substr(at) != "@all")
            fail("{}: '{}' ends in '{}'; expected nothing or '@all' (the sliding-window layers too)", where, base,
                 base.substr(at));
        spec.all_layers = true;
        base.resize(at);
    }
    std::string joined = base.empty() ? "default" : base;
    for (const auto& m : extra) joined += "+" + m;
    bool have_position = false;
    for (const std::string& term : split_terms(expand_aliases(joined))) {
        if (term.empty()) fail("{}: empty term in '{}'; expected name[:key=value,...] joined by '+'", where, joined);
        spec_term t = parse_term(term, where);
        if (t.def->kind == variant_kind::position) {
            if (have_position)
                fail("{}: '{}' names two position variants ('{}' and '{}'); expected at most one, plus modifiers", where,
                     joined, spec.position.def->name, t.def->name);
            spec.position = std::move(t);
            have_position = true;
        } else {
            for (const auto& m : spec.modifiers)
                if (m.def == t.def) fail("{}: modifier '{}' appears twice in '{}'", where, t.def->name, joined);
            spec.modifiers.push_back(std::move(t));
        }
    }
    if (!have_position) spec.position.def = &find_variant("default", where);
    std::sort(spec.modifiers.begin(), spec.modifiers.end(),
              [](const spec_term& a, const spec_term& b) { return registry_rank(a.def) < registry_rank(b.def); });
    return spec;
}

position_setup::position_setup(const position_spec& spec, const model_context& context, const std::string& where)
    : context_(context) {
    STRETCH_ASSERT(context.n_ctx_train > 0 && context.n_rot > 0 && context.n_rot % 2 == 0);
    auto resolve = [&](const spec_term& term) {
        resolved r{term.def, {}};
        std::vector<std::string> items;
        for (const auto& p : term.def->params) {
            const std::string what = fmt::format("{}: {}.{}", where, term.def->name, p.name);
            const auto given = term.given.find(p.name);
            param_values::value v;
            if (given != term.given.end()) {
                v = parse_value(p, given->second, what);
            } else if (p.default_value == "auto") {
                v = parse_value(p, format_number(p.automatic(context)), what + " (automatic default)");
            } else {
                v = parse_value(p, p.default_value, what);
            }
            items.push_back(p.name + "=" + value_text(v));
            r.values.set(p.name, std::move(v));
        }
        if (term.def->validate) try {
                term.def->validate(r.values, context);
            } catch (const error& e) {
                fail("{}: {}", where, e.what());
            }
        const std::string full = items.empty() ? term.def->name : fmt::format("{}:{}", term.def->name, fmt::join(items, ","));
        return std::pair{std::move(r), full};
    };
    std::vector<std::string> full_terms;
    auto [position, position_full] = resolve(spec.position);
    position_ = std::move(position);
    full_terms.push_back(position_full);
    for (const auto& m : spec.modifiers) {
        auto [mod, mod_full] = resolve(m);
        modifiers_.push_back(std::move(mod));
        full_terms.push_back(mod_full);
    }
    std::string far_owner, mask_owner;
    std::vector<const resolved*> terms{&position_};
    for (const auto& m : modifiers_) terms.push_back(&m);
    for (const resolved* r : terms) {
        if (r->def->far) {
            auto branch = r->def->far(r->values, context_);
            if (branch.first_near) {
                if (far_)
                    fail("{}: '{}' and '{}' both remap far positions (two-score attention); expected at most one of them",
                         where, far_owner, r->def->name);
                far_ = std::move(branch);
                far_owner = r->def->name;
            }
        }
        if (r->def->mask) {
            cpu::attention_rules mine;
            r->def->mask(r->values, context_, mine);
            if (mine.restricted() && !mask_owner.empty())
                fail("{}: '{}' and '{}' both restrict the visible keys; expected at most one of them", where, mask_owner,
                     r->def->name);
            if (mine.restricted()) mask_owner = r->def->name;
        }
    }
    if (position_.def->layer_spec)
        for (std::int64_t il = 0; il < context_.n_layer; ++il) {
            const std::string layer = position_.def->layer_spec(position_.values, context_, il);
            const std::string layer_where = fmt::format("{} (block {}: {})", where, il, layer);
            position_spec layer_terms = parse_spec(layer, layer_where);
            // The run's modifiers apply to every block, except where the block sets its own.
            for (const auto& m : spec.modifiers)
                if (std::none_of(layer_terms.modifiers.begin(), layer_terms.modifiers.end(),
                                 [&](const spec_term& own) { return own.def == m.def; }))
                    layer_terms.modifiers.push_back(m);
            layers_.emplace_back(layer_terms, context_, layer_where);
        }
    text_ = spec.text();
    full_text_ = fmt::format("{}", fmt::join(full_terms, "+"));
}

bool position_setup::rotations_only() const {
    const auto plain = [](const resolved& r) {
        const variant_def& d = *r.def;
        return !d.far && !d.mask && !d.query_scale && !d.relu2_divisor && !d.key_norm_eps && !d.head_slopes &&
               !d.layer_spec && !d.qk_bias && !d.learned_sink_init;
    };
    return plain(position_) && std::all_of(modifiers_.begin(), modifiers_.end(), plain);
}

bool trains_learned_sinks(const position_spec& spec) {
    return bool(spec.position.def->learned_sink_init) ||
           std::any_of(spec.modifiers.begin(), spec.modifiers.end(),
                       [](const spec_term& m) { return bool(m.def->learned_sink_init); });
}

std::optional<double> position_setup::learned_sink_init() const {
    for (const auto& m : modifiers_)
        if (m.def->learned_sink_init) return m.def->learned_sink_init(m.values);
    if (position_.def->learned_sink_init) return position_.def->learned_sink_init(position_.values);
    return std::nullopt;
}

double position_setup::key_norm_eps() const {
    for (const auto& m : modifiers_)
        if (m.def->key_norm_eps) return m.def->key_norm_eps(m.values);
    return 0.0;
}

std::vector<double> position_setup::absolute(std::int64_t first, std::int64_t time) const {
    std::vector<double> out;
    if (!position_.def->absolute) return out;
    for (std::int64_t p = first; p < first + time; ++p) {
        const auto row = position_.def->absolute(position_.values, context_, p);
        STRETCH_ASSERT(std::int64_t(row.size()) == context_.d_model);
        out.insert(out.end(), row.begin(), row.end());
    }
    return out;
}

rotation position_setup::frequencies(std::int64_t length) const {
    if (position_.def->frequencies) return position_.def->frequencies(position_.values, context_, length);
    return {cpu::rope_inv_freq(context_.base, context_.n_rot), 1.0};
}

cpu::attention_rules position_setup::rules(std::int64_t first_query, std::int64_t time_q, std::int64_t length) const {
    cpu::attention_rules rules;
    if (far_)
        for (std::int64_t i = first_query; i < first_query + time_q; ++i)
            rules.first_near.push_back(std::clamp<std::int64_t>(far_->first_near(i), 0, i + 1));
    std::vector<const resolved*> terms{&position_};
    for (const auto& m : modifiers_) terms.push_back(&m);
    for (const resolved* r : terms) {
        if (r->def->mask) r->def->mask(r->values, context_, rules);
        if (r->def->head_slopes) rules.head_slopes = r->def->head_slopes(r->values, context_);
    }
    // Keys j <= i that the mask leaves visible: the band's, plus sinks older than it.
    const auto n_visible = [&](std::int64_t i) {
        const std::int64_t band = rules.band_start(i);
        return i + 1 - band + (rules.restricted() ? std::min(band, rules.n_sink) : 0);
    };
    std::vector<double> scale(static_cast<std::size_t>(time_q), 1.0);
    bool scaled = false;
    for (const resolved* r : terms) {
        if (r->def->query_scale)
            for (std::int64_t row = 0; row < time_q; ++row) {
                const std::int64_t i = first_query + row;
                const double c = r->def->query_scale(r->values, context_, i, n_visible(i), length);
                scale[static_cast<std::size_t>(row)] *= c;
                scaled = scaled || c != 1.0;
            }
        if (r->def->relu2_divisor)
            for (std::int64_t row = 0; row < time_q; ++row)
                rules.relu2_divisor.push_back(r->def->relu2_divisor(r->values, context_, n_visible(first_query + row), length));
    }
    if (scaled) rules.query_scale = std::move(scale);
    return rules;
}

}  // namespace stretch::variants
