// io/input_file.h and the readers built on it: a file is checked to be a regular file before anything
// reads it (a FIFO without a writer would block forever, /dev/zero never ends, a directory reads as
// empty), and read errors are reported as such.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/corpus.h"
#include "io/gguf.h"
#include "io/input_file.h"
#include "io/llama2c.h"
#include "io/tokenizer.h"
#include "support/cli.h"

namespace stretch {
namespace {

namespace fs = std::filesystem;

std::string error_of(auto&& f) {
    try {
        f();
    } catch (const error& e) {
        return e.what();
    }
    return "";
}

TEST(InputFile, SpecialFilesAreRefusedByTypeBeforeAnyRead) {
    const std::string dir = test::fresh_dir("special");
    const std::string fifo = dir + "/ff";
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    const auto start = std::chrono::steady_clock::now();
    // Every reader: text, GGUF, llama2.c checkpoint, llama2.c tokenizer.
    EXPECT_EQ(error_of([&] { read_text_file(fifo); }), fifo + ": is a FIFO; expected a regular file");
    EXPECT_EQ(error_of([&] { gguf::reader::open(fifo); }), fifo + ": is a FIFO; expected a regular file");
    EXPECT_EQ(error_of([&] { read_llama2c(fifo); }), fifo + ": is a FIFO; expected a regular file");
    EXPECT_EQ(error_of([&] { load_llama2c_tokenizer(fifo, 512); }), fifo + ": is a FIFO; expected a regular file");
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5)) << "something waited for a writer";

    EXPECT_EQ(error_of([&] { read_text_file("/dev/zero"); }), "/dev/zero: is a character device; expected a regular file");
    EXPECT_EQ(error_of([&] { gguf::reader::open("/dev/null"); }), "/dev/null: is a character device; expected a regular file");
    EXPECT_EQ(error_of([&] { read_text_file(dir); }), dir + ": is a directory; expected a regular file");
    EXPECT_EQ(error_of([&] { read_byte_tokens(dir, "--text", 256); }), "--text " + dir + ": is a directory; expected a regular file");
    fs::create_symlink("loop", dir + "/loop");
    EXPECT_EQ(error_of([&] { read_text_file(dir + "/loop"); }),
              dir + "/loop: cannot open file: Too many levels of symbolic links");
    EXPECT_EQ(error_of([&] { read_text_file(dir + "/missing"); }), dir + "/missing: cannot open file: No such file or directory");
}

TEST(InputFile, EmptyIsEmptyAndUnreadableIsNamed) {
    const std::string dir = test::fresh_dir("empty");
    const std::string empty = dir + "/empty.txt";
    std::ofstream(empty).close();
    EXPECT_EQ(read_text_file(empty), "");
    EXPECT_EQ(error_of([&] { read_byte_tokens(empty, "--val", 256); }), "--val " + empty + ": file is empty, expected text");
    const std::string locked = dir + "/locked.txt";
    std::ofstream(locked) << "text";
    ASSERT_EQ(chmod(locked.c_str(), 0), 0);
    if (geteuid() == 0) GTEST_SKIP() << "root reads files whatever their mode";
    EXPECT_EQ(error_of([&] { read_text_file(locked); }), locked + ": cannot open file: Permission denied");
}

TEST(InputFile, ReadsPastTheEndAreReportedAsSuch) {
    const std::string path = test::fresh_dir("short") + "/four.bin";
    std::ofstream(path) << "abcd";
    const input_file file(path);
    EXPECT_EQ(file.size(), 4u);
    char buffer[8];
    file.read_at(buffer, 4, 0);
    EXPECT_EQ(std::string(buffer, 4), "abcd");
    EXPECT_EQ(error_of([&] { file.read_at(buffer, 8, 0); }),
              path + ": the file ended at byte 4 while being read (was it truncated?)");
}

TEST(ByteTokens, ABytePastTheVocabularyIsRefusedNamingItsOffset) {
    const std::string path = test::fresh_dir("vocab") + "/text.txt";
    std::ofstream(path, std::ios::binary) << "plain ascii, then caf\xc3\xa9";
    EXPECT_EQ(read_byte_tokens(path, "--data", 256).size(), 23u);
    EXPECT_EQ(error_of([&] { read_byte_tokens(path, "--data", 128); }),
              "--data " + path + ": vocab_size 128: byte 195 (0xC3) at offset 21 has no token; the vocabulary holds "
              "bytes 0x00..0x7F");
    EXPECT_NE(error_of([&] { read_byte_tokens(path, "--text", 100); }).find("vocab_size 100: byte 112 (0x70) at offset 0 has no token"), std::string::npos);
}

}  // namespace
}  // namespace stretch
