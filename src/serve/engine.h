// The engine of `stretch serve`: one thread that owns the model's compute and runs continuous
// batching (as vLLM and llama.cpp's server schedule): up to `slots` sequences are active at once,
// each with its own KV cache, position setup and sampler; every step runs one batched forward
// (transformer::hidden_batch) over the one next token of every decoding sequence and a prompt
// chunk of each sequence still prefilling (at most `prefill_chunk` tokens per sequence and
// `prefill_budget` in all, so that a long prompt does not stall the others' decoding). Jobs wait
// in a bounded queue for a free slot; a full queue refuses new ones (the server's 503). A job that
// is cancelled (client gone, stop string) or past its deadline frees its slot at the next step.
// Chunk boundaries depend on the prompt alone, so each sequence computes what it would alone.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "model/transformer.h"
#include "serve/job.h"

namespace stretch::serve {

struct engine_options {
    int slots = 4;                       // sequences decoded together (--parallel)
    std::int64_t queue = 64;             // jobs that may wait for a slot
    int threads = 0;                     // the engine thread's pool; 0: one per core
    std::int64_t prefill_chunk = 256;    // prompt tokens per sequence per step
    std::int64_t prefill_budget = 512;   // prompt tokens per step, all sequences
    kv_cache_types cache_types;          // every request's cache (--cache-type-k / --cache-type-v)
};

// Counters for /metrics; read from any thread.
struct engine_counts {
    std::int64_t queued = 0, active = 0;
    std::int64_t prompt_tokens = 0, generated_tokens = 0, steps = 0;
};

class engine {
public:
    engine(const transformer& model, engine_options options);
    ~engine();  // ends every job (cancelled) and joins the thread
    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    // The job's channel, or null when the queue is full.
    std::shared_ptr<job_channel> submit(job work);
    engine_counts counts() const;
    const engine_options& options() const { return options_; }

private:
    struct sequence;
    void run();
    void admit();
    void step();

    const transformer& model_;
    engine_options options_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::unique_ptr<sequence>> queue_;  // guarded by mutex_
    bool stopping_ = false;                        // guarded by mutex_
    std::vector<std::unique_ptr<sequence>> active_;  // the engine thread's own
    std::atomic<std::int64_t> active_count_{0}, prompt_tokens_{0}, generated_tokens_{0}, steps_{0};
    std::thread thread_;
};

}  // namespace stretch::serve
