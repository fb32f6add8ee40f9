// kernels/cpu/cross_entropy against the float64 oracle in f32 and f64: per-row losses and argmax
// hits, ignored targets (< 0), logits far from zero (max subtraction), a vocabulary of 2 and an
// odd large one, and the weighted backward accumulating into a prefilled gradient.
#include "kernels/cpu/cross_entropy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernels/ref/ref.h"
#include "support/kernel_compare.h"

namespace stretch {
namespace {

using ref::vec;
using test::as;
using test::random_vec;

// Forward: the kernel reads f32 logits but does the whole logsumexp in double, so the loss equals
// the oracle's up to double rounding of a V-term sum (~V * 1.1e-16 relative, V <= 1001): 1e-12.
constexpr double loss_tol = 1e-12;
// Backward in f32: the max is subtracted in f32 (exact for nearby values, Sterbenz), exp and the
// product weight * p * inv round ~3 times at 6e-8 each, and the normaliser is a double sum cast
// to f32: ~3e-7 relative to each entry, which is at most the weight (0.5) in size: 1.5e-7
// absolute, plus the rounding of the add into the prefill (|d0| < 1: <= 6e-8). Measured 3e-8;
// 5e-7 bounds the worst case above.
constexpr double grad_f32_tol = 5e-7;
// f64 backward: the same few roundings at 1.1e-16 plus a V-term sum: 1e-14 absolute.
constexpr double grad_f64_tol = 1e-14;

template <class T>
void check_cross_entropy(double grad_tol) {
    struct shape {
        std::int64_t n, v;
        double shift;  // logits around `shift`: 1000 would overflow exp without the max subtraction
    };
    for (const auto& [n, v, shift] : {shape{5, 2, 0.0}, shape{9, 257, 1000.0}, shape{3, 1001, -30.0}}) {
        SCOPED_TRACE(testing::Message() << "n=" << n << " v=" << v);
        const vec logits = random_vec(n * v, 1, 3.0, shift);
        std::vector<std::int32_t> targets(static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) targets[i] = (i % 3 == 1) ? -1 : std::int32_t((i * 7919) % v);
        // One target at the row's argmax so a hit is scored.
        std::int32_t argmax0 = 0;
        for (std::int64_t j = 1; j < v; ++j)
            if (logits[j] > logits[argmax0]) argmax0 = std::int32_t(j);
        targets[0] = argmax0;

        vec losses(static_cast<std::size_t>(n));
        std::vector<std::uint8_t> hits(static_cast<std::size_t>(n), 9);
        cpu::cross_entropy_forward<T>(as<T>(logits).data(), targets.data(), losses.data(), hits.data(), n, v);
        const vec want = ref::cross_entropy(logits, targets, n, v);
        for (std::int64_t i = 0; i < n; ++i) {
            EXPECT_NEAR(losses[i], want[i], loss_tol * std::max(1.0, std::abs(want[i]))) << "row " << i;
            if (targets[i] < 0) {
                EXPECT_EQ(hits[i], 0) << "ignored row " << i << " scored a hit";
            }
        }
        EXPECT_EQ(hits[0], 1);
        // Hits are optional.
        vec losses2(static_cast<std::size_t>(n));
        cpu::cross_entropy_forward<T>(as<T>(logits).data(), targets.data(), losses2.data(), nullptr, n, v);
        EXPECT_EQ(losses2, losses);

        const double weight = 0.5;
        const vec d0 = random_vec(n * v, 2, 0.25, 0.0);  // small: its own f32 rounding stays ~1e-8
        std::vector<T> d = as<T>(d0);
        cpu::cross_entropy_backward<T>(as<T>(logits).data(), targets.data(), d.data(), n, v, T(weight));
        const vec dwant = ref::cross_entropy_backward(logits, targets, n, v, weight);
        double err = 0;
        for (std::size_t i = 0; i < d.size(); ++i) err = std::max(err, std::abs(double(d[i]) - (d0[i] + dwant[i])));
        EXPECT_LT(err, grad_tol);
    }
}

TEST(KernelCrossEntropy, F32MatchesRef) { check_cross_entropy<float>(grad_f32_tol); }

TEST(KernelCrossEntropy, F64MatchesRef) { check_cross_entropy<double>(grad_f64_tol); }

TEST(KernelCrossEntropy, UniformLogitsGiveLogVocab) {
    const std::int64_t v = 50;
    const std::vector<float> logits(2 * v, 4.0f);
    const std::vector<std::int32_t> targets = {17, 49};
    vec losses(2);
    cpu::cross_entropy_forward<float>(logits.data(), targets.data(), losses.data(), nullptr, 2, v);
    EXPECT_NEAR(losses[0], std::log(double(v)), loss_tol);
    EXPECT_NEAR(losses[1], std::log(double(v)), loss_tol);
}

}  // namespace
}  // namespace stretch
