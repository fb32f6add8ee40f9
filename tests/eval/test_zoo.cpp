// The zoo's plan: which inference-time methods compose with which training-time choice.
#include "eval/zoo.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace stretch {
namespace {

std::string composed(const std::string& trained, const std::string& method) {
    const auto out = compose_method(variants::parse_spec(trained, "test"), variants::parse_spec(method, "test"));
    return out ? out->text() : "n/a";
}

TEST(Zoo, RopeRescalingsReplaceOnlyATrainedRope) {
    EXPECT_EQ(composed("default", "ntk"), "ntk");
    EXPECT_EQ(composed("default+keynorm", "rerope+logn"), "rerope+keynorm+logn");
    // Nothing to rescale without a rotation, and a position variant cannot be stacked on another.
    EXPECT_EQ(composed("alibi", "ntk"), "n/a");
    EXPECT_EQ(composed("nope", "yarn"), "n/a");
    EXPECT_EQ(composed("hwfa", "rerope+logn"), "n/a");
}

TEST(Zoo, ModifiersAddToTheTrainedOnesOnce) {
    EXPECT_EQ(composed("alibi", "logn"), "alibi+logn");
    EXPECT_EQ(composed("default+window", "window+logn"), "logn+window");
    // Already trained with log n: the inference-time log n adds nothing.
    EXPECT_EQ(composed("default+logn:mode=trained", "logn"), "n/a");
    EXPECT_EQ(composed("default+logn:mode=trained", "rerope+logn"), "rerope+logn:mode=trained");
}

TEST(Zoo, PlanJsonIsCheckedKeyByKey) {
    zoo_plan plan = default_zoo_plan();
    apply_zoo_json(plan, nlohmann::json::parse(R"({"entries": [{"name": "a", "set": ["pos=alibi"]}], "inference": ["logn"]})"),
                   "zoo.json");
    ASSERT_EQ(plan.entries.size(), 1u);
    EXPECT_EQ(plan.entries[0].settings, std::vector<std::string>{"pos=alibi"});
    EXPECT_EQ(plan.inference, std::vector<std::string>{"logn"});
    auto message = [](const char* text) {
        zoo_plan p = default_zoo_plan();
        try {
            apply_zoo_json(p, nlohmann::json::parse(text), "zoo.json");
        } catch (const error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(message(R"({"entrys": []})").find("unknown key 'entrys'"), std::string::npos);
    EXPECT_NE(message(R"({"entries": [{"name": "a", "sett": []}]})").find("key 'sett'"), std::string::npos);
    EXPECT_NE(message(R"({"entries": [{"name": "a"}, {"name": "a"}]})").find("used twice"), std::string::npos);
    EXPECT_NE(message(R"({"inference": [3]})").find("not a string"), std::string::npos);
}

}  // namespace
}  // namespace stretch
