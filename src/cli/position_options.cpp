#include "cli/position_options.h"

#include <fmt/format.h>

#include "model/layer_positions.h"

namespace stretch::cli {

std::string position_options::where(const std::string& model_path) const {
    if (!pos.empty()) return "--pos";
    const std::string flags = modifiers.empty() ? "" : fmt::format(" with --{}", fmt::join(modifiers, " --"));
    return fmt::format("{}: the model's own positions{}", model_path, flags);
}

variants::position_spec position_options::choose(const std::string& model_default, const std::string& model_path,
                                                 const model_config& model,
                                                 const std::vector<std::int64_t>& lengths) const {
    const std::string blame = where(model_path);
    const auto spec = variants::parse_spec_with_modifiers(pos.empty() ? model_default : pos, modifiers, blame);
    check_spec_at(spec, blame, model, lengths);
    return spec;
}

void check_spec_at(const variants::position_spec& spec, const std::string& where, const model_config& model,
                   const std::vector<std::int64_t>& lengths) {
    for (const std::int64_t length : lengths) layer_positions(model, spec, length, where);
}

void add_position_options(CLI::App* cmd, const std::shared_ptr<position_options>& options) {
    std::vector<std::string> positions, modifiers;
    for (const auto* def : variants::all_variants())
        (def->kind == variants::variant_kind::position ? positions : modifiers).push_back(def->name);
    for (const auto& a : variants::aliases()) positions.push_back(a.name);
    cmd->add_option("--pos", options->pos,
                    fmt::format("position variant: name[:key=value,...][+modifier...] (see `stretch variants`); "
                                "names: {}; modifiers: {}; default: the model's own",
                                fmt::join(positions, ", "), fmt::join(modifiers, ", ")));
    for (const auto& name : modifiers) {
        const auto& def = variants::find_variant(name, "--pos");
        cmd->add_flag_callback(
            "--" + name, [options, name] { options->modifiers.push_back(name); },
            fmt::format("add the '{}' modifier with its defaults: {}", name, def.summary));
    }
}

}  // namespace stretch::cli
