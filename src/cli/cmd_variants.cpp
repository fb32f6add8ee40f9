// `stretch variants [--markdown]`: every registered position variant and modifier with its
// parameters, defaults, ranges and help, and the aliases — printed from the registry
// (variants/listing.h), so the list cannot drift from what --pos accepts.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "variants/listing.h"

namespace stretch::cli {

void add_variants_command(CLI::App& app) {
    auto markdown = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand("variants", "list the position/attention variants, their parameters and defaults");
    cmd->add_flag("--markdown", *markdown, "print docs/variants.md");
    cmd->callback([markdown] {
        const std::string text = *markdown ? variants::variants_markdown() : variants::variants_text();
        std::fputs(text.c_str(), stdout);
    });
}

}  // namespace stretch::cli
