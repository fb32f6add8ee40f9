#include "core/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>

#include <cblas.h>

#include "core/error.h"

namespace stretch {

thread_pool::thread_pool(int n_threads) : n_threads_(std::max(1, n_threads)) {
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

thread_pool::~thread_pool() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    start_.notify_all();
    for (auto& w : workers_) w.join();
}

// Set while a thread runs a chunk: kernels index per-thread scratch by thread index, so a nested
// parallel_for would hand the same index to two threads at once.
static thread_local bool inside_job = false;

static void run_chunk(const std::function<void(std::int64_t, std::int64_t, int)>& fn, std::int64_t n, int n_chunks,
                      int index) {
    if (index >= n_chunks) return;
    std::int64_t begin = n * index / n_chunks;
    std::int64_t end = n * (index + 1) / n_chunks;
    if (begin >= end) return;
    inside_job = true;
    fn(begin, end, index);
    inside_job = false;
}

// True while the machine has more runnable threads than cores: the fourth field of /proc/loadavg
// ("running/total") counts the threads runnable right now, our own included. Read at most every
// 10 ms by any thread; unknown (no /proc) counts as not oversubscribed.
static bool oversubscribed() {
    using clock = std::chrono::steady_clock;
    static std::atomic<std::int64_t> next_check{0};
    static std::atomic<bool> state{false};
    const std::int64_t now = clock::now().time_since_epoch().count();
    if (now >= next_check.load(std::memory_order_relaxed)) {
        next_check.store(now + std::chrono::duration_cast<clock::duration>(std::chrono::milliseconds(10)).count(),
                         std::memory_order_relaxed);
        long runnable = 0;
        if (std::FILE* f = std::fopen("/proc/loadavg", "r")) {
            double l1, l5, l15;
            if (std::fscanf(f, "%lf %lf %lf %ld/", &l1, &l5, &l15, &runnable) != 4) runnable = 0;
            std::fclose(f);
        }
        state.store(runnable > long(std::max(1u, std::thread::hardware_concurrency())), std::memory_order_relaxed);
    }
    return state.load(std::memory_order_relaxed);
}

// Polls `ready` for some 20 microseconds (a pause takes ~65 ns on Zen 4/5), then, unless the machine
// is oversubscribed, for up to 2 ms more; true once it holds. Decoding one token runs hundreds of
// parallel_for calls a few tens of microseconds apart, and a worker that went to sleep in between
// costs a futex wake-up and an inter-processor interrupt each time (in a VM: decode at 99 token/s
// with the short spin alone, 200 with the long one). On an oversubscribed machine a long spin is
// ruinous: the thread waited for is not running, and the spinner holds a core it could have had
// (1.3 ms spins dropped decode from 26 to 1 token/s at load 12; 2 ms spins beside a second stretch
// process to 2 token/s; sched_yield instead hands the core to a busy thread for a whole time slice).
template <class F>
static bool spin_until(F&& ready) {
    for (int i = 0; i < 300; ++i) {
        if (ready()) return true;
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
    }
    using clock = std::chrono::steady_clock;
    const auto give_up = clock::now() + std::chrono::milliseconds(2);
    for (int i = 0;; ++i) {
        if (i % 64 == 0 && (oversubscribed() || clock::now() > give_up)) return false;
        if (ready()) return true;
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
    }
}

void thread_pool::worker_loop(int index) {
    std::uint64_t seen = 0;
    for (;;) {
        spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
        const std::function<void(std::int64_t, std::int64_t, int)>* job;
        std::int64_t n;
        int chunks;
        {
            std::unique_lock lock(mutex_);
            start_.wait(lock, [&] { return stopping_ || generation_ != seen; });
            if (stopping_) return;
            seen = generation_;
            job = job_;
            n = job_n_;
            chunks = job_chunks_;
        }
        run_chunk(*job, n, chunks, index);
        if (pending_.fetch_sub(1) == 1) {  // the last one: wake the caller if it went to sleep
            std::lock_guard lock(mutex_);
            done_.notify_one();
        }
    }
}

void thread_pool::parallel_for(std::int64_t n, const std::function<void(std::int64_t, std::int64_t, int)>& fn,
                               std::int64_t grain) {
    if (n <= 0) return;
    STRETCH_ASSERT(!inside_job && grain >= 1);
    const int chunks = int(std::clamp<std::int64_t>(n / grain, 1, n_threads_));
    if (chunks == 1) {
        run_chunk(fn, n, 1, 0);
        return;
    }
    {
        std::lock_guard lock(mutex_);
        job_ = &fn;
        job_n_ = n;
        job_chunks_ = chunks;
        pending_ = n_threads_ - 1;
        ++generation_;
    }
    start_.notify_all();
    run_chunk(fn, n, chunks, 0);
    if (!spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; })) {
        std::unique_lock lock(mutex_);
        done_.wait(lock, [&] { return pending_ == 0; });
    }
    std::lock_guard lock(mutex_);
    job_ = nullptr;
}

static std::unique_ptr<thread_pool>& pool_instance() {
    static thread_local std::unique_ptr<thread_pool> instance;  // joined when its thread exits
    return instance;
}

thread_pool& pool() {
    auto& p = pool_instance();
    if (!p) set_threads(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
    return *p;
}

void set_threads(int n_threads) {
    if (n_threads < 1) fail("--threads: found {}, expected a positive thread count", n_threads);
    openblas_set_num_threads(1);
    pool_instance() = std::make_unique<thread_pool>(n_threads);
}

}  // namespace stretch
