#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "core/error.h"

namespace stretch {

TEST(ThreadPool, EveryIndexVisitedOnceWithAStaticPartition) {
    thread_pool tp(3);
    for (std::int64_t grain : {1, 4, 50})
        for (std::int64_t n : {1, 2, 3, 7, 100}) {
            std::vector<int> owner(static_cast<std::size_t>(n), -1);
            std::atomic<int> calls{0};
            tp.parallel_for(
                n,
                [&](std::int64_t b, std::int64_t e, int thread) {
                    ++calls;
                    for (std::int64_t i = b; i < e; ++i) {
                        EXPECT_EQ(owner[static_cast<std::size_t>(i)], -1);
                        owner[static_cast<std::size_t>(i)] = thread;
                    }
                },
                grain);
            // chunks = clamp(n / grain, 1, 3), and chunk k = [n k / chunks, n (k + 1) / chunks) belongs
            // to thread k, whatever the timing.
            const std::int64_t chunks = std::clamp<std::int64_t>(n / grain, 1, 3);
            for (std::int64_t i = 0; i < n; ++i) {
                int expected = 0;
                while (n * (expected + 1) / chunks <= i) ++expected;
                EXPECT_EQ(owner[static_cast<std::size_t>(i)], expected) << "n=" << n << " grain=" << grain << " i=" << i;
            }
            EXPECT_EQ(calls.load(), chunks) << "n=" << n << " grain=" << grain;
        }
}

TEST(ThreadPool, ASingleChunkRunsOnTheCallingThread) {
    // Below two grains of work nobody is woken: the caller runs it (decode's small products).
    thread_pool tp(2);
    std::thread::id ran_on;
    tp.parallel_for(10, [&](std::int64_t, std::int64_t, int) { ran_on = std::this_thread::get_id(); }, 6);
    EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST(ThreadPool, EachThreadHasItsOwnPool) {
    // set_threads on one thread leaves another thread's pool alone: two engines in one process
    // (issue 15) each keep the thread count they chose.
    const int saved = pool().size();
    set_threads(3);
    thread_pool* main_pool = &pool();
    thread_pool* other_pool = nullptr;
    int other_size = 0, other_after = 0;
    std::thread other([&] {
        set_threads(2);
        other_pool = &pool();
        other_size = pool().size();
        set_threads(1);
        other_after = pool().size();
    });
    other.join();
    EXPECT_NE(other_pool, main_pool);
    EXPECT_EQ(other_size, 2);
    EXPECT_EQ(other_after, 1);
    EXPECT_EQ(&pool(), main_pool);
    EXPECT_EQ(pool().size(), 3);
    set_threads(saved);
}

TEST(ThreadPool, RejectsNonPositiveThreadCount) {
    EXPECT_THROW(set_threads(0), error);
}

}  // namespace stretch
