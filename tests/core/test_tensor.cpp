// Large tensors (>= 1 MiB) come from a cache of mapped blocks (core/tensor.cpp): every tensor starts
// at zero, even on a reused block, and a loop that repeats its allocations stops asking the kernel
// for fresh pages after its first pass, also when its working set is above the cache's 1 GiB floor.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <vector>

#include "core/tensor.h"

namespace stretch {
namespace {

long minor_faults() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_minflt;
}

TEST(LargeTensor, ReusedBlocksStartAtZero) {
    for (int pass = 0; pass < 3; ++pass) {
        tensor t({3, 1 << 18}, dtype::f32);  // 3 MiB: a large block, from the cache after pass 0
        for (std::int64_t i = 0; i < t.numel(); ++i) ASSERT_EQ(t.data<float>()[i], 0.0f) << "pass " << pass;
        for (std::int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = 1.0f;
    }
    // A smaller request may take a larger cached block (8 MiB for 4.8 MB); it must still read zero.
    {
        tensor big({1 << 20}, dtype::f64);
        for (std::int64_t i = 0; i < big.numel(); ++i) big.data<double>()[i] = 2.0;
    }
    tensor smaller({600000}, dtype::f64);
    for (std::int64_t i = 0; i < smaller.numel(); ++i) ASSERT_EQ(smaller.data<double>()[i], 0.0) << i;
}

TEST(LargeTensor, RepeatedStepsAboveOneGibDoNotFaultAgain) {
    // One "step": 12 live tensors of 128 MiB (1.5 GiB at once, above the 1 GiB floor), each written
    // page by page, then all freed. The first step faults every page in: 32768 4 KiB pages per tensor,
    // or at least 64 if the kernel gives transparent huge pages. The second must run from the cache
    // (zeroing a reused block writes pages already mapped): fewer faults than half of what even huge
    // pages would need. The fixed 1 GiB cache before this one faulted 163,840 pages again.
    const auto step = [] {
        const long before = minor_faults();
        std::vector<tensor> live;
        for (int i = 0; i < 12; ++i) {
            live.emplace_back(shape_t{32, 1 << 20}, dtype::f32);
            float* p = live.back().data<float>();
            for (std::int64_t j = 0; j < live.back().numel(); j += 1024) p[j] = 1.0f;
        }
        return minor_faults() - before;
    };
    const long first = step(), second = step();
    EXPECT_GE(first, 12 * 64) << "the first step should fault its pages in";
    EXPECT_LE(second, 12 * 64 / 2) << "first step " << first << " faults, second " << second;
}

}  // namespace
}  // namespace stretch
