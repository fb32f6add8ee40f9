// Stop strings and UTF-8 hold-back of generated text (serve/text_stream.h), on SmolLM2's byte-level
// vocabulary where one token may carry part of a character.
#include "serve/text_stream.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "model/load.h"

namespace stretch::serve {
namespace {

namespace fs = std::filesystem;

fs::path fixture(const std::string& name) { return fs::path(STRETCH_SOURCE_DIR) / "tests/fixtures/arch" / name; }

TEST(ServeTextStream, CompleteUtf8Prefix) {
    EXPECT_EQ(complete_utf8_prefix("abc"), 3u);
    EXPECT_EQ(complete_utf8_prefix("a\xC3"), 1u);          // half of é
    EXPECT_EQ(complete_utf8_prefix("a\xC3\xA9"), 3u);
    EXPECT_EQ(complete_utf8_prefix("a\xE2\x82"), 1u);      // two thirds of €
    EXPECT_EQ(complete_utf8_prefix("\xF0\x9F\x98\x80"), 4u);
    EXPECT_EQ(complete_utf8_prefix("\xF0\x9F\x98"), 0u);
}

TEST(ServeTextStream, StopStringsAreCutAndHeldBack) {
    const loaded_model m = load_any_model(fixture("llama.gguf").string());
    const tokenizer& tok = *m.tok;
    const std::vector<std::int32_t> ids = tok.encode("Hello world. Goodbye world.", false);
    // The whole text, streamed, with a stop string inside it.
    text_stream s(tok, {"Goodbye"});
    std::string streamed;
    for (const std::int32_t id : ids) {
        streamed += s.push(id);
        if (s.stopped()) break;
    }
    streamed += s.flush();
    const std::string full = tok.decode(ids);
    const std::string want = full.substr(0, full.find("Goodbye"));
    EXPECT_TRUE(s.stopped());
    EXPECT_EQ(streamed, want);
    EXPECT_EQ(s.text(), want);
    EXPECT_LT(s.tokens_kept(), ids.size());
    // Without a match everything arrives, the last held-back bytes with flush().
    text_stream open(tok, {"Goodbyes"});
    std::string all;
    for (const std::int32_t id : ids) all += open.push(id);
    EXPECT_FALSE(open.stopped());
    all += open.flush();
    EXPECT_EQ(all, full);
    EXPECT_EQ(open.tokens_kept(), ids.size());
}

}  // namespace
}  // namespace stretch::serve
