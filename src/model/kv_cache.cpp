#include "model/kv_cache.h"

#include <cstring>

#include "core/error.h"

namespace stretch {

kv_cache::kv_cache(const model_config& config, std::int64_t capacity, dtype type)
    : capacity_(capacity), key_width_(config.key_width()), value_width_(config.value_width()) {
    if (capacity <= 0) fail("kv cache: capacity {} tokens; expected a positive number", capacity);
    for (std::int64_t il = 0; il < config.n_attention_layers(); ++il) {
        keys_.emplace_back(shape_t{capacity, key_width_}, type);
        values_.emplace_back(shape_t{capacity, value_width_}, type);
    }
}

void kv_cache::write(std::int64_t il, const tensor& keys, const tensor& values) {
    const std::int64_t rows = keys.numel() / key_width_;
    STRETCH_ASSERT(keys.numel() == rows * key_width_ && values.numel() == rows * value_width_);
    if (size_ + rows > capacity_)
        fail("kv cache: {} tokens would exceed its capacity of {}; expected at most {} new tokens", size_ + rows,
             capacity_, capacity_ - size_);
    tensor& k = keys_[static_cast<std::size_t>(il)];
    tensor& v = values_[static_cast<std::size_t>(il)];
    STRETCH_ASSERT(keys.type() == k.type() && values.type() == v.type());
    const std::size_t key_bytes = static_cast<std::size_t>(key_width_) * dtype_size(k.type());
    const std::size_t value_bytes = static_cast<std::size_t>(value_width_) * dtype_size(v.type());
    std::memcpy(static_cast<std::byte*>(k.raw()) + size_ * key_bytes, keys.raw(), keys.bytes());
    std::memcpy(static_cast<std::byte*>(v.raw()) + size_ * value_bytes, values.raw(), values.bytes());
}

void kv_cache::advance(std::span<const std::int32_t> tokens, const variants::rotation& used) {
    STRETCH_ASSERT(size_ + std::int64_t(tokens.size()) <= capacity_);
    size_ += std::int64_t(tokens.size());
    tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
    rotation_ = used;
}

void kv_cache::clear() {
    size_ = 0;
    tokens_.clear();
    rotation_ = {};
}

}  // namespace stretch
