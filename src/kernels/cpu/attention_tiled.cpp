// The inference path of attention_forward (no probabilities kept): tiles of queries x keys with an
// online softmax (Milakov & Gimelshein 2018, arXiv 1805.02867; FlashAttention, arXiv 2205.14135), so
// memory is O(tile) per thread instead of O(T_q T_k) per head, and tiles the rules make invisible
// are never computed: a window costs O(T w), not O(T^2). Two-score variants compute the far scores
// only on tiles that hold far pairs, and the near scores only on tiles that hold near pairs, so
// ReRoPE pays twice only on the tiles straddling |i - j| = w (methods.md B9, "tiled fast path").
// The relu^2 normaliser (methods.md D5) needs no running maximum: its tiles simply accumulate.
// Threads split (batch, head, query tile) units.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/gemm.h"

namespace stretch::cpu {

namespace {

constexpr std::int64_t query_tile = 64;
constexpr std::int64_t key_tile = 256;

template <class T>
struct tile_scratch {
    std::vector<T> s, sf, acc;  // [query_tile, key_tile] x 2, [query_tile, D]
    std::vector<T> max, sum;    // running row max and denominator
};

}  // namespace

template <class T>
void attention_forward_tiled(const T* q, const T* k, const T* v, T* out, const attention_dims& d, T scale,
                             const attention_rules& rules, far_operands<T> far) {
    const std::int64_t group = d.heads / d.heads_kv, q_stride = d.heads * d.head_dim;
    const std::int64_t kv_stride = d.heads_kv * d.head_dim, offset = d.time_k - d.time_q;
    const std::int64_t n_qtiles = (d.time_q + query_tile - 1) / query_tile;
    auto& tp = pool();
    std::vector<tile_scratch<T>> scratch(static_cast<std::size_t>(tp.size()));
    constexpr T neg_inf = -std::numeric_limits<T>::infinity();
    const bool relu2 = !rules.relu2_divisor.empty();
    tp.parallel_for(d.batch * d.heads * n_qtiles, [&](std::int64_t u0, std::int64_t u1, int thread) {
        auto& w = scratch[static_cast<std::size_t>(thread)];
        w.s.resize(std::size_t(query_tile * key_tile));
        w.sf.resize(std::size_t(query_tile * key_tile));
        w.acc.resize(std::size_t(query_tile * d.head_dim));
        w.max.resize(std::size_t(query_tile));
        w.sum.resize(std::size_t(query_tile));
        for (std::int64_t u = u0; u < u1; ++u) {
            const std::int64_t bh = u / n_qtiles, qt = u % n_qtiles;
            const std::int64_t b = bh / d.heads, h = bh % d.heads, g = h / group;
            const std::int64_t r0 = qt * query_tile, rows = std::min(query_tile, d.time_q - r0);
            const std::int64_t i_lo = offset + r0, i_hi = offset + r0 + rows - 1;  // query positions
            const std::int64_t q_at = (b * d.time_q + r0) * q_stride + h * d.head_dim;
            const std::int64_t kv_at = b * d.time_k * kv_stride + g * d.head_dim;
            std::fill(w.acc.begin(), w.acc.end(), T(0));
            std::fill(w.max.begin(), w.max.end(), neg_inf);
            std::fill(w.sum.begin(), w.sum.end(), T(0));
            // Keys any row of the tile may see: the sinks, and the causal (windowed) band.
            const std::int64_t band_lo = rules.window > 0 ? std::max<std::int64_t>(0, i_lo - rules.window + 1) : 0;
            for (std::int64_t c0 = 0; c0 <= i_hi; c0 += key_tile) {
                const std::int64_t cols = std::min(key_tile, i_hi + 1 - c0), j_lo = c0, j_hi = c0 + cols - 1;
                if (j_hi < band_lo && j_lo >= rules.n_sink) continue;  // wholly outside window and sinks
                const bool any_far = rules.far_from > 0 && i_hi - j_lo >= rules.far_from;
                const bool any_near = !(rules.far_from > 0 && i_lo - j_hi >= rules.far_from);
                T* s = w.s.data();
                if (any_near)
                    gemm<T>(false, true, rows, cols, d.head_dim, scale, q + q_at, q_stride, k + kv_at + c0 * kv_stride,
                            kv_stride, T(0), s, key_tile);
                if (any_far)
                    gemm<T>(false, true, rows, cols, d.head_dim, scale, far.q + q_at, q_stride,
                            far.k + kv_at + c0 * kv_stride, kv_stride, T(0), w.sf.data(), key_tile);
                for (std::int64_t r = 0; r < rows && relu2; ++r) {  // relu^2 / n: no running normaliser
                    const std::int64_t i = i_lo + r;
                    const T c = rules.query_scale.empty() ? T(1) : T(rules.query_scale[std::size_t(r0 + r)]);
                    const T slope = rules.head_slopes.empty() ? T(0) : T(rules.head_slopes[std::size_t(h)]);
                    const T inv_n = T(1) / T(rules.relu2_divisor[std::size_t(r0 + r)]);
                    T* sr = s + r * key_tile;
                    const T* sfr = w.sf.data() + r * key_tile;
                    for (std::int64_t jj = 0; jj < cols; ++jj) {
                        const std::int64_t j = c0 + jj;
                        const T x = rules.visible(i, j) ? c * (rules.far(i, j) ? sfr[jj] : sr[jj]) - slope * T(i - j) : T(0);
                        sr[jj] = x > T(0) ? x * x * inv_n : T(0);
                    }
                }
                for (std::int64_t r = 0; r < rows && !relu2; ++r) {
                    const std::int64_t i = i_lo + r;
                    const T c = rules.query_scale.empty() ? T(1) : T(rules.query_scale[std::size_t(r0 + r)]);
                    const T slope = rules.head_slopes.empty() ? T(0) : T(rules.head_slopes[std::size_t(h)]);
                    T* sr = s + r * key_tile;
                    const T* sfr = w.sf.data() + r * key_tile;
                    T row_max = w.max[std::size_t(r)];
                    for (std::int64_t jj = 0; jj < cols; ++jj) {
                        const std::int64_t j = c0 + jj;
                        if (!rules.visible(i, j)) {
                            sr[jj] = neg_inf;
                            continue;
                        }
                        sr[jj] = c * (rules.far(i, j) ? sfr[jj] : sr[jj]) - slope * T(i - j);
                        row_max = std::max(row_max, sr[jj]);
                    }
                    // Online softmax: rescale what was accumulated under the old maximum.
                    const T old_max = w.max[std::size_t(r)];
                    const T correction = old_max == neg_inf ? T(0) : std::exp(old_max - row_max);
                    T sum = 0;
                    for (std::int64_t jj = 0; jj < cols; ++jj) {
                        sr[jj] = sr[jj] == neg_inf ? T(0) : std::exp(sr[jj] - row_max);
                        sum += sr[jj];
                    }
                    if (row_max == neg_inf) continue;  // nothing visible in this tile yet
                    w.sum[std::size_t(r)] = w.sum[std::size_t(r)] * correction + sum;
                    w.max[std::size_t(r)] = row_max;
                    T* acc = w.acc.data() + r * d.head_dim;
                    for (std::int64_t e = 0; e < d.head_dim; ++e) acc[e] *= correction;
                }
                gemm<T>(false, false, rows, d.head_dim, cols, T(1), s, key_tile, v + kv_at + c0 * kv_stride, kv_stride,
                        T(1), w.acc.data(), d.head_dim);
            }
            for (std::int64_t r = 0; r < rows; ++r) {
                const T inv = relu2 ? T(1) : T(1) / w.sum[std::size_t(r)];
                T* o = out + q_at + r * q_stride;
                for (std::int64_t e = 0; e < d.head_dim; ++e) o[e] = w.acc[std::size_t(r * d.head_dim + e)] * inv;
            }
        }
    });
}

template void attention_forward_tiled<float>(const float*, const float*, const float*, float*, const attention_dims&,
                                             float, const attention_rules&, far_operands<float>);
template void attention_forward_tiled<double>(const double*, const double*, const double*, double*,
                                              const attention_dims&, double, const attention_rules&,
                                              far_operands<double>);

}  // namespace stretch::cpu
