// kernels/cpu/elementwise (SwiGLU, embedding; GAU's silu, scale-offset and product) against the
// float64 oracle in f32 and f64: odd lengths, inputs reaching the sigmoid's saturated tails,
// accumulation into prefilled gradients, null gradient outputs, repeated token ids in the embedding
// backward, and column sums that must not depend on the thread count.
#include "kernels/cpu/elementwise.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <utility>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/ref/ref.h"
#include "support/kernel_compare.h"

namespace stretch {
namespace {

using ref::vec;
using test::as;
using test::random_vec;

// SwiGLU is a few f32 operations per element (exp, divide, two multiplies), each rounding at
// 6e-8 relative: ~3e-7. The backward's a * (1 - sigmoid(a)) is worse near saturation: sigmoid(a)
// rounds to 3e-8 absolute next to 1, and |a| up to ~24 multiplies that, so ~7e-7 (measured
// 7.5e-7). Compared elementwise with a floor of 1 on the magnitude (silu'(a) crosses zero),
// 5e-6 is a ~7x margin.
constexpr double f32_tol = 5e-6;
// f64: the same handful of roundings at 1.1e-16; 1e-14 allows for exp's last-bit differences.
constexpr double f64_tol = 1e-14;

// max_i |got - want| / max(|want|, 1): relative for large values, absolute near zero.
template <class T>
double max_error(const std::vector<T>& got, const vec& want) {
    EXPECT_EQ(got.size(), want.size());
    double err = 0;
    for (std::size_t i = 0; i < want.size(); ++i)
        err = std::max(err, std::abs(double(got[i]) - want[i]) / std::max(std::abs(want[i]), 1.0));
    return err;
}

// The kernels and oracle of one gated unit: SwiGLU or GeGLU.
struct gated_unit {
    void (*forward_f32)(const float*, const float*, float*, std::int64_t);
    void (*forward_f64)(const double*, const double*, double*, std::int64_t);
    void (*backward_f32)(const float*, const float*, const float*, float*, float*, std::int64_t);
    void (*backward_f64)(const double*, const double*, const double*, double*, double*, std::int64_t);
    vec (*ref_forward)(const vec&, const vec&);
    void (*ref_backward)(const vec&, const vec&, const vec&, vec&, vec&);
};

const gated_unit swiglu_unit{cpu::swiglu_forward<float>, cpu::swiglu_forward<double>, cpu::swiglu_backward<float>,
                             cpu::swiglu_backward<double>, ref::swiglu, ref::swiglu_backward};
const gated_unit geglu_unit{cpu::geglu_forward<float>, cpu::geglu_forward<double>, cpu::geglu_backward<float>,
                            cpu::geglu_backward<double>, ref::geglu, ref::geglu_backward};

template <class T>
void check_gated(const gated_unit& unit, double tol) {
    const auto forward = [&](const T* a, const T* b, T* y, std::int64_t n) {
        if constexpr (std::is_same_v<T, float>) unit.forward_f32(a, b, y, n);
        else unit.forward_f64(a, b, y, n);
    };
    const auto backward = [&](const T* a, const T* b, const T* dy, T* da, T* db, std::int64_t n) {
        if constexpr (std::is_same_v<T, float>) unit.backward_f32(a, b, dy, da, db, n);
        else unit.backward_f64(a, b, dy, da, db, n);
    };
    for (std::int64_t n : {1, 7, 1001}) {
        SCOPED_TRACE(testing::Message() << "n=" << n);
        // Scale 6 puts a few percent of a beyond |a| = 12, where sigmoid is within 6e-6 of 0 or 1.
        const vec a = random_vec(n, 1, 6.0), b = random_vec(n, 2), dy = random_vec(n, 3);
        std::vector<T> y(static_cast<std::size_t>(n));
        forward(as<T>(a).data(), as<T>(b).data(), y.data(), n);
        EXPECT_LT(max_error(y, unit.ref_forward(a, b)), tol);

        vec da_want, db_want;
        unit.ref_backward(a, b, dy, da_want, db_want);
        const vec da0 = random_vec(n, 4), db0 = random_vec(n, 5);
        std::vector<T> da = as<T>(da0), db = as<T>(db0);
        backward(as<T>(a).data(), as<T>(b).data(), as<T>(dy).data(), da.data(), db.data(), n);
        for (std::size_t i = 0; i < da_want.size(); ++i) {
            da_want[i] += da0[i];
            db_want[i] += db0[i];
        }
        EXPECT_LT(max_error(da, da_want), tol);
        EXPECT_LT(max_error(db, db_want), tol);

        // Each gradient may be skipped on its own.
        std::vector<T> only_da(static_cast<std::size_t>(n)), only_db(static_cast<std::size_t>(n));
        backward(as<T>(a).data(), as<T>(b).data(), as<T>(dy).data(), only_da.data(), nullptr, n);
        backward(as<T>(a).data(), as<T>(b).data(), as<T>(dy).data(), nullptr, only_db.data(), n);
        vec da_only, db_only;
        unit.ref_backward(a, b, dy, da_only, db_only);
        EXPECT_LT(max_error(only_da, da_only), tol);
        EXPECT_LT(max_error(only_db, db_only), tol);
    }
}

TEST(KernelElementwise, SwigluF32MatchesRef) { check_gated<float>(swiglu_unit, f32_tol); }
// GeGLU's kernel computes gelu_tanh as a sigmoid(2u), the oracle as 0.5 a (1 + tanh(u)): the same
// function written two ways, so the comparison also checks the identity. Its f32 error is SwiGLU's
// plus the rounding of u's cubic (a few ulp): the same tolerances hold.
TEST(KernelElementwise, GegluF32MatchesRef) { check_gated<float>(geglu_unit, f32_tol); }
// In f64 the two forms of the derivative (sigmoid's s (1 - s) against tanh's (1 - t^2) / 2) round
// differently at |a| ~ 20, where both are ~1e-16 times large factors: measured 1.7e-14, hence 1e-13.
TEST(KernelElementwise, GegluF64MatchesRef) { check_gated<double>(geglu_unit, 1e-13); }

// The f32 sigmoid's exp clamps its argument to [-87, 88] and rounds it to n ln2 + r: values at and
// past the clamps, at half-way points of the rounding (+-0.5 ln2) and at 0 still match the oracle.
TEST(KernelElementwise, SwigluF32MatchesRefAtExpEdges) {
    const vec a = {-1000, -100, -88, -87, -86.5, -20, -0.5 * std::log(2.0), -1e-30, 0, 1e-30, 0.5 * std::log(2.0),
                   20, 86.5, 87, 88, 89, 100, 1000};
    const vec b = random_vec(std::int64_t(a.size()), 2), dy = random_vec(std::int64_t(a.size()), 3);
    const auto n = std::int64_t(a.size());
    std::vector<float> y(a.size()), da(a.size()), db(a.size());
    cpu::swiglu_forward<float>(as<float>(a).data(), as<float>(b).data(), y.data(), n);
    EXPECT_LT(max_error(y, ref::swiglu(a, b)), f32_tol);
    vec da_want, db_want;
    ref::swiglu_backward(a, b, dy, da_want, db_want);
    cpu::swiglu_backward<float>(as<float>(a).data(), as<float>(b).data(), as<float>(dy).data(), da.data(), db.data(), n);
    EXPECT_LT(max_error(da, da_want), f32_tol);
    EXPECT_LT(max_error(db, db_want), f32_tol);
}

TEST(KernelElementwise, SwigluF64MatchesRef) { check_gated<double>(swiglu_unit, f64_tol); }

template <class T>
void check_silu(double tol) {
    for (std::int64_t n : {1, 7, 1001}) {
        SCOPED_TRACE(testing::Message() << "n=" << n);
        const vec x = random_vec(n, 11, 6.0), dy = random_vec(n, 12), ones(static_cast<std::size_t>(n), 1.0);
        std::vector<T> y(static_cast<std::size_t>(n));
        cpu::silu_forward<T>(as<T>(x).data(), y.data(), n);
        EXPECT_LT(max_error(y, ref::swiglu(x, ones)), tol);  // silu(x) = swiglu(x, 1)
        vec dx_want, unused;
        ref::swiglu_backward(x, ones, dy, dx_want, unused);
        const vec dx0 = random_vec(n, 13);
        std::vector<T> dx = as<T>(dx0);
        cpu::silu_backward<T>(as<T>(x).data(), as<T>(dy).data(), dx.data(), n);
        for (std::size_t i = 0; i < dx_want.size(); ++i) dx_want[i] += dx0[i];
        EXPECT_LT(max_error(dx, dx_want), tol);
    }
}

TEST(KernelElementwise, SiluF32MatchesRef) { check_silu<float>(f32_tol); }
TEST(KernelElementwise, SiluF64MatchesRef) { check_silu<double>(f64_tol); }

// y = gamma x + beta per column and its gradients, in float64 straight from the formula.
struct scale_offset_oracle {
    vec y, dx, dgamma, dbeta;
    scale_offset_oracle(const vec& x, const vec& gamma, const vec& beta, const vec& dy, std::int64_t rows, std::int64_t c)
        : y(x.size()), dx(x.size()), dgamma(gamma.size(), 0.0), dbeta(gamma.size(), 0.0) {
        for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t j = 0; j < c; ++j) {
                const auto i = std::size_t(r * c + j), jj = std::size_t(j);
                y[i] = gamma[jj] * x[i] + beta[jj];
                dx[i] = gamma[jj] * dy[i];
                dgamma[jj] += x[i] * dy[i];
                dbeta[jj] += dy[i];
            }
    }
};

// y and dx are one or two roundings (tol). The column sums add `rows` unit-scale terms, each
// addition rounding the running sum, |sum| ~ sqrt(rows) ~ 17 at 301 rows: a random walk of about
// sqrt(rows) * 17 * 6e-8 = 1.8e-5 absolute in f32 (measured 5.3e-6), 3e-15 in f64; `sum_tol` is
// 5e-5 and 3e-14, still far below the O(1) error of a wrong row or column.
template <class T>
void check_scale_offset(double tol, double sum_tol) {
    test::thread_count_guard guard;
    for (const auto& [rows, c] : {std::pair<std::int64_t, std::int64_t>{1, 1}, {5, 3}, {301, 128}}) {
        SCOPED_TRACE(testing::Message() << "rows=" << rows << " c=" << c);
        const vec x = random_vec(rows * c, 21), gamma = random_vec(c, 22), beta = random_vec(c, 23),
                  dy = random_vec(rows * c, 24);
        const scale_offset_oracle want(x, gamma, beta, dy, rows, c);
        std::vector<T> y(x.size());
        cpu::scale_offset_forward<T>(as<T>(x).data(), as<T>(gamma).data(), as<T>(beta).data(), y.data(), rows, c);
        EXPECT_LT(max_error(y, want.y), tol);

        const vec dx0 = random_vec(rows * c, 25), dg0 = random_vec(c, 26), db0 = random_vec(c, 27);
        std::vector<std::vector<T>> by_threads;
        for (int threads : {1, 2, 3}) {
            set_threads(threads);
            std::vector<T> dx = as<T>(dx0), dg = as<T>(dg0), db = as<T>(db0);
            cpu::scale_offset_backward<T>(as<T>(x).data(), as<T>(gamma).data(), as<T>(dy).data(), dx.data(), dg.data(),
                                          db.data(), rows, c);
            vec dx_want = want.dx, dg_want = want.dgamma, db_want = want.dbeta;
            for (std::size_t i = 0; i < dx_want.size(); ++i) dx_want[i] += dx0[i];
            for (std::size_t j = 0; j < dg_want.size(); ++j) {
                dg_want[j] += dg0[j];
                db_want[j] += db0[j];
            }
            EXPECT_LT(max_error(dx, dx_want), tol);
            EXPECT_LT(max_error(dg, dg_want), sum_tol);
            EXPECT_LT(max_error(db, db_want), sum_tol);
            dg.insert(dg.end(), db.begin(), db.end());
            by_threads.push_back(dg);
        }
        // Each column sums its rows in order whatever the split: the same bits at 1, 2, 3 threads.
        EXPECT_EQ(by_threads[0], by_threads[1]);
        EXPECT_EQ(by_threads[0], by_threads[2]);

        // Only dx, or only the parameter gradients.
        std::vector<T> dx_only(x.size()), dg_only(gamma.size()), db_only(gamma.size());
        cpu::scale_offset_backward<T>(as<T>(x).data(), as<T>(gamma).data(), as<T>(dy).data(), dx_only.data(), nullptr,
                                      nullptr, rows, c);
        cpu::scale_offset_backward<T>(as<T>(x).data(), as<T>(gamma).data(), as<T>(dy).data(), nullptr, dg_only.data(),
                                      db_only.data(), rows, c);
        EXPECT_LT(max_error(dx_only, want.dx), tol);
        EXPECT_LT(max_error(dg_only, want.dgamma), sum_tol);
        EXPECT_LT(max_error(db_only, want.dbeta), sum_tol);
    }
}

TEST(KernelElementwise, ScaleOffsetF32MatchesRef) { check_scale_offset<float>(f32_tol, 5e-5); }
TEST(KernelElementwise, ScaleOffsetF64MatchesRef) { check_scale_offset<double>(f64_tol, 3e-14); }

// One rounding per product (and one per accumulation): exact to f32's half ulp, well inside f32_tol.
template <class T>
void check_multiply(double tol) {
    const std::int64_t n = 1001;
    const vec a = random_vec(n, 31), b = random_vec(n, 32), dy = random_vec(n, 33), da0 = random_vec(n, 34),
              db0 = random_vec(n, 35);
    vec y_want(a.size()), da_want(a.size()), db_want(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        y_want[i] = a[i] * b[i];
        da_want[i] = da0[i] + dy[i] * b[i];
        db_want[i] = db0[i] + dy[i] * a[i];
    }
    std::vector<T> y(a.size()), da = as<T>(da0), db = as<T>(db0), only_db = as<T>(db0);
    cpu::multiply_forward<T>(as<T>(a).data(), as<T>(b).data(), y.data(), n);
    cpu::multiply_backward<T>(as<T>(a).data(), as<T>(b).data(), as<T>(dy).data(), da.data(), db.data(), n);
    cpu::multiply_backward<T>(as<T>(a).data(), as<T>(b).data(), as<T>(dy).data(), nullptr, only_db.data(), n);
    EXPECT_LT(max_error(y, y_want), tol);
    EXPECT_LT(max_error(da, da_want), tol);
    EXPECT_LT(max_error(db, db_want), tol);
    EXPECT_LT(max_error(only_db, db_want), tol);
}

TEST(KernelElementwise, MultiplyF32MatchesRef) { check_multiply<float>(f32_tol); }
TEST(KernelElementwise, MultiplyF64MatchesRef) { check_multiply<double>(f64_tol); }

template <class T>
void check_embedding(double tol) {
    const std::int64_t vocab = 13, c = 67;
    // Repeats (3 three times, 12 twice) and an unused row: the backward must sum the repeats.
    const std::vector<std::int32_t> tokens = {3, 0, 12, 3, 7, 12, 3, 1, 5};
    const auto n = static_cast<std::int64_t>(tokens.size());
    const vec table = random_vec(vocab * c, 6), dy = random_vec(n * c, 7);

    std::vector<T> y(static_cast<std::size_t>(n * c));
    cpu::embedding_forward<T>(as<T>(table).data(), tokens.data(), y.data(), n, c);
    EXPECT_EQ(max_error(y, ref::embedding(table, tokens, c)), 0.0);  // a copy: exact

    const vec dtable0 = random_vec(vocab * c, 8);
    std::vector<T> dtable = as<T>(dtable0);
    cpu::embedding_backward<T>(tokens.data(), as<T>(dy).data(), dtable.data(), n, c);
    vec want = ref::embedding_backward(tokens, dy, vocab, c);
    for (std::size_t i = 0; i < want.size(); ++i) want[i] += dtable0[i];
    EXPECT_LT(max_error(dtable, want), tol);
}

// The embedding backward sums at most 4 terms per entry: 3 roundings, well inside the SwiGLU bound.
TEST(KernelElementwise, EmbeddingF32MatchesRef) { check_embedding<float>(f32_tol); }

TEST(KernelElementwise, EmbeddingF64MatchesRef) { check_embedding<double>(f64_tol); }

}  // namespace
}  // namespace stretch
