// The fused forward: per (batch, head, query tile) unit, the key tiles the rules leave visible, each
// turned into logits (attention_tiles.h), folded into a running row maximum m and denominator l with
// the accumulator rescaled by exp(m_old - m_new) (the online softmax), and multiplied into V. The
// relu^2 normaliser (methods.md D5) has no running maximum: its tiles simply accumulate.
#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
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
    std::vector<T> k_tile, v_tile; // a stored cache's keys and values, dequantised [key_tile, D]
    std::vector<T> acc;            // [query_tile, D]
    std::vector<T> max, sum;       // running row maximum and denominator
    std::vector<std::pair<std::int64_t, std::int64_t>> key_tiles;  // first and last key of each tile
};

// The key tiles query positions [i_lo, i_hi] may see: the keys come in two runs, sinks before the
// band, then the band up to the diagonal. Tiles start at each run's first key, so a window's far
// edge or a chunk's start costs no partly used tile.
void visible_key_tiles(const attention_rules& rules, std::int64_t i_lo, std::int64_t i_hi,
                       std::vector<std::pair<std::int64_t, std::int64_t>>& out) {
    out.clear();
    const std::int64_t band_lo = rules.band_start(i_lo);
    const std::int64_t runs[2][2] = {{0, std::min(rules.n_sink, band_lo)}, {band_lo, i_hi + 1}};
    for (const auto& run : runs)
        for (std::int64_t c0 = run[0]; c0 < run[1]; c0 += key_tile) out.emplace_back(c0, std::min(c0 + key_tile, run[1]) - 1);
}

}  // namespace

