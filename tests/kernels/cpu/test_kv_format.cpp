// The KV cache's storage types (kernels/cpu/kv_format.h) against a naive float64 reference of each
// format's rounding, at row sizes that are not multiples of a vector (the float types) or of a
// vector of blocks (the block types), with outliers, zero blocks, ties, f16 subnormals and
// overflow; the loads against ggml's dequantiser (kernels/cpu/dequant.h, itself checked against
// gguf-py); and the fused attention reading every type against the float64 oracle on the
// dequantised values.
#include "kernels/cpu/kv_format.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <tuple>
#include <vector>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/dequant.h"
#include "kernels/ref/ref.h"
#include "support/kernel_compare.h"

namespace stretch {
namespace {

using cpu::kv_type;

gguf::ggml_type ggml_of(kv_type t) {
    switch (t) {
        case kv_type::f16: return gguf::ggml_type::f16;
        case kv_type::bf16: return gguf::ggml_type::bf16;
        case kv_type::q8_0: return gguf::ggml_type::q8_0;
        case kv_type::q4_0: return gguf::ggml_type::q4_0;
        case kv_type::f32: break;
    }
    return gguf::ggml_type::f32;
}

// The float with `mantissa_bits` bits after the point nearest x, ties to even, with the format's
// smallest normal exponent (subnormals below it) and overflow to infinity at `overflow`: f16 is
// (10, -14, 65520), bf16 (7, -126, -).
double round_to_format(double x, int mantissa_bits, int min_exponent, double overflow) {
    if (x == 0) return x;
    if (std::fabs(x) >= overflow) return std::copysign(INFINITY, x);
    const int exponent = std::max(int(std::floor(std::log2(std::fabs(x)))), min_exponent);
    const double ulp = std::ldexp(1.0, exponent - mantissa_bits);
    return std::nearbyint(x / ulp) * ulp;  // the default rounding mode: to nearest, ties to even
}
double f16_ref(double x) { return round_to_format(x, 10, -14, 65520.0); }
double bf16_ref(double x) { return round_to_format(x, 7, -126, INFINITY); }

// ggml's reference rounding of one value, in float64; `tie` is set when x / d lies within 1e-5 of a
// rounding boundary, where the f32 product x * (1 / d) may land on either side.
double q8_0_ref(double x, double amax, bool& tie) {
    const double d = amax / 127, d16 = f16_ref(d);
    if (d == 0) return 0;
    const double t = x / d;
    tie = std::fabs(std::fabs(t - std::trunc(t)) - 0.5) < 1e-5;
    return std::round(t) * d16;  // half away from zero, as roundf
}
double q4_0_ref(double x, double extreme, bool& tie) {
    const double d = extreme / -8, d16 = f16_ref(d);
    if (d == 0) return -8 * d16;
    const double t = x / d + 8.5;
    tie = std::fabs(t - std::round(t)) < 1e-5;
    return double(std::min(15.0, std::floor(t)) - 8) * d16;
}

// Normal values with a few outliers, one all-zero block, exact ties for the block types and
// values at f16's edges (subnormal, near 65504, overflow) for the float types.
std::vector<float> awkward_values(std::int64_t n, kv_type type) {
    std::mt19937_64 engine(std::uint64_t(n) * 31 + std::uint64_t(type));
    std::normal_distribution<double> normal;
    std::vector<float> x(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < x.size(); ++i)
        x[i] = float(std::clamp(normal(engine) * (i % 13 == 5 ? 25.0 : 1.0), -120.0, 120.0));
    if (cpu::kv_quantized(type)) {
        if (n >= 64) std::fill(x.begin() + 32, x.begin() + 64, 0.0f);  // d = 0
        // The first block's largest value: q8_0's d = 127 / 127 = 1 makes 2.5 and -3.5 exact ties;
        // q4_0's d = -127 / 8 makes 7.9375 = d * -0.5 one.
        x[0] = 127.0f;
        x[1] = 2.5f;
        x[2] = -3.5f;
        x[3] = 7.9375f;
    } else {
        const float edges[] = {3e-6f, -6.1e-5f, 65504.0f, 65519.0f, 65520.0f, -1e6f, 1.0009765625f, 2.0f + 0x1p-10f};
        for (std::size_t i = 0; i < std::size(edges) && i < x.size(); ++i) x[i] = edges[i];
    }
    return x;
}

std::vector<std::int64_t> sizes_of(kv_type type) {
    if (cpu::kv_quantized(type)) return {32, 96, 160};
    return {1, 7, 33, 100};
}

const kv_type stored_types[] = {kv_type::f16, kv_type::bf16, kv_type::q8_0, kv_type::q4_0};

TEST(KvCacheFormat, StoreAndLoadMatchTheFloat64Reference) {
    for (const kv_type type : stored_types)
        for (const std::int64_t n : sizes_of(type)) {
            SCOPED_TRACE(testing::Message() << cpu::kv_type_name(type) << " n=" << n);
            const std::vector<float> x = awkward_values(n, type);
            std::vector<std::byte> bytes(cpu::kv_row_bytes(type, n));
            cpu::kv_store_row(type, x.data(), n, bytes.data());
            std::vector<float> loaded(x.size()), ggml(x.size());
            cpu::kv_load_row(type, bytes.data(), n, loaded.data());
            cpu::dequantize(ggml_of(type), bytes.data(), ggml.data(), n);
            // The vectorised load is ggml's dequantisation bit for bit (every product is exact).
            EXPECT_EQ(std::memcmp(loaded.data(), ggml.data(), loaded.size() * sizeof(float)), 0);
            int ties = 0;
            for (std::int64_t b = 0; b < n; b += cpu::kv_block_values(type)) {
                const std::int64_t width = cpu::kv_block_values(type);
                double amax = 0, extreme = 0;
                for (std::int64_t j = b; j < b + width; ++j)
                    if (std::fabs(x[std::size_t(j)]) > amax) {
                        amax = std::fabs(x[std::size_t(j)]);
                        extreme = x[std::size_t(j)];
                    }
                for (std::int64_t j = b; j < b + width; ++j) {
                    const double v = x[std::size_t(j)];
                    bool tie = false;
                    const double want = type == kv_type::f16    ? f16_ref(v)
                                        : type == kv_type::bf16 ? bf16_ref(v)
                                        : type == kv_type::q8_0 ? q8_0_ref(v, amax, tie)
                                                                : q4_0_ref(v, extreme, tie);
                    const double got = loaded[std::size_t(j)];
                    if (!tie) {
                        EXPECT_EQ(got, want) << "value " << j << " = " << v;
                        continue;
                    }
                    // At a tie f32 may round the other way: one step of the block's scale.
                    ++ties;
                    EXPECT_LE(std::fabs(got - want), std::fabs(f16_ref(type == kv_type::q8_0 ? amax / 127 : extreme / 8)))
                        << "value " << j << " = " << v;
                }
            }
            if (cpu::kv_quantized(type)) {
                EXPECT_GE(ties, 1) << "the exact ties were not exercised";
            }
        }
}

TEST(KvCacheFormat, NamesAndRowSizesAreLlamaCpps) {
    EXPECT_EQ(cpu::kv_type_names(), "f32, f16, bf16, q8_0, q4_0");
    for (const kv_type type : cpu::all_kv_types) EXPECT_EQ(cpu::find_kv_type(cpu::kv_type_name(type)), type);
    EXPECT_FALSE(cpu::find_kv_type("q4_1").has_value());
    // ggml's block sizes: q8_0 34 bytes (f16 d + 32 int8), q4_0 18 (f16 d + 16 bytes of nibbles).
    EXPECT_EQ(cpu::kv_row_bytes(kv_type::q8_0, 64), 68u);
    EXPECT_EQ(cpu::kv_row_bytes(kv_type::q4_0, 64), 36u);
    EXPECT_EQ(cpu::kv_row_bytes(kv_type::f16, 7), 14u);
    EXPECT_EQ(cpu::kv_row_bytes(kv_type::bf16, 7), 14u);
    EXPECT_EQ(cpu::kv_row_bytes(kv_type::f32, 7), 28u);
}

// The fused attention reading keys and values as stored: against the float64 oracle on the values
// the cache holds (ggml's dequantisation of the stored rows), so only the kernel's own f32 rounding
// remains, with attention's f32 tolerance (tests/kernels/cpu/test_attention.cpp: 2e-4 of the RMS).
// T_k = 300 straddles a 256-key tile; GQA 4:2; D = 32 and 64 (one and two blocks per head); a
// decode row and a prefill; ReRoPE's far split (plain far keys beside stored near ones), a window
// with sinks, and relu^2 with ALiBi.
TEST(KvCacheAttention, ReadsEveryTypeAsItsDequantisedValues) {
    struct rules_case {
        const char* name;
        cpu::attention_rules cpu;
    };
    for (const kv_type type : stored_types)
        for (const std::int64_t dim : {32, 64})
            for (const std::int64_t time_q : {1, 300}) {
                if (time_q > 1 && dim > 32) continue;  // one prefill per type keeps the oracle's O(T^2) cheap
                const std::int64_t time_k = 300, heads = 4, heads_kv = 2, width = heads_kv * dim;
                const cpu::attention_dims d{1, time_q, time_k, heads, heads_kv, dim};
                const ref::attention_shape s{1, time_q, time_k, heads, heads_kv, dim};
                const ref::vec q = test::random_vec(time_q * heads * dim, 1), k = test::random_vec(time_k * width, 2),
                               v = test::random_vec(time_k * width, 3), qf = test::random_vec(time_q * heads * dim, 4),
                               kf = test::random_vec(time_k * width, 5);
                std::vector<std::byte> k_rows(std::size_t(time_k) * cpu::kv_row_bytes(type, width)), v_rows(k_rows.size());
                ref::vec k_held(k.size()), v_held(v.size());
                for (const auto& [in, rows, held] : {std::tuple{&k, &k_rows, &k_held}, {&v, &v_rows, &v_held}}) {
                    const std::vector<float> x = test::as<float>(*in);
                    std::vector<float> back(x.size());
                    const std::size_t row_bytes = cpu::kv_row_bytes(type, width);
                    for (std::int64_t t = 0; t < time_k; ++t) {
                        cpu::kv_store_row(type, x.data() + t * width, width, rows->data() + std::size_t(t) * row_bytes);
                        cpu::dequantize(ggml_of(type), rows->data() + std::size_t(t) * row_bytes, back.data() + t * width,
                                        width);
                    }
                    held->assign(back.begin(), back.end());
                }
                std::vector<rules_case> cases(3);
                cases[0].name = "far split";
                cases[0].cpu.first_near = test::split_at_distance(37, time_k - time_q, time_q);
                cases[1].name = "window and sinks";
                cases[1].cpu.window = 50;
                cases[1].cpu.n_sink = 4;
                cases[2].name = "relu2 and alibi";
                for (std::int64_t i = 0; i < time_q; ++i) cases[2].cpu.relu2_divisor.push_back(double(time_k - time_q + i + 1));
                for (std::int64_t h = 0; h < heads; ++h) cases[2].cpu.head_slopes.push_back(0.01 * double(h + 1));
                for (const rules_case& c : cases) {
                    SCOPED_TRACE(testing::Message() << cpu::kv_type_name(type) << " D=" << dim << " Tq=" << time_q << " "
                                                    << c.name);
                    ref::attention_rules r;
                    r.window = c.cpu.window;
                    r.n_sink = c.cpu.n_sink;
                    r.first_near = c.cpu.first_near;
                    r.head_slopes = c.cpu.head_slopes;
                    r.relu2_divisor = c.cpu.relu2_divisor;
                    const auto qt = test::as<float>(q), qft = test::as<float>(qf), kft = test::as<float>(kf);
                    cpu::far_operands<float> far;
                    if (c.cpu.two_score()) {
                        r.q_far = qf;
                        r.k_far = kf;
                        far = {qft.data(), kft.data()};
                    }
                    const double scale = 1.0 / std::sqrt(double(dim));
                    std::vector<float> out(q.size());
                    cpu::attention_forward<float>(qt.data(), cpu::kv_rows<float>(k_rows.data(), type),
                                                  cpu::kv_rows<float>(v_rows.data(), type), out.data(), nullptr, d,
                                                  float(scale), c.cpu, far);
                    EXPECT_LT(test::max_scaled_error(out, ref::attention(q, k_held, v_held, s, scale, r)), 2e-4);
                }
            }
}

}  // namespace
}  // namespace stretch
