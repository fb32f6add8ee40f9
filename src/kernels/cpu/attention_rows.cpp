// Highway's dynamic dispatch: foreach_target.h compiles this file once per instruction set, each
// copy in its own HWY_NAMESPACE; HWY_EXPORT / HWY_DYNAMIC_DISPATCH pick the copy for the running CPU
// on the first call (https://github.com/google/highway, README "Quick start"). The exponential is
// Highway's hn::Exp (contrib/math: 1 ulp, and exactly 0 below -104 in f32, so exp(-inf) = 0).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/attention_rows.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

#include <hwy/cache_control.h>
#include <hwy/contrib/math/math-inl.h>
#include <hwy/highway.h>

#include <limits>

#include "kernels/cpu/attention_rows.h"

HWY_BEFORE_NAMESPACE();
namespace stretch::cpu::HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// Calls f(j, load, store) for each vector of [0, n): full vectors, then the remainder under a mask,
// its missing lanes loaded as `pad` and never stored.
template <class T, class F>
HWY_INLINE void for_each_vector(std::int64_t n, T pad, F&& f) {
    const hn::ScalableTag<T> d;
    const std::int64_t lanes = std::int64_t(hn::Lanes(d));
    std::int64_t j = 0;
    for (; j + lanes <= n; j += lanes)
        f(j, [&](const T* p) { return hn::LoadU(d, p); }, [&](auto v, T* p) { hn::StoreU(v, d, p); });
    if (j == n) return;
    const auto mask = hn::FirstN(d, std::size_t(n - j));
    f(j, [&](const T* p) { return hn::IfThenElse(mask, hn::MaskedLoad(mask, d, p), hn::Set(d, pad)); },
      [&](auto v, T* p) { hn::BlendedStore(v, mask, d, p); });
}

template <class T>
T row_max_impl(const T* x, std::int64_t n) {
    const hn::ScalableTag<T> d;
    constexpr T neg_inf = -std::numeric_limits<T>::infinity();
    auto m = hn::Set(d, neg_inf);
    for_each_vector<T>(n, neg_inf, [&](std::int64_t j, auto load, auto) { m = hn::Max(m, load(x + j)); });
    return hn::GetLane(hn::MaxOfLanes(d, m));
}

template <class T>
T exp_shifted_impl(T* x, std::int64_t n, T shift) {
    const hn::ScalableTag<T> d;
    const auto s = hn::Set(d, shift);
    auto sum = hn::Zero(d);
    for_each_vector<T>(n, -std::numeric_limits<T>::infinity(), [&](std::int64_t j, auto load, auto store) {
        const auto e = hn::Exp(d, hn::Sub(load(x + j), s));
        sum = hn::Add(sum, e);
        store(e, x + j);
    });
    return hn::GetLane(hn::SumOfLanes(d, sum));
}

template <class T>
void relu2_row_impl(T* x, std::int64_t n, T inv_n) {
    const hn::ScalableTag<T> d;
    const auto c = hn::Set(d, inv_n);
    for_each_vector<T>(n, T(0), [&](std::int64_t j, auto load, auto store) {
        const auto r = hn::ZeroIfNegative(load(x + j));
        store(hn::Mul(hn::Mul(r, r), c), x + j);
    });
}

template <class T>
void softmax_grad_row_impl(const T* p, T* g, std::int64_t n, T delta, T factor) {
    const hn::ScalableTag<T> d;
    const auto dv = hn::Set(d, delta), f = hn::Set(d, factor);
    for_each_vector<T>(n, T(0), [&](std::int64_t j, auto load, auto store) {
        store(hn::Mul(hn::Mul(f, load(p + j)), hn::Sub(load(g + j), dv)), g + j);
    });
}

template <class T>
void relu2_grad_row_impl(const T* x, T* g, std::int64_t n, T factor) {
    const hn::ScalableTag<T> d;
    const auto f = hn::Set(d, factor);
    for_each_vector<T>(n, T(0), [&](std::int64_t j, auto load, auto store) {
        store(hn::Mul(hn::Mul(f, hn::ZeroIfNegative(load(x + j))), load(g + j)), g + j);
    });
}

// Key and value rows are a K/V head's slice of each cached position's row (heads_kv x head_dim
// values apart), a stride the hardware prefetcher followed too late: without these hints the two
// products below stalled on every row.
constexpr std::int64_t prefetch_rows_ahead = 8;

template <class T>
HWY_INLINE void prefetch_row(const T* row, std::int64_t dim) {
    for (std::int64_t e = 0; e < dim; e += std::int64_t(64 / sizeof(T))) hwy::Prefetch(row + e);
}

