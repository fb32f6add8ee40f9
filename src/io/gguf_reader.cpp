// GGUF reader: maps the file and validates every count, length and offset against the file size
// before use, so a truncated or corrupt file is a stretch::error, never a crash. See gguf.h.
// Not a dequantiser: read_f32 converts f32/f16/bf16/f64 only.
#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <type_traits>

#include "io/gguf.h"
#include "io/input_file.h"

namespace stretch::gguf {

namespace {

using detail::align_up;
using detail::n_value_types;
using detail::printable;
using detail::shape_text;

// Arrays may nest; a limit keeps a hostile file from exhausting the stack with recursion.
constexpr int max_array_depth = 8;
// Smallest encodings, used to reject counts the remaining bytes cannot possibly hold.
constexpr std::uint64_t min_kv_bytes = 8 + 4 + 1;              // empty key, type, 1-byte value
constexpr std::uint64_t min_tensor_info_bytes = 8 + 4 + 4 + 8;  // empty name, n_dims 0, type, offset

// ---- typed getters: which kinds convert, and whether a value survives exactly -------------------

bool is_integer(value_type t) { return t <= value_type::i32 || t == value_type::u64 || t == value_type::i64; }

template <class T> const char* name_of() {
    if constexpr (std::is_same_v<T, std::uint32_t>) return "u32";
    else if constexpr (std::is_same_v<T, std::int32_t>) return "i32";
    else if constexpr (std::is_same_v<T, std::uint64_t>) return "u64";
    else if constexpr (std::is_same_v<T, std::int64_t>) return "i64";
    else if constexpr (std::is_same_v<T, float>) return "f32";
    else if constexpr (std::is_same_v<T, double>) return "f64";
    else if constexpr (std::is_same_v<T, bool>) return "bool";
    else return "string";
}

template <class T> bool accepts(value_type t) {
    if constexpr (std::is_same_v<T, bool>) return t == value_type::boolean;
    else if constexpr (std::is_same_v<T, std::string>) return t == value_type::string;
    else if constexpr (std::is_integral_v<T>) return is_integer(t);
    else return is_integer(t) || t == value_type::f32 || t == value_type::f64;
}

// nullopt when the value does not fit exactly; only called when accepts<T>(type_of(v)).
template <class T> std::optional<T> convert(const value& v) {
    // bool and string accept only themselves. Kept out of the visit, whose numeric branches clang
    // would otherwise type-check for them (they do not depend on the visited type alone).
    if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::string>) return std::get<T>(v);
    else return std::visit(
        [](const auto& s) -> std::optional<T> {
            using S = std::decay_t<decltype(s)>;
            if constexpr (std::is_same_v<S, T>) {
                return s;
            } else if constexpr (std::is_same_v<S, bool> || std::is_same_v<S, std::string> ||
                                 std::is_same_v<S, array> || std::is_same_v<T, bool> ||
                                 std::is_same_v<T, std::string>) {
                STRETCH_ASSERT(false);
                return std::nullopt;
            } else if constexpr (std::is_integral_v<T>) {
                if constexpr (std::is_integral_v<S>) {
                    if (std::in_range<T>(s)) return static_cast<T>(s);
                }
                return std::nullopt;
            } else if constexpr (std::is_floating_point_v<S>) {
                if (std::isnan(s)) return static_cast<T>(s);
                // Out-of-range float narrowing is undefined behaviour, so test the range first.
                if (std::isfinite(s) && std::abs(s) > static_cast<S>(std::numeric_limits<T>::max())) return std::nullopt;
                T t = static_cast<T>(s);
                if (static_cast<S>(t) == s) return t;
                return std::nullopt;
            } else {
                T t = static_cast<T>(s);  // integer -> float always defined; long double holds both exactly
                if (static_cast<long double>(t) == static_cast<long double>(s)) return t;
                return std::nullopt;
            }
        },
        v);
}

template <class T> std::optional<T> get_scalar(const std::string& path, const metadata& kv, std::string_view key) {
    const value* v = kv.find(key);
    if (v == nullptr) return std::nullopt;
    if (!accepts<T>(type_of(*v))) fail("{}: key '{}' has type {}, expected {}", path, key, type_name(*v), name_of<T>());
    auto out = convert<T>(*v);
    if (!out) fail("{}: key '{}' has value {} of type {}, which does not fit in {}", path, key, to_string(*v), type_name(*v), name_of<T>());
    return out;
}

template <class T> T require_scalar(const std::string& path, const metadata& kv, std::string_view key) {
    auto out = get_scalar<T>(path, kv, key);
    if (!out) fail("{}: missing key '{}'", path, key);
    return *std::move(out);
}

template <class T> std::vector<T> get_array_as(const std::string& path, const metadata& kv, std::string_view key) {
    const value* v = kv.find(key);
    if (v == nullptr) fail("{}: missing key '{}'", path, key);
    const auto* a = std::get_if<array>(v);
    if (a == nullptr || !accepts<T>(a->elem))
        fail("{}: key '{}' has type {}, expected array of {}", path, key, type_name(*v), name_of<T>());
    std::vector<T> out;
    out.reserve(a->items.size());
    for (std::size_t i = 0; i < a->items.size(); ++i) {
        auto item = convert<T>(a->items[i]);
        if (!item)
            fail("{}: key '{}' element {} has value {} of type {}, which does not fit in {}", path, key, i,
                 to_string(a->items[i]), value_type_name(a->elem), name_of<T>());
        out.push_back(*std::move(item));
    }
    return out;
}

// ---- parsing --------------------------------------------------------------------------------

// A cursor that checks every read against the file size; `where` names the field for errors.
class parser {
public:
    parser(const std::string& path, const std::byte* data, std::uint64_t size) : path_(path), data_(data), size_(size) {}

