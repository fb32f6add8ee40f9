// One function per verb; each lives in cmd_<verb>.cpp and adds its subcommand to the app.
#pragma once

#include <CLI/CLI.hpp>

namespace stretch::cli {



}  // namespace stretch::cli
