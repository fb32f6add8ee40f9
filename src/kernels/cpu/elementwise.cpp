#include "kernels/cpu/elementwise.h"

#include <cmath>
#include <cstring>

#include "core/thread_pool.h"

namespace stretch::cpu {

template <class T>
static inline T sigmoid(T z) {
    return T(1) / (T(1) + std::exp(-z));
}

template <class T>
void swiglu_forward(const T* a, const T* b, T* y, std::int64_t n) {
    pool().parallel_for(n, [&](std::int64_t i0, std::int64_t i1, int) {
        for (std::int64_t i = i0; i < i1; ++i) y[i] = a[i] * sigmoid(a[i]) * b[i];
    });
}

template <class T>
void swiglu_backward(const T* a, const T* b, const T* dy, T* da, T* db, std::int64_t n) {
    pool().parallel_for(n, [&](std::int64_t i0, std::int64_t i1, int) {
        for (std::int64_t i = i0; i < i1; ++i) {
            T s = sigmoid(a[i]);
            T silu = a[i] * s;
            if (da != nullptr) da[i] += dy[i] * b[i] * s * (T(1) + a[i] * (T(1) - s));
            if (db != nullptr) db[i] += dy[i] * silu;
        }
    });
}

template <class T>
void embedding_forward(const T* table, const std::int32_t* tokens, T* y, std::int64_t n, std::int64_t c) {
    pool().parallel_for(n, [&](std::int64_t i0, std::int64_t i1, int) {
        for (std::int64_t i = i0; i < i1; ++i)
            std::memcpy(y + i * c, table + static_cast<std::int64_t>(tokens[i]) * c, sizeof(T) * std::size_t(c));
    });
}

template <class T>
void embedding_backward(const std::int32_t* tokens, const T* dy, T* dtable, std::int64_t n, std::int64_t c) {
    pool().parallel_for(c, [&](std::int64_t c0, std::int64_t c1, int) {
        for (std::int64_t i = 0; i < n; ++i) {
            T* row = dtable + static_cast<std::int64_t>(tokens[i]) * c;
            const T* g = dy + i * c;
            for (std::int64_t j = c0; j < c1; ++j) row[j] += g[j];
        }
    });
}

template void swiglu_forward<float>(const float*, const float*, float*, std::int64_t);
template void swiglu_forward<double>(const double*, const double*, double*, std::int64_t);
template void swiglu_backward<float>(const float*, const float*, const float*, float*, float*, std::int64_t);
template void swiglu_backward<double>(const double*, const double*, const double*, double*, double*, std::int64_t);
template void embedding_forward<float>(const float*, const std::int32_t*, float*, std::int64_t, std::int64_t);
template void embedding_forward<double>(const double*, const std::int32_t*, double*, std::int64_t, std::int64_t);
template void embedding_backward<float>(const std::int32_t*, const float*, float*, std::int64_t, std::int64_t);
template void embedding_backward<double>(const std::int32_t*, const double*, double*, std::int64_t, std::int64_t);

}  // namespace stretch::cpu
