// `dca`'s relative positions against vLLM's Dual Chunk Attention for the same chunk_size and
// local_size. The expected values come from tests/reference/make_dca_fixture.py, a numpy
// transcription of vLLM's DualChunkRotaryEmbedding position tables and the key ranges of its
// dual-chunk flash attention (prefill and decode, which the script checks agree), committed beside
// its output tests/fixtures/dca/positions.json. stretch folds the three attentions into two score
// sets (src/variants/position/dca.cpp); the positions it hands the kernel must give every pair the
// same effective relative position. (The logits against the float64 oracle with these positions:
// tests/variants/test_variants.cpp; decoding: tests/model/test_kv_cache.cpp.)
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "variants/spec.h"

namespace stretch {
namespace {

nlohmann::json fixture() {
    const std::string path = std::string(STRETCH_SOURCE_DIR) + "/tests/fixtures/dca/positions.json";
    std::ifstream in(path);
    if (!in) ADD_FAILURE() << "missing " << path << " (python3 tests/reference/make_dca_fixture.py writes it)";
    return in ? nlohmann::json::parse(in) : nlohmann::json::object();
}

// rho(i, j) of the variant: query(i) - key(j) for the far keys j < first_near(i), else i - j.
std::int64_t variant_rho(const variants::position_setup& setup, const cpu::attention_rules& rules, std::int64_t i,
                         std::int64_t j) {
    if (!rules.two_score() || j >= rules.first_near[std::size_t(i)]) return i - j;
    const double rho = setup.far()->query(i) - setup.far()->key(j);
    EXPECT_EQ(rho, std::round(rho));  // integers: exactly representable, compared exactly below
    return std::int64_t(rho);
}

TEST(DcaPositions, EqualVllmDualChunkAttention) {
    const auto doc = fixture();
    ASSERT_TRUE(doc.contains("cases"));
    EXPECT_EQ(doc["cases"].size(), 6u);
    for (const auto& c : doc["cases"]) {
        const std::int64_t chunk = c["chunk_size"], local = c["local_size"], length = c["length"];
        const std::string spec = fmt::format("dca:chunk_size={},local_size={}", chunk, local);
        SCOPED_TRACE(spec);
        const variants::position_setup setup(variants::parse_spec(spec, "test"),
                                             variants::model_context{16, 8, 100.0, length}, "test");
        const cpu::attention_rules rules = setup.rules(0, length, length);
        std::int64_t mismatches = 0;
        for (std::int64_t i = 0; i < length; ++i)
            for (std::int64_t j = 0; j <= i; ++j)
                mismatches += variant_rho(setup, rules, i, j) != c["rho"][std::size_t(i)][std::size_t(j)].get<std::int64_t>();
        EXPECT_EQ(mismatches, 0);
        // Decoding one query after i keys gets the same first near key as row i of the prefill.
        for (std::int64_t i = 0; i < length; i += 7)
            EXPECT_EQ(setup.rules(i, 1, i + 1).first_near.at(0), rules.first_near.at(std::size_t(i)));
    }
}

TEST(DcaPositions, ChecksItsParameters) {
    const auto error_of = [](const std::string& spec) {
        try {
            variants::position_setup(variants::parse_spec(spec, "test"), variants::model_context{16, 8, 100.0, 64}, "test");
        } catch (const error& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    EXPECT_EQ(error_of("dca:chunk_size=8,local_size=8"),
              "test: dca.local_size = 8 must be below dca.chunk_size = 8 (chunks are chunk_size - local_size long)");
    EXPECT_EQ(error_of("dca:chunk_size=1"), "test: dca.chunk_size: found '1', expected an integer in [2, 2147483648]");
    // ChunkLlama's defaults: 3/4 and 1/16 of the training length.
    const variants::position_setup setup(variants::parse_spec("dca", "test"), variants::model_context{16, 8, 100.0, 64},
                                         "test");
    EXPECT_EQ(setup.full_text(), "dca:chunk_size=12,local_size=1");
}

}  // namespace
}  // namespace stretch
