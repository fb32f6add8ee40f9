// How much memory the machine can give this process, so that a request that cannot fit is refused
// in one line naming what asked for it, before the allocation (instead of the OOM killer).
#pragma once

#include <cstdint>
#include <string>

namespace stretch {

// /proc/meminfo's MemAvailable (the kernel's estimate of what can be allocated without swapping),
// else the physical memory, lowered to what a cgroup's memory limit leaves (a container's limit can
// be far below the machine's); in bytes.
std::uint64_t available_memory();

// Throws stretch::error "WHAT: needs about X GiB (DETAIL); this machine has Y GiB available" when
// `bytes` is more than available_memory(). `detail`: what the bytes are made of, or empty.
void require_memory(std::uint64_t bytes, const std::string& what, const std::string& detail = "");

}  // namespace stretch
