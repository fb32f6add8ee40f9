// What the machine is, for benchmark reports: figures from different CPUs are compared only as
// ratios measured in one run, so every report names the CPU it ran on.
#pragma once

#include <string>

namespace stretch {

// The CPU's model name as the kernel reports it (/proc/cpuinfo "model name", e.g. "AMD EPYC 9R14
// 96-Core Processor"), or "unknown CPU" where it does not.
std::string cpu_model_name();

}  // namespace stretch
