// Training batches: random windows of n_ctx_train + 1 tokens drawn uniformly from the training
// documents (a window never crosses from one file into the next), inputs = the first T tokens,
// targets = the next T; with a position draw (random-position training, methods.md C7) each window
// also gets its positions from the same generator. The sampler's whole state is its random-number
// state, which checkpoints save, so a resumed run draws exactly the batches an uninterrupted run would
// have.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/rng.h"

namespace stretch {

struct batch {
    std::vector<std::int32_t> inputs;   // [B, T]
    std::vector<std::int32_t> targets;  // [B, T]
    std::vector<double> positions;      // [B, T] when positions are drawn, else empty (0 .. T-1)
};

// The positions of one window of `length` tokens (variants::position_setup::draw_positions).
using position_draw = std::function<std::vector<double>(rng&, std::int64_t length)>;

// Where a training run's batches come from (train/trainer.h): rows of window() tokens, in an order
// fixed by a random state that checkpoints save, and a fingerprint of the data (sizes and an FNV-1a
// hash) that a resume must match, so that resuming on different data is refused instead of silently
// changing the run.
class batch_source {
public:
    virtual ~batch_source() = default;
    virtual std::int64_t window() const = 0;
    // `draw_positions` (random-position training) draws each row's positions with the row.
    virtual batch next(std::int64_t rows, const position_draw& draw_positions) = 0;
    virtual std::string state() const = 0;
    virtual void set_state(const std::string& text, const char* where) = 0;
    virtual std::string fingerprint() const = 0;
};

// The FNV-1a 64-bit hash of `values` continued from `hash` (fingerprints).
std::uint64_t fnv1a(std::span<const std::int32_t> values, std::uint64_t hash = 0xcbf29ce484222325ULL);

class window_sampler : public batch_source {
public:
    // Throws stretch::error naming the document (by index in `names`) too short for one window.
    window_sampler(std::vector<std::vector<std::int32_t>> documents, std::vector<std::string> names,
                   std::int64_t window, std::uint64_t seed);

    std::int64_t window() const override { return window_; }
    batch next(std::int64_t batch_size, const position_draw& draw_positions) override;

    std::string state() const override { return generator_.state(); }
    void set_state(const std::string& text, const char* where) override { generator_.set_state(text, where); }
    std::string fingerprint() const override;

private:
    std::vector<std::vector<std::int32_t>> documents_;
    std::vector<std::int64_t> cumulative_starts_;  // number of valid window starts up to each document
    std::int64_t window_;
    rng generator_;
};

// The fixed validation set: at most `max_windows` non-overlapping windows of `window` + 1 tokens,
// spread evenly over the held-out text.
batch validation_windows(const std::vector<std::int32_t>& tokens, std::int64_t window, std::int64_t max_windows);

}  // namespace stretch