template <class T>
void few_rows_dot_impl(const T* a, std::int64_t rows, const T* b, std::int64_t b_stride, std::int64_t cols,
                       std::int64_t dim, T* out, std::int64_t out_stride) {
    const hn::ScalableTag<T> d;
    const std::int64_t lanes = std::int64_t(hn::Lanes(d)), full = dim / lanes * lanes;
    const auto tail = hn::FirstN(d, std::size_t(dim - full));
    for (std::int64_t j = 0; j < cols; ++j) {
        const T* bj = b + j * b_stride;
        if (j + prefetch_rows_ahead < cols) prefetch_row(b + (j + prefetch_rows_ahead) * b_stride, dim);
        for (std::int64_t r = 0; r < rows; ++r) {
            const T* ar = a + r * dim;
            auto acc = hn::Zero(d);
            for (std::int64_t e = 0; e < full; e += lanes) acc = hn::MulAdd(hn::LoadU(d, ar + e), hn::LoadU(d, bj + e), acc);
            if (full < dim) acc = hn::MulAdd(hn::MaskedLoad(tail, d, ar + full), hn::MaskedLoad(tail, d, bj + full), acc);
            out[r * out_stride + j] = hn::GetLane(hn::SumOfLanes(d, acc));
        }
    }
}

template <class T>
void few_rows_accumulate_impl(const T* p, std::int64_t p_stride, std::int64_t rows, const T* v, std::int64_t v_stride,
                              std::int64_t cols, std::int64_t dim, T* acc) {
    const hn::ScalableTag<T> d;
    const std::int64_t lanes = std::int64_t(hn::Lanes(d)), full = dim / lanes * lanes;
    const auto tail = hn::FirstN(d, std::size_t(dim - full));
    for (std::int64_t j = 0; j < cols; ++j) {  // each value row read once, its products added to every row
        const T* vj = v + j * v_stride;
        if (j + prefetch_rows_ahead < cols) prefetch_row(v + (j + prefetch_rows_ahead) * v_stride, dim);
        for (std::int64_t e = 0; e < full; e += lanes) {
            const auto vv = hn::LoadU(d, vj + e);
            for (std::int64_t r = 0; r < rows; ++r) {
                T* out = acc + r * dim + e;
                hn::StoreU(hn::MulAdd(hn::Set(d, p[r * p_stride + j]), vv, hn::LoadU(d, out)), d, out);
            }
        }
        if (full == dim) continue;
        const auto vv = hn::MaskedLoad(tail, d, vj + full);
        for (std::int64_t r = 0; r < rows; ++r) {
            T* out = acc + r * dim + full;
            hn::BlendedStore(hn::MulAdd(hn::Set(d, p[r * p_stride + j]), vv, hn::MaskedLoad(tail, d, out)), tail, d, out);
        }
    }
}

// Non-template entry points, one per element type, for HWY_EXPORT.
float row_max_f32(const float* x, std::int64_t n) { return row_max_impl(x, n); }
double row_max_f64(const double* x, std::int64_t n) { return row_max_impl(x, n); }
float exp_shifted_f32(float* x, std::int64_t n, float shift) { return exp_shifted_impl(x, n, shift); }
double exp_shifted_f64(double* x, std::int64_t n, double shift) { return exp_shifted_impl(x, n, shift); }
void relu2_row_f32(float* x, std::int64_t n, float inv_n) { relu2_row_impl(x, n, inv_n); }
void relu2_row_f64(double* x, std::int64_t n, double inv_n) { relu2_row_impl(x, n, inv_n); }
void softmax_grad_row_f32(const float* p, float* g, std::int64_t n, float delta, float factor) {
    softmax_grad_row_impl(p, g, n, delta, factor);
}
void softmax_grad_row_f64(const double* p, double* g, std::int64_t n, double delta, double factor) {
    softmax_grad_row_impl(p, g, n, delta, factor);
}
void relu2_grad_row_f32(const float* x, float* g, std::int64_t n, float factor) {
    relu2_grad_row_impl(x, g, n, factor);
}
void relu2_grad_row_f64(const double* x, double* g, std::int64_t n, double factor) {
    relu2_grad_row_impl(x, g, n, factor);
}

