#include "core/memory.h"

#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "core/error.h"

namespace stretch {

namespace {

std::uint64_t machine_memory() {
    std::ifstream meminfo("/proc/meminfo");
    std::string name;
    std::uint64_t kib = 0;
    std::string unit;
    while (meminfo >> name >> kib >> unit)
        if (name == "MemAvailable:") return kib * 1024;
    return std::uint64_t(sysconf(_SC_PHYS_PAGES)) * std::uint64_t(sysconf(_SC_PAGE_SIZE));
}

}  // namespace

std::uint64_t available_memory() {
    const std::uint64_t machine = machine_memory();
    // cgroup v2; memory.max reads "max" when there is no limit, which the >> leaves unparsed.
    std::ifstream limit("/sys/fs/cgroup/memory.max"), current("/sys/fs/cgroup/memory.current");
    std::uint64_t max = 0, used = 0;
    if (limit >> max && current >> used) return std::min(machine, max > used ? max - used : 0);
    return machine;
}

void require_memory(std::uint64_t bytes, const std::string& what, const std::string& detail) {
    const std::uint64_t available = available_memory();
    if (bytes <= available) return;
    constexpr double gib = 1024.0 * 1024.0 * 1024.0;
    fail("{}: needs about {:.1f} GiB{}; this machine has {:.1f} GiB available", what, double(bytes) / gib,
         detail.empty() ? "" : " (" + detail + ")", double(available) / gib);
}

}  // namespace stretch
