#include "io/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace stretch {

namespace {

const char* file_type(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

}  // namespace

input_file::input_file(const std::string& path) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd_ < 0) {
        const int e = errno;
        fail("{}: cannot open file: {}", path, std::strerror(e));
    }
    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
        const int e = errno;
        ::close(fd_);
        fail("{}: cannot read its type and size: {}", path, std::strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd_);
        fail("{}: is {}; expected a regular file", path, file_type(st.st_mode));
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
}

input_file::~input_file() { ::close(fd_); }

void input_file::read_at(void* dst, std::size_t n, std::uint64_t offset) const {
    auto* out = static_cast<char*>(dst);
    while (n > 0) {
        const ssize_t got = ::pread(fd_, out, n, static_cast<off_t>(offset));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            const int e = errno;
            fail("{}: read error at byte {}: {}", path_, offset, std::strerror(e));
        }
        if (got == 0) fail("{}: the file ended at byte {} while being read (was it truncated?)", path_, offset);
        out += got;
        n -= static_cast<std::size_t>(got);
        offset += static_cast<std::uint64_t>(got);
    }
}

}  // namespace stretch
