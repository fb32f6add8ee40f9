// Tests for io/atomic_file: contents, replacement, cleanup on failure, and the crash guarantee
// (a writer SIGKILLed at random moments leaves the old or the new file, never a partial one).
#include "io/atomic_file.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.h"

namespace stretch {
namespace {

namespace fs = std::filesystem;

// A fresh, empty directory per test, removed afterwards.
class AtomicFileTest : public ::testing::Test {
protected:
    void SetUp() override {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir = fs::temp_directory_path() / fmt::format("stretch_atomic_{}_{}", ::getpid(), info->name());
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    void TearDown() override { fs::remove_all(dir); }

    std::vector<std::string> entries() const {
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
        std::sort(names.begin(), names.end());
        return names;
    }

    fs::path dir;
};

std::vector<std::byte> bytes_of(std::string_view s) {
    std::vector<std::byte> out(s.size());
    std::transform(s.begin(), s.end(), out.begin(), [](char c) { return static_cast<std::byte>(c); });
    return out;
}

std::string read_all(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const stretch::error& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected stretch::error";
    return {};
}

TEST_F(AtomicFileTest, WritesNewFile) {
    auto path = (dir / "a.bin").string();
    write_file_atomic(path, bytes_of("hello"));
    EXPECT_EQ(read_all(path), "hello");
    EXPECT_EQ(entries(), std::vector<std::string>{"a.bin"});  // no temporary left behind
}

TEST_F(AtomicFileTest, ReplacesExistingFileAndWritesEmpty) {
    auto path = (dir / "a.bin").string();
    write_file_atomic(path, bytes_of("first version, longer"));
    write_file_atomic(path, bytes_of("second"));
    EXPECT_EQ(read_all(path), "second");
    write_file_atomic(path, {});
    EXPECT_TRUE(fs::exists(path));
    EXPECT_EQ(fs::file_size(path), 0u);
    EXPECT_EQ(entries(), std::vector<std::string>{"a.bin"});
}

TEST_F(AtomicFileTest, StreamsInPiecesAndNothingIsVisibleBeforeCommit) {
    auto path = (dir / "a.bin").string();
    write_file_atomic(path, bytes_of("old"));
    atomic_file out(path);
    out.write(bytes_of("ab"));
    out.write_zeros(5000);
    out.write(bytes_of("cd"));
    EXPECT_EQ(read_all(path), "old");
    EXPECT_TRUE(fs::exists(out.temp_path()));
    EXPECT_NE(out.temp_path().find(std::to_string(::getpid())), std::string::npos);
    out.commit();
    std::string expected = "ab" + std::string(5000, '\0') + "cd";
    EXPECT_EQ(read_all(path), expected);
    EXPECT_EQ(out.bytes_written(), expected.size());
    EXPECT_EQ(entries(), std::vector<std::string>{"a.bin"});
}

TEST_F(AtomicFileTest, AbandonedWriteRemovesTemporaryAndKeepsOldFile) {
    auto path = (dir / "a.bin").string();
    write_file_atomic(path, bytes_of("old"));
    {
        atomic_file out(path);
        out.write(bytes_of("partial"));
    }  // destroyed without commit, as when an exception unwinds
    EXPECT_EQ(read_all(path), "old");
    EXPECT_EQ(entries(), std::vector<std::string>{"a.bin"});
}

TEST_F(AtomicFileTest, MissingDirectoryNamesPathAndReason) {
    auto path = (dir / "no_such_dir" / "a.bin").string();
    std::string message = error_of([&] { write_file_atomic(path, bytes_of("x")); });
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST_F(AtomicFileTest, FailedRenameRemovesTemporary) {
    // Renaming a file over a directory fails (EISDIR) after all data was written and fsynced.
    auto path = dir / "target";
    fs::create_directories(path / "inner");
    std::string message = error_of([&] { write_file_atomic(path.string(), bytes_of("data")); });
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
    EXPECT_NE(message.find("rename"), std::string::npos) << message;
    EXPECT_EQ(entries(), std::vector<std::string>{"target"});
}

TEST_F(AtomicFileTest, ConcurrentWritersUseDistinctTemporaries) {
    auto path = (dir / "a.bin").string();
    atomic_file first(path);
    atomic_file second(path);
    EXPECT_NE(first.temp_path(), second.temp_path());
    first.write(bytes_of("first"));
    second.write(bytes_of("second"));
    first.commit();
    second.commit();
    EXPECT_EQ(read_all(path), "second");
    EXPECT_EQ(entries(), std::vector<std::string>{"a.bin"});
}

TEST_F(AtomicFileTest, SigkillLeavesOldOrNewFileNeverPartial) {
    // Every version is one repeated byte over the whole size, so any mix or truncation shows.
    constexpr std::size_t size = 4u << 20;
    auto path = (dir / "state.bin").string();
    write_file_atomic(path, std::vector<std::byte>(size, std::byte{0}));
    std::mt19937 rng(20240601);
    int rounds_with_leftover = 0;
    for (int round = 0; round < 16; ++round) {
        pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            // Child: rewrite the file forever with changing versions until killed.
            std::vector<std::byte> buffer(size);
            for (unsigned version = 1;; version = version % 250 + 1) {
                std::fill(buffer.begin(), buffer.end(), static_cast<std::byte>(version));
                try {
                    write_file_atomic(path, buffer);
                } catch (...) {
                    ::_exit(2);
                }
            }
        }
        ::usleep(static_cast<useconds_t>(1000 + rng() % 30000));
        ASSERT_EQ(::kill(pid, SIGKILL), 0);
        int status = 0;
        ASSERT_EQ(::waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFSIGNALED(status)) << "the writer exited by itself with status " << status;

        std::string data = read_all(path);
        ASSERT_EQ(data.size(), size) << "round " << round;
        ASSERT_EQ(std::count(data.begin(), data.end(), data[0]), static_cast<std::ptrdiff_t>(size)) << "round " << round;
        // A kill during a write leaves that writer's temporary (named with its pid) behind.
        for (const auto& name : entries()) {
            if (name == "state.bin") continue;
            EXPECT_NE(name.find(fmt::format(".tmp.{}.", pid)), std::string::npos) << name;
            ++rounds_with_leftover;
            fs::remove(dir / name);
        }
    }
    RecordProperty("rounds_killed_mid_write", rounds_with_leftover);
}

}  // namespace
}  // namespace stretch
