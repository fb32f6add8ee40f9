// The fused forward: per (batch, head, query tile) unit, the key tiles the rules leave visible, each
// turned into logits (attention_tiles.h), folded into a running row maximum m and denominator l with
// the accumulator rescaled by exp(m_old - m_new) (the online softmax), and multiplied into V. The
// relu^2 normaliser (methods.md D5) has no running maximum: its tiles simply accumulate.
#include <cmath>
#include <limits>
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
struct forward_scratch {
    std::vector<T> qs, qfs;        // packed scaled queries [query_tile, D]
    std::vector<T> s, far_logits;  // logits [query_tile, key_tile]
    std::vector<T> acc;            // [query_tile, D]
    std::vector<T> max, sum;       // running row maximum and denominator
};

}  // namespace

template <class T>
void attention_forward(const T* q, const T* k, const T* v, T* out, T* log_sum_exp, const attention_dims& d, T scale,
                       const attention_rules& rules, far_operands<T> far) {
    STRETCH_ASSERT(d.heads % d.heads_kv == 0 && d.time_q <= d.time_k);
    STRETCH_ASSERT(rules.far_from <= 0 || (far.q != nullptr && far.k != nullptr));
    STRETCH_ASSERT(rules.query_scale.empty() || std::int64_t(rules.query_scale.size()) == d.time_q);
    STRETCH_ASSERT(rules.head_slopes.empty() || std::int64_t(rules.head_slopes.size()) == d.heads);
    STRETCH_ASSERT(rules.relu2_divisor.empty() || std::int64_t(rules.relu2_divisor.size()) == d.time_q);
    const tiles::geometry l(d);
    // With few query rows (a KV-cache decode) the query heads that share a K/V head are packed into
    // one tile, a row's heads side by side, so each K and V tile is read once per group rather than
    // once per head (SmolLM2 decoding after 8k cached tokens: ALiBi's per-head bias keeps one head
    // per tile).
    const std::int64_t heads = l.group > 1 && d.time_q * l.group <= query_tile && rules.head_slopes.empty() ? l.group : 1;
    const std::int64_t tile_rows = query_tile / heads;  // query positions per tile
    const std::int64_t n_qtiles = (d.time_q + tile_rows - 1) / tile_rows;
    const std::int64_t head_blocks = d.heads / heads;
    const std::int64_t dim = d.head_dim;
    const bool relu2 = !rules.relu2_divisor.empty();
    constexpr T neg_inf = -std::numeric_limits<T>::infinity();
    auto& tp = pool();
    std::vector<forward_scratch<T>> scratch(static_cast<std::size_t>(tp.size()));
    tp.parallel_for(d.batch * head_blocks * n_qtiles, [&](std::int64_t u0, std::int64_t u1, int thread) {
        auto& w = scratch[static_cast<std::size_t>(thread)];
        w.qs.resize(std::size_t(query_tile * dim));
        w.qfs.resize(std::size_t(query_tile * dim));
        w.s.resize(std::size_t(query_tile * key_tile));
        w.acc.resize(std::size_t(query_tile * dim));
        w.max.resize(std::size_t(query_tile));
        w.sum.resize(std::size_t(query_tile));
        for (std::int64_t u = u0; u < u1; ++u) {
            const std::int64_t bh = u / n_qtiles, qt = tiles::balanced_tile(u % n_qtiles, n_qtiles);
            const std::int64_t b = bh / head_blocks, h0 = bh % head_blocks * heads, g = h0 / l.group;
            const std::int64_t r0 = qt * tile_rows, positions = std::min(tile_rows, d.time_q - r0);
            const std::int64_t rows = positions * heads;  // packed row p: position r0 + p / heads, head h0 + p % heads
            const std::int64_t q_at = (b * d.time_q + r0) * l.q_stride + h0 * dim;
            const std::int64_t kv_at = b * d.time_k * l.kv_stride + g * dim;
            const T slope = rules.head_slopes.empty() ? T(0) : T(rules.head_slopes[std::size_t(h0)]);
            tiles::pack_queries(q + q_at - r0 * l.q_stride, l.q_stride, r0, positions, heads, dim, scale, rules,
                                w.qs.data());
            if (far.q != nullptr)
                tiles::pack_queries(far.q + q_at - r0 * l.q_stride, l.q_stride, r0, positions, heads, dim, scale,
                                    rules, w.qfs.data());
            std::fill(w.acc.begin(), w.acc.end(), T(0));
            std::fill(w.max.begin(), w.max.end(), neg_inf);
            std::fill(w.sum.begin(), w.sum.end(), T(0));
            const std::int64_t i_lo = l.offset + r0, i_hi = i_lo + positions - 1;
            // The keys its rows may see come in two runs: sinks before the window, then the band up to
            // the diagonal. Tiles start at each run's first key, so a window's far edge costs no
            // partly used tile.
            const std::int64_t band_lo = rules.window > 0 ? std::max<std::int64_t>(0, i_lo - rules.window + 1) : 0;
            const std::int64_t runs[2][2] = {{0, std::min(rules.n_sink, band_lo)}, {band_lo, i_hi + 1}};
            for (const auto& run : runs) {
                for (std::int64_t c0 = run[0]; c0 < run[1]; c0 += key_tile) {
                    const tiles::block blk(rules, i_lo, i_hi, c0, std::min(c0 + key_tile, run[1]) - 1);
                    if (!blk.any_visible) continue;
                    const std::int64_t cols = blk.cols();
                    T* s = w.s.data();
                    const std::int64_t k_at = kv_at + c0 * l.kv_stride;
                    tiles::block_logits(blk, heads, w.qs.data(), w.qfs.data(), k + k_at,
                                        far.k ? far.k + k_at : nullptr, l.kv_stride, dim, rules, slope, s,
                                        w.far_logits);
                    for (std::int64_t r = 0; r < rows; ++r) {
                        T* sr = s + r * key_tile;
                        if (relu2) {
                            relu2_row(sr, cols, T(1) / T(rules.relu2_divisor[std::size_t(r0 + r / heads)]));
                            continue;
                        }
                        // Online softmax: rescale what was accumulated under the old maximum.
                        const T old_max = w.max[std::size_t(r)];
                        const T new_max = std::max(old_max, row_max(sr, cols));
                        if (new_max == neg_inf) {  // nothing visible to this row yet
                            std::fill(sr, sr + cols, T(0));
                            continue;
                        }
                        const T sum = exp_shifted(sr, cols, new_max);
                        if (old_max != new_max) {
                            const T correction = old_max == neg_inf ? T(0) : std::exp(old_max - new_max);
                            w.sum[std::size_t(r)] *= correction;
                            T* acc = w.acc.data() + r * dim;
                            for (std::int64_t e = 0; e < dim; ++e) acc[e] *= correction;
                            w.max[std::size_t(r)] = new_max;
                        }
                        w.sum[std::size_t(r)] += sum;
                    }
                    gemm<T>(false, false, rows, dim, cols, T(1), s, key_tile, v + k_at, l.kv_stride,
                            T(1), w.acc.data(), dim);
                }
            }
            for (std::int64_t r = 0; r < rows; ++r) {
                const T inv = relu2 ? T(1) : T(1) / w.sum[std::size_t(r)];
                const std::int64_t position = r0 + r / heads, h = h0 + r % heads;
                T* o = out + (b * d.time_q + position) * l.q_stride + h * dim;
                for (std::int64_t e = 0; e < dim; ++e) o[e] = w.acc[std::size_t(r * dim + e)] * inv;
                if (log_sum_exp != nullptr && !relu2)
                    log_sum_exp[(b * d.heads + h) * d.time_q + position] =
                        w.max[std::size_t(r)] + std::log(w.sum[std::size_t(r)]);
            }
        }
    });
}

template void attention_forward<float>(const float*, const float*, const float*, float*, float*,
                                       const attention_dims&, float, const attention_rules&, far_operands<float>);
template void attention_forward<double>(const double*, const double*, const double*, double*, double*,
                                        const attention_dims&, double, const attention_rules&, far_operands<double>);

}  // namespace stretch::cpu
