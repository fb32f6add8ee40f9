// The registry as text: what `stretch variants` prints and docs/variants.md holds (a test keeps the
// committed page equal to `variants_markdown()`, so the docs cannot drift from the code).
#pragma once

#include <string>

namespace stretch::variants {

std::string variants_text();
std::string variants_markdown();

}  // namespace stretch::variants
