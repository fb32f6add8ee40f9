// A persistent pool of worker threads with a static partition of work: `parallel_for` splits
// [0, n) into at most n_threads contiguous chunks of at least `grain` items, chunk k always going to
// thread k. Because the partition depends only on n, the grain and the thread count, every reduction
// done per chunk is deterministic for a fixed thread count (what exact training resume relies on).
// The calling thread runs chunk 0; work that makes a single chunk runs on it alone, waking nobody.
// Waiting threads spin for a short while before sleeping on a condition variable: decoding one
// token runs hundreds of small parallel_for calls, and a futex wake-up for each cost more than the
// work (llama.cpp's ggml threads spin the same way).
// Not a task scheduler: no work stealing, no nesting (asserted).
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace stretch {

class thread_pool {
public:
    explicit thread_pool(int n_threads);
    ~thread_pool();
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;

    int size() const { return n_threads_; }

    // fn(begin, end, thread_index) over a static partition of [0, n) into min(n_threads, n / grain)
    // chunks, at least one (so fewer than 2 grains of work is one chunk, on the caller). A grain says
    // how much work pays for a wake-up:
    // decoding one token makes hundreds of calls on a few hundred values each, where handing half of
    // them to a sleeping or spinning worker costs more than doing them.
    void parallel_for(std::int64_t n, const std::function<void(std::int64_t, std::int64_t, int)>& fn,
                      std::int64_t grain = 1);

private:
    void worker_loop(int index);

    int n_threads_;
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable start_;
    std::condition_variable done_;
    const std::function<void(std::int64_t, std::int64_t, int)>* job_ = nullptr;
    std::int64_t job_n_ = 0;
    int job_chunks_ = 0;
    std::atomic<std::uint64_t> generation_ = 0;  // written under mutex_, read by spinning workers
    std::atomic<int> pending_ = 0;
    bool stopping_ = false;
};

// The grain of a parallel_for over items of `values_per_item` values each for streaming work (a few
// operations per value): chunks of at least 8192 values, a few microseconds of one core's work, more
// than a wake-up costs. Decode's per-token norms, rotations and activations (a few hundred to a few
// thousand values) then run on the calling thread.
constexpr std::int64_t streaming_grain(std::int64_t values_per_item) {
    return std::max<std::int64_t>(1, 8192 / std::max<std::int64_t>(1, values_per_item));
}

// The pool the calling thread's kernels run on. Every thread that runs kernels has its own, made on
// first use with one worker per core, so two threads — two models, or a server's engine beside
// other work — never share a pool and nothing process-wide is mutated by a forward. `set_threads`
// recreates the calling thread's pool with n_threads (and pins the BLAS to one thread per call,
// since the pool itself splits every GEMM); results depend on the thread count alone.
thread_pool& pool();
void set_threads(int n_threads);

}  // namespace stretch
