// The storage types of the KV cache, llama.cpp's --cache-type-k / --cache-type-v: f32, f16, bf16,
// q8_0 and q4_0, with ggml's layouts (ggml/src/ggml-common.h of ggml-org/llama.cpp): f16 and bf16
// one 2-byte value each; q8_0 blocks of 32 values as an f16 scale d and 32 int8 q (x = q d); q4_0
// blocks of 32 values as an f16 scale d and 16 bytes of nibbles, value j in the low nibble of byte j
// and value j + 16 in its high nibble (x = (q - 8) d). Rounding is ggml's reference quantisation
// (quantize_row_q8_0_ref, quantize_row_q4_0_ref): q8_0 takes d = max|x| / 127 and rounds x / d half
// away from zero; q4_0 takes d = -m / 8 for the value m of largest magnitude and q = min(15,
// trunc(x / d + 8.5)); f16 and bf16 round to nearest, ties to even.
// The attention kernel reads keys and values through kv_rows, dequantising a tile at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stretch::cpu {

enum class kv_type : std::uint8_t { f32, f16, bf16, q8_0, q4_0 };

inline constexpr kv_type all_kv_types[] = {kv_type::f32, kv_type::f16, kv_type::bf16, kv_type::q8_0, kv_type::q4_0};

const char* kv_type_name(kv_type type);
// The type called `name` (llama.cpp's spelling), or nothing.
std::optional<kv_type> find_kv_type(std::string_view name);
// "f32, f16, bf16, q8_0, q4_0": for help texts and errors.
std::string kv_type_names();
// Values per block: 32 for q8_0 and q4_0, 1 for the float types.
std::int64_t kv_block_values(kv_type type);
// Block types (q8_0, q4_0): what llama.cpp calls quantised, and what it stores Hadamard-rotated.
inline bool kv_quantized(kv_type type) { return kv_block_values(type) > 1; }
// Bytes of `values` values (a whole number of blocks).
std::size_t kv_row_bytes(kv_type type, std::int64_t values);

// n values (a whole number of blocks) into `type`'s bytes, and back. Not for f32, which the cache
// keeps as plain floats.
void kv_store_row(kv_type type, const float* x, std::int64_t n, std::byte* out);
void kv_load_row(kv_type type, const std::byte* in, std::int64_t n, float* out);
// `rows` rows of n values, `in_stride` bytes apart, into out [rows, n] (one dispatch: a tile of the
// attention kernel).
void kv_load_rows(kv_type type, const std::byte* in, std::size_t in_stride, std::int64_t rows, std::int64_t n,
                  float* out);

// Keys or values as the attention kernel reads them: [B, T_k, H_kv, D] plain floats of the model's
// type T, or (T = float) rows of H_kv * D values stored as `type` (not f32), each head's D values a
// whole number of blocks.
template <class T>
struct kv_rows {
    const T* plain = nullptr;
    const std::byte* stored = nullptr;
    kv_type type = kv_type::f32;

    kv_rows(const T* values) : plain(values) {}  // implicit: plain rows are what most callers pass
    kv_rows(const std::byte* rows, kv_type stored_type) : stored(rows), type(stored_type) {}
};

}  // namespace stretch::cpu