template <class T>
void attention_forward(const T* q, kv_rows<T> k, kv_rows<T> v, T* out, T* log_sum_exp, const attention_dims& d, T scale,
                       const attention_rules& rules, far_operands<T> far) {
    STRETCH_ASSERT(d.heads % d.heads_kv == 0 && d.time_q <= d.time_k);
    STRETCH_ASSERT(!rules.two_score() || (far.q != nullptr && far.k != nullptr));
    STRETCH_ASSERT(!rules.two_score() || std::int64_t(rules.first_near.size()) == d.time_q);
    STRETCH_ASSERT(rules.query_scale.empty() || std::int64_t(rules.query_scale.size()) == d.time_q);
    STRETCH_ASSERT(rules.head_slopes.empty() || std::int64_t(rules.head_slopes.size()) == d.heads);
    STRETCH_ASSERT(rules.relu2_divisor.empty() || std::int64_t(rules.relu2_divisor.size()) == d.time_q);
    STRETCH_ASSERT(rules.sink_logits.empty() ||
                   (std::int64_t(rules.sink_logits.size()) == d.heads && rules.relu2_divisor.empty()));
    const tiles::geometry l(d);
    // With few query rows (a KV-cache decode) the query heads that share a K/V head are packed into
    // one tile, a row's heads side by side, so each K and V tile is read once per group rather than
    // once per head (SmolLM2 decoding after 8k cached tokens: ALiBi's per-head bias keeps one head
    // per tile).
    const std::int64_t heads = l.group > 1 && d.time_q * l.group <= query_tile && rules.head_slopes.empty() ? l.group : 1;
    const std::int64_t tile_rows = query_tile / heads;  // query positions per tile
    const std::int64_t n_qtiles = (d.time_q + tile_rows - 1) / tile_rows;
    const std::int64_t head_blocks = d.heads / heads;
    const std::int64_t units = d.batch * head_blocks * n_qtiles;
    const std::int64_t dim = d.head_dim;
    const bool relu2 = !rules.relu2_divisor.empty();
    constexpr T neg_inf = -std::numeric_limits<T>::infinity();
    auto& tp = pool();
    // Fewer units than a few per thread (a decode over 3 K/V groups on 2 threads) would leave threads
    // idle: each unit's key tiles are then split into parts whose partial states (m, l, accumulator)
    // are merged afterwards, as flash-decoding does (Dao et al. 2023). Work item w is part w / units
    // of unit w % units, and there are some 16 items per thread: a thread then reads the same few
    // hundred cached positions for every K/V head in turn, so the lines of a position's row that the
    // hardware prefetcher brought in for one head are used by the next (unit-major order with 3
    // parts read 20-24 tokens/s after 8192 cached tokens on SmolLM2, this order 26-30; the same
    // machine, noisy, so ranges of several runs).
    const std::int64_t key_tiles_max = (d.time_k + key_tile - 1) / key_tile;
    const std::int64_t parts =
        units >= 4 * tp.size() ? 1 : std::clamp<std::int64_t>((16 * tp.size() + units - 1) / units, 1, key_tiles_max);
    const std::int64_t state_rows = std::min(query_tile, d.time_q * heads);  // rows of a unit, at most
    const std::int64_t state = state_rows * (dim + 2);                       // one part's accumulator, maxima, sums
    std::vector<T> partial(parts > 1 ? std::size_t(units * parts * state) : 0);

    struct unit_geometry {
        std::int64_t b, h0, g, r0, positions, rows;
    };
    auto geometry_of = [&](std::int64_t u) {
        const std::int64_t bh = u / n_qtiles, qt = tiles::balanced_tile(u % n_qtiles, n_qtiles);
        unit_geometry ug{};
        ug.b = bh / head_blocks;
        ug.h0 = bh % head_blocks * heads;
        ug.g = ug.h0 / l.group;
        ug.r0 = qt * tile_rows;
        ug.positions = std::min(tile_rows, d.time_q - ug.r0);
        ug.rows = ug.positions * heads;  // packed row p: position r0 + p / heads, head h0 + p % heads
        return ug;
    };
    // Row r of a unit, normalised, into out (and its log-sum-exp). A learned sink joins the row's
    // denominator here, once per row whatever the parts, as one more logit s_h that may be the row's
    // maximum: m' = max(m, s_h), l' = l e^(m - m') + e^(s_h - m'), acc' = acc e^(m - m').
    auto finish_row = [&](const unit_geometry& ug, std::int64_t r, const T* acc, T max, T sum) {
        const std::int64_t position = ug.r0 + r / heads, h = ug.h0 + r % heads;
        T inv = relu2 ? T(1) : T(1) / sum;
        if (!rules.sink_logits.empty()) {
            const T sink = T(rules.sink_logits[std::size_t(h)]);
            const T shifted_max = std::max(max, sink);
            const T keep = max == neg_inf ? T(0) : std::exp(max - shifted_max);
            sum = sum * keep + std::exp(sink - shifted_max);
            inv = keep / sum;
            max = shifted_max;
        }
        T* o = out + (ug.b * d.time_q + position) * l.q_stride + h * dim;
        for (std::int64_t e = 0; e < dim; ++e) o[e] = acc[e] * inv;
        if (log_sum_exp != nullptr && !relu2) log_sum_exp[(ug.b * d.heads + h) * d.time_q + position] = max + std::log(sum);
    };

    std::vector<forward_scratch<T>> scratch(static_cast<std::size_t>(tp.size()));
    tp.parallel_for(units * parts, [&](std::int64_t w0, std::int64_t w1, int thread) {
        auto& w = scratch[static_cast<std::size_t>(thread)];
        w.qs.resize(std::size_t(query_tile * dim));
        w.qfs.resize(std::size_t(query_tile * dim));
        w.s.resize(std::size_t(query_tile * key_tile));
        w.acc.resize(std::size_t(query_tile * dim));
        w.max.resize(std::size_t(query_tile));
        w.sum.resize(std::size_t(query_tile));
        for (std::int64_t work = w0; work < w1; ++work) {
            const std::int64_t u = work % units, part = work / units;
            const unit_geometry ug = geometry_of(u);
            const std::int64_t rows = ug.rows;
            const std::int64_t q_at = (ug.b * d.time_q + ug.r0) * l.q_stride + ug.h0 * dim;
            const T slope = rules.head_slopes.empty() ? T(0) : T(rules.head_slopes[std::size_t(ug.h0)]);
            tiles::pack_queries(q + q_at - ug.r0 * l.q_stride, l.q_stride, ug.r0, ug.positions, heads, dim, scale,
                                rules, w.qs.data());
            if (far.q != nullptr)
                tiles::pack_queries(far.q + q_at - ug.r0 * l.q_stride, l.q_stride, ug.r0, ug.positions, heads, dim,
                                    scale, rules, w.qfs.data());
            std::fill(w.acc.begin(), w.acc.end(), T(0));
            std::fill(w.max.begin(), w.max.end(), neg_inf);
            std::fill(w.sum.begin(), w.sum.end(), T(0));
            const std::int64_t i_lo = l.offset + ug.r0, i_hi = i_lo + ug.positions - 1;
            visible_key_tiles(rules, i_lo, i_hi, w.key_tiles);
            const auto n_tiles = std::int64_t(w.key_tiles.size());
            for (std::int64_t t = n_tiles * part / parts; t < n_tiles * (part + 1) / parts; ++t) {
                const auto [c0, c1] = w.key_tiles[std::size_t(t)];
                const tiles::block blk(rules, l.offset, i_lo, i_hi, c0, c1);
                if (!blk.any_visible) continue;
                const std::int64_t cols = blk.cols();
                T* s = w.s.data();
                const auto [keys, k_stride] = tiles::kv_tile(k, d, ug.b, ug.g, c0, cols, w.k_tile);
                const std::int64_t far_at = (ug.b * d.time_k + c0) * l.kv_stride + ug.g * dim;
                tiles::block_logits(blk, heads, w.qs.data(), w.qfs.data(), keys, k_stride,
                                    far.k ? far.k + far_at : nullptr, l.kv_stride, dim, rules, slope, s, w.far_logits);
                for (std::int64_t r = 0; r < rows; ++r) {
                    T* sr = s + r * key_tile;
                    if (relu2) {
                        relu2_row(sr, cols, T(1) / T(rules.relu2_divisor[std::size_t(ug.r0 + r / heads)]));
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
                const auto [values, v_stride] = tiles::kv_tile(v, d, ug.b, ug.g, c0, cols, w.v_tile);
                gemm<T>(false, false, rows, dim, cols, T(1), s, key_tile, values, v_stride, T(1), w.acc.data(), dim);
            }
            if (parts == 1) {
                for (std::int64_t r = 0; r < rows; ++r)
                    finish_row(ug, r, w.acc.data() + r * dim, w.max[std::size_t(r)], w.sum[std::size_t(r)]);
                continue;
            }
            T* keep = partial.data() + (u * parts + part) * state;
            std::copy(w.acc.begin(), w.acc.begin() + rows * dim, keep);
            std::copy(w.max.begin(), w.max.begin() + rows, keep + state_rows * dim);
            std::copy(w.sum.begin(), w.sum.begin() + rows, keep + state_rows * (dim + 1));
        }
    });
    if (parts == 1) return;
    // Merge a unit's parts: m = max_p m_p, l = sum_p l_p e^(m_p - m), acc = sum_p acc_p e^(m_p - m)
    // (relu^2: plain sums). A part that saw no visible key has m_p = -infinity and weight 0.
    tp.parallel_for(units, [&](std::int64_t u0, std::int64_t u1, int) {
        std::vector<T> acc(static_cast<std::size_t>(dim));
        for (std::int64_t u = u0; u < u1; ++u) {
            const unit_geometry ug = geometry_of(u);
            const T* first = partial.data() + u * parts * state;
            for (std::int64_t r = 0; r < ug.rows; ++r) {
                T max = neg_inf;
                for (std::int64_t p = 0; p < parts; ++p) max = std::max(max, first[p * state + state_rows * dim + r]);
                std::fill(acc.begin(), acc.end(), T(0));
                T sum = 0;
                for (std::int64_t p = 0; p < parts; ++p) {
                    const T* part = first + p * state;
                    const T part_max = part[state_rows * dim + r];
                    if (!relu2 && part_max == neg_inf) continue;
                    const T weight = relu2 ? T(1) : std::exp(part_max - max);
                    sum += weight * part[state_rows * (dim + 1) + r];
                    for (std::int64_t e = 0; e < dim; ++e) acc[std::size_t(e)] += weight * part[r * dim + e];
                }
                finish_row(ug, r, acc.data(), max, sum);
            }
        }
    });
}

template void attention_forward<float>(const float*, kv_rows<float>, kv_rows<float>, float*, float*,
                                       const attention_dims&, float, const attention_rules&, far_operands<float>);
template void attention_forward<double>(const double*, kv_rows<double>, kv_rows<double>, double*, double*,
                                        const attention_dims&, double, const attention_rules&, far_operands<double>);

}  // namespace stretch::cpu