void few_rows_dot_f32(const float* a, std::int64_t rows, const float* b, std::int64_t b_stride, std::int64_t cols,
                      std::int64_t dim, float* out, std::int64_t out_stride) {
    few_rows_dot_impl(a, rows, b, b_stride, cols, dim, out, out_stride);
}
void few_rows_dot_f64(const double* a, std::int64_t rows, const double* b, std::int64_t b_stride, std::int64_t cols,
                      std::int64_t dim, double* out, std::int64_t out_stride) {
    few_rows_dot_impl(a, rows, b, b_stride, cols, dim, out, out_stride);
}
void few_rows_accumulate_f32(const float* p, std::int64_t p_stride, std::int64_t rows, const float* v,
                             std::int64_t v_stride, std::int64_t cols, std::int64_t dim, float* acc) {
    few_rows_accumulate_impl(p, p_stride, rows, v, v_stride, cols, dim, acc);
}
void few_rows_accumulate_f64(const double* p, std::int64_t p_stride, std::int64_t rows, const double* v,
                             std::int64_t v_stride, std::int64_t cols, std::int64_t dim, double* acc) {
    few_rows_accumulate_impl(p, p_stride, rows, v, v_stride, cols, dim, acc);
}

}  // namespace stretch::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
namespace stretch::cpu {

HWY_EXPORT(row_max_f32);
HWY_EXPORT(row_max_f64);
HWY_EXPORT(exp_shifted_f32);
HWY_EXPORT(exp_shifted_f64);
HWY_EXPORT(relu2_row_f32);
HWY_EXPORT(relu2_row_f64);
HWY_EXPORT(softmax_grad_row_f32);
HWY_EXPORT(softmax_grad_row_f64);
HWY_EXPORT(relu2_grad_row_f32);
HWY_EXPORT(relu2_grad_row_f64);
HWY_EXPORT(few_rows_dot_f32);
HWY_EXPORT(few_rows_dot_f64);
HWY_EXPORT(few_rows_accumulate_f32);
HWY_EXPORT(few_rows_accumulate_f64);

template <>
float row_max<float>(const float* x, std::int64_t n) {
    return HWY_DYNAMIC_DISPATCH(row_max_f32)(x, n);
}
template <>
double row_max<double>(const double* x, std::int64_t n) {
    return HWY_DYNAMIC_DISPATCH(row_max_f64)(x, n);
}
template <>
float exp_shifted<float>(float* x, std::int64_t n, float shift) {
    return HWY_DYNAMIC_DISPATCH(exp_shifted_f32)(x, n, shift);
}
template <>
double exp_shifted<double>(double* x, std::int64_t n, double shift) {
    return HWY_DYNAMIC_DISPATCH(exp_shifted_f64)(x, n, shift);
}
template <>
void relu2_row<float>(float* x, std::int64_t n, float inv_n) {
    HWY_DYNAMIC_DISPATCH(relu2_row_f32)(x, n, inv_n);
}
template <>
void relu2_row<double>(double* x, std::int64_t n, double inv_n) {
    HWY_DYNAMIC_DISPATCH(relu2_row_f64)(x, n, inv_n);
}
template <>
void softmax_grad_row<float>(const float* p, float* g, std::int64_t n, float delta, float factor) {
    HWY_DYNAMIC_DISPATCH(softmax_grad_row_f32)(p, g, n, delta, factor);
}
template <>
void softmax_grad_row<double>(const double* p, double* g, std::int64_t n, double delta, double factor) {
    HWY_DYNAMIC_DISPATCH(softmax_grad_row_f64)(p, g, n, delta, factor);
}
template <>
void relu2_grad_row<float>(const float* x, float* g, std::int64_t n, float factor) {
    HWY_DYNAMIC_DISPATCH(relu2_grad_row_f32)(x, g, n, factor);
}
template <>
void relu2_grad_row<double>(const double* x, double* g, std::int64_t n, double factor) {
    HWY_DYNAMIC_DISPATCH(relu2_grad_row_f64)(x, g, n, factor);
}

template <>
void few_rows_dot<float>(const float* a, std::int64_t rows, const float* b, std::int64_t b_stride, std::int64_t cols,
                         std::int64_t dim, float* out, std::int64_t out_stride) {
    HWY_DYNAMIC_DISPATCH(few_rows_dot_f32)(a, rows, b, b_stride, cols, dim, out, out_stride);
}
template <>
void few_rows_dot<double>(const double* a, std::int64_t rows, const double* b, std::int64_t b_stride,
                          std::int64_t cols, std::int64_t dim, double* out, std::int64_t out_stride) {
    HWY_DYNAMIC_DISPATCH(few_rows_dot_f64)(a, rows, b, b_stride, cols, dim, out, out_stride);
}
template <>
void few_rows_accumulate<float>(const float* p, std::int64_t p_stride, std::int64_t rows, const float* v,
                                std::int64_t v_stride, std::int64_t cols, std::int64_t dim, float* acc) {
    HWY_DYNAMIC_DISPATCH(few_rows_accumulate_f32)(p, p_stride, rows, v, v_stride, cols, dim, acc);
}
template <>
void few_rows_accumulate<double>(const double* p, std::int64_t p_stride, std::int64_t rows, const double* v,
                                 std::int64_t v_stride, std::int64_t cols, std::int64_t dim, double* acc) {
    HWY_DYNAMIC_DISPATCH(few_rows_accumulate_f64)(p, p_stride, rows, v, v_stride, cols, dim, acc);
}

}  // namespace stretch::cpu
#endif
