#include "kernels/cpu/elementwise.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/thread_pool.h"

namespace stretch::cpu {

namespace {

// e^x in f32 written so that GCC vectorises the loops calling it (std::exp is a scalar libm call,
// and SwiGLU is most of the exps of a training step). Range reduction x = n ln2 + r with
// |r| <= ln2 / 2, n rounded to nearest by adding 1.5 * 2^23, ln2 split in two constants
// (Cody-Waite) so n ln2 is exact; e^r by Cephes' expf polynomial (cephes/single/expf.c: relative
// error 4e-7 peak, 1e-7 rms); 2^n put in the exponent bits. x is clamped to [-87, 88], where both
// e^x and 2^n stay normal f32; past either end sigmoid is 0 or 1 to f32 precision anyway.
inline float exp_f32(float x) {
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    constexpr float round_shift = 12582912.0f;  // 1.5 * 2^23
    const float shifted = x * 1.44269504088896341f + round_shift;
    const float n = shifted - round_shift;
    const float r = x - n * 0.693359375f - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const std::int32_t n_int = std::bit_cast<std::int32_t>(shifted) - std::bit_cast<std::int32_t>(round_shift);
    return (p * r * r + r + 1.0f) * std::bit_cast<float>((n_int + 127) << 23);
}

inline float sigmoid(float z) { return 1.0f / (1.0f + exp_f32(-z)); }
inline double sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }

}  // namespace

template <class T>
void swiglu_forward(const T* a, const T* b, T* y, std::int64_t n) {
    pool().parallel_for(n, [&](std::int64_t i0, std::int64_t i1, int) {
        for (std::int64_t i = i0; i < i1; ++i) y[i] = a[i] * sigmoid(a[i]) * b[i];
    }, streaming_grain(1));
}

template <class T>
void swiglu_backward(const T* a, const T* b, const T* dy, T* da, T* db, std::int64_t n) {
    // One loop per gradient, each free of branches so that it vectorises; the second recomputes the
    // sigmoid, which is cheaper than a pass over memory to keep it.
    pool().parallel_for(n, [&](std::int64_t i0, std::int64_t i1, int) {
        if (da != nullptr)
            for (std::int64_t i = i0; i < i1; ++i) {
                const T s = sigmoid(a[i]);
                da[i] += dy[i] * b[i] * s * (T(1) + a[i] * (T(1) - s));
            }
        if (db != nullptr)
            for (std::int64_t i = i0; i < i1; ++i) db[i] += dy[i] * a[i] * sigmoid(a[i]);
    }, streaming_grain(1));
}

namespace {

// 2u of GELU's tanh form: gelu_tanh(a) = a sigmoid(2u) (elementwise.h).
template <class T>
T gelu_two_u(T a) {
    constexpr T two_c = T(2 * 0.7978845608028654);  // 2 sqrt(2 / pi)
    return two_c * (a + T(0.044715) * a * a * a);
}

}  // namespace

template <class T>
void geglu_forward(const T* a, const T* b, T* y, std::int64_t n) {
    pool().parallel_for(n, [&](std::int64_t i0, std::int64_t i1, int) {
        for (std::int64_t i = i0; i < i1; ++i) y[i] = a[i] * sigmoid(gelu_two_u(a[i])) * b[i];
    }, streaming_grain(1));
}

template <class T>
void geglu_backward(const T* a, const T* b, const T* dy, T* da, T* db, std::int64_t n) {
    // d/da [a s(2u)] = s + a s (1 - s) 2u', 2u' = 2 sqrt(2/pi) (1 + 3 * 0.044715 a^2).
    constexpr T two_c = T(2 * 0.7978845608028654);
    pool().parallel_for(n, [&](std::int64_t i0, std::int64_t i1, int) {
        if (da != nullptr)
            for (std::int64_t i = i0; i < i1; ++i) {
                const T s = sigmoid(gelu_two_u(a[i]));
                const T two_du = two_c * (T(1) + T(3 * 0.044715) * a[i] * a[i]);
                da[i] += dy[i] * b[i] * (s + a[i] * s * (T(1) - s) * two_du);
            }
        if (db != nullptr)
            for (std::int64_t i = i0; i < i1; ++i) db[i] += dy[i] * a[i] * sigmoid(gelu_two_u(a[i]));
    }, streaming_grain(1));
}

template <class T>
void silu_forward(const T* x, T* y, std::int64_t n) {
    pool().parallel_for(n, [&](std::int64_t i0, std::int64_t i1, int) {
        for (std::int64_t i = i0; i < i1; ++i) y[i] = x[i] * sigmoid(x[i]);
    }, streaming_grain(1));
}

template <class T>
void silu_backward(const T* x, const T* dy, T* dx, std::int64_t n) {
    pool().parallel_for(n, [&](std::int64_t i0, std::int64_t i1, int) {
        for (std::int64_t i = i0; i < i1; ++i) {
            const T s = sigmoid(x[i]);
            dx[i] += dy[i] * s * (T(1) + x[i] * (T(1) - s));
        }
    }, streaming_grain(1));
}

template <class T>
void scale_offset_forward(const T* x, const T* gamma, const T* beta, T* y, std::int64_t rows, std::int64_t c) {
    pool().parallel_for(rows, [&](std::int64_t r0, std::int64_t r1, int) {
        for (std::int64_t r = r0; r < r1; ++r)
            for (std::int64_t j = 0; j < c; ++j) y[r * c + j] = gamma[j] * x[r * c + j] + beta[j];
    }, streaming_grain(c));
}

