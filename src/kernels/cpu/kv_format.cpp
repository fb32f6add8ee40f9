// Storing is scalar (one row per token and layer); loading runs inside the attention kernel over
// every cached row, so it is vectorised with Highway and dispatched at run time (as
// attention_rows.cpp). Every product in a load is exact in f32 (an f16 scale has 11 significant
// bits, q at most 8), so the vector and scalar paths and ggml's dequantize_row_* agree bit for bit.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/kv_format.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/highway.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "io/gguf.h"
#include "kernels/cpu/kv_format.h"

HWY_BEFORE_NAMESPACE();
namespace stretch::cpu::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

float load_scale(const std::byte* p) {
    std::uint16_t bits;
    std::memcpy(&bits, p, sizeof bits);
    return gguf::f16_to_f32(bits);
}

void load_f16_row(const std::byte* in, std::int64_t n, float* out) {
    const hn::ScalableTag<float> df;
    const hn::Rebind<hwy::float16_t, decltype(df)> dh;
    const auto* x = reinterpret_cast<const hwy::float16_t*>(in);
    const std::int64_t lanes = std::int64_t(hn::Lanes(df));
    std::int64_t i = 0;
    for (; i + lanes <= n; i += lanes) hn::StoreU(hn::PromoteTo(df, hn::LoadU(dh, x + i)), df, out + i);
    for (; i < n; ++i) out[i] = load_scale(in + 2 * i);
}

// bf16 is the high half of an f32: widen and shift.
void load_bf16_row(const std::byte* in, std::int64_t n, float* out) {
    const hn::ScalableTag<float> df;
    const hn::RebindToUnsigned<decltype(df)> du;
    const hn::Rebind<std::uint16_t, decltype(df)> dh;
    const auto* x = reinterpret_cast<const std::uint16_t*>(in);
    const std::int64_t lanes = std::int64_t(hn::Lanes(df));
    std::int64_t i = 0;
    for (; i + lanes <= n; i += lanes)
        hn::StoreU(hn::BitCast(df, hn::ShiftLeft<16>(hn::PromoteTo(du, hn::LoadU(dh, x + i)))), df, out + i);
    for (; i < n; ++i) {
        std::uint16_t bits;
        std::memcpy(&bits, in + 2 * i, sizeof bits);
        out[i] = gguf::bf16_to_f32(bits);
    }
}

// At most 16 lanes, so that a block's 32 values (q4_0: 16 bytes of two nibbles) are whole vectors.
using block_tag = hn::CappedTag<float, 16>;

void load_q8_0_row(const std::byte* in, std::int64_t n, float* out) {
    const block_tag df;
    const hn::RebindToSigned<decltype(df)> di;
    const hn::Rebind<std::int8_t, decltype(df)> d8;
    const std::int64_t lanes = std::int64_t(hn::Lanes(df));
    for (std::int64_t b = 0; b < n / 32; ++b, in += 34, out += 32) {
        const auto d = hn::Set(df, load_scale(in));
        const auto* q = reinterpret_cast<const std::int8_t*>(in + 2);
        for (std::int64_t j = 0; j < 32; j += lanes)
            hn::StoreU(hn::Mul(hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(d8, q + j))), d), df, out + j);
    }
}

void load_q4_0_row(const std::byte* in, std::int64_t n, float* out) {
    const block_tag df;
    const hn::RebindToSigned<decltype(df)> di;
    const hn::RebindToUnsigned<decltype(df)> du;
    const hn::Rebind<std::uint8_t, decltype(df)> d8;
    const std::int64_t lanes = std::int64_t(hn::Lanes(df));
    const auto eight = hn::Set(di, 8);
    const auto low_mask = hn::Set(du, 0x0f);
    for (std::int64_t b = 0; b < n / 32; ++b, in += 18, out += 32) {
        const auto d = hn::Set(df, load_scale(in));
        const auto* q = reinterpret_cast<const std::uint8_t*>(in + 2);
        for (std::int64_t j = 0; j < 16; j += lanes) {
            const auto bytes = hn::PromoteTo(du, hn::LoadU(d8, q + j));
            const auto low = hn::Sub(hn::BitCast(di, hn::And(bytes, low_mask)), eight);
            const auto high = hn::Sub(hn::BitCast(di, hn::ShiftRight<4>(bytes)), eight);
            hn::StoreU(hn::Mul(hn::ConvertTo(df, low), d), df, out + j);
            hn::StoreU(hn::Mul(hn::ConvertTo(df, high), d), df, out + j + 16);
        }
    }
}

