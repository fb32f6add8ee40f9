// One request's work as the engine sees it (token ids in, scored token ids out), and the channel
// through which the engine reports it to the thread that submitted it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "generate/sampler.h"
#include "model/layer_positions.h"

namespace stretch::serve {

struct token_logprob {
    std::int32_t id = 0;
    double logprob = 0;
};

// A token with its log-probability under the model (before any sampling transform) and the most
// likely alternatives at its position, most likely first.
struct scored_token {
    std::int32_t id = 0;
    double logprob = std::numeric_limits<double>::quiet_NaN();  // NaN: none (a prompt's first token)
    std::vector<token_logprob> top;
};

using steady = std::chrono::steady_clock;

struct job {
    std::vector<std::int32_t> prompt;       // at least one token
    std::int64_t max_tokens = 16;           // tokens to generate, >= 0
    sampling_params sampling;
    std::vector<std::int32_t> stop_tokens;  // generation ends after any of these (EOS, end of turn)
    int logprobs = -1;                      // -1: none; k >= 0: each token's and k alternatives
    bool score_prompt = false;              // echo + logprobs: every prompt token scored too
    std::shared_ptr<const layer_positions> positions;  // resolved for prompt + max_tokens, fixed
    steady::time_point deadline = steady::time_point::max();
};

enum class finish_reason { length, stop, cancelled, timed_out, failed };

// Filled by the engine's thread, read by the submitter's. The submitter cancels by `cancel()`
// (a stop string matched, the client went away); the engine then ends the job at its next step.
class job_channel {
public:
    struct update {
        std::vector<scored_token> prompt;  // once, when score_prompt (prompt[0] has no log-probability)
        std::vector<scored_token> tokens;  // generated since the last take
        bool done = false;
        finish_reason reason = finish_reason::length;
        std::string error;  // reason failed
    };

    void put_prompt(std::vector<scored_token> scores);
    void put_token(scored_token t);
    void finish(finish_reason reason, std::string error = {});
    // Everything new, waiting at most `wait` for something to arrive.
    update take(std::chrono::milliseconds wait);
    bool finished() const;
    void cancel() { cancelled_.store(true); }
    bool cancelled() const { return cancelled_.load(); }

private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    update pending_;
    bool finished_ = false, has_news_ = false;
    std::atomic<bool> cancelled_{false};
};

}  // namespace stretch::serve