    std::uint64_t pos = 0;
    std::string where = "header";

    std::uint64_t left() const { return size_ - pos; }

    void need(std::uint64_t n) const {
        if (n > size_ - pos)
            fail("{}: truncated: {} needs {} bytes at offset {}, file has {} bytes", path_, where, n, pos, size_);
    }

    template <class T> T read() {
        need(sizeof(T));
        T v;
        std::memcpy(&v, data_ + pos, sizeof(T));
        pos += sizeof(T);
        return v;
    }

    std::string read_string() {
        auto n = read<std::uint64_t>();
        need(n);
        std::string s(reinterpret_cast<const char*>(data_ + pos), n);
        pos += n;
        return s;
    }

    value read_value(std::uint32_t type_id, int depth) {
        switch (static_cast<value_type>(type_id)) {
            case value_type::u8: return read<std::uint8_t>();
            case value_type::i8: return read<std::int8_t>();
            case value_type::u16: return read<std::uint16_t>();
            case value_type::i16: return read<std::int16_t>();
            case value_type::u32: return read<std::uint32_t>();
            case value_type::i32: return read<std::int32_t>();
            case value_type::f32: return read<float>();
            case value_type::u64: return read<std::uint64_t>();
            case value_type::i64: return read<std::int64_t>();
            case value_type::f64: return read<double>();
            case value_type::string: return read_string();
            case value_type::boolean: {
                auto b = read<std::uint8_t>();
                if (b > 1) fail("{}: {} has bool byte {} at offset {}, expected 0 or 1", path_, where, b, pos - 1);
                return b == 1;
            }
            case value_type::array: {
                if (depth >= max_array_depth)
                    fail("{}: {} nests arrays {} deep at offset {}, expected at most {}", path_, where, depth + 1, pos, max_array_depth);
                auto elem = read<std::uint32_t>();
                if (elem >= n_value_types)
                    fail("{}: {} has unknown array element type {} at offset {}, expected 0..12", path_, where, elem, pos - 4);
                auto count = read<std::uint64_t>();
                static constexpr std::uint64_t min_bytes[] = {1, 1, 2, 2, 4, 4, 4, 1, 8, 12, 8, 8, 8};
                if (count > left() / min_bytes[elem])
                    fail("{}: truncated: {} has an array of {} {} items at offset {}, but only {} bytes are left in a "
                         "file of {} bytes", path_, where, count, value_type_name(static_cast<value_type>(elem)), pos - 8, left(), size_);
                array a{static_cast<value_type>(elem), {}};
                a.items.reserve(count);
                for (std::uint64_t i = 0; i < count; ++i) a.items.push_back(read_value(elem, depth + 1));
                return a;
            }
        }
        fail("{}: {} has unknown value type {} at offset {}, expected 0..12", path_, where, type_id, pos - 4);
    }

private:
    const std::string& path_;
    const std::byte* data_;
    std::uint64_t size_;
};

}  // namespace

// ---- reader -----------------------------------------------------------------------------------

