// Files named by a user are opened through here. The path is opened without blocking (O_NONBLOCK: a
// FIFO without a writer would otherwise hang open() forever) and its type checked before anything is
// read: only a regular file is read, and a directory, FIFO, socket or device (/dev/zero never ends)
// is refused by what it is. Read errors are reported as read errors, with the system's reason, never
// as a short or empty file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace stretch {

class input_file {
public:
    // Throws stretch::error "PATH: cannot open: REASON" or "PATH: is a directory; expected a file".
    explicit input_file(const std::string& path);
    ~input_file();
    input_file(const input_file&) = delete;
    input_file& operator=(const input_file&) = delete;

    int fd() const { return fd_; }
    std::uint64_t size() const { return size_; }
    const std::string& path() const { return path_; }
    // Exactly `n` bytes at `offset` into `dst`, or throws naming the path, the offset and the reason.
    void read_at(void* dst, std::size_t n, std::uint64_t offset) const;

private:
    std::string path_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
};

}  // namespace stretch