template <class T>
void scale_offset_backward(const T* x, const T* gamma, const T* dy, T* dx, T* dgamma, T* dbeta, std::int64_t rows,
                           std::int64_t c) {
    if (dx != nullptr)
        pool().parallel_for(rows, [&](std::int64_t r0, std::int64_t r1, int) {
            for (std::int64_t r = r0; r < r1; ++r)
                for (std::int64_t j = 0; j < c; ++j) dx[r * c + j] += gamma[j] * dy[r * c + j];
        }, streaming_grain(c));
    if (dgamma == nullptr && dbeta == nullptr) return;
    pool().parallel_for(c, [&](std::int64_t c0, std::int64_t c1, int) {
        for (std::int64_t r = 0; r < rows; ++r) {
            const T* xr = x + r * c;
            const T* g = dy + r * c;
            if (dgamma != nullptr)
                for (std::int64_t j = c0; j < c1; ++j) dgamma[j] += xr[j] * g[j];
            if (dbeta != nullptr)
                for (std::int64_t j = c0; j < c1; ++j) dbeta[j] += g[j];
        }
    }, streaming_grain(rows));
}

template <class T>
void multiply_forward(const T* a, const T* b, T* y, std::int64_t n) {
    pool().parallel_for(n, [&](std::int64_t i0, std::int64_t i1, int) {
        for (std::int64_t i = i0; i < i1; ++i) y[i] = a[i] * b[i];
    }, streaming_grain(1));
}

template <class T>
void multiply_backward(const T* a, const T* b, const T* dy, T* da, T* db, std::int64_t n) {
    pool().parallel_for(n, [&](std::int64_t i0, std::int64_t i1, int) {
        if (da != nullptr)
            for (std::int64_t i = i0; i < i1; ++i) da[i] += dy[i] * b[i];
        if (db != nullptr)
            for (std::int64_t i = i0; i < i1; ++i) db[i] += dy[i] * a[i];
    }, streaming_grain(1));
}

template <class T>
void embedding_forward(const T* table, const std::int32_t* tokens, T* y, std::int64_t n, std::int64_t c) {
    pool().parallel_for(n, [&](std::int64_t i0, std::int64_t i1, int) {
        for (std::int64_t i = i0; i < i1; ++i)
            std::memcpy(y + i * c, table + static_cast<std::int64_t>(tokens[i]) * c, sizeof(T) * std::size_t(c));
    }, streaming_grain(c));
}

template <class T>
void embedding_backward(const std::int32_t* tokens, const T* dy, T* dtable, std::int64_t n, std::int64_t c) {
    pool().parallel_for(c, [&](std::int64_t c0, std::int64_t c1, int) {
        for (std::int64_t i = 0; i < n; ++i) {
            T* row = dtable + static_cast<std::int64_t>(tokens[i]) * c;
            const T* g = dy + i * c;
            for (std::int64_t j = c0; j < c1; ++j) row[j] += g[j];
        }
    }, streaming_grain(n));
}

template void swiglu_forward<float>(const float*, const float*, float*, std::int64_t);
template void swiglu_forward<double>(const double*, const double*, double*, std::int64_t);
template void swiglu_backward<float>(const float*, const float*, const float*, float*, float*, std::int64_t);
template void swiglu_backward<double>(const double*, const double*, const double*, double*, double*, std::int64_t);
template void geglu_forward<float>(const float*, const float*, float*, std::int64_t);
template void geglu_forward<double>(const double*, const double*, double*, std::int64_t);
template void geglu_backward<float>(const float*, const float*, const float*, float*, float*, std::int64_t);
template void geglu_backward<double>(const double*, const double*, const double*, double*, double*, std::int64_t);
template void silu_forward<float>(const float*, float*, std::int64_t);
template void silu_forward<double>(const double*, double*, std::int64_t);
template void silu_backward<float>(const float*, const float*, float*, std::int64_t);
template void silu_backward<double>(const double*, const double*, double*, std::int64_t);
template void scale_offset_forward<float>(const float*, const float*, const float*, float*, std::int64_t, std::int64_t);
template void scale_offset_forward<double>(const double*, const double*, const double*, double*, std::int64_t,
                                           std::int64_t);
template void scale_offset_backward<float>(const float*, const float*, const float*, float*, float*, float*,
                                           std::int64_t, std::int64_t);
template void scale_offset_backward<double>(const double*, const double*, const double*, double*, double*, double*,
                                            std::int64_t, std::int64_t);
template void multiply_forward<float>(const float*, const float*, float*, std::int64_t);
template void multiply_forward<double>(const double*, const double*, double*, std::int64_t);
template void multiply_backward<float>(const float*, const float*, const float*, float*, float*, std::int64_t);
template void multiply_backward<double>(const double*, const double*, const double*, double*, double*, std::int64_t);
template void embedding_forward<float>(const float*, const std::int32_t*, float*, std::int64_t, std::int64_t);
template void embedding_forward<double>(const double*, const std::int32_t*, double*, std::int64_t, std::int64_t);
template void embedding_backward<float>(const std::int32_t*, const float*, float*, std::int64_t, std::int64_t);
template void embedding_backward<double>(const std::int32_t*, const double*, double*, std::int64_t, std::int64_t);

}  // namespace stretch::cpu