reader reader::open(const std::string& path) {
    reader r;
    r.path_ = path;
    const input_file file(path);
    r.size_ = file.size();
    if (r.size_ > 0) {  // mmap rejects length 0; the parser reports an empty file as truncated
        void* m = ::mmap(nullptr, r.size_, PROT_READ, MAP_PRIVATE, file.fd(), 0);
        if (m == MAP_FAILED) {
            const int e = errno;
            fail("{}: mmap of {} bytes failed: {}", path, r.size_, std::strerror(e));
        }
        r.data_ = static_cast<const std::byte*>(m);
    }
    r.parse();
    return r;
}

reader::reader(reader&& other) noexcept { *this = std::move(other); }

reader& reader::operator=(reader&& other) noexcept {
    if (this != &other) {
        release();
        path_ = std::move(other.path_);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
        version_ = other.version_;
        alignment_ = other.alignment_;
        data_offset_ = other.data_offset_;
        kv_ = std::move(other.kv_);
        tensors_ = std::move(other.tensors_);
        tensor_index_ = std::move(other.tensor_index_);
    }
    return *this;
}

reader::~reader() { release(); }

void reader::release() {
    if (data_ != nullptr) ::munmap(const_cast<std::byte*>(data_), size_);
    data_ = nullptr;
}

void reader::parse() {
    parser p(path_, data_, size_);
    auto found = p.read<std::uint32_t>();
    if (found != magic) {
        auto b = std::bit_cast<std::array<std::uint8_t, 4>>(found);
        fail("{}: bad magic {:02x} {:02x} {:02x} {:02x}, expected 'GGUF' (47 47 55 46)", path_, b[0], b[1], b[2], b[3]);
    }
    version_ = p.read<std::uint32_t>();
    if (version_ == 1) fail("{}: GGUF version 1 (32-bit counts) is not supported, expected version 2 or 3", path_);
    if (version_ != 2 && version_ != 3) {
        if ((version_ & 0xffffu) == 0)
            fail("{}: GGUF version field is {:#x}, which looks like a big-endian file; expected little-endian version 2 or 3", path_, version_);
        fail("{}: unsupported GGUF version {}, expected 2 or 3", path_, version_);
    }
    auto n_tensors = p.read<std::uint64_t>();
    auto n_kv = p.read<std::uint64_t>();
    if (n_kv > p.left() / min_kv_bytes)
        fail("{}: truncated: header claims {} key-value pairs, but the {} bytes after the header hold at most {}", path_, n_kv, p.left(), p.left() / min_kv_bytes);

    for (std::uint64_t i = 0; i < n_kv; ++i) {
        p.where = fmt::format("kv {} key", i);
        std::string key = p.read_string();
        p.where = fmt::format("kv {} ('{}')", i, printable(key));
        if (kv_.contains(key)) fail("{}: duplicate key '{}' (kv {})", path_, printable(key), i);
        auto type = p.read<std::uint32_t>();
        kv_.set(std::move(key), p.read_value(type, 0));
    }

    if (const value* a = kv_.find("general.alignment")) {
        const auto* u = std::get_if<std::uint32_t>(a);
        if (u == nullptr) fail("{}: key 'general.alignment' has type {}, expected u32", path_, type_name(*a));
        if (!std::has_single_bit(*u)) fail("{}: key 'general.alignment' is {}, expected a power of two", path_, *u);
        alignment_ = *u;
    }

    if (n_tensors > p.left() / min_tensor_info_bytes)
        fail("{}: truncated: header claims {} tensors, but the {} bytes after the metadata hold at most {} tensor infos",
             path_, n_tensors, p.left(), p.left() / min_tensor_info_bytes);
    tensors_.reserve(n_tensors);
    for (std::uint64_t i = 0; i < n_tensors; ++i) {
        p.where = fmt::format("tensor info {}", i);
        tensor_info info;
        info.name = p.read_string();
        std::string name = printable(info.name);
        p.where = fmt::format("tensor info {} ('{}')", i, name);
        auto n_dims = p.read<std::uint32_t>();
        if (n_dims > max_dims) fail("{}: tensor '{}' has {} dimensions, expected at most {}", path_, name, n_dims, max_dims);
        std::array<std::uint64_t, max_dims> ne{};
        std::uint64_t numel = 1;
        // The product with zero dimensions counted as ones: a zero must not let another dimension
        // past int64 (the shape holds int64s) nor let products in another order (shape_numel's,
        // outermost first) overflow.
        std::uint64_t extent = 1;
        for (std::uint32_t d = 0; d < n_dims; ++d) {
            ne[d] = p.read<std::uint64_t>();
            constexpr auto limit = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
            const std::uint64_t factor = ne[d] == 0 ? 1 : ne[d];
            if (extent > limit / factor)
                fail("{}: tensor '{}' has dimensions whose product overflows 64 bits (dimension {} is {})", path_, name, d, ne[d]);
            extent *= factor;
            numel *= ne[d];
        }
        auto type_id = p.read<std::uint32_t>();
        const ggml_type_traits* t = find_ggml_type(type_id);
        if (t == nullptr) fail("{}: tensor '{}' has unknown ggml type id {}", path_, name, type_id);
        info.type = t->type;
        info.offset = p.read<std::uint64_t>();
        std::uint64_t row = n_dims > 0 ? ne[0] : 1;
        if (row % static_cast<std::uint64_t>(t->block_size) != 0)
            fail("{}: tensor '{}' of type {} has rows of {} elements, expected a multiple of the block size {}", path_, name, t->name, row, t->block_size);
        std::uint64_t n_blocks = numel / static_cast<std::uint64_t>(t->block_size);
        if (n_blocks > std::numeric_limits<std::uint64_t>::max() / t->type_size)
            fail("{}: tensor '{}' byte size overflows 64 bits", path_, name);
        info.n_bytes = n_blocks * t->type_size;
        for (std::uint32_t d = n_dims; d-- > 0;) info.shape.push_back(static_cast<std::int64_t>(ne[d]));
        if (!tensor_index_.emplace(info.name, tensors_.size()).second) fail("{}: duplicate tensor name '{}' (tensor info {})", path_, name, i);
        tensors_.push_back(std::move(info));
    }

    data_offset_ = align_up(p.pos, alignment_);
    std::uint64_t data_size = size_ > data_offset_ ? size_ - data_offset_ : 0;
    for (const auto& info : tensors_) {
        if (info.offset % alignment_ != 0)
            fail("{}: tensor '{}' has data offset {}, expected a multiple of the alignment {}", path_, printable(info.name), info.offset, alignment_);
        if (info.offset > data_size || info.n_bytes > data_size - info.offset)
            fail("{}: truncated: tensor '{}' data needs {} bytes at offset {} (data section {} + {}), file has {} bytes", path_,
                 printable(info.name), info.n_bytes, data_offset_ + info.offset, data_offset_, info.offset, size_);
    }
}

