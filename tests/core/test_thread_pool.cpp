#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "core/error.h"

namespace stretch {

TEST(ThreadPool, EveryIndexVisitedOnceWithAStaticPartition) {
    thread_pool tp(3);
    for (std::int64_t n : {1, 2, 3, 7, 100}) {
        std::vector<int> owner(static_cast<std::size_t>(n), -1);
        std::atomic<int> calls{0};
        tp.parallel_for(n, [&](std::int64_t b, std::int64_t e, int thread) {
            ++calls;
            for (std::int64_t i = b; i < e; ++i) {
                EXPECT_EQ(owner[static_cast<std::size_t>(i)], -1);
                owner[static_cast<std::size_t>(i)] = thread;
            }
        });
        // Chunk k = [n k / 3, n (k + 1) / 3) belongs to thread k, whatever the timing.
        for (std::int64_t i = 0; i < n; ++i) {
            int expected = 0;
            while (n * (expected + 1) / 3 <= i) ++expected;
            EXPECT_EQ(owner[static_cast<std::size_t>(i)], expected) << "n=" << n << " i=" << i;
        }
        EXPECT_LE(calls.load(), 3);
    }
}

TEST(ThreadPool, RejectsNonPositiveThreadCount) {
    EXPECT_THROW(set_threads(0), error);
}

}  // namespace stretch
