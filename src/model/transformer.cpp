#include "model/transformer.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <fmt/format.h>

namespace stretch {

transformer::transformer(const model_config& config, dtype type, const parameter_source& source)
    : config_(config), type_(type) {
    config_.validate("model config");
    const std::int64_t c = config_.d_model;
    const auto add_parameter = [&](const std::string& name, shape_t shape) {
        ag::var v = source ? source(name, shape) : ag::make_var(tensor(std::move(shape), type_), name, true);
        parameters_.emplace_back(name, v);
        return v;
    };
    const variants::position_setup trained(variants::parse_spec(config_.pos, "pos"), position_context(config_.n_ctx_train),
                                           "pos");
    tok_embd_ = add_parameter("token_embd.weight", {config_.vocab_size, c});
    if (const std::int64_t rows = trained.learned_rows(); rows > 0)
        pos_embd_ = add_parameter("position_embd.weight", {rows, c});  // GGUF's name (GPT-2)
    if (config_.is_gau()) {
        require_flash_positions(config_, trained, false);
        for (std::int64_t il = 0; il < config_.n_attention_layers(); ++il)
            gau_layers_.push_back(make_gau_layer(config_, il, add_parameter));
    } else {
        for (std::int64_t il = 0; il < config_.n_layer; ++il) {
            const std::string p = fmt::format("blk.{}.", il);
            block b;
            b.shape = config_.layer(il);
            const layer_desc& d = b.shape;
            const std::int64_t q_dim = d.head_dim * d.n_head, kv = d.key_width();
            b.attn_norm = add_parameter(p + "attn_norm.weight", {c});
            b.wq = add_parameter(p + "attn_q.weight", {q_dim, c});
            b.wk = add_parameter(p + "attn_k.weight", {kv, c});
            // GGUF's names; RoPE + q/k bias starts at 0, i.e. at plain RoPE (methods.md C8).
            if (d.q_bias || trained.qk_bias()) b.q_bias = add_parameter(p + "attn_q.bias", {q_dim});
            if (d.k_bias || trained.qk_bias()) b.k_bias = add_parameter(p + "attn_k.bias", {kv});
            b.wv = add_parameter(p + "attn_v.weight", {kv, c});
            if (d.v_bias) b.v_bias = add_parameter(p + "attn_v.bias", {kv});
            if (trained.learned_sink_init()) b.attn_sinks = add_parameter(p + "attn_sinks.weight", {d.n_head});
            if (d.qk_norm) {
                b.q_norm = add_parameter(p + "attn_q_norm.weight", {d.head_dim});
                b.k_norm = add_parameter(p + "attn_k_norm.weight", {d.head_dim});
            }
            b.wo = add_parameter(p + "attn_output.weight", {c, q_dim});
            if (d.o_bias) b.o_bias = add_parameter(p + "attn_output.bias", {c});
            if (d.post_norm) b.attn_post_norm = add_parameter(p + "post_attention_norm.weight", {c});
            b.ffn_norm = add_parameter(p + "ffn_norm.weight", {c});
            b.w_gate = add_parameter(p + "ffn_gate.weight", {d.d_ff, c});
            b.w_down = add_parameter(p + "ffn_down.weight", {c, d.d_ff});
            b.w_up = add_parameter(p + "ffn_up.weight", {d.d_ff, c});
            if (d.post_norm) b.ffn_post_norm = add_parameter(p + "post_ffw_norm.weight", {c});
            blocks_.push_back(b);
        }
    }
    if (config_.norm_position != "post") out_norm_ = add_parameter("output_norm.weight", {c});
    output_ = config_.tie_embeddings ? tok_embd_ : add_parameter("output.weight", {config_.vocab_size, c});
}

std::vector<std::pair<std::string, shape_t>> transformer::parameter_shapes(const model_config& config) {
    std::vector<std::pair<std::string, shape_t>> shapes;
    const transformer shell(config, dtype::f32, [&](const std::string& name, const shape_t& shape) {
        shapes.emplace_back(name, shape);
        return ag::make_var(tensor(), name);
    });
    return shapes;
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
    // Learned sink logits start at the variant's initial value.
    const std::optional<double> sink_init =
        variants::position_setup(variants::parse_spec(config_.pos, "pos"), position_context(config_.n_ctx_train), "pos")
            .learned_sink_init();
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
        const bool is_sink = name.ends_with("attn_sinks.weight");
        const bool is_gain = t.rank() == 1 && name.ends_with(".weight") && !is_sink;  // norm gains, GAU's gamma (D4)
        const bool is_bias = name.ends_with(".bias");
        const bool is_residual = name.ends_with("attn_output.weight") || name.ends_with("ffn_down.weight") ||
                                 name.ends_with("gau_out.weight");
        const bool is_block_matrix = !is_gain && !is_bias && !is_sink && name.starts_with("blk.");
        const bool post = config_.norm_position == "post";
        const std::int64_t width = t.dim(-1);
        for (std::int64_t i = 0; i < t.numel(); ++i) {
            const double std = post && is_block_matrix ? xavier_std(name, t, i / width)
                               : is_residual          ? residual_std
                                                      : 0.02;
            const double x = is_sink ? *sink_init : is_gain ? 1.0 : is_bias ? 0.0 : std * generator.normal();
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
                             std::int64_t time, std::span<const double> drawn) const {
    const layer_positions trained = positions(variants::parse_spec(config_.pos, "pos"), time, "pos", !drawn.empty());
    return forward(ctx, tokens, batch, time, trained, nullptr, false, drawn);
}

ag::var transformer::forward(ag::context& ctx, std::span<const std::int32_t> tokens, std::int64_t batch,
                             std::int64_t time, const layer_positions& positions, kv_cache* cache, bool last_only,
                             std::span<const double> drawn) const {
    STRETCH_ASSERT(!last_only || (batch == 1 && ctx.recorder == nullptr));
    const std::int64_t past = cache != nullptr ? cache->size() : 0;
    const variants::position_setup& global = positions.global();
    if (cache != nullptr && past > 0 && global.refill_cache_on_rotation_change() &&
        !cache->written_with(global.frequencies(past + time))) {
        // The rotation switched (LongRoPE past L_orig): recompute the cache from its tokens.
        std::vector<std::int32_t> all = cache->tokens();
        all.insert(all.end(), tokens.begin(), tokens.end());
        cache->clear();
        const tensor logits = forward(ctx, all, 1, past + time, positions, cache, last_only)->value;
        return last_only ? ag::make_var(logits, "logits") : ag::make_var(last_rows(logits, time), "logits");
    }
    ag::var x = hidden(ctx, tokens, batch, time, positions, cache, drawn);
    if (last_only) x = ag::make_var(last_rows(x->value, 1), "last_hidden");
    return logits(ctx, x);
}

ag::var transformer::hidden(ag::context& ctx, std::span<const std::int32_t> tokens, std::int64_t batch,
                            std::int64_t time, const layer_positions& positions, kv_cache* cache,
                            std::span<const double> drawn, const forward_hooks& hooks) const {
    STRETCH_ASSERT(static_cast<std::int64_t>(tokens.size()) == batch * time);
    STRETCH_ASSERT(drawn.empty() || (std::int64_t(drawn.size()) == batch * time && cache == nullptr));
    STRETCH_ASSERT(cache == nullptr || (batch == 1 && ctx.recorder == nullptr));
    const std::int64_t past = cache != nullptr ? cache->size() : 0;
    ag::var x = embed(ctx, tokens, batch, time, past, positions);
    x = run_blocks(ctx, x, batch, time, positions, cache, drawn, hooks);
    if (cache != nullptr) cache->advance(tokens, positions.global().frequencies(past + time));
    return final_norm(ctx, x);
}

ag::var transformer::blocks(ag::context& ctx, const ag::var& x, std::int64_t batch, std::int64_t time,
                            const layer_positions& positions, const forward_hooks& hooks) const {
    STRETCH_ASSERT(x->value.dim(0) == batch * time && x->value.dim(1) == config_.d_model);
    return run_blocks(ctx, x, batch, time, positions, nullptr, {}, hooks);
}

ag::var transformer::final_norm(ag::context& ctx, const ag::var& x) const {
    return out_norm_ != nullptr ? ag::rmsnorm(ctx, x, out_norm_, config_.norm_eps, "output_norm") : x;
}

ag::var transformer::run_blocks(ag::context& ctx, ag::var x, std::int64_t batch, std::int64_t time,
                                const layer_positions& positions, kv_cache* cache, std::span<const double> drawn,
                                const forward_hooks& hooks) const {
    STRETCH_ASSERT(positions.n_layers() == config_.n_attention_layers());
    STRETCH_ASSERT(cache == nullptr || (!hooks.project && !hooks.after_layer));
    const auto& c = config_;
    const std::int64_t past = cache != nullptr ? cache->size() : 0;
    // What each layer's attention needs from its variant (sliding-window layers and HWFA differ).
    const layer_plans layers = plan_layers(positions, past, time, cache != nullptr, drawn);
    if (c.is_gau()) require_flash_positions(c, positions.global(), cache != nullptr);
    const block_step step{
        [&](const ag::var& h, const ag::var& w, const std::string& name) {
            const ag::var y = ag::linear(ctx, h, w, name);
            return hooks.project ? hooks.project(ctx, h, w, y) : y;
        },
        [&](const ag::var& q_raw, const ag::var& k_raw, const ag::var& v, const layer_desc& d, std::int64_t il,
            const std::string& p, const ag::var& sinks) {
            const head_shape heads{batch, time, past, d.n_head, d.n_head_kv, d.head_dim, c.rope_pairing};
            return attend(ctx, q_raw, k_raw, v, layers[il], heads, cache, il, p, c.logit_scale(), sinks);
        }};
    if (hooks.after_layer) x = hooks.after_layer(ctx, -1, x);
    for (std::int64_t il = 0; il < c.n_attention_layers(); ++il) {
        if (c.is_gau())
            x = gau_forward(ctx, c, gau_layers_[std::size_t(il)], x, layers[il], {batch, time, past, cache}, il);
        else
            x = block_forward(ctx, blocks_[static_cast<std::size_t>(il)], x, step, il);
        if (hooks.after_layer) x = hooks.after_layer(ctx, il, x);
    }
    return x;
}

ag::var transformer::embed(ag::context& ctx, std::span<const std::int32_t> tokens, std::int64_t batch,
                           std::int64_t time, std::int64_t past, const layer_positions& positions) const {
    const auto& c = config_;
    const std::int64_t time_k = past + time;
    ag::var x = ag::embedding(ctx, tok_embd_, tokens, "token_embd");
    if (c.embed_scale != 1.0) x = ag::scale(ctx, x, c.embed_scale, "token_embd_scaled");
    if (pos_embd_ != nullptr) {
        const std::int64_t rows = pos_embd_->value.dim(0);
        if (time_k > rows)
            fail("pos: position {} is past the learned position table's {} rows (methods.md C3: no silent clamp)",
                 time_k - 1, rows);
        std::vector<std::int32_t> ids(static_cast<std::size_t>(batch * time));
        for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = std::int32_t(past + std::int64_t(i) % time);
        x = ag::add(ctx, x, ag::embedding(ctx, pos_embd_, ids, "position_embd"), "token_and_pos_embd");
    }
    if (const auto pe = positions.global().absolute(past, time); !pe.empty()) {
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
    return x;
}

ag::var transformer::logits(ag::context& ctx, const ag::var& hidden, bool independent_rows) const {
    return independent_rows ? ag::linear_decode(ctx, hidden, output_, "logits") : ag::linear(ctx, hidden, output_, "logits");
}

ag::var transformer::block_forward(ag::context& ctx, const block& b, const ag::var& x_in, const block_step& step,
                                   std::int64_t il) const {
    const layer_desc& d = b.shape;
    const double eps = config_.norm_eps, alpha = config_.residual_alpha();
    const std::string p = fmt::format("blk.{}.", il);
    const auto project = [&](const ag::var& h, const ag::var& w, const ag::var& bias, const std::string& name) {
        const ag::var y = step.project(h, w, p + name);
        return bias != nullptr ? ag::add_bias(ctx, y, bias, p + name + "_bias") : y;
    };
    // Pre-LN and sandwich: x + F(Norm(x)), sandwich normalising F's output too (Gemma 2/3);
    // Post-LN (DeepNorm): Norm(alpha x + F(x)) (methods.md D2, D3).
    const auto residual = [&](const ag::var& x, ag::var f, const ag::var& norm, const ag::var& post_norm,
                              const std::string& name) {
        if (post_norm != nullptr) f = ag::rmsnorm(ctx, f, post_norm, eps, p + name + "_post_norm");
        const ag::var y = ag::add(ctx, x, f, p + name + "_residual", alpha);
        return d.pre_norm ? y : ag::rmsnorm(ctx, y, norm, eps, p + name + "_norm");
    };
    ag::var h = d.pre_norm ? ag::rmsnorm(ctx, x_in, b.attn_norm, eps, p + "attn_norm") : x_in;
    ag::var q_raw = project(h, b.wq, b.q_bias, "q");
    ag::var k_raw = project(h, b.wk, b.k_bias, "k");
    if (d.qk_norm) {  // per head, before the rotation (Gemma 3, Qwen3)
        q_raw = ag::rmsnorm_segments(ctx, q_raw, b.q_norm, d.head_dim, eps, p + "q_norm");
        k_raw = ag::rmsnorm_segments(ctx, k_raw, b.k_norm, d.head_dim, eps, p + "k_norm");
    }
    const ag::var a = step.attend(q_raw, k_raw, project(h, b.wv, b.v_bias, "v"), d, il, p, b.attn_sinks);
    ag::var x = residual(x_in, project(a, b.wo, b.o_bias, "attn_out"), b.attn_norm, b.attn_post_norm, "attn");

    h = d.pre_norm ? ag::rmsnorm(ctx, x, b.ffn_norm, eps, p + "ffn_norm") : x;
    const ag::var gate = step.project(h, b.w_gate, p + "ffn_gate");
    const ag::var up = step.project(h, b.w_up, p + "ffn_up");
    const ag::var f = d.gelu ? ag::geglu(ctx, gate, up, p + "ffn_geglu") : ag::swiglu(ctx, gate, up, p + "ffn_swiglu");
    return residual(x, step.project(f, b.w_down, p + "ffn_out"), b.ffn_norm, b.ffn_post_norm, "ffn");
}

}  // namespace stretch