std::uint32_t reader::get_u32(std::string_view key) const { return require_scalar<std::uint32_t>(path_, kv_, key); }
std::int32_t reader::get_i32(std::string_view key) const { return require_scalar<std::int32_t>(path_, kv_, key); }
std::uint64_t reader::get_u64(std::string_view key) const { return require_scalar<std::uint64_t>(path_, kv_, key); }
std::int64_t reader::get_i64(std::string_view key) const { return require_scalar<std::int64_t>(path_, kv_, key); }
float reader::get_f32(std::string_view key) const { return require_scalar<float>(path_, kv_, key); }
double reader::get_f64(std::string_view key) const { return require_scalar<double>(path_, kv_, key); }
bool reader::get_bool(std::string_view key) const { return require_scalar<bool>(path_, kv_, key); }
std::string reader::get_string(std::string_view key) const { return require_scalar<std::string>(path_, kv_, key); }

std::uint32_t reader::get_u32_or(std::string_view key, std::uint32_t fallback) const {
    return get_scalar<std::uint32_t>(path_, kv_, key).value_or(fallback);
}
std::int32_t reader::get_i32_or(std::string_view key, std::int32_t fallback) const {
    return get_scalar<std::int32_t>(path_, kv_, key).value_or(fallback);
}
std::uint64_t reader::get_u64_or(std::string_view key, std::uint64_t fallback) const {
    return get_scalar<std::uint64_t>(path_, kv_, key).value_or(fallback);
}
std::int64_t reader::get_i64_or(std::string_view key, std::int64_t fallback) const {
    return get_scalar<std::int64_t>(path_, kv_, key).value_or(fallback);
}
float reader::get_f32_or(std::string_view key, float fallback) const { return get_scalar<float>(path_, kv_, key).value_or(fallback); }
double reader::get_f64_or(std::string_view key, double fallback) const { return get_scalar<double>(path_, kv_, key).value_or(fallback); }
bool reader::get_bool_or(std::string_view key, bool fallback) const { return get_scalar<bool>(path_, kv_, key).value_or(fallback); }
std::string reader::get_string_or(std::string_view key, std::string fallback) const {
    auto v = get_scalar<std::string>(path_, kv_, key);
    return v ? *std::move(v) : std::move(fallback);
}

