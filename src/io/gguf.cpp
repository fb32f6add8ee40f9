// GGUF types, values and metadata shared by the reader and the writer. See gguf.h for the contract.
// Not the parser (gguf_reader.cpp) or the serialiser (gguf_writer.cpp).
#include "io/gguf.h"

#include <algorithm>
#include <bit>
#include <type_traits>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace stretch::gguf {

// Values are loaded and stored with memcpy in host order; GGUF files here are little-endian.
static_assert(std::endian::native == std::endian::little, "a big-endian host needs byte swapping here");

namespace {

constexpr ggml_type_traits type_table[] = {
    {ggml_type::f32, "f32", 1, 4},           {ggml_type::f16, "f16", 1, 2},
    {ggml_type::q4_0, "q4_0", 32, 18},       {ggml_type::q4_1, "q4_1", 32, 20},
    {ggml_type::q5_0, "q5_0", 32, 22},       {ggml_type::q5_1, "q5_1", 32, 24},
    {ggml_type::q8_0, "q8_0", 32, 34},       {ggml_type::q2_k, "q2_k", 256, 84},
    {ggml_type::q3_k, "q3_k", 256, 110},     {ggml_type::q4_k, "q4_k", 256, 144},
    {ggml_type::q5_k, "q5_k", 256, 176},     {ggml_type::q6_k, "q6_k", 256, 210},
    {ggml_type::q8_k, "q8_k", 256, 292},     {ggml_type::iq2_xxs, "iq2_xxs", 256, 66},
    {ggml_type::iq2_xs, "iq2_xs", 256, 74},  {ggml_type::iq3_xxs, "iq3_xxs", 256, 98},
    {ggml_type::iq1_s, "iq1_s", 256, 50},    {ggml_type::iq4_nl, "iq4_nl", 32, 18},
    {ggml_type::iq3_s, "iq3_s", 256, 110},   {ggml_type::iq2_s, "iq2_s", 256, 82},
    {ggml_type::iq4_xs, "iq4_xs", 256, 136}, {ggml_type::i8, "i8", 1, 1},
    {ggml_type::i16, "i16", 1, 2},           {ggml_type::i32, "i32", 1, 4},
    {ggml_type::i64, "i64", 1, 8},           {ggml_type::f64, "f64", 1, 8},
    {ggml_type::iq1_m, "iq1_m", 256, 56},    {ggml_type::bf16, "bf16", 1, 2},
    {ggml_type::tq1_0, "tq1_0", 256, 54},    {ggml_type::tq2_0, "tq2_0", 256, 66},
    {ggml_type::mxfp4, "mxfp4", 32, 17},
};

constexpr const char* value_type_names[detail::n_value_types] = {"u8",     "i8",    "u16", "i16", "u32", "i32", "f32",
                                            "bool",   "string", "array", "u64", "i64", "f64"};
static_assert(std::variant_size_v<value> == detail::n_value_types);

template <value_type t, class T>
constexpr bool alternative_is = std::is_same_v<std::variant_alternative_t<static_cast<std::size_t>(t), value>, T>;
static_assert(alternative_is<value_type::u8, std::uint8_t> && alternative_is<value_type::i8, std::int8_t> &&
              alternative_is<value_type::u16, std::uint16_t> && alternative_is<value_type::i16, std::int16_t> &&
              alternative_is<value_type::u32, std::uint32_t> && alternative_is<value_type::i32, std::int32_t> &&
              alternative_is<value_type::f32, float> && alternative_is<value_type::boolean, bool> &&
              alternative_is<value_type::string, std::string> && alternative_is<value_type::array, array> &&
              alternative_is<value_type::u64, std::uint64_t> && alternative_is<value_type::i64, std::int64_t> &&
              alternative_is<value_type::f64, double>);

}  // namespace

namespace detail {

// Names and keys come from the file; escape them so an error stays on one readable line.
std::string printable(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 96)) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f || c == '\'') out += fmt::format("\\x{:02x}", u);
        else out += c;
    }
    if (s.size() > 96) out += "...";
    return out;
}

std::string shape_text(const shape_t& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

}  // namespace detail

const char* value_type_name(value_type type) {
    auto i = static_cast<std::uint32_t>(type);
    return i < detail::n_value_types ? value_type_names[i] : "unknown";
}

const ggml_type_traits* find_ggml_type(std::uint32_t id) {
    for (const auto& t : type_table)
        if (static_cast<std::uint32_t>(t.type) == id) return &t;
    return nullptr;
}

const ggml_type_traits& traits(ggml_type type) {
    const auto* t = find_ggml_type(static_cast<std::uint32_t>(type));
    STRETCH_ASSERT(t != nullptr);
    return *t;
}

const char* ggml_type_name(ggml_type type) { return traits(type).name; }

float f16_to_f32(std::uint16_t h) {
    std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
    std::uint32_t exponent = (h >> 10) & 0x1fu;
    std::uint32_t mantissa = h & 0x3ffu;
    std::uint32_t bits;
    if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);  // inf, or NaN keeping its payload
    } else if (exponent != 0) {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        bits = sign;
    } else {
        // Subnormal mantissa * 2^-24: shift until the implicit bit appears; it is normal in f32.
        std::uint32_t e = 127 - 14;
        while ((mantissa & 0x400u) == 0) {
            mantissa <<= 1;
            --e;
        }
        bits = sign | (e << 23) | ((mantissa & 0x3ffu) << 13);
    }
    return std::bit_cast<float>(bits);
}

float bf16_to_f32(std::uint16_t bits) { return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16); }

bool operator==(const array& a, const array& b) { return a.elem == b.elem && a.items == b.items; }

value_type type_of(const value& v) { return static_cast<value_type>(v.index()); }

std::string type_name(const value& v) {
    const auto* a = std::get_if<array>(&v);
    if (a == nullptr) return value_type_name(type_of(v));
    if (a->elem == value_type::array && !a->items.empty()) return "array of " + type_name(a->items.front());
    return fmt::format("array of {}", value_type_name(a->elem));
}

std::string to_string(const value& v) {
    return std::visit(
        [](const auto& s) -> std::string {
            using S = std::decay_t<decltype(s)>;
            if constexpr (std::is_same_v<S, std::string>) {
                return fmt::format("'{}'", detail::printable(s));
            } else if constexpr (std::is_same_v<S, array>) {
                constexpr std::size_t shown = 8;
                std::vector<std::string> items;
                for (std::size_t i = 0; i < std::min(shown, s.items.size()); ++i) items.push_back(to_string(s.items[i]));
                if (s.items.size() > shown) items.push_back(fmt::format("... ({} items)", s.items.size()));
                return fmt::format("[{}]", fmt::join(items, ", "));
            } else {
                return fmt::format("{}", s);
            }
        },
        v);
}

const value* metadata::find(std::string_view key) const {
    auto it = index_.find(key);
    return it == index_.end() ? nullptr : &entries_[it->second].second;
}

void metadata::set(std::string key, value v) {
    auto it = index_.find(key);
    if (it != index_.end()) {
        entries_[it->second].second = std::move(v);
        return;
    }
    index_.emplace(key, entries_.size());
    entries_.emplace_back(std::move(key), std::move(v));
}

}  // namespace stretch::gguf
