#include "model/memory_estimate.h"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

#include "core/memory.h"

namespace stretch {

namespace {

constexpr double f32 = 4, f64 = 8;

// Floats per token that one layer keeps alive at its peak (file comment of the header).
double layer_floats_per_token(const model_config& c) {
    if (c.is_gau()) {
        const double e = double(c.gau_value_dim()), s = double(c.gau_key_dim);
        // x, normed x, output, new x; W_i's [2e + s]; u, v, z; q, k before and after rotation; q and
        // k repeated to e / s value heads; the attention output and the gated product.
        return 4 * double(c.d_model) + (2 * e + s) + (2 * e + s) + 4 * s + 2 * e + 2 * e;
    }
    const double C = double(c.d_model), q = double(c.head_width() * c.n_head), kv = double(c.key_width()),
                 F = double(c.d_ff);
    // Six [C] (stream, norms, projections, new stream), five [q] (q, its rotation and far copy, the
    // attention output, its norm), four [kv] (k, v, rotated k and its far copy) and the FFN's gate,
    // up and product.
    return 6 * C + 5 * q + 4 * kv + 3 * F;
}

// Rotation tables: cos and sin of every rotated pair, for the query and key maps and the far
// branch's two (variants/spec.h), in double.
double rotation_bytes_per_token(const model_config& c) { return 4 * double(c.rotary_dim()) * f64; }

double flash_state_floats_per_token(const model_config& c) {
    if (!c.is_gau() || c.flash_chunk <= 0) return 0;
    // The linear part's running sums K^T V, [s, e] per chunk.
    return double(c.gau_key_dim) * double(c.gau_value_dim()) / double(c.flash_chunk);
}

// Per scored token beside the forward: targets, losses, hits and the window itself
// (eval/by_length.cpp, eval/perplexity.cpp).
constexpr double scoring_bytes_per_token = 4 + f64 + 1 + 4 + 4;

}  // namespace

std::string memory_estimate::parts() const {
    std::vector<std::string> out;
    for (const auto& [name, bytes] : {std::pair{"parameters and optimizer", parameters}, {"activations", activations},
                                      {"logits", logits}, {"KV cache", kv_cache}})
        if (bytes > 0) out.push_back(fmt::format("{} {:.1f} GiB", name, bytes / 0x1p30));
    return fmt::format("{}", fmt::join(out, ", "));
}

memory_estimate inference_memory(const model_config& c, std::int64_t time, std::int64_t logit_rows, std::int64_t past,
                                 std::int64_t cache_capacity, const kv_cache_types& cache_types) {
    const double t = double(time), key_width = double(c.key_width());
    memory_estimate m;
    m.activations = t * ((layer_floats_per_token(c) + flash_state_floats_per_token(c)) * f32 +
                         rotation_bytes_per_token(c) + scoring_bytes_per_token);
    if (cache_capacity > 0) {
        // Attending over the cache: a far-branch method rotates all its keys, twice (model/attention_plan.cpp),
        // from an f32 copy when the cache stores them in another type.
        const double key_copies = cache_types.k == cpu::kv_type::f32 ? 2 : 3;
        m.activations += double(past + time) * key_copies * key_width * f32;
        m.kv_cache = double(cache_capacity) * double(cache_bytes_per_token(c, cache_types));
    }
    m.logits = double(logit_rows) * double(c.vocab_size) * f32;
    return m;
}

memory_estimate training_memory(const model_config& c, std::int64_t batch, std::int64_t window) {
    const double tokens = double(batch) * double(window);
    memory_estimate m;
    m.parameters = double(c.n_parameters()) * 4 * f32;  // value, gradient, AdamW's m and v
    // The tape keeps every layer's intermediates (and the attention's log-sum-exp per row and head);
    // the backward adds a gradient of the same size for each.
    const double per_token = double(c.n_attention_layers()) * (layer_floats_per_token(c) + double(c.n_head)) +
                             2 * double(c.d_model);
    m.activations = tokens * (2 * per_token * f32 + rotation_bytes_per_token(c) + scoring_bytes_per_token);
    m.logits = tokens * double(c.vocab_size) * 3 * f32;  // logits, probabilities, gradient
    return m;
}

void require_memory(const memory_estimate& need, const std::string& what) {
    // Past 2^63 bytes the conversion would overflow; such an estimate fails against any machine.
    const double bytes = std::min(need.total(), 0x1p63 - 0x1p20);
    require_memory(std::uint64_t(bytes), what, need.parts());
}

}  // namespace stretch
