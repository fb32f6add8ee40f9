// How much memory the machine can give this process, so that a request that cannot fit is refused
// in one line naming what asked for it, before the allocation (instead of the OOM killer).
#pragma once

#include <cstdint>
#include <string>

namespace stretch {

// /proc/meminfo's MemAvailable (the kernel's estimate of what can be allocated without swapping),
// else the physical memory; in bytes.
std::uint64_t available_memory();

// Throws stretch::error "WHAT: needs about X GiB; this machine has Y GiB available" when `bytes` is
// more than available_memory().
void require_memory(std::uint64_t bytes, const std::string& what);

}  // namespace stretch
