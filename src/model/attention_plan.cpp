#include "model/attention_plan.h"

#include <algorithm>
#include <functional>

#include "core/error.h"
#include "kernels/cpu/hadamard.h"

namespace stretch {

namespace {

rope_table_ptr table_of(std::int64_t first, std::int64_t count, const std::function<double(std::int64_t)>& position,
                        const variants::rotation& r) {
    std::vector<double> positions(static_cast<std::size_t>(count));
    for (std::int64_t t = 0; t < count; ++t) positions[static_cast<std::size_t>(t)] = position(first + t);
    return std::make_shared<const cpu::rope_table>(cpu::make_rope_table(positions, r.inv_freq, r.mscale));
}

// Queries sit at past .. past + time - 1; keys to rotate are the new ones (same positions) unless the
// cache keeps keys unrotated, in which case all time_k keys rotate, every step. Drawn positions
// (random-position training) give every token of the batch its own table row.
rotation_plan make_rotation_plan(const variants::position_setup& positions, std::int64_t past, std::int64_t time,
                                 bool rotate_all_keys, std::span<const double> drawn) {
    const std::int64_t time_k = past + time;
    const variants::rotation r = positions.frequencies(time_k);
    const auto identity = [](std::int64_t p) { return double(p); };
    rotation_plan plan;
    if (!drawn.empty()) {
        STRETCH_ASSERT(!positions.far().has_value());
        plan.query = plan.key = std::make_shared<const cpu::rope_table>(cpu::make_rope_table(drawn, r.inv_freq, r.mscale));
        return plan;
    }
    plan.query = table_of(past, time, identity, r);
    plan.key = rotate_all_keys ? table_of(0, time_k, identity, r) : plan.query;
    if (const auto& far = positions.far()) {
        plan.query_far = table_of(past, time, far->query, r);
        plan.key_far = rotate_all_keys ? table_of(0, time_k, far->key, r) : table_of(past, time, far->key, r);
    }
    return plan;
}

}  // namespace

layer_plans plan_layers(const layer_positions& positions, std::int64_t past, std::int64_t time, bool cached,
                        std::span<const double> drawn) {
    layer_plans plans;
    std::vector<const variants::position_setup*> planned;
    for (std::int64_t il = 0; il < positions.n_layers(); ++il) {
        const variants::position_setup& s = positions.layer(il);
        const auto found = std::find(planned.begin(), planned.end(), &s);
        if (found != planned.end()) {
            plans.of_layer.push_back(std::size_t(found - planned.begin()));
            continue;
        }
        const bool unrotated = cached && s.cache_unrotated_keys();
        plans.distinct.push_back({make_rotation_plan(s, past, time, unrotated, drawn), s.rules(past, time, past + time),
                                  s.far().has_value(), unrotated, s.key_norm_eps()});
        plans.of_layer.push_back(planned.size());
        planned.push_back(&s);
    }
    return plans;
}

attention_operands prepare_attention(ag::context& ctx, const ag::var& q_raw, ag::var k_raw, const ag::var& v,
                                     const layer_attention& layer, const head_shape& shape, kv_cache* cache,
                                     std::int64_t il, const std::string& p) {
    const std::int64_t time = shape.time, time_k = shape.past + time, hd = shape.head_dim;
    const auto rope = [&](const ag::var& x, std::int64_t rows, std::int64_t heads, const rope_table_ptr& table,
                          const std::string& name) {
        return ag::rope(ctx, x, shape.batch, rows, heads, hd, table, shape.pairing, name);
    };
    const rotation_plan& plan = layer.plan;
    const bool two_score = layer.two_score;
    // KeyNorm: k / |k| per head is rmsnorm(k) / sqrt(D), and the 1/sqrt(D) is the logit scale's.
    if (layer.key_norm_eps > 0) k_raw = ag::rmsnorm_segments(ctx, k_raw, nullptr, hd, layer.key_norm_eps / double(hd), p + "k_norm");
    attention_operands out;
    out.v = v;
    out.q = rope(q_raw, time, shape.heads, plan.query, p + "q_rope");
    if (two_score) out.q_far = rope(q_raw, time, shape.heads, plan.query_far, p + "q_far_rope");
    if (cache == nullptr) {
        out.k = rope(k_raw, time, shape.heads_kv, plan.key, p + "k_rope");
        if (two_score) out.k_far = rope(k_raw, time, shape.heads_kv, plan.key_far, p + "k_far_rope");
    } else if (layer.unrotated_cache) {
        cache->write(il, k_raw->value, v->value);
        const ag::var keys = ag::make_var(cache->dequantized_keys(il, time_k), p + "cache.k");
        out.k = rope(keys, time_k, shape.heads_kv, plan.key, p + "k_rope");
        if (two_score) out.k_far = rope(keys, time_k, shape.heads_kv, plan.key_far, p + "k_far_rope");
    } else {
        cache->write(il, rope(k_raw, time, shape.heads_kv, plan.key, p + "k_rope")->value, v->value);
        // Stored keys stay where they are: the kernel reads them (attend).
        out.k = cache->types().k == cpu::kv_type::f32 ? ag::make_var(cache->keys(il, time_k), p + "cache.k") : nullptr;
    }
    if (cache != nullptr)
        out.v = cache->types().v == cpu::kv_type::f32 ? ag::make_var(cache->values(il, time_k), p + "cache.v") : nullptr;
    return out;
}

namespace {

// x [rows, H * D] times the cache's rotation H in every head (kernels/cpu/hadamard.h), as a new tensor.
ag::var hadamard_heads(const ag::var& x, const kv_cache& cache, const std::string& name) {
    tensor y = x->value.clone();
    cpu::hadamard_rows(y.data<float>(), y.numel() / cache.rotation_block(), cache.rotation_block());
    return ag::make_var(std::move(y), name);
}

// Attention over a cache that stores keys or values in a type of its own: the kernel reads them as
// stored. Keys stored rotated need their queries rotated by the same H (layers that cache keys
// unrotated get them back un-rotated instead), and rotated values give a rotated output: O H H = O.
ag::var attend_stored(ag::context& ctx, const attention_operands& in, const layer_attention& layer,
                      const kv_cache& cache, std::int64_t il, const cpu::attention_dims& dims, double logit_scale,
                      const std::string& p, const ag::var& sinks) {
    const bool rotated_queries = cache.rotates_keys() && !layer.unrotated_cache;
    const ag::var q = rotated_queries ? hadamard_heads(in.q, cache, p + "q_hadamard") : in.q;
    const cpu::kv_rows<float> k = in.k != nullptr ? cpu::kv_rows<float>(in.k->value.data<float>()) : cache.key_rows(il);
    const cpu::kv_rows<float> v = in.v != nullptr ? cpu::kv_rows<float>(in.v->value.data<float>()) : cache.value_rows(il);
    const ag::var out = ag::attention_stored(ctx, q, k, v, dims, logit_scale, p + "attn", layer.rules, in.q_far, in.k_far,
                                                 sinks);
    return cache.rotates_values() ? hadamard_heads(out, cache, p + "attn") : out;
}

}  // namespace

ag::var attend(ag::context& ctx, const ag::var& q_raw, const ag::var& k_raw, const ag::var& v,
               const layer_attention& layer, const head_shape& shape, kv_cache* cache, std::int64_t il,
               const std::string& p, double logit_scale, const ag::var& sinks) {
    const auto [q, k, values, q_far, k_far] = prepare_attention(ctx, q_raw, k_raw, v, layer, shape, cache, il, p);
    const cpu::attention_dims dims{shape.batch, shape.time, shape.past + shape.time, shape.heads, shape.heads_kv,
                                   shape.head_dim};
    if (cache != nullptr && !cache->types().plain())
        return attend_stored(ctx, {q, k, values, q_far, k_far}, layer, *cache, il, dims, logit_scale, p, sinks);
    return ag::attention(ctx, q, k, values, dims, logit_scale, p + "attn", layer.rules, q_far, k_far, sinks);
}

}  // namespace stretch
