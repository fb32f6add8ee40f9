#include "core/memory.h"

#include <unistd.h>

#include <fstream>
#include <string>

#include "core/error.h"

namespace stretch {

std::uint64_t available_memory() {
    std::ifstream meminfo("/proc/meminfo");
    std::string name;
    std::uint64_t kib = 0;
    std::string unit;
    while (meminfo >> name >> kib >> unit)
        if (name == "MemAvailable:") return kib * 1024;
    return std::uint64_t(sysconf(_SC_PHYS_PAGES)) * std::uint64_t(sysconf(_SC_PAGE_SIZE));
}

void require_memory(std::uint64_t bytes, const std::string& what) {
    const std::uint64_t available = available_memory();
    if (bytes <= available) return;
    constexpr double gib = 1024.0 * 1024.0 * 1024.0;
    fail("{}: needs about {:.1f} GiB; this machine has {:.1f} GiB available", what, double(bytes) / gib,
         double(available) / gib);
}

}  // namespace stretch
