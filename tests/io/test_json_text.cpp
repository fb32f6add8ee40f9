// io/json_text.h: a report with text that is not valid UTF-8 (a path, a generated answer) is written,
// each invalid byte as U+FFFD, instead of the JSON writer throwing from the middle of a run.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/json_text.h"
#include "support/cli.h"

namespace stretch {
namespace {

TEST(JsonText, InvalidUtf8IsReplacedNotFatal) {
    const nlohmann::json report = {{"text", "p\xff.txt"}, {"answer", "\xe2\x82"}, {"ok", "caf\xc3\xa9"}};
    EXPECT_THROW((void)report.dump(), nlohmann::json::type_error);  // what the writers did before
    const std::string text = json_text(report);
    const auto back = nlohmann::json::parse(text);
    EXPECT_EQ(back["text"], "p\xef\xbf\xbd.txt");
    EXPECT_EQ(back["answer"], "\xef\xbf\xbd");  // a cut-short sequence is one replacement
    EXPECT_EQ(back["ok"], "caf\xc3\xa9");        // valid text is untouched

    const std::string path = test::fresh_dir("json") + "/r\xfe.json";
    write_json_atomic(path, report);
    EXPECT_EQ(nlohmann::json::parse(test::read_file(path)), back);
}

}  // namespace
}  // namespace stretch
