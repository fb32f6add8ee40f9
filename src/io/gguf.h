// GGUF, the llama.cpp model file format (versions 2 and 3, little-endian): a memory-mapped reader
// that validates every count, length and offset against the file size before using it, and a writer
// that produces v3 files llama.cpp can load. Spec: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
// Not a model loader (model/load_gguf maps tensor names to a model) and not a dequantiser: quantised
// tensors can be listed and their bytes viewed, but read_f32 only converts F32/F16/BF16/F64.
// Code: gguf.cpp (types, values), gguf_reader.cpp, gguf_writer.cpp.
// Shapes here are outermost-first like stretch::tensor; GGUF stores ne[] innermost-first, so the
// reader and writer reverse them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "core/tensor.h"

namespace stretch::gguf {

// Value type ids as stored in the file; the order also matches the alternatives of `value`.
enum class value_type : std::uint32_t {
    u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
    string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12,
};
const char* value_type_name(value_type type);

// Tensor type ids as in ggml.h. Ids ggml has retired or whose block layout is in flux are left out;
// a file using one fails to open with an error naming the tensor and the id.
enum class ggml_type : std::uint32_t {
    f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8, q2_k = 10, q3_k = 11,
    q4_k = 12, q5_k = 13, q6_k = 14, q8_k = 15, iq2_xxs = 16, iq2_xs = 17, iq3_xxs = 18, iq1_s = 19,
    iq4_nl = 20, iq3_s = 21, iq2_s = 22, iq4_xs = 23, i8 = 24, i16 = 25, i32 = 26, i64 = 27,
    f64 = 28, iq1_m = 29, bf16 = 30, tq1_0 = 34, tq2_0 = 35, mxfp4 = 39,
};

// A row's innermost dimension (ne[0]) must be a multiple of block_size; each block takes type_size bytes.
struct ggml_type_traits {
    ggml_type type;
    const char* name;
    std::int64_t block_size;
    std::size_t type_size;
};
// nullptr for an id this build does not know.
const ggml_type_traits* find_ggml_type(std::uint32_t id);
const ggml_type_traits& traits(ggml_type type);
const char* ggml_type_name(ggml_type type);

// Exact conversions (every f16 and bf16 value is representable in f32).
float f16_to_f32(std::uint16_t bits);
float bf16_to_f32(std::uint16_t bits);

// ---- metadata values ------------------------------------------------------------------------

inline constexpr std::uint32_t magic = 0x46554747;     // "GGUF" as a little-endian u32
inline constexpr std::uint32_t max_dims = 4;          // GGML_MAX_DIMS
inline constexpr std::size_t max_name = 64;           // GGML_MAX_NAME, counting the terminating NUL
inline constexpr std::uint64_t default_alignment = 32;  // GGUF_DEFAULT_ALIGNMENT

namespace detail {
inline constexpr std::uint32_t n_value_types = 13;
inline std::uint64_t align_up(std::uint64_t x, std::uint64_t alignment) { return (x + alignment - 1) / alignment * alignment; }
// Names and keys come from files; escaped so an error message stays on one readable line.
std::string printable(std::string_view s);
std::string shape_text(const shape_t& shape);

struct string_hash {
    using is_transparent = void;  // lookups by string_view without building a std::string
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using name_index = std::unordered_map<std::string, std::size_t, string_hash, std::equal_to<>>;
}  // namespace detail

struct array;
// Alternative index == value_type id (checked in gguf.cpp).
using value = std::variant<std::uint8_t, std::int8_t, std::uint16_t, std::int16_t, std::uint32_t,
                           std::int32_t, float, bool, std::string, array, std::uint64_t, std::int64_t,
                           double>;

// A typed array: every item holds `elem` (arrays of arrays are allowed, as in the spec).
struct array {
    value_type elem = value_type::u8;
    std::vector<value> items;
};
bool operator==(const array& a, const array& b);

value_type type_of(const value& v);
// "u32", "array of string", "array of array of i32", ...
std::string type_name(const value& v);
// Human-readable, long arrays and strings shortened (for `stretch inspect` and error messages).
std::string to_string(const value& v);

// Key -> value, in insertion order (the order they are written in and listed by inspect).
class metadata {
public:
    using entry = std::pair<std::string, value>;