// Rows of a tile, each through `load` (one dynamic dispatch per tile, not per row).
template <void (*load)(const std::byte*, std::int64_t, float*)>
void load_rows(const std::byte* in, std::size_t in_stride, std::int64_t rows, std::int64_t n, float* out) {
    for (std::int64_t r = 0; r < rows; ++r) load(in + std::size_t(r) * in_stride, n, out + r * n);
}
void load_f16_rows(const std::byte* in, std::size_t s, std::int64_t rows, std::int64_t n, float* out) {
    load_rows<load_f16_row>(in, s, rows, n, out);
}
void load_bf16_rows(const std::byte* in, std::size_t s, std::int64_t rows, std::int64_t n, float* out) {
    load_rows<load_bf16_row>(in, s, rows, n, out);
}
void load_q8_0_rows(const std::byte* in, std::size_t s, std::int64_t rows, std::int64_t n, float* out) {
    load_rows<load_q8_0_row>(in, s, rows, n, out);
}
void load_q4_0_rows(const std::byte* in, std::size_t s, std::int64_t rows, std::int64_t n, float* out) {
    load_rows<load_q4_0_row>(in, s, rows, n, out);
}

}  // namespace stretch::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace stretch::cpu {

HWY_EXPORT(load_f16_rows);
HWY_EXPORT(load_bf16_rows);
HWY_EXPORT(load_q8_0_rows);
HWY_EXPORT(load_q4_0_rows);

