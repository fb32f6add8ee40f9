#include "kernels/cpu/attention.h"

#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu/gemm.h"

namespace stretch::cpu {

// Softmax of row i over its visible keys 0..limit (inclusive); invisible keys get exactly 0.
template <class T>
static void causal_softmax_row(T* row, std::int64_t limit, std::int64_t time_k) {
    T max = row[0];
    for (std::int64_t j = 1; j <= limit; ++j) max = row[j] > max ? row[j] : max;
    T sum = 0;
    for (std::int64_t j = 0; j <= limit; ++j) {
        row[j] = std::exp(row[j] - max);
        sum += row[j];
    }
    const T inv = T(1) / sum;
    for (std::int64_t j = 0; j <= limit; ++j) row[j] *= inv;
    for (std::int64_t j = limit + 1; j < time_k; ++j) row[j] = 0;
}

template <class T>
void attention_forward(const T* q, const T* k, const T* v, T* out, T* probs, const attention_dims& d, T scale) {
    STRETCH_ASSERT(d.heads % d.heads_kv == 0 && d.time_q <= d.time_k);
    const std::int64_t group = d.heads / d.heads_kv;
    const std::int64_t q_stride = d.heads * d.head_dim;
    const std::int64_t kv_stride = d.heads_kv * d.head_dim;
    const std::int64_t offset = d.time_k - d.time_q;
    auto& tp = pool();
    std::vector<std::vector<T>> scratch(static_cast<std::size_t>(tp.size()));
    tp.parallel_for(d.batch * d.heads, [&](std::int64_t u0, std::int64_t u1, int thread) {
        for (std::int64_t u = u0; u < u1; ++u) {
            const std::int64_t b = u / d.heads, h = u % d.heads, g = h / group;
            T* p;
            if (probs != nullptr) {
                p = probs + u * d.time_q * d.time_k;
            } else {
                auto& s = scratch[static_cast<std::size_t>(thread)];
                s.resize(static_cast<std::size_t>(d.time_q * d.time_k));
                p = s.data();
            }
            const T* qh = q + b * d.time_q * q_stride + h * d.head_dim;
            const T* kg = k + b * d.time_k * kv_stride + g * d.head_dim;
            const T* vg = v + b * d.time_k * kv_stride + g * d.head_dim;
            gemm<T>(false, true, d.time_q, d.time_k, d.head_dim, scale, qh, q_stride, kg, kv_stride, T(0), p, d.time_k);
            for (std::int64_t i = 0; i < d.time_q; ++i) causal_softmax_row(p + i * d.time_k, offset + i, d.time_k);
            T* oh = out + b * d.time_q * q_stride + h * d.head_dim;
            gemm<T>(false, false, d.time_q, d.head_dim, d.time_k, T(1), p, d.time_k, vg, kv_stride, T(0), oh, q_stride);
        }
    });
}

template <class T>
void attention_backward(const T* q, const T* k, const T* v, const T* probs, const T* dout, T* dq, T* dk, T* dv,
                        const attention_dims& d, T scale) {
    const std::int64_t group = d.heads / d.heads_kv;
    const std::int64_t q_stride = d.heads * d.head_dim;
    const std::int64_t kv_stride = d.heads_kv * d.head_dim;
    auto& tp = pool();
    std::vector<std::vector<T>> scratch(static_cast<std::size_t>(tp.size()));
    // One unit per (batch, K/V head): the query heads of a group all add into the same dK, dV rows,
    // so they run in one thread, in head order.
    tp.parallel_for(d.batch * d.heads_kv, [&](std::int64_t u0, std::int64_t u1, int thread) {
        auto& ds_buffer = scratch[static_cast<std::size_t>(thread)];
        ds_buffer.resize(static_cast<std::size_t>(d.time_q * d.time_k));
        T* ds = ds_buffer.data();
        for (std::int64_t u = u0; u < u1; ++u) {
            const std::int64_t b = u / d.heads_kv, g = u % d.heads_kv;
            const T* kg = k + b * d.time_k * kv_stride + g * d.head_dim;
            const T* vg = v + b * d.time_k * kv_stride + g * d.head_dim;
            T* dkg = dk + b * d.time_k * kv_stride + g * d.head_dim;
            T* dvg = dv + b * d.time_k * kv_stride + g * d.head_dim;
            for (std::int64_t h = g * group; h < (g + 1) * group; ++h) {
                const T* p = probs + (b * d.heads + h) * d.time_q * d.time_k;
                const T* qh = q + b * d.time_q * q_stride + h * d.head_dim;
                const T* doh = dout + b * d.time_q * q_stride + h * d.head_dim;
                T* dqh = dq + b * d.time_q * q_stride + h * d.head_dim;
                // dV += P^T dO;  dP = dO V^T
                gemm<T>(true, false, d.time_k, d.head_dim, d.time_q, T(1), p, d.time_k, doh, q_stride, T(1), dvg,
                        kv_stride);
                gemm<T>(false, true, d.time_q, d.time_k, d.head_dim, T(1), doh, q_stride, vg, kv_stride, T(0), ds,
                        d.time_k);
                // dS = P * (dP - rowsum(dP * P)), the softmax Jacobian; masked entries have P = 0.
                for (std::int64_t i = 0; i < d.time_q; ++i) {
                    T* dsr = ds + i * d.time_k;
                    const T* pr = p + i * d.time_k;
                    T dot = 0;
                    for (std::int64_t j = 0; j < d.time_k; ++j) dot += dsr[j] * pr[j];
                    for (std::int64_t j = 0; j < d.time_k; ++j) dsr[j] = pr[j] * (dsr[j] - dot);
                }
                // dQ += scale dS K;  dK += scale dS^T Q
                gemm<T>(false, false, d.time_q, d.head_dim, d.time_k, scale, ds, d.time_k, kg, kv_stride, T(1), dqh,
                        q_stride);
                gemm<T>(true, false, d.time_k, d.head_dim, d.time_q, scale, ds, d.time_k, qh, q_stride, T(1), dkg,
                        kv_stride);
            }
        }
    });
}

template void attention_forward<float>(const float*, const float*, const float*, float*, float*,
                                       const attention_dims&, float);
template void attention_forward<double>(const double*, const double*, const double*, double*, double*,
                                        const attention_dims&, double);
template void attention_backward<float>(const float*, const float*, const float*, const float*, const float*, float*,
                                        float*, float*, const attention_dims&, float);
template void attention_backward<double>(const double*, const double*, const double*, const double*, const double*,
                                         double*, double*, double*, const attention_dims&, double);

}  // namespace stretch::cpu
