// `stretch variants`: every registered position variant and modifier with its parameters, defaults,
// ranges and help, and the aliases — printed from the registry (variants/variant.h), so the list
// cannot drift from what --pos accepts.
#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "cli/commands.h"
#include "variants/spec.h"

namespace stretch::cli {

namespace {

std::string range_of(const variants::param_spec& p) {
    if (!p.choices.empty()) return fmt::format("{}", fmt::join(p.choices, "|"));
    const bool lo = std::isfinite(p.min), hi = std::isfinite(p.max);
    if (lo && hi) return fmt::format("[{:g}, {:g}]", p.min, p.max);
    if (lo) return fmt::format(">= {:g}", p.min);
    return "";
}

void print_variants() {
    const char* headings[] = {"Position variants (at most one):", "Modifiers (any, joined with '+'):"};
    for (const auto kind : {variants::variant_kind::position, variants::variant_kind::modifier}) {
        std::printf("%s\n", headings[kind == variants::variant_kind::position ? 0 : 1]);
        for (const auto* def : variants::all_variants()) {
            if (def->kind != kind) continue;
            std::printf("  %-14s %s\n  %-14s source: %s\n", def->name.c_str(), def->summary.c_str(), "",
                        def->source.c_str());
            for (const auto& p : def->params)
                std::printf("  %-14s   %-34s default %-9s %-20s %s\n", "", p.name.c_str(),
                            variants::describe_param_default(p).c_str(), range_of(p).c_str(), p.help.c_str());
        }
        std::printf("\n");
    }
    std::printf("Aliases:\n");
    for (const auto& a : variants::aliases())
        std::printf("  %-14s = %-20s %s\n", a.name.c_str(), a.expansion.c_str(), a.summary.c_str());
    std::printf("\nSpec syntax: name[:key=value,...][+modifier[:key=value,...]]..., e.g. --pos rerope:window=64+logn\n");
}

}  // namespace

void add_variants_command(CLI::App& app) {
    CLI::App* cmd = app.add_subcommand("variants", "list the position/attention variants, their parameters and defaults");
    cmd->callback(print_variants);
}

}  // namespace stretch::cli
