#include "core/tensor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

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
// Transformer training step on 2 cores, and more than half of a GAU step, whose 2 GB of activations
// overflowed a fixed 1 GiB cache (365k page faults a step). So freed large blocks are kept and handed
// out again (zeroed: a tensor starts at zero): a request takes the smallest cached block that fits
// and is at most twice its size. What is mapped at once, in use plus cached, stays within the most
// the process ever had in use at once (or 1 GiB): a loop that repeats its allocations runs from the
// cache after its first pass, and the cache never holds the process above its own peak; to stay
// there, a new mapping first unmaps cached blocks, the largest first.
class large_block_cache {
public:
    struct block {
        std::byte* data = nullptr;
        std::size_t bytes = 0;
    };

    block acquire(std::size_t bytes) {
        if (const block found = take_cached(bytes); found.data != nullptr) {
            std::memset(found.data, 0, bytes);
            return found;
        }
        for (const block& b : make_room(bytes)) munmap(b.data, b.bytes);
        void* pages = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (pages != MAP_FAILED) return {static_cast<std::byte*>(pages), bytes};
        std::lock_guard lock(mutex_);
        in_use_ -= bytes;
        return {};
    }

    void release(block b) {
        std::lock_guard lock(mutex_);
        in_use_ -= b.bytes;
        free_.emplace(b.bytes, b.data);
        cached_ += b.bytes;
    }

private:
    // The smallest cached block of at least `bytes` and at most twice that, now in use; or none.
    block take_cached(std::size_t bytes) {
        std::lock_guard lock(mutex_);
        const auto it = free_.lower_bound(bytes);
        if (it == free_.end() || it->first > 2 * bytes) return {};
        const block found{it->second, it->first};
        free_.erase(it);
        cached_ -= found.bytes;
        note_in_use(found.bytes);
        return found;
    }

    // Counts `bytes` as in use and takes out of the cache (largest first) the blocks that must be
    // unmapped for in use + cached to stay within the limit.
    std::vector<block> make_room(std::size_t bytes) {
        std::lock_guard lock(mutex_);
        note_in_use(bytes);
        std::vector<block> evicted;
        while (in_use_ + cached_ > std::max(floor_bytes, peak_) && !free_.empty()) {
            const auto largest = std::prev(free_.end());
            evicted.push_back({largest->second, largest->first});
            cached_ -= largest->first;
            free_.erase(largest);
        }
        return evicted;
    }

    void note_in_use(std::size_t bytes) {
        in_use_ += bytes;
        peak_ = std::max(peak_, in_use_);
    }

    static constexpr std::size_t floor_bytes = std::size_t(1) << 30;
    std::mutex mutex_;
    std::multimap<std::size_t, std::byte*> free_;  // by size, for the smallest block that fits
    std::size_t cached_ = 0, in_use_ = 0, peak_ = 0;
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
        const auto block = large_blocks().acquire(padded);
        if (block.data == nullptr) fail("out of memory allocating a tensor of shape {} ({} bytes)", shape_string(), padded);
        storage_ = std::shared_ptr<std::byte[]>(block.data, [block](std::byte*) { large_blocks().release(block); });
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
