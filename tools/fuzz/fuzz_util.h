// Shared by the libFuzzer targets in tools/fuzz/ (docs/fuzzing.md). The readers take paths, so each
// input goes through one scratch file per process, on tmpfs when there is one.
// Conventions of the targets: a stretch::error is the expected answer to bad input and is caught;
// anything else (a sanitizer report, an uncaught exception, an abort, a leak, a timeout) is a bug.
// Properties the code promises are checked with `require`, which aborts so libFuzzer keeps the input.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/error.h"

namespace stretch::fuzz {

// Aborts (a crash libFuzzer saves) with a message when a promised property fails.
inline void require(bool ok, std::string_view what) {
    if (ok) return;
    std::fprintf(stderr, "fuzz: property failed: %.*s\n", static_cast<int>(what.size()), what.data());
    std::abort();
}

// stretch::error messages are one line (core/error.h), whatever bytes the file holds.
inline void require_one_line(const stretch::error& e) {
    const std::string_view m = e.what();
    if (m.find('\n') == std::string_view::npos && !m.empty()) return;
    std::fprintf(stderr, "fuzz: error message is not one non-empty line: [%s]\n", e.what());
    std::abort();
}

class scratch_file {
public:
    scratch_file() {
        const char* tmp = std::getenv("TMPDIR");
        const std::string dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : tmp != nullptr ? tmp : "/tmp";
        path_ = dir + "/stretch_fuzz_" + std::to_string(::getpid());
    }
    ~scratch_file() { ::unlink(path_.c_str()); }
    scratch_file(const scratch_file&) = delete;
    scratch_file& operator=(const scratch_file&) = delete;

    // Replaces the file's contents with the input; returns its path.
    const std::string& write(const std::uint8_t* data, std::size_t size) {
        const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) {
            std::perror(path_.c_str());
            std::abort();
        }
        for (std::size_t done = 0; done < size;) {
            const ssize_t n = ::write(fd, data + done, size - done);
            if (n <= 0) {
                std::perror(path_.c_str());
                std::abort();
            }
            done += static_cast<std::size_t>(n);
        }
        ::close(fd);
        return path_;
    }

private:
    std::string path_;
};

// One per process, removed at exit.
inline scratch_file& scratch() {
    static scratch_file file;
    return file;
}

}  // namespace stretch::fuzz
