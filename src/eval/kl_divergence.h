// The KL divergence of a run's next-token distributions from a base run's, with llama.cpp's
// llama-perplexity workflow: a first run with --kl-divergence-base FILE writes the base's
// log-probabilities of every scored token there; a second run with --kl-divergence-base FILE
// --kl-divergence (same text, context and chunks; another model, quantisation or KV cache type)
// reads them and reports, per scored token, KL(P_base || P) = sum_v p_base(v) (log p_base(v) -
// log p(v)): the mean with its standard error, the median, 99th percentile and maximum, how often the
// two runs' most likely tokens agree (llama.cpp's "Same top p") and the base's perplexity beside the
// run's.
// The file is stretch's own, not llama.cpp's: a header (vocabulary, context, scored rows per chunk,
// chunks, the hash of the scored targets, the base run's description) and then the log-softmax of
// each scored row as f32 — exact to 2^-24 relative, where llama.cpp's 16-bit log-probabilities
// would move a KL divergence of 1e-4 by about as much (SmolLM2: 196 KB per scored token).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/atomic_file.h"
#include "io/input_file.h"

namespace stretch {

// What both runs must agree on; `base` describes the run that wrote the file (its KV cache types).
struct kl_layout {
    std::int64_t vocab = 0, n_ctx = 0, rows_per_chunk = 0, chunks = 0;
    std::uint64_t targets_hash = 0;
    std::string base;
};

struct kl_result {
    std::int64_t tokens = 0;
    double mean = 0, mean_error = 0, median = 0, p99 = 0, max = 0;
    double same_top = 0;  // fraction of tokens whose argmax agrees
    double base_ppl = 0;  // perplexity of the base run on the same targets
    std::string base;
};

// Writes the base file, row after row; nothing appears under the path before `commit`.
class kl_base_writer {
public:
    kl_base_writer(const std::string& path, const kl_layout& layout);
    // Rows [0, rows) of logits [rows, V] (f32 or f64), in scoring order.
    void add(const tensor& logits, std::int64_t rows);
    void commit();

private:
    atomic_file out_;
    kl_layout layout_;
    std::int64_t written_ = 0;
};

// Reads the base file and compares each scored row with this run's logits.
class kl_comparison {
public:
    // Fails in one line naming --kl-divergence-base when the file was written for another layout.
    kl_comparison(const std::string& path, const kl_layout& expected);
    // Rows [0, rows) of logits [rows, V] against the next base rows; targets [rows] the scored tokens.
    void add(const tensor& logits, std::int64_t rows, const std::int32_t* targets);
    kl_result result() const;

private:
    input_file in_;
    kl_layout layout_;
    std::uint64_t data_at_ = 0;
    std::int64_t read_ = 0;
    std::vector<double> divergences_;
    std::int64_t same_top_ = 0;
    double base_nll_ = 0;
};

}  // namespace stretch
