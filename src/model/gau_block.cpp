#include "model/gau_block.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "autograd/gau_ops.h"
#include "core/error.h"

namespace stretch {

gau_layer make_gau_layer(const model_config& c, std::int64_t il,
                         const std::function<ag::var(const std::string&, shape_t)>& add) {
    const std::string p = fmt::format("blk.{}.", il);
    const std::int64_t d = c.d_model, e = c.gau_value_dim(), s = c.gau_key_dim;
    gau_layer layer;
    layer.norm = add(p + "gau_norm.weight", {d});
    layer.w_in = add(p + "gau_in.weight", {2 * e + s, d});
    layer.q_gamma = add(p + "gau_q.weight", {s});
    layer.q_beta = add(p + "gau_q.bias", {s});
    layer.k_gamma = add(p + "gau_k.weight", {s});
    layer.k_beta = add(p + "gau_k.bias", {s});
    if (c.flash_chunk > 0) {
        layer.q_lin_gamma = add(p + "gau_q_lin.weight", {s});
        layer.q_lin_beta = add(p + "gau_q_lin.bias", {s});
        layer.k_lin_gamma = add(p + "gau_k_lin.weight", {s});
        layer.k_lin_beta = add(p + "gau_k_lin.bias", {s});
    }
    layer.w_out = add(p + "gau_out.weight", {d, e});
    return layer;
}

void require_flash_positions(const model_config& c, const variants::position_setup& positions, bool cached) {
    if (c.flash_chunk <= 0) return;
    if (!positions.rotations_only())
        fail("pos = '{}': FLASH (flash_chunk = {}) attends with relu^2 / (c s) in causal chunks and takes only "
             "rotations from the position variant (methods.md D6); expected one without masks, scales, biases, "
             "two scores or normaliser modifiers",
             positions.text(), c.flash_chunk);
    if (cached)
        fail("flash_chunk = {}: decoding with a KV cache is not built for FLASH models; expected a full forward "
             "(eval, ppl)",
             c.flash_chunk);
}

namespace {

// One head of scores, e / s value heads: the attention op's value heads are as wide as its key
// heads, so the single head's Q and K are repeated e / s times and every value head gets the same
// probabilities. It costs m = e / s score products instead of one (2m / (1 + m) times the attention's
// FLOPs: 1.6x at e = 4s) but serves every position variant through the one attention kernel, unchanged.
ag::var shared_score_attention(ag::context& ctx, const attention_operands& in, cpu::attention_rules rules,
                               const cpu::attention_dims& dims, const std::string& name) {
    const auto repeat = [&](const ag::var& x, const char* what) {
        return x != nullptr ? ag::repeat_columns(ctx, x, dims.heads, name + what) : nullptr;
    };
    if (!rules.head_slopes.empty()) rules.head_slopes.assign(std::size_t(dims.heads), rules.head_slopes[0]);
    return ag::attention(ctx, repeat(in.q, ".q_heads"), repeat(in.k, ".k_heads"), in.v, dims,
                         1.0 / std::sqrt(double(dims.head_dim)), name, rules, repeat(in.q_far, ".q_far_heads"),
                         repeat(in.k_far, ".k_far_heads"));
}

// methods.md D6: relu^2(Q^quad K^quad^T) / (c s) V within each chunk of c tokens, causal inside it,
// plus Q^lin sum_{h<g} K^lin_h^T V_h / (g c) over the previous chunks. The chunks of every sequence
// are gathered into a batch of their own (a partial last chunk padded with zero rows, which the
// causal mask hides from the real ones); sequences shorter than c form one chunk of their length,
// still divided by c (n <= c: FLASH-Quad with 1 / (c s)).
ag::var flash_attention(ag::context& ctx, const model_config& c, const gau_layer& layer, const ag::var& z,
                        const ag::var& v, const layer_attention& attention, const gau_step& step,
                        const std::string& p) {
    const std::int64_t s = c.gau_key_dim, e = c.gau_value_dim(), batch = step.batch, time = step.time;
    const std::int64_t span = std::min(c.flash_chunk, time), n_chunks = (time + span - 1) / span;
    const head_shape shape{batch, time, 0, 1, 1, s, c.rope_pairing};
    const auto map = [&](const ag::var& gamma, const ag::var& beta, const std::string& name) {
        return ag::scale_offset(ctx, z, gamma, beta, p + name);
    };
    const attention_operands quad = prepare_attention(ctx, map(layer.q_gamma, layer.q_beta, "gau_q"),
                                                      map(layer.k_gamma, layer.k_beta, "gau_k"), v, attention, shape,
                                                      nullptr, 0, p);
    const attention_operands lin = prepare_attention(ctx, map(layer.q_lin_gamma, layer.q_lin_beta, "gau_q_lin"),
                                                     map(layer.k_lin_gamma, layer.k_lin_beta, "gau_k_lin"), v,
                                                     attention, shape, nullptr, 0, p + "lin.");
    std::vector<std::int64_t> to_chunks(std::size_t(batch * n_chunks * span), -1), from_chunks;
    for (std::int64_t b = 0; b < batch; ++b)
        for (std::int64_t t = 0; t < time; ++t) {
            const std::int64_t row = (b * n_chunks + t / span) * span + t % span;
            to_chunks[std::size_t(row)] = b * time + t;
            from_chunks.push_back(row);
        }
    const auto chunked = [&](const ag::var& x, const char* what) { return ag::gather_rows(ctx, x, to_chunks, p + what); };
    cpu::attention_rules rules;
    rules.relu2_divisor.assign(std::size_t(span), double(c.flash_chunk));
    const attention_operands in_chunks{chunked(quad.q, "quad.q_chunks"), chunked(quad.k, "quad.k_chunks"),
                                       chunked(v, "quad.v_chunks"), nullptr, nullptr};
    const ag::var quadratic = shared_score_attention(ctx, in_chunks, rules,
                                                     {batch * n_chunks, span, span, e / s, e / s, s}, p + "quad_attn");
    return ag::add(ctx, ag::gather_rows(ctx, quadratic, std::move(from_chunks), p + "quad_attn_rows"),
                   ag::chunked_linear_attention(ctx, lin.q, lin.k, v, batch, time, c.flash_chunk, p + "lin_attn"),
                   p + "flash_attn");
}

}  // namespace

ag::var gau_forward(ag::context& ctx, const model_config& c, const gau_layer& layer, const ag::var& x,
                    const layer_attention& attention, const gau_step& step, std::int64_t il) {
    const std::string p = fmt::format("blk.{}.", il);
    const std::int64_t e = c.gau_value_dim(), s = c.gau_key_dim;
    const bool pre = c.norm_position == "pre";
    const ag::var h = pre ? ag::rmsnorm(ctx, x, layer.norm, c.norm_eps, p + "gau_norm") : x;
    const ag::var uvz = ag::silu(ctx, ag::linear(ctx, h, layer.w_in, p + "gau_in"), p + "gau_uvz");
    const ag::var u = ag::columns(ctx, uvz, 0, e, p + "gau_u");
    const ag::var v = ag::columns(ctx, uvz, e, e, p + "gau_v");
    const ag::var z = ag::columns(ctx, uvz, 2 * e, s, p + "gau_z");
    ag::var av;
    if (c.flash_chunk > 0) {
        av = flash_attention(ctx, c, layer, z, v, attention, step, p);
    } else {
        const head_shape shape{step.batch, step.time, step.past, 1, 1, s, c.rope_pairing};
        const ag::var q = ag::scale_offset(ctx, z, layer.q_gamma, layer.q_beta, p + "gau_q");
        const ag::var k = ag::scale_offset(ctx, z, layer.k_gamma, layer.k_beta, p + "gau_k");
        av = shared_score_attention(ctx, prepare_attention(ctx, q, k, v, attention, shape, step.cache, il, p),
                                    attention.rules, {step.batch, step.time, step.past + step.time, e / s, e / s, s},
                                    p + "gau_attn");
    }
    const ag::var f = ag::linear(ctx, ag::multiply(ctx, u, av, p + "gau_gate"), layer.w_out, p + "gau_out");
    // Pre-LN: x + F(Norm(x)); Post-LN (DeepNorm): Norm(alpha x + F(x)) (methods.md D2, D3).
    const ag::var y = ag::add(ctx, x, f, p + "gau_residual", c.residual_alpha());
    return pre ? y : ag::rmsnorm(ctx, y, layer.norm, c.norm_eps, p + "gau_norm");
}

}  // namespace stretch
