// One run per output folder. `output_lock` creates the folder (failing with "FLAG DIR: REASON" when
// it cannot, e.g. a file is in the way) and takes an advisory lock (flock) on DIR/.lock, which the
// kernel drops when the process ends, however it ends (SIGKILL included): a second run into the same
// folder is refused while the first holds it, naming the first's pid. Holding it, it removes the
// temporary files that atomic writes of a killed run left in the folder (io/atomic_file.h).
#pragma once

#include <string>

namespace stretch {

class output_lock {
public:
    output_lock(const std::string& dir, const std::string& flag);
    ~output_lock();
    output_lock(const output_lock&) = delete;
    output_lock& operator=(const output_lock&) = delete;

private:
    int fd_ = -1;
};

}  // namespace stretch
