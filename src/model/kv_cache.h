// The key/value cache of incremental decoding: per layer, the keys and values of every token read so
// far ([capacity, H_kv * D] each, one sequence). Keys are stored as the position setup declares
// (variants/spec.h): rotated with the frequencies of the step that wrote them, or unrotated (ReRoPE,
// Leaky ReRoPE, Self-Extend, sinks, LongRoPE), in which case the forward rotates them per step from
// their positions (methods.md B9). Token t of the sequence sits in row t, so a row index is its position.
#pragma once

#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "model/config.h"

namespace stretch {

class kv_cache {
public:
    kv_cache(const model_config& config, std::int64_t capacity, dtype type = dtype::f32);

    std::int64_t size() const { return size_; }
    std::int64_t capacity() const { return capacity_; }
    void clear() { size_ = 0; }

    // Writes rows [size, size + rows) of layer `il` (the tokens of the current forward); `advance`
    // makes them part of the cache once every layer has written them.
    void write(std::int64_t il, const tensor& keys, const tensor& values);
    void advance(std::int64_t rows);
    // Rows [0, size + pending) of layer il: what the current forward attends to.
    tensor keys(std::int64_t il, std::int64_t rows) const { return keys_[static_cast<std::size_t>(il)].leading(rows); }
    tensor values(std::int64_t il, std::int64_t rows) const {
        return values_[static_cast<std::size_t>(il)].leading(rows);
    }

private:
    std::int64_t capacity_, width_, size_ = 0;
    std::vector<tensor> keys_, values_;  // [capacity, H_kv * D] per layer
};

}  // namespace stretch
