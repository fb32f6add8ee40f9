#include "io/output_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include "core/error.h"
#include "io/atomic_file.h"

namespace stretch {

output_lock::output_lock(const std::string& dir, const std::string& flag) {
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) fail("{} {}: cannot create the folder: {}", flag, dir, ec.message());
    if (!fs::is_directory(dir, ec)) fail("{} {}: is not a folder; expected a folder for the run's files", flag, dir);
    const std::string path = (fs::path(dir) / ".lock").string();
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd_ < 0) {
        const int e = errno;
        fail("{} {}: cannot create the lock file {}: {}", flag, dir, path, std::strerror(e));
    }
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int e = errno;
        char pid[32] = {};
        const ssize_t n = ::pread(fd_, pid, sizeof pid - 1, 0);
        ::close(fd_);
        if (e != EWOULDBLOCK) fail("{} {}: cannot lock {}: {}", flag, dir, path, std::strerror(e));
        fail("{} {}: another stretch run (pid {}) is writing into this folder; expected a folder of its own", flag, dir,
             n > 0 ? std::string(pid, std::size_t(n)) : "unknown");
    }
    const std::string pid = std::to_string(::getpid());
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, pid.data(), pid.size(), 0) != ssize_t(pid.size())) {
        const int e = errno;
        ::close(fd_);
        fail("{} {}: cannot write the lock file {}: {}", flag, dir, path, std::strerror(e));
    }
    remove_stale_temporaries(dir);
}

output_lock::~output_lock() { ::close(fd_); }  // closing drops the lock

}  // namespace stretch
