#include "kernels/cpu/attention.h"

#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu/gemm.h"

namespace stretch::cpu {

namespace {

struct head_layout {
    std::int64_t group, q_stride, kv_stride, offset;
    explicit head_layout(const attention_dims& d)
        : group(d.heads / d.heads_kv),
          q_stride(d.heads * d.head_dim),
          kv_stride(d.heads_kv * d.head_dim),
          offset(d.time_k - d.time_q) {}
};

// Scores of one (batch, head) into s [T_q, T_k]: near scores, far scores where the rules say so
// (computed into `far_scratch`), then the per-row scale c_i and the head's ALiBi bias.
template <class T>
void head_scores(const T* qh, const T* kg, const T* qfh, const T* kfg, T* s, std::vector<T>& far_scratch,
                 const attention_dims& d, const head_layout& l, T scale, const attention_rules& rules, std::int64_t h) {
    gemm<T>(false, true, d.time_q, d.time_k, d.head_dim, scale, qh, l.q_stride, kg, l.kv_stride, T(0), s, d.time_k);
    if (rules.far_from > 0 && l.offset + d.time_q - 1 >= rules.far_from) {
        far_scratch.resize(static_cast<std::size_t>(d.time_q * d.time_k));
        T* sf = far_scratch.data();
        gemm<T>(false, true, d.time_q, d.time_k, d.head_dim, scale, qfh, l.q_stride, kfg, l.kv_stride, T(0), sf,
                d.time_k);
        for (std::int64_t r = 0; r < d.time_q; ++r) {
            const std::int64_t i = l.offset + r;
            for (std::int64_t j = 0; j <= i - rules.far_from; ++j) s[r * d.time_k + j] = sf[r * d.time_k + j];
        }
    }
    if (!rules.query_scale.empty())
        for (std::int64_t r = 0; r < d.time_q; ++r) {
            const T c = T(rules.query_scale[static_cast<std::size_t>(r)]);
            for (std::int64_t j = 0; j < d.time_k; ++j) s[r * d.time_k + j] *= c;
        }
    if (!rules.head_slopes.empty()) {
        const T slope = T(rules.head_slopes[static_cast<std::size_t>(h)]);
        for (std::int64_t r = 0; r < d.time_q; ++r)
            for (std::int64_t j = 0; j < d.time_k; ++j) s[r * d.time_k + j] -= slope * T(l.offset + r - j);
    }
}

// Softmax of row i over its visible keys; invisible keys get exactly 0. Key i itself is always
// visible (i - i = 0 < any window), so the row is never empty.
template <class T>
void masked_softmax_row(T* row, std::int64_t i, std::int64_t time_k, const attention_rules& rules) {
    T max = row[i];
    for (std::int64_t j = 0; j < time_k; ++j)
        if (rules.visible(i, j) && row[j] > max) max = row[j];
    T sum = 0;
    for (std::int64_t j = 0; j < time_k; ++j) {
        row[j] = rules.visible(i, j) ? std::exp(row[j] - max) : T(0);
        sum += row[j];
    }
    const T inv = T(1) / sum;
    for (std::int64_t j = 0; j < time_k; ++j) row[j] *= inv;
}

}  // namespace

template <class T>
void attention_forward(const T* q, const T* k, const T* v, T* out, T* probs, const attention_dims& d, T scale,
                       const attention_rules& rules, far_operands<T> far) {
    STRETCH_ASSERT(d.heads % d.heads_kv == 0 && d.time_q <= d.time_k);
    STRETCH_ASSERT(rules.far_from <= 0 || (far.q != nullptr && far.k != nullptr));
    STRETCH_ASSERT(rules.query_scale.empty() || std::int64_t(rules.query_scale.size()) == d.time_q);
    STRETCH_ASSERT(rules.head_slopes.empty() || std::int64_t(rules.head_slopes.size()) == d.heads);
    STRETCH_ASSERT(rules.relu2_divisor.empty() || std::int64_t(rules.relu2_divisor.size()) == d.time_q);
    if (probs == nullptr) return attention_forward_tiled(q, k, v, out, d, scale, rules, far);
    const head_layout l(d);
    auto& tp = pool();
    std::vector<std::vector<T>> far_scratch(static_cast<std::size_t>(tp.size()));
    tp.parallel_for(d.batch * d.heads, [&](std::int64_t u0, std::int64_t u1, int thread) {
        for (std::int64_t u = u0; u < u1; ++u) {
            const std::int64_t b = u / d.heads, h = u % d.heads, g = h / l.group;
            T* p = probs + u * d.time_q * d.time_k;
            const std::int64_t q_at = b * d.time_q * l.q_stride + h * d.head_dim;
            const std::int64_t kv_at = b * d.time_k * l.kv_stride + g * d.head_dim;
            head_scores<T>(q + q_at, k + kv_at, far.q ? far.q + q_at : nullptr, far.k ? far.k + kv_at : nullptr, p,
                           far_scratch[static_cast<std::size_t>(thread)], d, l, scale, rules, h);
            for (std::int64_t r = 0; r < d.time_q; ++r) {
                T* row = p + r * d.time_k;
                if (rules.relu2_divisor.empty()) {
                    masked_softmax_row(row, l.offset + r, d.time_k, rules);
                    continue;
                }
                const T inv_n = T(1) / T(rules.relu2_divisor[std::size_t(r)]);
                for (std::int64_t j = 0; j < d.time_k; ++j) {
                    const T s = row[j] > T(0) && rules.visible(l.offset + r, j) ? row[j] : T(0);
                    row[j] = s * s * inv_n;
                }
            }
            gemm<T>(false, false, d.time_q, d.head_dim, d.time_k, T(1), p, d.time_k, v + kv_at, l.kv_stride, T(0),
                    out + q_at, l.q_stride);
        }
    });
}

template <class T>
void attention_backward(const T* q, const T* k, const T* v, const T* probs, const T* dout, T* dq, T* dk, T* dv,
                        const attention_dims& d, T scale, const attention_rules& rules, far_operands<T> far,
                        T* dq_far, T* dk_far) {
    const bool two_score = rules.far_from > 0;
    STRETCH_ASSERT(!two_score || (far.q && far.k && dq_far && dk_far));
    const head_layout l(d);
    auto& tp = pool();
    std::vector<std::vector<T>> scratch(static_cast<std::size_t>(tp.size()));
    std::vector<std::vector<T>> far_scratch(static_cast<std::size_t>(tp.size()));
    // One unit per (batch, K/V head): the query heads of a group all add into the same dK, dV rows,
    // so they run in one thread, in head order.
    tp.parallel_for(d.batch * d.heads_kv, [&](std::int64_t u0, std::int64_t u1, int thread) {
        auto& ds_buffer = scratch[static_cast<std::size_t>(thread)];
        ds_buffer.resize(static_cast<std::size_t>(d.time_q * d.time_k));
        T* ds = ds_buffer.data();
        T* ds_far = nullptr;
        if (two_score) {
            far_scratch[static_cast<std::size_t>(thread)].resize(static_cast<std::size_t>(d.time_q * d.time_k));
            ds_far = far_scratch[static_cast<std::size_t>(thread)].data();
        }
        for (std::int64_t u = u0; u < u1; ++u) {
            const std::int64_t b = u / d.heads_kv, g = u % d.heads_kv;
            const std::int64_t kv_at = b * d.time_k * l.kv_stride + g * d.head_dim;
            for (std::int64_t h = g * l.group; h < (g + 1) * l.group; ++h) {
                const T* p = probs + (b * d.heads + h) * d.time_q * d.time_k;
                const std::int64_t q_at = b * d.time_q * l.q_stride + h * d.head_dim;
                const T* doh = dout + q_at;
                // dV += P^T dO;  dP = dO V^T
                gemm<T>(true, false, d.time_k, d.head_dim, d.time_q, T(1), p, d.time_k, doh, l.q_stride, T(1),
                        dv + kv_at, l.kv_stride);
                gemm<T>(false, true, d.time_q, d.time_k, d.head_dim, T(1), doh, l.q_stride, v + kv_at, l.kv_stride,
                        T(0), ds, d.time_k);
                // dS = P * (dP - rowsum(dP * P)), the softmax Jacobian (masked entries have P = 0), or
                // relu^2's, times c_i; split into the near and far score matrices.
                for (std::int64_t r = 0; r < d.time_q; ++r) {
                    T* dsr = ds + r * d.time_k;
                    const T* pr = p + r * d.time_k;
                    const T c = rules.query_scale.empty() ? T(1) : T(rules.query_scale[static_cast<std::size_t>(r)]);
                    if (rules.relu2_divisor.empty()) {
                        T dot = 0;
                        for (std::int64_t j = 0; j < d.time_k; ++j) dot += dsr[j] * pr[j];
                        for (std::int64_t j = 0; j < d.time_k; ++j) dsr[j] = c * pr[j] * (dsr[j] - dot);
                    } else {
                        // P = relu(S)^2 / n, so dP/dS = 2 relu(S) / n = 2 sqrt(P / n).
                        const T n = T(rules.relu2_divisor[static_cast<std::size_t>(r)]);
                        for (std::int64_t j = 0; j < d.time_k; ++j) dsr[j] = c * dsr[j] * T(2) * std::sqrt(pr[j] / n);
                    }
                    if (two_score)
                        for (std::int64_t j = 0; j < d.time_k; ++j) {
                            const bool is_far = rules.far(l.offset + r, j);
                            ds_far[r * d.time_k + j] = is_far ? dsr[j] : T(0);
                            if (is_far) dsr[j] = 0;
                        }
                }
                // dQ += scale dS K;  dK += scale dS^T Q  (and the same for the far operands)
                gemm<T>(false, false, d.time_q, d.head_dim, d.time_k, scale, ds, d.time_k, k + kv_at, l.kv_stride,
                        T(1), dq + q_at, l.q_stride);
                gemm<T>(true, false, d.time_k, d.head_dim, d.time_q, scale, ds, d.time_k, q + q_at, l.q_stride, T(1),
                        dk + kv_at, l.kv_stride);
                if (two_score) {
                    gemm<T>(false, false, d.time_q, d.head_dim, d.time_k, scale, ds_far, d.time_k, far.k + kv_at,
                            l.kv_stride, T(1), dq_far + q_at, l.q_stride);
                    gemm<T>(true, false, d.time_k, d.head_dim, d.time_q, scale, ds_far, d.time_k, far.q + q_at,
                            l.q_stride, T(1), dk_far + kv_at, l.kv_stride);
                }
            }
        }
    });
}

#define STRETCH_INSTANTIATE(T)                                                                                     \
    template void attention_forward<T>(const T*, const T*, const T*, T*, T*, const attention_dims&, T,             \
                                       const attention_rules&, far_operands<T>);                                   \
    template void attention_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*,              \
                                        const attention_dims&, T, const attention_rules&, far_operands<T>, T*, T*);
STRETCH_INSTANTIATE(float)
STRETCH_INSTANTIATE(double)
#undef STRETCH_INSTANTIATE

}  // namespace stretch::cpu
