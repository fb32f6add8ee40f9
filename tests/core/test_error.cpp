// stretch::error keeps its promise of one line whatever the quoted input holds (core/error.h).
#include "core/error.h"

#include <gtest/gtest.h>

#include <string>

namespace stretch {
namespace {

std::string message_of(const std::string& quoted) {
    try {
        fail("f.gguf: key = '{}', expected x", quoted);
    } catch (const error& e) {
        return e.what();
    }
    return "(no error)";
}

TEST(Error, ControlCharactersAreEscapedSoTheMessageIsOneLine) {
    EXPECT_EQ(message_of("a\nb\rc\td\x7f" "e"), "f.gguf: key = 'a\\x0ab\\x0dc\\x09d\\x7fe', expected x");
    EXPECT_EQ(message_of(std::string("nul\0in", 6)), "f.gguf: key = 'nul\\x00in', expected x");
}

TEST(Error, PrintableAndUtf8TextIsKeptAsItIs) {
    EXPECT_EQ(message_of("caf\xC3\xA9 \xE4\xB8\x96 'q' \\x"), "f.gguf: key = 'caf\xC3\xA9 \xE4\xB8\x96 'q' \\x', expected x");
}

}  // namespace
}  // namespace stretch
