#include "core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include <sys/mman.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace stretch {

namespace {
constexpr std::size_t large_tensor_bytes = std::size_t(1) << 20;

// Large blocks are mapped from the kernel, zero pages until first written, so a KV cache or a
// parameter replaced at load costs memory (RSS) only for what is used. But a training step (or a
// decode step) frees and asks again for the same sizes every time, and a fresh mapping faults each
// page in again, the first write to a zero page with a TLB shootdown on every core: 18 % of a
// training step on 2 cores. So freed large blocks are kept by size, up to `capacity` bytes in all,
// and handed out again (zeroed: a tensor starts at zero).
class large_block_cache {
public:
    std::byte* acquire(std::size_t bytes) {
        {
            std::lock_guard lock(mutex_);
            auto it = free_.find(bytes);
            if (it != free_.end()) {
                std::byte* block = it->second;
                free_.erase(it);
                cached_ -= bytes;
                std::memset(block, 0, bytes);
                return block;
            }
        }
        void* pages = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return pages == MAP_FAILED ? nullptr : static_cast<std::byte*>(pages);
    }

    void release(std::byte* block, std::size_t bytes) {
        {
            std::lock_guard lock(mutex_);
            if (cached_ + bytes <= capacity) {
                free_.emplace(bytes, block);
                cached_ += bytes;
                return;
            }
        }
        munmap(block, bytes);
    }

private:
    static constexpr std::size_t capacity = std::size_t(1) << 30;
    std::mutex mutex_;
    std::unordered_multimap<std::size_t, std::byte*> free_;
    std::size_t cached_ = 0;
};

// Never destroyed: tensors held by other statics may be freed after it would be.
large_block_cache& large_blocks() {
    static auto* cache = new large_block_cache;
    return *cache;
}
}  // namespace

std::size_t dtype_size(dtype type) { return type == dtype::f32 ? 4 : 8; }

const char* dtype_name(dtype type) { return type == dtype::f32 ? "f32" : "f64"; }

std::int64_t shape_numel(const shape_t& shape) {
    std::int64_t n = 1;
    for (auto d : shape) {
        STRETCH_ASSERT(d >= 0);
        n *= d;
    }
    return n;
}

tensor::tensor(shape_t shape, dtype type) : shape_(std::move(shape)), numel_(shape_numel(shape_)), type_(type) {
    constexpr std::size_t alignment = 64;  // one cache line, and a full AVX-512 register
    std::size_t padded = (bytes() + alignment - 1) / alignment * alignment;
    if (padded == 0) padded = alignment;
    if (padded >= large_tensor_bytes) {
        std::byte* block = large_blocks().acquire(padded);
        if (block == nullptr) fail("out of memory allocating a tensor of shape {} ({} bytes)", shape_string(), padded);
        storage_ = std::shared_ptr<std::byte[]>(block, [padded](std::byte* p) { large_blocks().release(p, padded); });
        return;
    }
    auto* memory = static_cast<std::byte*>(std::aligned_alloc(alignment, padded));
    if (memory == nullptr) fail("out of memory allocating a tensor of shape {} ({} bytes)", shape_string(), padded);
    std::memset(memory, 0, padded);
    storage_ = std::shared_ptr<std::byte[]>(memory, [](std::byte* p) { std::free(p); });
}

std::int64_t tensor::dim(int i) const {
    int r = rank();
    if (i < 0) i += r;
    STRETCH_ASSERT(i >= 0 && i < r);
    return shape_[static_cast<std::size_t>(i)];
}

tensor tensor::reshape(shape_t shape) const {
    STRETCH_ASSERT(shape_numel(shape) == numel_);
    tensor t = *this;
    t.shape_ = std::move(shape);
    return t;
}

tensor tensor::leading(std::int64_t n) const {
    STRETCH_ASSERT(rank() >= 1 && n >= 0 && n <= shape_[0]);
    tensor t = *this;
    t.shape_[0] = n;
    t.numel_ = shape_numel(t.shape_);
    return t;
}

tensor tensor::clone() const {
    tensor t(shape_, type_);
    if (numel_ > 0) std::memcpy(t.raw(), raw(), bytes());
    return t;
}

tensor tensor::to(dtype type) const {
    if (type == type_) return clone();
    tensor t(shape_, type);
    if (type_ == dtype::f32) {
        const float* src = data<float>();
        double* dst = t.data<double>();
        for (std::int64_t i = 0; i < numel_; ++i) dst[i] = src[i];
    } else {
        const double* src = data<double>();
        float* dst = t.data<float>();
        for (std::int64_t i = 0; i < numel_; ++i) dst[i] = static_cast<float>(src[i]);
    }
    return t;
}

void tensor::fill_zero() {
    if (numel_ > 0) std::memset(raw(), 0, bytes());
}

std::string tensor::shape_string() const { return fmt::format("[{}]", fmt::join(shape_, ", ")); }

}  // namespace stretch
