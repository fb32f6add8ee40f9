// Crash-safe file replacement: data is streamed into a temporary file next to the target
// (`<path>.tmp.<pid>.<n>`), fsynced, renamed over the target, and the directory is fsynced. A
// process killed at any moment (SIGKILL, power loss after the rename's fsync) leaves either the old
// file or the complete new one under `path`, never a partial one; a killed process may leave its
// temporary file behind (the pid in its name says whose it was); remove_stale_temporaries clears them.
// Not a general file API: no reading, no appending, no preserving of the old file's owner or mode
// (the new file gets 0666 minus the umask, like any freshly created file).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace stretch {

// Writes `data` to `path` atomically (see above). Throws stretch::error naming the path and the
// system's reason on any failure, after removing the temporary file.
void write_file_atomic(const std::string& path, std::span<const std::byte> data);
// The same for text (reports, JSON).
void write_text_atomic(const std::string& path, std::string_view text);

// Removes the temporary files of atomic writes into `dir` (`NAME.tmp.PID.N`) that killed processes
// left behind. Call it only while no other process writes into `dir` (io/output_lock.h).
void remove_stale_temporaries(const std::string& dir);

// The streaming form, for files too large to build in memory first:
//     atomic_file out(path);
//     out.write(header); out.write(tensor_data);
//     out.commit();  // nothing is visible under `path` before this returns
// Destroying it without commit() (an exception on the way) removes the temporary file.
class atomic_file {
public:
    explicit atomic_file(std::string path);
    ~atomic_file();
    atomic_file(const atomic_file&) = delete;
    atomic_file& operator=(const atomic_file&) = delete;

    void write(std::span<const std::byte> data);
    // Writes `n` zero bytes (padding).
    void write_zeros(std::size_t n);
    void commit();

    const std::string& path() const { return path_; }
    const std::string& temp_path() const { return temp_path_; }
    std::size_t bytes_written() const { return written_; }

private:
    [[noreturn]] void fail_and_clean(const char* action, int error_number);

    std::string path_;
    std::string temp_path_;
    int fd_ = -1;
    std::size_t written_ = 0;
    bool committed_ = false;
};

}  // namespace stretch