namespace {

struct kv_type_info {
    kv_type type;
    const char* name;
    std::int64_t block_values;
    std::size_t block_bytes;
};

constexpr kv_type_info kv_types[] = {
    {kv_type::f32, "f32", 1, 4}, {kv_type::f16, "f16", 1, 2}, {kv_type::bf16, "bf16", 1, 2},
    {kv_type::q8_0, "q8_0", 32, 34}, {kv_type::q4_0, "q4_0", 32, 18},
};

const kv_type_info& info(kv_type type) { return kv_types[static_cast<std::size_t>(type)]; }

// Round to nearest, ties to even (IEEE 754 binary16): the bits of the f16 nearest x.
std::uint16_t f32_to_f16(float x) {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
    const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
    const std::uint32_t magnitude = bits & 0x7fffffffu;
    if (magnitude > 0x7f800000u) return sign | 0x7e00u;   // NaN stays a (quiet) NaN
    if (magnitude >= 0x477ff000u) return sign | 0x7c00u;  // >= 65520 (65504 + half an ulp, a tie to even): inf
    if (magnitude < 0x38800000u) {  // below 2^-14: a subnormal f16, a multiple of 2^-24 (exact scaling by 2^24)
        return sign | static_cast<std::uint16_t>(std::nearbyint(std::fabs(x) * 0x1p24f));
    }
    // Normal: rebias the exponent (127 -> 15) and round the 23-bit mantissa to 10 bits; a carry
    // into the exponent is the correct rounding up to the next binade.
    const std::uint32_t rebiased = magnitude - 0x38000000u;
    return sign | static_cast<std::uint16_t>((rebiased + 0x0fffu + ((rebiased >> 13) & 1u)) >> 13);
}

// bf16 is the high half of an f32, rounded to nearest, ties to even (ggml's GGML_FP32_TO_BF16).
std::uint16_t f32_to_bf16(float x) {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(x);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
    return static_cast<std::uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

void put_u16(std::byte* out, std::uint16_t v) { std::memcpy(out, &v, sizeof v); }

void store_q8_0(const float* x, std::int64_t n, std::byte* out) {
    for (std::int64_t b = 0; b < n / 32; ++b, x += 32, out += 34) {
        float amax = 0;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f, inverse = d != 0 ? 1.0f / d : 0.0f;
        put_u16(out, f32_to_f16(d));
        for (int j = 0; j < 32; ++j)
            out[2 + j] = static_cast<std::byte>(static_cast<std::int8_t>(std::round(x[j] * inverse)));
    }
}

void store_q4_0(const float* x, std::int64_t n, std::byte* out) {
    for (std::int64_t b = 0; b < n / 32; ++b, x += 32, out += 18) {
        float amax = 0, extreme = 0;  // the value of largest magnitude, with its sign
        for (int j = 0; j < 32; ++j)
            if (std::fabs(x[j]) > amax) {
                amax = std::fabs(x[j]);
                extreme = x[j];
            }
        const float d = extreme / -8.0f, inverse = d != 0 ? 1.0f / d : 0.0f;
        put_u16(out, f32_to_f16(d));
        // x / d lies in [-8, 8], so x / d + 8.5 in [0.5, 16.5]: truncation rounds half up.
        const auto nibble = [&](float v) { return std::min(15, static_cast<int>(v * inverse + 8.5f)); };
        for (int j = 0; j < 16; ++j)
            out[2 + j] = static_cast<std::byte>(nibble(x[j]) | nibble(x[j + 16]) << 4);
    }
}

}  // namespace

const char* kv_type_name(kv_type type) { return info(type).name; }

std::optional<kv_type> find_kv_type(std::string_view name) {
    for (const auto& t : kv_types)
        if (name == t.name) return t.type;
    return std::nullopt;
}

std::string kv_type_names() {
    std::string out;
    for (const auto& t : kv_types) out += (out.empty() ? "" : ", ") + std::string(t.name);
    return out;
}

std::int64_t kv_block_values(kv_type type) { return info(type).block_values; }

std::size_t kv_row_bytes(kv_type type, std::int64_t values) {
    const kv_type_info& t = info(type);
    STRETCH_ASSERT(values % t.block_values == 0);
    return std::size_t(values / t.block_values) * t.block_bytes;
}

void kv_store_row(kv_type type, const float* x, std::int64_t n, std::byte* out) {
    STRETCH_ASSERT(n % kv_block_values(type) == 0);
    switch (type) {
    case kv_type::f16:
        for (std::int64_t i = 0; i < n; ++i) put_u16(out + 2 * i, f32_to_f16(x[i]));
        return;
    case kv_type::bf16:
        for (std::int64_t i = 0; i < n; ++i) put_u16(out + 2 * i, f32_to_bf16(x[i]));
        return;
    case kv_type::q8_0: return store_q8_0(x, n, out);
    case kv_type::q4_0: return store_q4_0(x, n, out);
    case kv_type::f32: break;
    }
    STRETCH_ASSERT(false && "f32 rows are stored as plain floats");
}

void kv_load_row(kv_type type, const std::byte* in, std::int64_t n, float* out) {
    kv_load_rows(type, in, 0, 1, n, out);
}

void kv_load_rows(kv_type type, const std::byte* in, std::size_t in_stride, std::int64_t rows, std::int64_t n,
                  float* out) {
    STRETCH_ASSERT(n % kv_block_values(type) == 0);
    switch (type) {
    case kv_type::f16: return HWY_DYNAMIC_DISPATCH(load_f16_rows)(in, in_stride, rows, n, out);
    case kv_type::bf16: return HWY_DYNAMIC_DISPATCH(load_bf16_rows)(in, in_stride, rows, n, out);
    case kv_type::q8_0: return HWY_DYNAMIC_DISPATCH(load_q8_0_rows)(in, in_stride, rows, n, out);
    case kv_type::q4_0: return HWY_DYNAMIC_DISPATCH(load_q4_0_rows)(in, in_stride, rows, n, out);
    case kv_type::f32: break;
    }
    STRETCH_ASSERT(false && "f32 rows are read as plain floats");
}

}  // namespace stretch::cpu
#endif
