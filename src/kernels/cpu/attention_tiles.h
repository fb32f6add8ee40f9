// What the fused forward (attention.cpp) and backward (attention_backward.cpp) share: the tile
// grid, what the rules make of a block of query rows x keys (invisible, wholly visible, near, far),
// and the logits of one block, so the backward recomputes exactly the forward's logits.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/error.h"

#include "kernels/cpu/attention.h"
#include "kernels/cpu/gemm.h"

namespace stretch::cpu::tiles {

// 64 query rows x 256 keys: an f32 logit tile is 64 KiB and its Q and K operands (D = 64) 16 and
// 64 KiB, which stay in the 1 MiB L2 of a core beside the V tile and the accumulator.
constexpr std::int64_t query_tile = 64;
constexpr std::int64_t key_tile = 256;

struct geometry {
    std::int64_t group, q_stride, kv_stride, offset;  // query row r sits at position offset + r
    explicit geometry(const attention_dims& d)
        : group(d.heads / d.heads_kv),
          q_stride(d.heads * d.head_dim),
          kv_stride(d.heads_kv * d.head_dim),
          offset(d.time_k - d.time_q) {}
};

// Query positions [i_lo, i_hi] (rows r_lo.. of the call) x keys [j_lo, j_hi], and what the rules
// make of them. The band start never decreases with the position, so the block's corners decide
// visibility (a block called visible may still hold no visible pair, its rows are then masked whole,
// never the reverse); near and far come from the least and the greatest first near key of its rows.
struct block {
    std::int64_t i_lo, i_hi, r_lo, j_lo, j_hi;
    bool any_visible = false;  // some pair is unmasked
    bool all_visible = false;  // no pair is masked
    bool any_near = false, any_far = false;

