// docs/variants.md is the registry's generated listing; this keeps the committed page current.
#include "variants/listing.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "variants/variant.h"

namespace stretch {
namespace {

TEST(VariantListing, DocsPageEqualsTheGeneratedListing) {
    std::ifstream in(std::string(STRETCH_SOURCE_DIR) + "/docs/variants.md");
    ASSERT_TRUE(in) << "docs/variants.md is missing; write it with ./build/stretch variants --markdown";
    std::stringstream page;
    page << in.rdbuf();
    EXPECT_TRUE(page.str() == variants::variants_markdown())
        << "docs/variants.md is stale; regenerate it with ./build/stretch variants --markdown > docs/variants.md";
}

TEST(VariantListing, NamesEveryVariantAndParameter) {
    const std::string text = variants::variants_text();
    for (const auto* def : variants::all_variants()) {
        EXPECT_NE(text.find("  " + def->name + " "), std::string::npos) << def->name;
        for (const auto& p : def->params) EXPECT_NE(text.find(p.name), std::string::npos) << def->name << "." << p.name;
    }
}

}  // namespace
}  // namespace stretch
