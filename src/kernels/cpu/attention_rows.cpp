// Highway's dynamic dispatch: foreach_target.h compiles this file once per instruction set, each
// copy in its own HWY_NAMESPACE; HWY_EXPORT / HWY_DYNAMIC_DISPATCH pick the copy for the running CPU
// on the first call (https://github.com/google/highway, README "Quick start"). The exponential is
// Highway's hn::Exp (contrib/math: 1 ulp, and exactly 0 below -104 in f32, so exp(-inf) = 0).
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "kernels/cpu/attention_rows.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep

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

}  // namespace stretch::cpu
#endif
