#include "kernels/cpu/norms.h"

#include <cmath>
#include <vector>

#include "core/thread_pool.h"

namespace stretch::cpu {

template <class T>
void rmsnorm_forward(const T* x, const T* g, T* y, T* rstd, std::int64_t rows, std::int64_t c, double eps) {
    pool().parallel_for(rows, [&](std::int64_t r0, std::int64_t r1, int) {
        for (std::int64_t r = r0; r < r1; ++r) {
            const T* xr = x + r * c;
            T* yr = y + r * c;
            double sum_sq = 0;  // accumulate in double: C is small and this keeps f32 rows exact to rounding
            for (std::int64_t i = 0; i < c; ++i) sum_sq += double(xr[i]) * double(xr[i]);
            T s = T(1.0 / std::sqrt(sum_sq / double(c) + eps));
            if (rstd != nullptr) rstd[r] = s;
            if (g != nullptr) {
                for (std::int64_t i = 0; i < c; ++i) yr[i] = g[i] * (xr[i] * s);
            } else {
                for (std::int64_t i = 0; i < c; ++i) yr[i] = xr[i] * s;
            }
        }
    }, streaming_grain(c));
}

template <class T>
void rmsnorm_backward(const T* x, const T* g, const T* rstd, const T* dy, T* dx, T* dg, std::int64_t rows,
                      std::int64_t c) {
    auto& tp = pool();
    std::vector<std::vector<T>> dg_partial(static_cast<std::size_t>(tp.size()));
    tp.parallel_for(rows, [&](std::int64_t r0, std::int64_t r1, int thread) {
        std::vector<T>* dg_local = nullptr;
        if (dg != nullptr) {
            dg_local = &dg_partial[static_cast<std::size_t>(thread)];
            dg_local->assign(static_cast<std::size_t>(c), T(0));
        }
        for (std::int64_t r = r0; r < r1; ++r) {
            const T* xr = x + r * c;
            const T* dyr = dy + r * c;
            T* dxr = dx + r * c;
            const T s = rstd[r];
            // With u = g * dy: dx = s * (u - x * s^2 * mean(u * x)).
            double dot = 0;
            for (std::int64_t i = 0; i < c; ++i) dot += double(g ? g[i] * dyr[i] : dyr[i]) * double(xr[i]);
            const T coef = T(dot / double(c)) * s * s * s;
            for (std::int64_t i = 0; i < c; ++i) {
                T u = g ? g[i] * dyr[i] : dyr[i];
                dxr[i] += s * u - coef * xr[i];
            }
            if (dg_local != nullptr)
                for (std::int64_t i = 0; i < c; ++i) (*dg_local)[static_cast<std::size_t>(i)] += dyr[i] * xr[i] * s;
        }
    }, streaming_grain(c));
    if (dg != nullptr)
        for (auto& partial : dg_partial)
            for (std::size_t i = 0; i < partial.size(); ++i) dg[i] += partial[i];
}

template void rmsnorm_forward<float>(const float*, const float*, float*, float*, std::int64_t, std::int64_t, double);
template void rmsnorm_forward<double>(const double*, const double*, double*, double*, std::int64_t, std::int64_t,
                                      double);
template void rmsnorm_backward<float>(const float*, const float*, const float*, const float*, float*, float*,
                                      std::int64_t, std::int64_t);
template void rmsnorm_backward<double>(const double*, const double*, const double*, const double*, double*,
                                       double*, std::int64_t, std::int64_t);

}  // namespace stretch::cpu
