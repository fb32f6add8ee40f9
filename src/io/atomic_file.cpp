// Crash-safe file replacement (write temp, fsync, rename, fsync directory). See atomic_file.h.
// Not a buffered writer: callers hand over large spans; each write() is one write(2) loop.
#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace stretch {

namespace {

// Unique per process (pid) and per call within the process (counter), so two threads or two
// processes saving the same path never share a temporary file.
std::string make_temp_path(const std::string& path) {
    static std::atomic<unsigned long> counter{0};
    return fmt::format("{}.tmp.{}.{}", path, static_cast<long>(::getpid()), counter.fetch_add(1));
}

std::string parent_directory(const std::string& path) {
    auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

}  // namespace

atomic_file::atomic_file(std::string path) : path_(std::move(path)), temp_path_(make_temp_path(path_)) {
    if (path_.empty()) fail("atomic_file: empty path, expected a file name");
    // O_EXCL: never adopt (and later rename) a file someone else is writing.
    fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0) {
        int e = errno;
        fail("{}: cannot create temporary file {}: {}", path_, temp_path_, std::strerror(e));
    }
}

atomic_file::~atomic_file() {
    if (committed_) return;
    if (fd_ >= 0) ::close(fd_);
    ::unlink(temp_path_.c_str());
}

void atomic_file::fail_and_clean(const char* action, int error_number) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    ::unlink(temp_path_.c_str());
    committed_ = true;  // nothing left for the destructor to clean
    fail("{}: {} failed: {}", path_, action, std::strerror(error_number));
}

void atomic_file::write(std::span<const std::byte> data) {
    STRETCH_ASSERT(!committed_ && fd_ >= 0);
    const std::byte* p = data.data();
    std::size_t left = data.size();
    while (left > 0) {
        ssize_t n = ::write(fd_, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail_and_clean("write", errno);
        }
        if (n == 0) fail_and_clean("write", EIO);  // a regular file never returns 0 for left > 0
        p += n;
        left -= static_cast<std::size_t>(n);
        written_ += static_cast<std::size_t>(n);
    }
}

void atomic_file::write_zeros(std::size_t n) {
    static constexpr std::array<std::byte, 4096> zeros{};
    while (n > 0) {
        std::size_t chunk = std::min(n, zeros.size());
        write(std::span<const std::byte>(zeros.data(), chunk));
        n -= chunk;
    }
}

void atomic_file::commit() {
    STRETCH_ASSERT(!committed_ && fd_ >= 0);
    // fsync before rename: otherwise a crash can leave the new name pointing at unwritten blocks.
    if (::fsync(fd_) != 0) fail_and_clean("fsync", errno);
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail_and_clean("close", errno);
    if (::rename(temp_path_.c_str(), path_.c_str()) != 0) fail_and_clean("rename", errno);
    committed_ = true;
    // The rename lives in the directory; fsync it so the new name survives a power loss. The file
    // is already in place, so a failure here is reported but there is nothing to clean up.
    std::string dir = parent_directory(path_);
    int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) {
        int e = errno;
        fail("{}: open of directory {} for fsync failed: {}", path_, dir, std::strerror(e));
    }
    int rc = ::fsync(dir_fd);
    int e = errno;
    ::close(dir_fd);
    // Some file systems cannot fsync a directory (EINVAL); the rename is then as durable as it gets.
    if (rc != 0 && e != EINVAL) fail("{}: fsync of directory {} failed: {}", path_, dir, std::strerror(e));
}

namespace {

// NAME.tmp.PID.N, as make_temp_path names them.
bool is_temporary_name(const std::string& name) {
    const auto all_digits = [](std::string_view s) {
        return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
    };
    const std::size_t tmp = name.rfind(".tmp.");
    if (tmp == std::string::npos || tmp == 0) return false;
    const std::string_view rest = std::string_view(name).substr(tmp + 5);
    const std::size_t dot = rest.find('.');
    return dot != std::string_view::npos && all_digits(rest.substr(0, dot)) && all_digits(rest.substr(dot + 1));
}

}  // namespace

void remove_stale_temporaries(const std::string& dir) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
        if (entry.is_regular_file(ec) && is_temporary_name(entry.path().filename().string()))
            std::filesystem::remove(entry.path(), ec);
}

void write_file_atomic(const std::string& path, std::span<const std::byte> data) {
    atomic_file out(path);
    out.write(data);
    out.commit();
}

void write_text_atomic(const std::string& path, std::string_view text) {
    write_file_atomic(path, std::as_bytes(std::span(text.data(), text.size())));
}

}  // namespace stretch