const array& reader::get_array(std::string_view key) const {
    const value* v = kv_.find(key);
    if (v == nullptr) fail("{}: missing key '{}'", path_, key);
    const auto* a = std::get_if<array>(v);
    if (a == nullptr) fail("{}: key '{}' has type {}, expected array", path_, key, type_name(*v));
    return *a;
}
std::vector<std::uint32_t> reader::get_array_u32(std::string_view key) const { return get_array_as<std::uint32_t>(path_, kv_, key); }
std::vector<std::int32_t> reader::get_array_i32(std::string_view key) const { return get_array_as<std::int32_t>(path_, kv_, key); }
std::vector<std::uint64_t> reader::get_array_u64(std::string_view key) const { return get_array_as<std::uint64_t>(path_, kv_, key); }
std::vector<std::int64_t> reader::get_array_i64(std::string_view key) const { return get_array_as<std::int64_t>(path_, kv_, key); }
std::vector<float> reader::get_array_f32(std::string_view key) const { return get_array_as<float>(path_, kv_, key); }
std::vector<double> reader::get_array_f64(std::string_view key) const { return get_array_as<double>(path_, kv_, key); }
std::vector<std::string> reader::get_array_string(std::string_view key) const { return get_array_as<std::string>(path_, kv_, key); }

const tensor_info* reader::find_tensor(std::string_view name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const tensor_info& reader::require_tensor(std::string_view name) const {
    const tensor_info* info = find_tensor(name);
    if (info == nullptr) fail("{}: missing tensor '{}'", path_, name);
    return *info;
}

std::span<const std::byte> reader::tensor_bytes(const tensor_info& info) const {
    // Only infos from this reader were range-checked against this mapping.
    STRETCH_ASSERT(!tensors_.empty() && &info >= tensors_.data() && &info < tensors_.data() + tensors_.size());
    if (info.n_bytes == 0) return {};
    return {data_ + data_offset_ + info.offset, static_cast<std::size_t>(info.n_bytes)};
}

stretch::tensor reader::read_f32(std::string_view name) const {
    const tensor_info& info = require_tensor(name);
    auto bytes = tensor_bytes(info);
    stretch::tensor t(info.shape, dtype::f32);
    float* out = t.data<float>();
    const auto n = static_cast<std::size_t>(info.numel());
    const std::byte* in = bytes.data();
    switch (info.type) {
        case ggml_type::f32:
            if (n > 0) std::memcpy(out, in, n * sizeof(float));
            break;
        case ggml_type::f16:
        case ggml_type::bf16:
            for (std::size_t i = 0; i < n; ++i) {
                std::uint16_t h;
                std::memcpy(&h, in + 2 * i, 2);
                out[i] = info.type == ggml_type::f16 ? f16_to_f32(h) : bf16_to_f32(h);
            }
            break;
        case ggml_type::f64:
            for (std::size_t i = 0; i < n; ++i) {
                double d;
                std::memcpy(&d, in + 8 * i, 8);
                // Narrowing past f32's range is undefined behaviour; give the infinity rounding would.
                constexpr double max = std::numeric_limits<float>::max();
                if (std::isfinite(d) && std::abs(d) > max) out[i] = d > 0 ? INFINITY : -INFINITY;
                else out[i] = static_cast<float>(d);
            }
            break;
        default:
            fail("{}: tensor '{}' has type {}; reading it as f32 is not supported yet (f32, f16, bf16 and f64 are)", path_,
                 printable(info.name), ggml_type_name(info.type));
    }
    return t;
}

stretch::tensor reader::read_f32(std::string_view name, const shape_t& expected_shape) const {
    const tensor_info& info = require_tensor(name);
    if (info.shape != expected_shape)
        fail("{}: tensor '{}' has shape {}, expected {}", path_, name, shape_text(info.shape), shape_text(expected_shape));
    return read_f32(name);
}

stretch::tensor reader::read(std::string_view name) const {
    const tensor_info& info = require_tensor(name);
    if (info.type != ggml_type::f64) return read_f32(name);
    stretch::tensor t(info.shape, dtype::f64);
    auto bytes = tensor_bytes(info);
    if (!bytes.empty()) std::memcpy(t.raw(), bytes.data(), bytes.size());
    return t;
}

}  // namespace stretch::gguf
