// The key/value cache of incremental decoding: per attention layer, the keys and values of every
// token read so far ([capacity, H_kv * D] each, one sequence; a GAU layer's keys are s wide and its
// values e). Keys are stored as the position setup declares (variants/spec.h): rotated with the
// frequencies of the step that wrote them, or unrotated (ReRoPE, Leaky ReRoPE, Self-Extend, sinks in
// cache mode), in which case the forward rotates them per step from their positions (methods.md B9). Token t of the sequence sits in row t, so a row index is its position.
// The cache also keeps the token ids and the rotation it was written with, so that a method whose
// rotation switches with the length (LongRoPE) can recompute it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/tensor.h"
#include "model/config.h"
#include "variants/variant.h"

namespace stretch {

class kv_cache {
public:
    kv_cache(const model_config& config, std::int64_t capacity, dtype type = dtype::f32);

    std::int64_t size() const { return size_; }
    std::int64_t capacity() const { return capacity_; }
    void clear();

    // Writes rows [size, size + rows) of layer `il` (the tokens of the current forward); `advance`
    // makes them part of the cache once every layer has written them, with the rotation used.
    void write(std::int64_t il, const tensor& keys, const tensor& values);
    void advance(std::span<const std::int32_t> tokens, const variants::rotation& used);
    const std::vector<std::int32_t>& tokens() const { return tokens_; }
    bool written_with(const variants::rotation& r) const {
        return r.inv_freq == rotation_.inv_freq && r.mscale == rotation_.mscale;
    }
    // Rows [0, size + pending) of layer il: what the current forward attends to.
    tensor keys(std::int64_t il, std::int64_t rows) const { return keys_[static_cast<std::size_t>(il)].leading(rows); }
    tensor values(std::int64_t il, std::int64_t rows) const {
        return values_[static_cast<std::size_t>(il)].leading(rows);
    }

private:
    std::int64_t capacity_, key_width_, value_width_, size_ = 0;
    std::vector<tensor> keys_, values_;  // [capacity, key_width] and [capacity, value_width] per layer
    std::vector<std::int32_t> tokens_;
    variants::rotation rotation_;
};

}  // namespace stretch
