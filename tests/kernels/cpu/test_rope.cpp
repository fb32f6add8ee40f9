// kernels/cpu/rope against the float64 oracle (which recomputes every angle with std::pow): the
// frequency formula, both pairings, partial rotary, head dims 8/64/128, odd T, positions up to
// 1e5 (where angles must be formed in double, methods.md A1), the inverse rotation used by the
// backward, and the table's mscale, in f32 and f64.
#include "kernels/cpu/rope.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <tuple>
#include <vector>

#include "kernels/ref/ref.h"
#include "support/kernel_compare.h"

namespace stretch {
namespace {

using ref::vec;
using test::as;
using test::max_scaled_error;
using test::random_vec;

// f32: cos/sin come from the double table and are rounded once to f32 (3e-8 relative), then
// a*c - b*s rounds ~3 more times: ~2e-7 of |x| per element (measured 3e-7 of the RMS over the
// largest row). 2e-6 is a ~7x margin. The angle itself is formed in double, so positions of 1e5
// cost nothing extra; a float angle there would be off by ~1e-2 rad and fail by 4 orders.
constexpr double f32_tol = 2e-6;
// f64: the kernel and the oracle form p * base^(-2t/d) the same way; cos/sin of angles up to 1e5
// rad are accurate to ~1e-16 * 1e5 = 1e-11 absolute if the angle products round differently.
constexpr double f64_tol = 1e-10;

ref::rope_pairing to_ref(cpu::rope_pairing p) {
    return p == cpu::rope_pairing::interleaved ? ref::rope_pairing::interleaved : ref::rope_pairing::half;
}

TEST(KernelRope, InverseFrequenciesFollowA1) {
    for (std::int64_t n_rot : {2, 8, 96, 128}) {
        const auto inv_freq = cpu::rope_inv_freq(10000.0, n_rot);
        ASSERT_EQ(static_cast<std::int64_t>(inv_freq.size()), n_rot / 2);
        EXPECT_EQ(inv_freq[0], 1.0);
        // exp(-2t/d ln base) has an argument up to ln(1e4) = 9.2, whose rounding (1e-15 relative)
        // moves the result by ~1e-15 of values <= 1; pow rounds once: 1e-14 absolute.
        for (std::size_t t = 0; t < inv_freq.size(); ++t)
            EXPECT_NEAR(inv_freq[t], std::exp(-2.0 * double(t) / double(n_rot) * std::log(10000.0)), 1e-14);
    }
}

template <class T>
void check_rope(double tol) {
    // (batch, time, heads, head_dim, n_rot)
    const std::vector<std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t, std::int64_t>> shapes = {
        {1, 1, 1, 8, 8}, {2, 7, 3, 8, 8}, {1, 5, 4, 64, 64}, {2, 3, 2, 128, 128}, {1, 9, 2, 64, 32}, {1, 3, 1, 10, 6}};
    for (const auto pairing : {cpu::rope_pairing::interleaved, cpu::rope_pairing::half})
        for (const auto& [batch, time, heads, head_dim, n_rot] : shapes) {
            SCOPED_TRACE(testing::Message() << "pairing=" << int(pairing) << " T=" << time << " H=" << heads
                                            << " D=" << head_dim << " n_rot=" << n_rot);
            // Positions: a start, a far offset (a KV cache at 1e5) and a fractional one (PI scaling).
            vec positions(static_cast<std::size_t>(time));
            for (std::int64_t t = 0; t < time; ++t) positions[t] = t == 0 ? 0.0 : double(t * t) + (t % 2 ? 1e5 : 0.5);
            const double base = 10000.0;
            const auto table = cpu::make_rope_table(positions, cpu::rope_inv_freq(base, n_rot));
            const vec x = random_vec(batch * time * heads * head_dim, std::uint64_t(head_dim + time));

            std::vector<T> y = as<T>(x);
            cpu::rope_apply<T>(y.data(), batch, time, heads, head_dim, table, pairing, false);
            const vec want = ref::rope(x, batch, time, heads, head_dim, n_rot, positions, base, to_ref(pairing));
            EXPECT_LT(max_scaled_error(y, want), tol);

            // The inverse is the rotation by -p.
            vec minus = positions;
            for (double& p : minus) p = -p;
            std::vector<T> back = as<T>(x);
            cpu::rope_apply<T>(back.data(), batch, time, heads, head_dim, table, pairing, true);
            EXPECT_LT(max_scaled_error(back, ref::rope(x, batch, time, heads, head_dim, n_rot, minus, base,
                                                       to_ref(pairing))),
                      tol);
        }
}

TEST(KernelRope, F32MatchesRef) { check_rope<float>(f32_tol); }

TEST(KernelRope, F64MatchesRef) { check_rope<double>(f64_tol); }

TEST(KernelRope, MscaleScalesTheRotatedValues) {
    // With full rotary, a table scaled by m gives m * RoPE(x).
    const vec positions = {0, 3, 11};
    const auto table = cpu::make_rope_table(positions, cpu::rope_inv_freq(500.0, 8), 1.5);
    const vec x = random_vec(3 * 2 * 8, 3);
    std::vector<double> y = x;
    cpu::rope_apply<double>(y.data(), 1, 3, 2, 8, table, cpu::rope_pairing::half, false);
    vec want = ref::rope(x, 1, 3, 2, 8, 8, positions, 500.0, ref::rope_pairing::half);
    for (double& w : want) w *= 1.5;
    EXPECT_LT(max_scaled_error(y, want), f64_tol);
}

}  // namespace
}  // namespace stretch
