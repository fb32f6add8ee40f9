#include "cli/ranks.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <thread>

#include "core/thread_pool.h"

namespace stretch::cli {

void use_threads(int threads, const communicator& world) {
    if (threads != 0) return set_threads(threads);
    if (world.local_size() > 1)
        set_threads(std::max(1, int(std::max(1u, std::thread::hardware_concurrency())) / world.local_size()));
}

std::vector<std::string> spread_over_ranks(const communicator& world, std::size_t count,
                                           const std::function<std::string(std::size_t)>& item) {
    const auto ranks = std::size_t(world.size()), rank = std::size_t(world.rank());
    std::string mine;  // each of this rank's items: its length (8 bytes), then its bytes
    for (std::size_t i = rank; i < count; i += ranks) {
        const std::string text = item(i);
        const std::uint64_t length = text.size();
        mine.append(reinterpret_cast<const char*>(&length), sizeof length).append(text);
    }
    const std::vector<std::string> gathered = world.gather(mine);
    if (!world.root()) return {};
    std::vector<std::string> out(count);
    for (std::size_t r = 0; r < ranks; ++r) {
        std::size_t at = 0;
        for (std::size_t i = r; i < count; i += ranks) {
            std::uint64_t length = 0;
            std::memcpy(&length, gathered[r].data() + at, sizeof length);
            out[i] = gathered[r].substr(at + sizeof length, std::size_t(length));
            at += sizeof length + std::size_t(length);
        }
    }
    return out;
}

}  // namespace stretch::cli
