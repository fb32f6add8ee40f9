// io/output_lock.h: one run per output folder, and the temporary files of a killed atomic write
// cleared when the next run takes the folder.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "core/error.h"
#include "io/output_lock.h"
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

TEST(OutputLock, ASecondRunIntoTheFolderIsRefusedUntilTheFirstEnds) {
    const std::string dir = test::fresh_dir("lock") + "/out";
    {
        const output_lock first(dir, "--out");
        EXPECT_TRUE(fs::is_directory(dir));
        EXPECT_EQ(error_of([&] { output_lock second(dir, "--out"); }),
                  "--out " + dir + ": another stretch run (pid " + std::to_string(getpid()) +
                      ") is writing into this folder; expected a folder of its own");
    }
    EXPECT_NO_THROW(output_lock again(dir, "--out"));
}

TEST(OutputLock, AFileInTheWayIsNamed) {
    const std::string file = test::fresh_dir("lockfile") + "/out";
    std::ofstream(file) << "not a folder";
    EXPECT_EQ(error_of([&] { output_lock lock(file, "--out"); }), "--out " + file + ": cannot create the folder: Not a directory");
    EXPECT_EQ(error_of([&] { output_lock lock(file + "/below", "--out"); }),
              "--out " + file + "/below: cannot create the folder: Not a directory");
}

TEST(OutputLock, TemporariesOfKilledWritesAreRemovedAndNothingElse) {
    const std::string dir = test::fresh_dir("stale");
    for (const char* name : {"checkpoint.gguf.tmp.4242.0", "log.jsonl.tmp.1.17", "notes.tmp.txt", "model.gguf",
                             "a.tmp.12.x", ".tmp.1.2"})
        std::ofstream(dir + "/" + name) << "x";
    const output_lock lock(dir, "--out");
    std::set<std::string> left;
    for (const auto& entry : fs::directory_iterator(dir)) left.insert(entry.path().filename().string());
    EXPECT_EQ(left, (std::set<std::string>{".lock", "notes.tmp.txt", "model.gguf", "a.tmp.12.x", ".tmp.1.2"}));
}

}  // namespace
}  // namespace stretch
