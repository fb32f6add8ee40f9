// RoPE frequencies of `linear`, `dynamic`, `yarn`, `llama3` and `longrope` against Hugging Face
// transformers' RoPE utilities (modeling_rope_utils.py) for the same parameters. The expected values
// come from tests/reference/make_rope_fixture.py, a float64 numpy transcription of the HF functions
// written independently of src/variants (it records the HF commits it follows), committed beside its
// output tests/fixtures/rope/hf_frequencies.json. Each case gives the stretch spec, the model context,
// the length passed to frequencies() and HF's inv_freq and attention factor (stretch's mscale).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "variants/spec.h"

namespace stretch {
namespace {

// Both sides are float64 evaluations of the same formulas; they differ only in operation order
// (HF: 1 / base^(2t/d) and 1 / (factor * base^(2t/d)); stretch: base^(-2t/d) and theta / factor; the
// dynamic base' through one more pow), i.e. a few ulps: the largest difference over the fixture is
// 3.8e-16 relative (measured with the tolerance at 0; 18 of 119 cases agree bit for bit). 1e-12 leaves
// >1000x room for another libm's pow/log and is still ~1e9x tighter than what a wrong rounding of a
// correction bound (moves a pair by 1/(high-low) of the factor), a wrong band or a short/long list
// swap produces.
constexpr double rel_tol = 1e-12;

nlohmann::json load_fixture() {
    const std::string path = std::string(STRETCH_SOURCE_DIR) + "/tests/fixtures/rope/hf_frequencies.json";
    std::ifstream in(path);
    if (!in) ADD_FAILURE() << "missing " << path << " (python3 tests/reference/make_rope_fixture.py writes it)";
    return in ? nlohmann::json::parse(in) : nlohmann::json::object();
}

const nlohmann::json& fixture() {
    static const nlohmann::json doc = load_fixture();
    return doc;
}

double rel_err(double got, double want) { return std::abs(got - want) / std::max(std::abs(want), 1e-300); }

TEST(HfFrequencies, FixtureCoversAllFiveMethods) {
    const auto& doc = fixture();
    ASSERT_TRUE(doc.contains("cases")) << "fixture has no cases";
    std::map<std::string, int> per_method;
    std::set<std::string> names;
    for (const auto& c : doc["cases"]) {
        ++per_method[c["method"].get<std::string>()];
        EXPECT_TRUE(names.insert(c["name"].get<std::string>()).second) << "duplicate case " << c["name"];
    }
    // The generator writes 13/39/40/7/20; a truncated or partly regenerated fixture falls below these.
    const std::map<std::string, int> at_least = {{"linear", 10}, {"dynamic", 30}, {"yarn", 30}, {"llama3", 5}, {"longrope", 15}};
    for (const auto& [method, n] : at_least) EXPECT_GE(per_method[method], n) << method << " cases in the fixture";
    EXPECT_GE(doc["cases"].size(), 100u);
}

TEST(HfFrequencies, MatchHuggingFaceRopeUtils) {
    const auto& doc = fixture();
    ASSERT_TRUE(doc.contains("cases"));
    int checked = 0;
    for (const auto& c : doc["cases"]) {
        const std::string name = c["name"].get<std::string>(), spec = c["spec"].get<std::string>();
        SCOPED_TRACE(name + ": " + spec.substr(0, 160));
        const auto& ctx = c["context"];
        const variants::model_context context{ctx["n_ctx_train"].get<std::int64_t>(), ctx["n_rot"].get<std::int64_t>(),
                                              ctx["base"].get<double>(), ctx["target_length"].get<std::int64_t>()};
        const variants::position_setup setup(variants::parse_spec(spec, "hf_frequencies.json"), context, name);
        const variants::rotation r = setup.frequencies(c["length"].get<std::int64_t>());
        const auto want = c["inv_freq"].get<std::vector<double>>();
        const double want_m = c["attention_factor"].get<double>();

        ASSERT_EQ(r.inv_freq.size(), want.size());
        double worst = rel_err(r.mscale, want_m);
        std::size_t worst_at = want.size();  // want.size() = the attention factor
        for (std::size_t t = 0; t < want.size(); ++t) {
            const double e = rel_err(r.inv_freq[t], want[t]);
            if (e > worst) worst = e, worst_at = t;
        }
        // One report per case, at its worst element, so a wrong case reads as one line.
        if (worst_at == want.size())
            EXPECT_LE(worst, rel_tol) << std::setprecision(17) << "mscale " << r.mscale << " vs HF attention_factor " << want_m;
        else
            EXPECT_LE(worst, rel_tol) << std::setprecision(17) << "pair " << worst_at << " of " << want.size() << ": inv_freq "
                                      << r.inv_freq[worst_at] << " vs HF " << want[worst_at];
        ++checked;
    }
    EXPECT_EQ(checked, int(doc["cases"].size()));
}

}  // namespace
}  // namespace stretch
