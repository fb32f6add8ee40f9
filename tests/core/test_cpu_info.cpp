// cpu_model_name against the same field read by sed, an independent parser of /proc/cpuinfo.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "core/cpu_info.h"

namespace stretch {

TEST(CpuInfo, ModelNameIsProcCpuinfosFirstModelName) {
    if (!std::filesystem::exists("/proc/cpuinfo")) GTEST_SKIP() << "no /proc/cpuinfo on this system";
    FILE* pipe = popen("sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1", "r");
    ASSERT_NE(pipe, nullptr);
    char line[512] = {};
    const bool found = std::fgets(line, sizeof line, pipe) != nullptr;
    pclose(pipe);
    std::string expected = found ? line : "unknown CPU";
    while (!expected.empty() && expected.back() == '\n') expected.pop_back();
    EXPECT_EQ(cpu_model_name(), expected);
}

}  // namespace stretch
