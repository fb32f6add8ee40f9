#include "model/transformer.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <fmt/format.h>

namespace stretch {

transformer::transformer(const model_config& config, dtype type) : config_(config), type_(type) {
    config_.validate("model config");
    const std::int64_t c = config_.d_model, kv = config_.head_dim() * config_.n_head_kv;
    const variants::position_setup trained(variants::parse_spec(config_.pos, "pos"), position_context(config_.n_ctx_train),
                                           "pos");
    tok_embd_ = add_parameter("token_embd.weight", {config_.vocab_size, c});
    if (const std::int64_t rows = trained.learned_rows(); rows > 0)
        pos_embd_ = add_parameter("position_embd.weight", {rows, c});  // GGUF's name (GPT-2)
    if (config_.is_gau()) {
        require_flash_positions(config_, trained, false);
        const auto add = [this](const std::string& name, shape_t shape) { return add_parameter(name, std::move(shape)); };
        for (std::int64_t il = 0; il < config_.n_attention_layers(); ++il)
            gau_layers_.push_back(make_gau_layer(config_, il, add));
    } else {
        for (std::int64_t il = 0; il < config_.n_layer; ++il) {
            const std::string p = fmt::format("blk.{}.", il);
            block b;
            b.attn_norm = add_parameter(p + "attn_norm.weight", {c});
            b.wq = add_parameter(p + "attn_q.weight", {c, c});
            b.wk = add_parameter(p + "attn_k.weight", {kv, c});
            if (trained.qk_bias()) {  // GGUF's names; initialised to 0 (methods.md C8), so training starts at plain RoPE
                b.q_bias = add_parameter(p + "attn_q.bias", {c});
                b.k_bias = add_parameter(p + "attn_k.bias", {kv});
            }
            b.wv = add_parameter(p + "attn_v.weight", {kv, c});
            b.wo = add_parameter(p + "attn_output.weight", {c, c});
            b.ffn_norm = add_parameter(p + "ffn_norm.weight", {c});
            b.w_gate = add_parameter(p + "ffn_gate.weight", {config_.d_ff, c});
            b.w_down = add_parameter(p + "ffn_down.weight", {c, config_.d_ff});
            b.w_up = add_parameter(p + "ffn_up.weight", {config_.d_ff, c});
            blocks_.push_back(b);
        }
    }
    if (config_.norm_position == "pre") out_norm_ = add_parameter("output_norm.weight", {c});
    output_ = config_.tie_embeddings ? tok_embd_ : add_parameter("output.weight", {config_.vocab_size, c});
}

ag::var transformer::add_parameter(const std::string& name, shape_t shape) {
    auto v = ag::make_var(tensor(std::move(shape), type_), name, true);
    parameters_.emplace_back(name, v);
    return v;
}

void transformer::init(rng& generator) {
    const double residual_std = 0.02 / std::sqrt(2.0 * double(config_.n_layer));
    // Post-LN and DeepNorm (methods.md D2, D3): Xavier normal, std = gain sqrt(2 / (fan_in + fan_out)),
    // gain beta on V, O and the FFN and 1 on Q and K; plain Post-LN is beta = 1 (alpha = 1), the
    // Post-LN the DeepNet paper starts from. (GPT-2's N(0, 0.02) makes each Post-LN sublayer ~1 % of
    // the normalised stream: a 4-layer Post-LN of scripts/deepnorm_depth.sh's shape stayed at the
    // unigram loss for 200 steps, val 3.38, where Xavier reached 2.90.) A GAU's fused W_i is three
    // matrices [W_u; W_v; W_z]: U and V (the value and gate side) take beta, Z (which makes Q and K)
    // gain 1; W_o takes beta. N = n_layer for GAU stacks too (D3: M = n_gau / 2, a guess).
    const double beta = config_.init_gain();
    const std::int64_t e = config_.gau_value_dim();
    const auto xavier_std = [&](const std::string& name, const tensor& t, std::int64_t row) {
        if (name.ends_with("gau_in.weight")) {
            const bool z = row >= 2 * e;
            return (z ? 1.0 : beta) * std::sqrt(2.0 / double(t.dim(1) + (z ? config_.gau_key_dim : e)));
        }
        const bool scaled = name.ends_with("attn_v.weight") || name.ends_with("attn_output.weight") ||
                            name.find(".ffn_") != std::string::npos || name.ends_with("gau_out.weight");
        return (scaled ? beta : 1.0) * std::sqrt(2.0 / double(t.dim(0) + t.dim(1)));
    };
    for (auto& [name, v] : parameters_) {
        tensor& t = v->value;
        const bool is_gain = t.rank() == 1 && name.ends_with(".weight");  // norm gains, GAU's gamma (methods.md D4)
        const bool is_bias = name.ends_with(".bias");
        const bool is_residual = name.ends_with("attn_output.weight") || name.ends_with("ffn_down.weight") ||
                                 name.ends_with("gau_out.weight");
        const bool is_block_matrix = !is_gain && !is_bias && name.starts_with("blk.");
        const bool post = config_.norm_position == "post";
        const std::int64_t width = t.dim(-1);
        for (std::int64_t i = 0; i < t.numel(); ++i) {
            const double std = post && is_block_matrix ? xavier_std(name, t, i / width)
                               : is_residual          ? residual_std
                                                      : 0.02;
            const double x = is_gain ? 1.0 : is_bias ? 0.0 : std * generator.normal();
            if (type_ == dtype::f32)
                t.data<float>()[i] = float(x);
            else
                t.data<double>()[i] = x;
        }
    }
}

variants::model_context transformer::position_context(std::int64_t target_length) const {
    return config_.position_context(target_length);
}

namespace {

// The last `rows` rows of a [N, C] tensor, copied.
tensor last_rows(const tensor& t, std::int64_t rows) {
    const std::int64_t width = t.dim(1);
    tensor out({rows, width}, t.type());
    const std::size_t bytes = static_cast<std::size_t>(rows * width) * dtype_size(t.type());
    std::memcpy(out.raw(), static_cast<const std::byte*>(t.raw()) + t.bytes() - bytes, bytes);
    return out;
}

}  // namespace

ag::var transformer::forward(ag::context& ctx, std::span<const std::int32_t> tokens, std::int64_t batch,
                             std::int64_t time, std::span<const double> positions) const {
    variants::model_context context = position_context(time);
    context.training = !positions.empty();
    const variants::position_setup trained(variants::parse_spec(config_.pos, "pos"), context, "pos");
    return forward(ctx, tokens, batch, time, trained, nullptr, false, positions);
}

ag::var transformer::forward(ag::context& ctx, std::span<const std::int32_t> tokens, std::int64_t batch,
                             std::int64_t time, const variants::position_setup& positions, kv_cache* cache,
                             bool last_only, std::span<const double> drawn) const {
    STRETCH_ASSERT(static_cast<std::int64_t>(tokens.size()) == batch * time);
    STRETCH_ASSERT(drawn.empty() || (std::int64_t(drawn.size()) == batch * time && cache == nullptr));
    STRETCH_ASSERT(cache == nullptr || (batch == 1 && ctx.recorder == nullptr));
    STRETCH_ASSERT(!last_only || (batch == 1 && ctx.recorder == nullptr));
    const auto& c = config_;
    const std::int64_t hd = c.head_dim();
    const std::int64_t past = cache != nullptr ? cache->size() : 0, time_k = past + time;
    if (cache != nullptr && past > 0 && positions.refill_cache_on_rotation_change() &&
        !cache->written_with(positions.frequencies(time_k))) {
        // The rotation switched (LongRoPE past L_orig): recompute the cache from its tokens.
        std::vector<std::int32_t> all = cache->tokens();
        all.insert(all.end(), tokens.begin(), tokens.end());
        cache->clear();
        const tensor logits = forward(ctx, all, 1, time_k, positions, cache, last_only)->value;
        return last_only ? ag::make_var(logits, "logits") : ag::make_var(last_rows(logits, time), "logits");
    }
    // What each layer's attention needs from its variant (HWFA gives layers different ones).
    const std::vector<layer_attention> layers =
        plan_layers(positions, c.n_attention_layers(), past, time, cache != nullptr, drawn);
    if (c.is_gau()) require_flash_positions(c, positions, cache != nullptr);
    const cpu::attention_dims dims{batch, time, time_k, c.n_head, c.n_head_kv, hd};
    const head_shape heads{batch, time, past, c.n_head, c.n_head_kv, hd, c.rope_pairing};
    const double scale = 1.0 / std::sqrt(double(hd));

    ag::var x = ag::embedding(ctx, tok_embd_, tokens, "token_embd");
    if (pos_embd_ != nullptr) {
        const std::int64_t rows = pos_embd_->value.dim(0);
        if (past + time > rows)
            fail("pos: position {} is past the learned position table's {} rows (methods.md C3: no silent clamp)",
                 past + time - 1, rows);
        std::vector<std::int32_t> ids(static_cast<std::size_t>(batch * time));
        for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = std::int32_t(past + std::int64_t(i) % time);
        x = ag::add(ctx, x, ag::embedding(ctx, pos_embd_, ids, "position_embd"), "token_and_pos_embd");
    }
    if (const auto pe = positions.absolute(past, time); !pe.empty()) {
        tensor table({batch * time, c.d_model}, type_);  // the same rows for every sequence of the batch
        for (std::int64_t i = 0; i < table.numel(); ++i) {
            const double value = pe[std::size_t(i % (time * c.d_model))];
            if (type_ == dtype::f32)
                table.data<float>()[i] = float(value);
            else
                table.data<double>()[i] = value;
        }
        x = ag::add(ctx, x, ag::make_var(table, "pos_embd"), "token_and_pos_embd");
    }
    for (std::int64_t il = 0; il < c.n_attention_layers(); ++il) {
        const layer_attention& la = layers[layers.size() == 1 ? 0 : std::size_t(il)];
        if (c.is_gau()) {
            x = gau_forward(ctx, c, gau_layers_[std::size_t(il)], x, la, {batch, time, past, cache}, il);
            continue;
        }
        const block& b = blocks_[static_cast<std::size_t>(il)];
        const std::string p = fmt::format("blk.{}.", il);
        const bool pre = c.norm_position == "pre";
        ag::var h = pre ? ag::rmsnorm(ctx, x, b.attn_norm, c.norm_eps, p + "attn_norm") : x;
        ag::var q_raw = ag::linear(ctx, h, b.wq, p + "q");
        ag::var k_raw = ag::linear(ctx, h, b.wk, p + "k");
        if (b.q_bias != nullptr) {
            q_raw = ag::add_bias(ctx, q_raw, b.q_bias, p + "q_bias");
            k_raw = ag::add_bias(ctx, k_raw, b.k_bias, p + "k_bias");
        }
        const auto [q, k, v, q_far, k_far] =
            prepare_attention(ctx, q_raw, k_raw, ag::linear(ctx, h, b.wv, p + "v"), la, heads, cache, il, p);
        ag::var a = ag::attention(ctx, q, k, v, dims, scale, p + "attn", la.rules, q_far, k_far);
        // Pre-LN: x + F(Norm(x)); Post-LN (DeepNorm): Norm(alpha x + F(x)) (methods.md D2, D3).
        const double alpha = c.residual_alpha();
        x = ag::add(ctx, x, ag::linear(ctx, a, b.wo, p + "attn_out"), p + "attn_residual", alpha);
        if (!pre) x = ag::rmsnorm(ctx, x, b.attn_norm, c.norm_eps, p + "attn_norm");
        h = pre ? ag::rmsnorm(ctx, x, b.ffn_norm, c.norm_eps, p + "ffn_norm") : x;
        ag::var gate = ag::linear(ctx, h, b.w_gate, p + "ffn_gate");
        ag::var up = ag::linear(ctx, h, b.w_up, p + "ffn_up");
        ag::var f = ag::swiglu(ctx, gate, up, p + "ffn_swiglu");
        x = ag::add(ctx, x, ag::linear(ctx, f, b.w_down, p + "ffn_out"), p + "ffn_residual", alpha);
        if (!pre) x = ag::rmsnorm(ctx, x, b.ffn_norm, c.norm_eps, p + "ffn_norm");
    }
    if (cache != nullptr) cache->advance(tokens, positions.frequencies(time_k));
    if (last_only) x = ag::make_var(last_rows(x->value, 1), "last_hidden");
    if (out_norm_ != nullptr) x = ag::rmsnorm(ctx, x, out_norm_, c.norm_eps, "output_norm");
    return ag::linear(ctx, x, output_, "logits");
}

}  // namespace stretch
