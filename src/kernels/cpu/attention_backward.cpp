// The fused backward (FlashAttention-2, arXiv 2307.08691, algorithm 2): per (batch, K/V head, key
// tile) unit, for each query head of the group and each query tile that sees those keys, the
// tile's logits are recomputed (attention_tiles.h) and turned back into probabilities from the
// forward's log-sum-exp, P = exp(S - L) (or relu(S)^2 / n), then
//   dV += P^T dO,   dP = dO V^T,   dS = P (dP - D_i) with D_i = dO_i . O_i   (or dP 2 relu(S) / n),
//   dQ += c_i scale dS K,   dK += (c_i scale dS)^T Q,
// with dS split into its near and far parts for a two-score variant (far operands' gradients only on
// tiles holding far pairs), and a learned sink's dL/ds_h = -sum_i exp(s_h - L_i) D_i (attention.h;
// the forward's L_i includes the sink, so P and dS keep their form). A unit owns its key tile's dK and dV rows outright; dQ rows are shared by
// the key tiles, so each thread adds into a private copy (thread 0 into dq itself) and the copies
// are summed in thread order afterwards: no races, and bit-identical results for a thread count.
#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/attention_rows.h"
#include "kernels/cpu/attention_tiles.h"

namespace stretch::cpu {

namespace {

using tiles::key_tile;
using tiles::query_tile;

template <class T>
struct backward_scratch {
    std::vector<T> qs, qfs;        // packed scaled queries [query_tile, D]
    std::vector<T> s, far_logits;  // logits, then probabilities [query_tile, key_tile]
    std::vector<T> p;              // relu^2: probabilities beside the logits
    std::vector<T> ds, ds_far;     // dP, then dS (near and far parts)
    std::vector<T> dq, dq_far;     // this thread's private dQ (threads > 0)
};

// D_i = dO_i . O_i for every (batch, head, row): [B, H, T_q].
template <class T>
std::vector<T> output_dots(const T* out, const T* dout, const attention_dims& d) {
    std::vector<T> dots(std::size_t(d.batch * d.heads * d.time_q));
    pool().parallel_for(d.batch * d.heads, [&](std::int64_t u0, std::int64_t u1, int) {
        for (std::int64_t u = u0; u < u1; ++u) {
            const std::int64_t b = u / d.heads, h = u % d.heads;
            for (std::int64_t r = 0; r < d.time_q; ++r) {
                const std::int64_t at = ((b * d.time_q + r) * d.heads + h) * d.head_dim;
                T dot = 0;
                for (std::int64_t e = 0; e < d.head_dim; ++e) dot += dout[at + e] * out[at + e];
                dots[std::size_t(u * d.time_q + r)] = dot;
            }
        }
    });
    return dots;
}

// d_sink[h] += -sum over (batch, row) of p_sink D_i, p_sink = exp(s_h - L_i): a learned sink's
// gradient (attention.h), per head in a fixed order.
template <class T>
void add_sink_gradient(const std::vector<double>& sinks, const T* log_sum_exp, const std::vector<T>& dots,
                       const attention_dims& d, T* d_sink) {
    for (std::int64_t h = 0; h < d.heads; ++h) {
        T grad = 0;
        for (std::int64_t b = 0; b < d.batch; ++b)
            for (std::int64_t r = 0; r < d.time_q; ++r) {
                const std::size_t row = std::size_t((b * d.heads + h) * d.time_q + r);
                grad -= std::exp(T(sinks[std::size_t(h)]) - log_sum_exp[row]) * dots[row];
            }
        d_sink[h] += grad;
    }
}

// dst += each private copy in thread order, split by elements.
template <class T>
void add_private(T* dst, std::vector<backward_scratch<T>>& scratch, std::vector<T> backward_scratch<T>::*member,
                 std::int64_t n) {
    pool().parallel_for(n, [&](std::int64_t e0, std::int64_t e1, int) {
        for (std::size_t t = 1; t < scratch.size(); ++t) {
            const T* src = (scratch[t].*member).data();
            for (std::int64_t e = e0; e < e1; ++e) dst[e] += src[e];
        }
    });
}

}  // namespace

template <class T>
void attention_backward(const T* q, const T* k, const T* v, const T* out, const T* log_sum_exp, const T* dout, T* dq,
                        T* dk, T* dv, const attention_dims& d, T scale, const attention_rules& rules,
                        far_operands<T> far, T* dq_far, T* dk_far, T* d_sink) {
    const bool two_score = rules.two_score();
    const bool relu2 = !rules.relu2_divisor.empty();
    STRETCH_ASSERT(!two_score || (far.q && far.k && dq_far && dk_far));
    STRETCH_ASSERT(rules.sink_logits.empty() ||
                   (std::int64_t(rules.sink_logits.size()) == d.heads && !relu2 && d_sink != nullptr));
    STRETCH_ASSERT(!two_score || std::int64_t(rules.first_near.size()) == d.time_q);
    STRETCH_ASSERT(relu2 || log_sum_exp != nullptr);
    const tiles::geometry l(d);
    const std::int64_t dim = d.head_dim, n_q = d.batch * d.time_q * l.q_stride;
    const std::int64_t n_ktiles = (d.time_k + key_tile - 1) / key_tile;
    const std::vector<T> dots = relu2 ? std::vector<T>{} : output_dots(out, dout, d);
    if (!rules.sink_logits.empty()) add_sink_gradient(rules.sink_logits, log_sum_exp, dots, d, d_sink);
    auto& tp = pool();
    std::vector<backward_scratch<T>> scratch(static_cast<std::size_t>(tp.size()));
    tp.parallel_for(d.batch * d.heads_kv * n_ktiles, [&](std::int64_t u0, std::int64_t u1, int thread) {
        auto& w = scratch[static_cast<std::size_t>(thread)];
        w.qs.resize(std::size_t(query_tile * dim));
        w.qfs.resize(std::size_t(query_tile * dim));
        w.s.resize(std::size_t(query_tile * key_tile));
        w.ds.resize(std::size_t(query_tile * key_tile));
        if (relu2) w.p.resize(std::size_t(query_tile * key_tile));
        if (two_score) w.ds_far.resize(std::size_t(query_tile * key_tile));
        T* dq_into = dq;
        T* dq_far_into = dq_far;
        if (thread > 0) {
            w.dq.assign(std::size_t(n_q), T(0));
            dq_into = w.dq.data();
            if (two_score) {
                w.dq_far.assign(std::size_t(n_q), T(0));
                dq_far_into = w.dq_far.data();
            }
        }
        for (std::int64_t u = u0; u < u1; ++u) {
            const std::int64_t bg = u / n_ktiles, kt = tiles::balanced_tile(u % n_ktiles, n_ktiles);
            const std::int64_t b = bg / d.heads_kv, g = bg % d.heads_kv;
            const std::int64_t c0 = kt * key_tile, j_hi = std::min(c0 + key_tile, d.time_k) - 1;
            const std::int64_t kv_at = (b * d.time_k + c0) * l.kv_stride + g * dim;
            // Query rows that may see these keys: from the first key's position on, and with a window
            // or chunks (and no sink among them) only up to the last query whose band reaches them.
            const std::int64_t r_begin = std::max<std::int64_t>(0, c0 - l.offset);
            const std::int64_t r_end = rules.restricted() && c0 >= rules.n_sink
                                           ? std::min(d.time_q, tiles::last_query_seeing(rules, j_hi) + 1 - l.offset)
                                           : d.time_q;
            for (std::int64_t h = g * l.group; h < (g + 1) * l.group; ++h) {
                const T slope = rules.head_slopes.empty() ? T(0) : T(rules.head_slopes[std::size_t(h)]);
                for (std::int64_t r0 = r_begin; r0 < r_end; r0 += query_tile) {
                    const std::int64_t rows = std::min(query_tile, r_end - r0);
                    const tiles::block blk(rules, l.offset, l.offset + r0, l.offset + r0 + rows - 1, c0, j_hi);
                    if (!blk.any_visible) continue;
                    const std::int64_t cols = blk.cols();
                    const std::int64_t q_at = (b * d.time_q + r0) * l.q_stride + h * dim;
                    tiles::pack_queries(q + q_at - r0 * l.q_stride, l.q_stride, r0, rows, 1, dim, scale, rules,
                                        w.qs.data());
                    if (blk.any_far)
                        tiles::pack_queries(far.q + q_at - r0 * l.q_stride, l.q_stride, r0, rows, 1, dim, scale, rules,
                                            w.qfs.data());
                    T* s = w.s.data();
                    tiles::block_logits(blk, 1, w.qs.data(), w.qfs.data(), k + kv_at, l.kv_stride,
                                        far.k ? far.k + kv_at : nullptr, l.kv_stride, dim, rules, slope, s,
                                        w.far_logits);
                    // P, in s (softmax) or beside the logits in p (relu^2, whose Jacobian needs S).
                    T* p = relu2 ? w.p.data() : s;
                    const T* stats = relu2 ? nullptr : log_sum_exp + (b * d.heads + h) * d.time_q + r0;
                    for (std::int64_t r = 0; r < rows; ++r) {
                        if (relu2) {
                            std::copy(s + r * key_tile, s + r * key_tile + cols, p + r * key_tile);
                            relu2_row(p + r * key_tile, cols, T(1) / T(rules.relu2_divisor[std::size_t(r0 + r)]));
                        } else {
                            exp_shifted(s + r * key_tile, cols, stats[r]);
                        }
                    }
                    const T* doh = dout + q_at;
                    // dV += P^T dO;  dP = dO V^T
                    gemm<T>(true, false, cols, dim, rows, T(1), p, key_tile, doh, l.q_stride, T(1), dv + kv_at,
                            l.kv_stride);
                    T* ds = w.ds.data();
                    gemm<T>(false, true, rows, cols, dim, T(1), doh, l.q_stride, v + kv_at, l.kv_stride, T(0), ds,
                            key_tile);
                    for (std::int64_t r = 0; r < rows; ++r) {
                        const T c =
                            scale * (rules.query_scale.empty() ? T(1) : T(rules.query_scale[std::size_t(r0 + r)]));
                        if (relu2)
                            relu2_grad_row(s + r * key_tile, ds + r * key_tile, cols,
                                           T(2) * c / T(rules.relu2_divisor[std::size_t(r0 + r)]));
                        else
                            softmax_grad_row(p + r * key_tile, ds + r * key_tile, cols,
                                             dots[std::size_t((b * d.heads + h) * d.time_q + r0 + r)], c);
                    }
                    // The near and far parts of dS: a tile of one kind only goes whole to its operands.
                    const bool mixed = blk.any_near && blk.any_far;
                    if (mixed)
                        for (std::int64_t r = 0; r < rows; ++r) {
                            T* near = ds + r * key_tile;
                            T* far_part = w.ds_far.data() + r * key_tile;
                            const std::int64_t n_far = tiles::far_prefix(rules, r0 + r, c0, cols);
                            std::copy(near, near + n_far, far_part);
                            std::fill(far_part + n_far, far_part + cols, T(0));
                            std::fill(near, near + n_far, T(0));
                        }
                    // dQ += dS K;  dK += dS^T Q  (and the same for the far operands)
                    if (blk.any_near) {
                        gemm<T>(false, false, rows, dim, cols, T(1), ds, key_tile, k + kv_at, l.kv_stride, T(1),
                                dq_into + q_at, l.q_stride);
                        gemm<T>(true, false, cols, dim, rows, T(1), ds, key_tile, q + q_at, l.q_stride, T(1),
                                dk + kv_at, l.kv_stride);
                    }
                    if (blk.any_far) {
                        const T* ds_far = mixed ? w.ds_far.data() : ds;
                        gemm<T>(false, false, rows, dim, cols, T(1), ds_far, key_tile, far.k + kv_at, l.kv_stride,
                                T(1), dq_far_into + q_at, l.q_stride);
                        gemm<T>(true, false, cols, dim, rows, T(1), ds_far, key_tile, far.q + q_at, l.q_stride, T(1),
                                dk_far + kv_at, l.kv_stride);
                    }
                }
            }
        }
    });
    // Threads that got no units left their private copies empty; size them so the sum can read them.
    for (std::size_t t = 1; t < scratch.size(); ++t) {
        scratch[t].dq.resize(std::size_t(n_q), T(0));
        if (two_score) scratch[t].dq_far.resize(std::size_t(n_q), T(0));
    }
    add_private(dq, scratch, &backward_scratch<T>::dq, n_q);
    if (two_score) add_private(dq_far, scratch, &backward_scratch<T>::dq_far, n_q);
}

#define STRETCH_INSTANTIATE(T)                                                                                    \
    template void attention_backward<T>(const T*, const T*, const T*, const T*, const T*, const T*, T*, T*, T*, \
                                        const attention_dims&, T, const attention_rules&, far_operands<T>, T*, T*, \
                                        T*);
STRETCH_INSTANTIATE(float)
STRETCH_INSTANTIATE(double)
#undef STRETCH_INSTANTIATE

}  // namespace stretch::cpu
