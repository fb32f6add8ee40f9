// A dense tensor: row-major, outermost dimension first (as PyTorch), f32 or f64, 64-byte aligned,
// storage shared between copies (copying a tensor is cheap; `clone` copies the data). Not a view
// type: there are no strides or offsets; kernels take explicit leading dimensions instead.
// Shape legend used in comments across the code: B batch, T time, H heads, D head dim, C channels,
// V vocab.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"

namespace stretch {

enum class dtype : std::uint8_t { f32, f64 };

std::size_t dtype_size(dtype type);
const char* dtype_name(dtype type);

template <class T> constexpr dtype dtype_of();
template <> constexpr dtype dtype_of<float>() { return dtype::f32; }
template <> constexpr dtype dtype_of<double>() { return dtype::f64; }

using shape_t = std::vector<std::int64_t>;

class tensor {
public:
    tensor() = default;
    // Zero-filled.
    explicit tensor(shape_t shape, dtype type = dtype::f32);

    bool defined() const { return storage_ != nullptr; }
    const shape_t& shape() const { return shape_; }
    int rank() const { return static_cast<int>(shape_.size()); }
    // Negative indices count from the end, as in PyTorch.
    std::int64_t dim(int i) const;
    std::int64_t numel() const { return numel_; }
    dtype type() const { return type_; }
    std::size_t bytes() const { return static_cast<std::size_t>(numel_) * dtype_size(type_); }

    template <class T> T* data() {
        STRETCH_ASSERT(type_ == dtype_of<T>());
        return reinterpret_cast<T*>(storage_.get());
    }
    template <class T> const T* data() const {
        STRETCH_ASSERT(type_ == dtype_of<T>());
        return reinterpret_cast<const T*>(storage_.get());
    }
    void* raw() { return storage_.get(); }
    const void* raw() const { return storage_.get(); }

    // Same storage, new shape with the same element count.
    tensor reshape(shape_t shape) const;
    // Same storage, the first n entries of dimension 0 (a prefix of the buffer: a KV cache's filled rows).
    tensor leading(std::int64_t n) const;
    tensor clone() const;
    // Element-wise conversion to another dtype (a clone when the dtype is the same).
    tensor to(dtype type) const;
    void fill_zero();
    std::string shape_string() const;

private:
    shape_t shape_;
    std::int64_t numel_ = 0;
    dtype type_ = dtype::f32;
    std::shared_ptr<std::byte[]> storage_;
};

std::int64_t shape_numel(const shape_t& shape);

}  // namespace stretch
