// Per-request position methods (serve/positions.h).
#include "serve/positions.h"

#include <gtest/gtest.h>

#include "support/tiny_model.h"

namespace stretch::serve {
namespace {

using namespace test;

TEST(ServePositions, AutoIsTheSmallestScalingThatCoversTheLength) {
    model_config c = tiny_config();
    c.n_ctx_train = 64;
    // Plain RoPE scales with YaRN; at or below the training length the factor is 1 (plain RoPE).
    EXPECT_EQ(auto_positions(c, "default", 48).text(), "yarn:factor=1");
    EXPECT_EQ(auto_positions(c, "default", 256).text(), "yarn:factor=4");
    // A model's own factor gives way to the length's; an original length the file names is L_orig.
    EXPECT_EQ(auto_positions(c, "linear:factor=8", 96).text(), "linear:factor=1.5");
    EXPECT_EQ(auto_positions(c, "yarn:factor=16,original_max_position_embeddings=32", 96).text(),
              "yarn:factor=3,original_max_position_embeddings=32");
    // Nothing to scale: the method as it is.
    EXPECT_EQ(auto_positions(c, "rerope:window=16", 1000).text(), "rerope:window=16");
}

TEST(ServePositions, RequestMethodsResolveOrAreRefusedByName) {
    const transformer model = tiny_model();
    const auto def = variants::parse_spec("default", "t");
    const auto auto_setup = request_positions(model, "default", def, std::string("auto"), 4 * model.config().n_ctx_train);
    EXPECT_EQ(auto_setup->global().text(), "yarn:factor=4");
    EXPECT_EQ(request_positions(model, "default", def, std::nullopt, 10)->global().text(), "default");
    EXPECT_EQ(request_positions(model, "default", def, std::string("ntk:factor=2"), 10)->global().text(), "ntk:factor=2");
    try {
        request_positions(model, "default", def, std::string("bogus"), 10);
        FAIL() << "accepted";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("pos"), std::string::npos) << e.what();
    }
    EXPECT_THROW(request_positions(model, "default", def, std::string("longrope"), 10), error);
}

}  // namespace
}  // namespace stretch::serve