    const value* find(std::string_view key) const;
    bool contains(std::string_view key) const { return find(key) != nullptr; }
    // Replaces an existing key's value in place (keeping its position) or appends a new key.
    void set(std::string key, value v);

    std::size_t size() const { return entries_.size(); }
    bool empty() const { return entries_.empty(); }
    const std::vector<entry>& entries() const { return entries_; }
    auto begin() const { return entries_.begin(); }
    auto end() const { return entries_.end(); }

private:
    std::vector<entry> entries_;
    detail::name_index index_;
};

// ---- reader ---------------------------------------------------------------------------------

struct tensor_info {
    std::string name;
    shape_t shape;            // outermost first (the file's ne[] reversed)
    ggml_type type = ggml_type::f32;
    std::uint64_t offset = 0;  // relative to the data section, as stored in the file
    std::uint64_t n_bytes = 0;
    std::int64_t numel() const { return shape_numel(shape); }
};

class reader {
public:
    // Maps the file read-only and validates all of its structure; throws stretch::error naming the
    // file and the offending field on anything truncated, out of range or inconsistent.
    static reader open(const std::string& path);

    reader(reader&& other) noexcept;
    reader& operator=(reader&& other) noexcept;
    reader(const reader&) = delete;
    reader& operator=(const reader&) = delete;
    ~reader();

    const std::string& path() const { return path_; }
    std::uint32_t version() const { return version_; }
    std::uint64_t alignment() const { return alignment_; }
    std::uint64_t data_offset() const { return data_offset_; }  // file offset of the data section
    std::uint64_t file_size() const { return size_; }

    // Metadata. Typed getters convert between widths and kinds only where the value survives
    // exactly (an i32 5 reads as u64; an f64 0.1 does not read as f32; an integer never as bool).
    // Errors: "FILE: missing key 'K'", "FILE: key 'K' has type T, expected U".
    const metadata& kv() const { return kv_; }
    const value* find(std::string_view key) const { return kv_.find(key); }
    std::uint32_t get_u32(std::string_view key) const;
    std::int32_t get_i32(std::string_view key) const;
    std::uint64_t get_u64(std::string_view key) const;
    std::int64_t get_i64(std::string_view key) const;
    float get_f32(std::string_view key) const;
    double get_f64(std::string_view key) const;
    bool get_bool(std::string_view key) const;
    std::string get_string(std::string_view key) const;
    // The default only when the key is absent; a present key of the wrong type is still an error.
    std::uint32_t get_u32_or(std::string_view key, std::uint32_t fallback) const;
    std::int32_t get_i32_or(std::string_view key, std::int32_t fallback) const;
    std::uint64_t get_u64_or(std::string_view key, std::uint64_t fallback) const;
    std::int64_t get_i64_or(std::string_view key, std::int64_t fallback) const;
    float get_f32_or(std::string_view key, float fallback) const;
    double get_f64_or(std::string_view key, double fallback) const;
    bool get_bool_or(std::string_view key, bool fallback) const;
    std::string get_string_or(std::string_view key, std::string fallback) const;
    const array& get_array(std::string_view key) const;  // any element type
    std::vector<std::uint32_t> get_array_u32(std::string_view key) const;
    std::vector<std::int32_t> get_array_i32(std::string_view key) const;
    std::vector<std::uint64_t> get_array_u64(std::string_view key) const;
    std::vector<std::int64_t> get_array_i64(std::string_view key) const;
    std::vector<float> get_array_f32(std::string_view key) const;
    std::vector<double> get_array_f64(std::string_view key) const;
    std::vector<std::string> get_array_string(std::string_view key) const;

