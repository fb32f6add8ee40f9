// GGUF writer: metadata and tensors in, one v3 file out (atomically, via atomic_file). See gguf.h.
// Not incremental: the whole file is written by one write() call.
#include <cstring>
#include <type_traits>

#include "io/atomic_file.h"
#include "io/gguf.h"

namespace stretch::gguf {

using detail::align_up;
using detail::n_value_types;
using detail::printable;
using detail::shape_text;

namespace {

void check_value(std::string_view key, const value& v) {
    const auto* a = std::get_if<array>(&v);
    if (a == nullptr) return;
    if (static_cast<std::uint32_t>(a->elem) >= n_value_types)
        fail("gguf writer: key '{}' has array element type {}, expected 0..12", key, static_cast<std::uint32_t>(a->elem));
    for (std::size_t i = 0; i < a->items.size(); ++i) {
        if (type_of(a->items[i]) != a->elem)
            fail("gguf writer: key '{}' array item {} has type {}, expected the declared element type {}", key, i,
                 type_name(a->items[i]), value_type_name(a->elem));
        check_value(key, a->items[i]);
    }
}

template <class T> void put(std::vector<std::byte>& out, T v) {
    auto at = out.size();
    out.resize(at + sizeof(T));
    std::memcpy(out.data() + at, &v, sizeof(T));
}

void put_string(std::vector<std::byte>& out, std::string_view s) {
    put<std::uint64_t>(out, s.size());
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    out.insert(out.end(), p, p + s.size());
}

void put_value(std::vector<std::byte>& out, const value& v) {
    std::visit(
        [&](const auto& s) {
            using S = std::decay_t<decltype(s)>;
            if constexpr (std::is_same_v<S, std::string>) {
                put_string(out, s);
            } else if constexpr (std::is_same_v<S, array>) {
                put<std::uint32_t>(out, static_cast<std::uint32_t>(s.elem));
                put<std::uint64_t>(out, s.items.size());
                for (const auto& item : s.items) put_value(out, item);
            } else if constexpr (std::is_same_v<S, bool>) {
                put<std::uint8_t>(out, s ? 1 : 0);
            } else {
                put<S>(out, s);
            }
        },
        v);
}

template <class T> array make_array(value_type elem, std::span<const T> items) {
    array a{elem, {}};
    a.items.reserve(items.size());
    for (const auto& x : items) a.items.emplace_back(std::in_place_type<T>, x);
    return a;
}

}  // namespace

void writer::set(std::string key, value v) {
    check_value(key, v);
    kv_.set(std::move(key), std::move(v));
}

void writer::set_array_u32(std::string key, std::span<const std::uint32_t> v) { set(std::move(key), make_array(value_type::u32, v)); }
void writer::set_array_i32(std::string key, std::span<const std::int32_t> v) { set(std::move(key), make_array(value_type::i32, v)); }
void writer::set_array_u64(std::string key, std::span<const std::uint64_t> v) { set(std::move(key), make_array(value_type::u64, v)); }
void writer::set_array_f32(std::string key, std::span<const float> v) { set(std::move(key), make_array(value_type::f32, v)); }
void writer::set_array_string(std::string key, std::span<const std::string> v) { set(std::move(key), make_array(value_type::string, v)); }

void writer::check_new_tensor(const std::string& name, const shape_t& shape) const {
    if (name.size() >= max_name)
        fail("gguf writer: tensor name '{}' has {} bytes, expected fewer than {} (llama.cpp's limit)", printable(name), name.size(), max_name);
    if (shape.size() > max_dims) fail("gguf writer: tensor '{}' has rank {}, expected at most {}", name, shape.size(), max_dims);
    for (const auto& t : tensors_)
        if (t.name == name) fail("gguf writer: duplicate tensor name '{}'", name);
}

void writer::add_tensor(std::string name, const stretch::tensor& t) {
    if (!t.defined()) fail("gguf writer: tensor '{}' is undefined, expected data", name);
    check_new_tensor(name, t.shape());
    ggml_type type = t.type() == dtype::f32 ? ggml_type::f32 : ggml_type::f64;
    tensors_.push_back({std::move(name), t.shape(), type, t, {}});
}

void writer::add_tensor_bytes(std::string name, shape_t shape, ggml_type type, std::span<const std::byte> bytes) {
    check_new_tensor(name, shape);
    const ggml_type_traits& t = traits(type);
    std::int64_t row = shape.empty() ? 1 : shape.back();
    if (row % t.block_size != 0)
        fail("gguf writer: tensor '{}' of type {} has rows of {} elements, expected a multiple of {}", name, t.name, row, t.block_size);
    auto expected = static_cast<std::uint64_t>(shape_numel(shape) / t.block_size) * t.type_size;
    if (bytes.size() != expected)
        fail("gguf writer: tensor '{}' of type {} and shape {} has {} bytes, expected {}", name, t.name, shape_text(shape), bytes.size(), expected);
    tensors_.push_back({std::move(name), std::move(shape), type, {}, std::vector<std::byte>(bytes.begin(), bytes.end())});
}

std::span<const std::byte> writer::pending::bytes() const {
    if (source.defined()) return {static_cast<const std::byte*>(source.raw()), source.bytes()};
    return raw;
}

std::uint64_t writer::alignment() const {
    const value* a = kv_.find("general.alignment");
    if (a == nullptr) return default_alignment;
    const auto* u = std::get_if<std::uint32_t>(a);
    if (u == nullptr || !std::has_single_bit(*u))
        fail("gguf writer: key 'general.alignment' is {} of type {}, expected a u32 power of two", to_string(*a), type_name(*a));
    return *u;
}

std::vector<std::byte> writer::header() const {
    const std::uint64_t align = alignment();
    const bool add_alignment = !kv_.contains("general.alignment");
    std::vector<std::byte> out;
    put<std::uint32_t>(out, magic);
    put<std::uint32_t>(out, 3);
    put<std::uint64_t>(out, tensors_.size());
    put<std::uint64_t>(out, kv_.size() + (add_alignment ? 1 : 0));
    for (const auto& [key, v] : kv_) {
        put_string(out, key);
        put<std::uint32_t>(out, static_cast<std::uint32_t>(type_of(v)));
        put_value(out, v);
    }
    if (add_alignment) {
        put_string(out, "general.alignment");
        put<std::uint32_t>(out, static_cast<std::uint32_t>(value_type::u32));
        put<std::uint32_t>(out, static_cast<std::uint32_t>(align));
    }
    std::uint64_t offset = 0;
    for (const auto& t : tensors_) {
        put_string(out, t.name);
        put<std::uint32_t>(out, static_cast<std::uint32_t>(t.shape.size()));
        for (auto d = t.shape.rbegin(); d != t.shape.rend(); ++d) put<std::uint64_t>(out, static_cast<std::uint64_t>(*d));
        put<std::uint32_t>(out, static_cast<std::uint32_t>(t.type));
        put<std::uint64_t>(out, offset);
        offset += align_up(t.bytes().size(), align);
    }
    out.resize(align_up(out.size(), align));  // zero padding up to the data section
    return out;
}

std::vector<std::byte> writer::serialize() const {
    const std::uint64_t align = alignment();
    std::vector<std::byte> out = header();
    for (const auto& t : tensors_) {
        auto bytes = t.bytes();
        out.insert(out.end(), bytes.begin(), bytes.end());
        out.resize(align_up(out.size(), align));
    }
    return out;
}

void writer::write(const std::string& path) const {
    const std::uint64_t align = alignment();
    atomic_file out(path);
    out.write(header());
    for (const auto& t : tensors_) {
        auto bytes = t.bytes();
        out.write(bytes);
        out.write_zeros(align_up(bytes.size(), align) - bytes.size());
    }
    out.commit();
}

}  // namespace stretch::gguf
