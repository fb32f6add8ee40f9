#include "cli/position_options.h"

#include <fmt/format.h>

namespace stretch::cli {

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