    // Tensors, in file order.
    const std::vector<tensor_info>& tensors() const { return tensors_; }
    const tensor_info* find_tensor(std::string_view name) const;
    const tensor_info& require_tensor(std::string_view name) const;  // "FILE: missing tensor 'N'"
    // The tensor's bytes inside the mapping; valid while this reader lives. `info` must come from
    // this reader's tensors().
    std::span<const std::byte> tensor_bytes(const tensor_info& info) const;
    // An f32 copy of an F32, F16, BF16 or F64 tensor (F64 rounded to nearest); quantised types are
    // "not supported yet".
    stretch::tensor read_f32(std::string_view name) const;
    stretch::tensor read_f32(std::string_view name, const shape_t& expected_shape) const;
    // Like read_f32, but an F64 tensor comes back as f64, unrounded.
    stretch::tensor read(std::string_view name) const;

private:
    reader() = default;
    void parse();
    void release();

    std::string path_;
    const std::byte* data_ = nullptr;  // the mapping (nullptr for an empty file)
    std::uint64_t size_ = 0;
    std::uint32_t version_ = 0;
    std::uint64_t alignment_ = 32;
    std::uint64_t data_offset_ = 0;
    metadata kv_;
    std::vector<tensor_info> tensors_;
    detail::name_index tensor_index_;
};

// ---- writer ---------------------------------------------------------------------------------

// Collects metadata and tensors, then writes a GGUF v3 file in one go (atomically). Keys are
// written in the order first set; `general.alignment` (u32, default 32) is appended when not set.
// The same content always gives byte-identical files. Tensors added from a stretch::tensor share
// its storage: the data written is the data at the time of write().
class writer {
public:
    void set(std::string key, value v);  // any kind, including nested arrays (checked for consistency)
    void set_u32(std::string key, std::uint32_t v) { set(std::move(key), value(v)); }
    void set_i32(std::string key, std::int32_t v) { set(std::move(key), value(v)); }
    void set_u64(std::string key, std::uint64_t v) { set(std::move(key), value(v)); }
    void set_i64(std::string key, std::int64_t v) { set(std::move(key), value(v)); }
    void set_f32(std::string key, float v) { set(std::move(key), value(v)); }
    void set_f64(std::string key, double v) { set(std::move(key), value(v)); }
    void set_bool(std::string key, bool v) { set(std::move(key), value(v)); }
    void set_string(std::string key, std::string v) { set(std::move(key), value(std::move(v))); }
    void set_array_u32(std::string key, std::span<const std::uint32_t> v);
    void set_array_i32(std::string key, std::span<const std::int32_t> v);
    void set_array_u64(std::string key, std::span<const std::uint64_t> v);
    void set_array_f32(std::string key, std::span<const float> v);
    void set_array_string(std::string key, std::span<const std::string> v);

    // f32 -> GGML F32, f64 -> GGML F64. Rank 0..4; names shorter than 64 bytes (llama.cpp's limit).
    void add_tensor(std::string name, const stretch::tensor& t);
    // Any ggml type from raw bytes (copied), e.g. F16 or quantised blocks; the byte count must match
    // the shape and type.
    void add_tensor_bytes(std::string name, shape_t shape, ggml_type type, std::span<const std::byte> bytes);

    const metadata& kv() const { return kv_; }
    std::size_t n_tensors() const { return tensors_.size(); }

    std::vector<std::byte> serialize() const;  // the whole file in memory
    void write(const std::string& path) const;  // via write_file_atomic's streaming form

private:
    struct pending {
        std::string name;
        shape_t shape;
        ggml_type type;
        stretch::tensor source;      // when added from a tensor
        std::vector<std::byte> raw;  // when added from bytes
        std::span<const std::byte> bytes() const;
    };
    void check_new_tensor(const std::string& name, const shape_t& shape) const;
    std::uint64_t alignment() const;
    std::vector<std::byte> header() const;  // everything before the data section, padded

    metadata kv_;
    std::vector<pending> tensors_;
};

}  // namespace stretch::gguf