    block(const attention_rules& r, std::int64_t offset, std::int64_t i0, std::int64_t i1, std::int64_t j0,
          std::int64_t j1)
        : i_lo(i0), i_hi(i1), r_lo(i0 - offset), j_lo(j0), j_hi(j1) {
        const bool causal_any = i_hi - j_lo >= 0;
        const bool band_any = !r.restricted() || j_hi >= r.band_start(i_lo);
        any_visible = causal_any && (band_any || j_lo < r.n_sink);
        all_visible = j_hi <= i_lo && (!r.restricted() || j_lo >= r.band_start(i_hi) || j_hi < r.n_sink);
        if (!r.two_score()) {
            any_near = true;
            return;
        }
        const auto first = r.first_near.begin() + r_lo;
        const auto [near_lo, near_hi] = std::minmax_element(first, first + (i_hi - i_lo + 1));
        any_far = j_lo < *near_hi;
        any_near = j_hi >= *near_lo;
    }
    std::int64_t rows() const { return i_hi - i_lo + 1; }
    std::int64_t cols() const { return j_hi - j_lo + 1; }
};

// The last query position that may see key j through the band (the sinks aside): every later query
// has moved past it. Unrestricted: none (the causal mask alone).
inline std::int64_t last_query_seeing(const attention_rules& r, std::int64_t j) {
    std::int64_t last = std::numeric_limits<std::int64_t>::max();
    if (r.window > 0) last = std::min(last, j + r.window - 1);
    if (r.chunk > 0) last = std::min(last, (j / r.chunk + 1) * r.chunk - 1);
    return last;
}

// Units of work in an order that balances a causal triangle over a static partition: unit u of a
// run of n tiles maps to tile 0, n-1, 1, n-2, ..., so each contiguous chunk mixes long and short.
inline std::int64_t balanced_tile(std::int64_t u, std::int64_t n) { return u % 2 == 0 ? u / 2 : n - 1 - u / 2; }

// Rows [r0, r0 + rows) of `heads` consecutive heads of q ([T, H, D] rows of q_stride; q points at
// the first of those heads), each multiplied by scale * c_i, packed into out [rows * heads, D] row
// by row, the heads of a row together: the logit is then a plain dot product with the key.
template <class T>
void pack_queries(const T* q, std::int64_t q_stride, std::int64_t r0, std::int64_t rows, std::int64_t heads,
                  std::int64_t head_dim, T scale, const attention_rules& rules, T* out) {
    for (std::int64_t r = 0; r < rows; ++r) {
        const T c = scale * (rules.query_scale.empty() ? T(1) : T(rules.query_scale[std::size_t(r0 + r)]));
        const T* src = q + (r0 + r) * q_stride;
        T* dst = out + r * heads * head_dim;
        for (std::int64_t e = 0; e < heads * head_dim; ++e) dst[e] = c * src[e];
    }
}

// How many of the keys [j_lo, j_lo + cols) are far from query row r: a prefix.
inline std::int64_t far_prefix(const attention_rules& rules, std::int64_t r, std::int64_t j_lo, std::int64_t cols) {
    return rules.two_score() ? std::clamp<std::int64_t>(rules.first_near[std::size_t(r)] - j_lo, 0, cols) : 0;
}

// Logits of a block into s [rows, key_tile] (methods.md eq. 0.2 with the rules of attention.h):
// c_i scale q_i . k_j near, c_i scale qf_i . kf_j far, minus the ALiBi bias, -infinity where masked.
// qs / qfs are the packed scaled queries, `heads` rows per position (pack_queries); k / kf point at
// the block's first key row, rows k_stride / kf_stride apart. The far product is computed only when
// the block holds far pairs, the near one only when it holds near pairs.
template <class T>
void block_logits(const block& blk, std::int64_t heads, const T* qs, const T* qfs, const T* k, std::int64_t k_stride,
                  const T* kf, std::int64_t kf_stride, std::int64_t head_dim, const attention_rules& rules, T slope,
                  T* s, std::vector<T>& far_scratch) {
    const std::int64_t rows = blk.rows() * heads, cols = blk.cols();
    const bool mixed = blk.any_near && blk.any_far;
    gemm<T>(false, true, rows, cols, head_dim, T(1), blk.any_near ? qs : qfs, head_dim, blk.any_near ? k : kf,
            blk.any_near ? k_stride : kf_stride, T(0), s, key_tile);
    if (mixed) {
        far_scratch.resize(std::size_t(query_tile * key_tile));
        gemm<T>(false, true, rows, cols, head_dim, T(1), qfs, head_dim, kf, kf_stride, T(0), far_scratch.data(),
                key_tile);
    }
    if (blk.all_visible && !mixed && slope == T(0)) return;
    // Row by row, on the key intervals the rules define: a row's far keys are a prefix of the block,
    // and its visible keys are [0, n_sink) and [band_start(i), i].
    constexpr T neg_inf = -std::numeric_limits<T>::infinity();
    for (std::int64_t r = 0; r < rows; ++r) {
        const std::int64_t i = blk.i_lo + r / heads;
        T* sr = s + r * key_tile;
        if (mixed) {
            const T* sfr = far_scratch.data() + r * key_tile;
            std::copy(sfr, sfr + far_prefix(rules, blk.r_lo + r / heads, blk.j_lo, cols), sr);
        }
        if (slope != T(0))
            for (std::int64_t jj = 0; jj < cols; ++jj) sr[jj] -= slope * T(i - blk.j_lo - jj);
        if (blk.all_visible) continue;
        std::fill(sr + std::clamp<std::int64_t>(i - blk.j_lo + 1, 0, cols), sr + cols, neg_inf);  // future keys
        if (rules.restricted()) {  // keys before the band that are not sinks
            const std::int64_t from = std::clamp<std::int64_t>(rules.n_sink - blk.j_lo, 0, cols);
            const std::int64_t to = std::clamp<std::int64_t>(rules.band_start(i) - blk.j_lo, 0, cols);
            if (from < to) std::fill(sr + from, sr + to, neg_inf);
        }
    }
}

// Rows [c0, c0 + cols) of K/V head g of sequence b, with the distance between their rows: the
// operand's own memory when it is plain, else those rows dequantised into `tile` [cols, D] (a key
// tile of a KV cache stored as f16, bf16, q8_0 or q4_0; each head is a whole number of blocks).
template <class T>
std::pair<const T*, std::int64_t> kv_tile(const kv_rows<T>& x, const attention_dims& d, std::int64_t b,
                                           std::int64_t g, std::int64_t c0, std::int64_t cols, std::vector<T>& tile) {
    const std::int64_t width = d.heads_kv * d.head_dim, first = b * d.time_k + c0;
    if (x.plain != nullptr) return {x.plain + first * width + g * d.head_dim, width};
    if constexpr (std::is_same_v<T, float>) {
        const std::size_t row_bytes = kv_row_bytes(x.type, width), head_at = kv_row_bytes(x.type, g * d.head_dim);
        tile.resize(std::size_t(key_tile * d.head_dim));
        kv_load_rows(x.type, x.stored + std::size_t(first) * row_bytes + head_at, row_bytes, cols, d.head_dim,
                     tile.data());
        return {tile.data(), d.head_dim};
    }
    STRETCH_ASSERT(false && "stored KV rows are read in f32 models only");
    return {nullptr, 0};
}

}  // namespace stretch::cpu::tiles
