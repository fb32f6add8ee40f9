#include "model/transformer.h"

#include <cmath>
#include <fmt/format.h>

namespace stretch {

transformer::transformer(const model_config& config, dtype type) : config_(config), type_(type) {
    config_.validate("model config");
    const std::int64_t c = config_.d_model, kv = config_.head_dim() * config_.n_head_kv;
    tok_embd_ = add_parameter("token_embd.weight", {config_.vocab_size, c});
    for (std::int64_t il = 0; il < config_.n_layer; ++il) {
        const std::string p = fmt::format("blk.{}.", il);
        block b;
        b.attn_norm = add_parameter(p + "attn_norm.weight", {c});
        b.wq = add_parameter(p + "attn_q.weight", {c, c});
        b.wk = add_parameter(p + "attn_k.weight", {kv, c});
        b.wv = add_parameter(p + "attn_v.weight", {kv, c});
        b.wo = add_parameter(p + "attn_output.weight", {c, c});
        b.ffn_norm = add_parameter(p + "ffn_norm.weight", {c});
        b.w_gate = add_parameter(p + "ffn_gate.weight", {config_.d_ff, c});
        b.w_down = add_parameter(p + "ffn_down.weight", {c, config_.d_ff});
        b.w_up = add_parameter(p + "ffn_up.weight", {config_.d_ff, c});
        blocks_.push_back(b);
    }
    out_norm_ = add_parameter("output_norm.weight", {c});
    output_ = config_.tie_embeddings ? tok_embd_ : add_parameter("output.weight", {config_.vocab_size, c});
}

ag::var transformer::add_parameter(const std::string& name, shape_t shape) {
    auto v = ag::make_var(tensor(std::move(shape), type_), name, true);
    parameters_.emplace_back(name, v);
    return v;
}

void transformer::init(rng& generator) {
    const double residual_std = 0.02 / std::sqrt(2.0 * double(config_.n_layer));
    for (auto& [name, v] : parameters_) {
        tensor& t = v->value;
        const bool is_norm = t.rank() == 1;
        const bool is_residual = name.ends_with("attn_output.weight") || name.ends_with("ffn_down.weight");
        const double std = is_residual ? residual_std : 0.02;
        for (std::int64_t i = 0; i < t.numel(); ++i) {
            const double x = is_norm ? 1.0 : std * generator.normal();
            if (type_ == dtype::f32)
                t.data<float>()[i] = float(x);
            else
                t.data<double>()[i] = x;
        }
    }
}

ag::var transformer::forward(ag::context& ctx, std::span<const std::int32_t> tokens, std::int64_t batch,
                             std::int64_t time) const {
    STRETCH_ASSERT(static_cast<std::int64_t>(tokens.size()) == batch * time);
    const auto& c = config_;
    const std::int64_t hd = c.head_dim();
    std::vector<double> positions(static_cast<std::size_t>(time));
    for (std::int64_t t = 0; t < time; ++t) positions[static_cast<std::size_t>(t)] = double(t);
    auto table = std::make_shared<const cpu::rope_table>(
        cpu::make_rope_table(positions, cpu::rope_inv_freq(c.rope_base, hd)));
    const cpu::attention_dims dims{batch, time, time, c.n_head, c.n_head_kv, hd};
    const double scale = 1.0 / std::sqrt(double(hd));

    ag::var x = ag::embedding(ctx, tok_embd_, tokens, "token_embd");
    for (std::int64_t il = 0; il < c.n_layer; ++il) {
        const block& b = blocks_[static_cast<std::size_t>(il)];
        const std::string p = fmt::format("blk.{}.", il);
        ag::var h = ag::rmsnorm(ctx, x, b.attn_norm, c.norm_eps, p + "attn_norm");
        ag::var q = ag::linear(ctx, h, b.wq, p + "q");
        ag::var k = ag::linear(ctx, h, b.wk, p + "k");
        ag::var v = ag::linear(ctx, h, b.wv, p + "v");
        q = ag::rope(ctx, q, batch, time, c.n_head, hd, table, c.rope_pairing, p + "q_rope");
        k = ag::rope(ctx, k, batch, time, c.n_head_kv, hd, table, c.rope_pairing, p + "k_rope");
        ag::var a = ag::attention(ctx, q, k, v, dims, scale, p + "attn");
        x = ag::add(ctx, x, ag::linear(ctx, a, b.wo, p + "attn_out"), p + "attn_residual");
        h = ag::rmsnorm(ctx, x, b.ffn_norm, c.norm_eps, p + "ffn_norm");
        ag::var gate = ag::linear(ctx, h, b.w_gate, p + "ffn_gate");
        ag::var up = ag::linear(ctx, h, b.w_up, p + "ffn_up");
        ag::var f = ag::swiglu(ctx, gate, up, p + "ffn_swiglu");
        x = ag::add(ctx, x, ag::linear(ctx, f, b.w_down, p + "ffn_out"), p + "ffn_residual");
    }
    x = ag::rmsnorm(ctx, x, out_norm_, c.norm_eps, "output_norm");
    return ag::linear(ctx, x, output_, "logits");
}

}  // namespace stretch
