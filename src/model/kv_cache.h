// The key/value cache of incremental decoding: per attention layer, the keys and values of every
// token read so far ([capacity, H_kv * D] each, one sequence; a GAU layer's keys are s wide and its
// values e). Keys are stored as the position setup declares (variants/spec.h): rotated with the
// frequencies of the step that wrote them, or unrotated (ReRoPE, Leaky ReRoPE, Self-Extend, sinks in
// cache mode), in which case the forward rotates them per step from their positions (methods.md B9). Token t of the sequence sits in row t, so a row index is its position.
// The cache also keeps the token ids and the rotation it was written with, so that a method whose
// rotation switches with the length (LongRoPE) can recompute it.
//
// Storage types (llama.cpp's --cache-type-k / --cache-type-v; kernels/cpu/kv_format.h): f32 keeps
// plain floats of the model's type, as before; f16, bf16, q8_0 and q4_0 keep each row in that
// format, and the attention kernel reads them as stored. A quantised side (q8_0, q4_0) is stored
// rotated per head by the orthonormal Hadamard transform H (kernels/cpu/hadamard.h), as llama.cpp
// does since PR #21038: the forward rotates the queries of such keys by the same H (q . k is
// unchanged) and rotates the attention output back when the values are (O = P V H, so O H = P V).
// Keys a method reads unrotated come back through dequantized_keys, un-rotated, in f32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/tensor.h"
#include "kernels/cpu/kv_format.h"
#include "model/config.h"
#include "variants/variant.h"

namespace stretch {

struct kv_cache_types {
    cpu::kv_type k = cpu::kv_type::f32, v = cpu::kv_type::f32;
    bool plain() const { return k == cpu::kv_type::f32 && v == cpu::kv_type::f32; }
    friend bool operator==(const kv_cache_types&, const kv_cache_types&) = default;
};

// Fails in one line, naming the flag, when `config` cannot store `types`: a quantised type needs a
// head dim that is a whole number of its 32-value blocks (llama.cpp requires the same), and GAU
// layers keep f32 caches.
void check_cache_types(const model_config& config, const kv_cache_types& types);
// Bytes one cached token takes over every layer, keys and values (f32: the model's `type`).
std::int64_t cache_bytes_per_token(const model_config& config, const kv_cache_types& types,
                                   dtype type = dtype::f32);

class kv_cache {
public:
    kv_cache(const model_config& config, std::int64_t capacity, dtype type = dtype::f32, kv_cache_types types = {});

    std::int64_t size() const { return size_; }
    std::int64_t capacity() const { return capacity_; }
    const kv_cache_types& types() const { return types_; }
    void clear();

    // Writes rows [size, size + rows) of layer `il` (the tokens of the current forward), in the
    // model's type, rotating and quantising what the storage types ask for; `advance` makes them
    // part of the cache once every layer has written them, with the rotation used.
    void write(std::int64_t il, const tensor& keys, const tensor& values);
    void advance(std::span<const std::int32_t> tokens, const variants::rotation& used);
    const std::vector<std::int32_t>& tokens() const { return tokens_; }
    bool written_with(const variants::rotation& r) const {
        return r.inv_freq == rotation_.inv_freq && r.mscale == rotation_.mscale;
    }
    // Rows [0, size + pending) of layer il, what the current forward attends to. Plain sides (f32)
    // as tensors; every side as the kernel reads it (rows of the stored type, or plain).
    tensor keys(std::int64_t il, std::int64_t rows) const { return keys_.plain_rows(il, rows); }
    tensor values(std::int64_t il, std::int64_t rows) const { return values_.plain_rows(il, rows); }
    cpu::kv_rows<float> key_rows(std::int64_t il) const { return keys_.kernel_rows(il); }
    cpu::kv_rows<float> value_rows(std::int64_t il) const { return values_.kernel_rows(il); }
    // The keys of rows [0, rows) as f32 [rows, key width], dequantised and un-rotated (for methods
    // that rotate every cached key per step); plain keys are returned as they are.
    tensor dequantized_keys(std::int64_t il, std::int64_t rows) const;
    // Whether keys / values are stored Hadamard-rotated, and the block size the rotation works in.
    bool rotates_keys() const { return keys_.rotated; }
    bool rotates_values() const { return values_.rotated; }
    std::int64_t rotation_block() const { return rotation_block_; }

private:
    // One side (keys or values) of every layer.
    struct side {
        cpu::kv_type type = cpu::kv_type::f32;
        std::int64_t width = 0;
        std::size_t row_bytes = 0;
        bool rotated = false;
        std::vector<tensor> plain;                   // f32: [capacity, width] per layer, the model's type
        std::vector<std::vector<std::byte>> stored;  // other types: [capacity, row_bytes] per layer

        tensor plain_rows(std::int64_t il, std::int64_t rows) const;
        cpu::kv_rows<float> kernel_rows(std::int64_t il) const;
    };
    void write_side(side& s, std::int64_t il, const tensor& rows);

    std::int64_t capacity_, size_ = 0, rotation_block_ = 0;
    kv_cache_types types_;
    side keys_, values_;
    std::vector<std::int32_t> tokens_;
    variants::rotation rotation_;
};

}  // namespace stretch
