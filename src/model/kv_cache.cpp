#include "model/kv_cache.h"

#include <cstring>
#include <tuple>

#include "core/error.h"
#include "kernels/cpu/hadamard.h"

namespace stretch {

void check_cache_types(const model_config& config, const kv_cache_types& types) {
    for (const auto& [flag, type] : {std::tuple{"--cache-type-k", types.k}, {"--cache-type-v", types.v}}) {
        if (type == cpu::kv_type::f32) continue;
        const char* name = cpu::kv_type_name(type);
        if (config.is_gau())
            fail("{} {}: GAU layers (block = gau) read their cache as f32 tensors; expected f32 for this model", flag,
                 name);
        const std::int64_t block = cpu::kv_block_values(type), head = config.head_width();
        if (head % block != 0)
            fail("{} {}: the model's head dim {} is not a multiple of {}'s {}-value blocks (llama.cpp requires the "
                 "same); expected f32, f16 or bf16 for this model",
                 flag, name, head, name, block);
    }
}

std::int64_t cache_bytes_per_token(const model_config& config, const kv_cache_types& types, dtype type) {
    const auto bytes = [&](cpu::kv_type t, std::int64_t width) {
        return t == cpu::kv_type::f32 ? width * std::int64_t(dtype_size(type)) : std::int64_t(cpu::kv_row_bytes(t, width));
    };
    return config.n_attention_layers() * (bytes(types.k, config.key_width()) + bytes(types.v, config.value_width()));
}

kv_cache::kv_cache(const model_config& config, std::int64_t capacity, dtype type, kv_cache_types types)
    : capacity_(capacity), rotation_block_(cpu::hadamard_block(config.head_width())), types_(types) {
    if (capacity <= 0) fail("kv cache: capacity {} tokens; expected a positive number", capacity);
    check_cache_types(config, types);
    STRETCH_ASSERT(types.plain() || type == dtype::f32);  // stored types are read by the f32 kernel
    const auto make_side = [&](side& s, cpu::kv_type t, std::int64_t width) {
        s.type = t;
        s.width = width;
        s.rotated = cpu::kv_quantized(t);
        if (t != cpu::kv_type::f32) s.row_bytes = cpu::kv_row_bytes(t, width);
        for (std::int64_t il = 0; il < config.n_attention_layers(); ++il) {
            if (t == cpu::kv_type::f32)
                s.plain.emplace_back(shape_t{capacity, width}, type);
            else
                s.stored.emplace_back(std::size_t(capacity) * s.row_bytes);
        }
    };
    make_side(keys_, types.k, config.key_width());
    make_side(values_, types.v, config.value_width());
}

tensor kv_cache::side::plain_rows(std::int64_t il, std::int64_t rows) const {
    STRETCH_ASSERT(type == cpu::kv_type::f32);
    return plain[std::size_t(il)].leading(rows);
}

cpu::kv_rows<float> kv_cache::side::kernel_rows(std::int64_t il) const {
    if (type == cpu::kv_type::f32) return cpu::kv_rows<float>(plain[std::size_t(il)].data<float>());
    return cpu::kv_rows<float>(stored[std::size_t(il)].data(), type);
}

void kv_cache::write_side(side& s, std::int64_t il, const tensor& rows_in) {
    const std::int64_t rows = rows_in.numel() / s.width;
    STRETCH_ASSERT(rows_in.numel() == rows * s.width && size_ + rows <= capacity_);
    if (s.type == cpu::kv_type::f32) {
        tensor& t = s.plain[std::size_t(il)];
        STRETCH_ASSERT(rows_in.type() == t.type());
        const std::size_t row_bytes = std::size_t(s.width) * dtype_size(t.type());
        std::memcpy(static_cast<std::byte*>(t.raw()) + std::size_t(size_) * row_bytes, rows_in.raw(), rows_in.bytes());
        return;
    }
    std::vector<float> row(std::size_t(s.width));  // [H_kv * D] f32
    std::byte* out = s.stored[std::size_t(il)].data() + std::size_t(size_) * s.row_bytes;
    for (std::int64_t r = 0; r < rows; ++r, out += s.row_bytes) {
        std::memcpy(row.data(), rows_in.data<float>() + r * s.width, row.size() * sizeof(float));
        if (s.rotated) cpu::hadamard_rows(row.data(), s.width / rotation_block_, rotation_block_);
        cpu::kv_store_row(s.type, row.data(), s.width, out);
    }
}

void kv_cache::write(std::int64_t il, const tensor& keys, const tensor& values) {
    const std::int64_t rows = keys.numel() / keys_.width;
    if (size_ + rows > capacity_)
        fail("kv cache: {} tokens would exceed its capacity of {}; expected at most {} new tokens", size_ + rows,
             capacity_, capacity_ - size_);
    write_side(keys_, il, keys);
    write_side(values_, il, values);
}

tensor kv_cache::dequantized_keys(std::int64_t il, std::int64_t rows) const {
    if (keys_.type == cpu::kv_type::f32) return keys(il, rows);
    tensor out({rows, keys_.width});  // [rows, H_kv * D] f32
    cpu::kv_load_rows(keys_.type, keys_.stored[std::size_t(il)].data(), keys_.row_bytes, rows, keys_.width,
                      out.data<float>());
    if (keys_.rotated) cpu::hadamard_rows(out.data<float>(), rows * keys_.width / rotation_block_, rotation_block_);
    return out;
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
