#include "model/config.h"

#include <cmath>
#include <string_view>

#include <fmt/format.h>

#include "core/error.h"
#include "variants/spec.h"

namespace stretch {

void model_config::validate(const char* where) const {
    auto positive = [&](const char* key, std::int64_t value) {
        if (value <= 0) fail("{}: {} = {}, expected a positive integer", where, key, value);
    };
    auto non_negative = [&](const char* key, std::int64_t value) {
        if (value < 0) fail("{}: {} = {}, expected 0 or a positive integer", where, key, value);
    };
    positive("vocab_size", vocab_size);
    positive("d_model", d_model);
    positive("n_layer", n_layer);
    positive("n_head", n_head);
    positive("n_head_kv", n_head_kv);
    positive("d_ff", d_ff);
    positive("n_ctx_train", n_ctx_train);
    non_negative("head_dim", head_dim);
    non_negative("n_rot", n_rot);
    non_negative("sliding_window", sliding_window);
    non_negative("global_every", global_every);
    non_negative("nope_every", nope_every);
    if (!(rope_base > 1.0)) fail("{}: rope_base = {}, expected a number > 1", where, rope_base);
    if (!(rope_base_local > 1.0)) fail("{}: rope_base_local = {}, expected a number > 1", where, rope_base_local);
    if (!(norm_eps > 0.0)) fail("{}: norm_eps = {}, expected a number > 0", where, norm_eps);
    if (!(embed_scale > 0.0) || !std::isfinite(embed_scale))
        fail("{}: embed_scale = {}, expected a finite number > 0", where, embed_scale);
    if (!(attn_scale >= 0.0) || !std::isfinite(attn_scale))
        fail("{}: attn_scale = {}, expected 0 (1 / sqrt(head_dim)) or a finite number > 0", where, attn_scale);
    if (ffn != "swiglu" && ffn != "geglu") fail("{}: ffn = '{}', expected swiglu or geglu", where, ffn);
    for (const char letter : attn_bias)
        if (std::string_view("qkvo").find(letter) == std::string_view::npos)
            fail("{}: attn_bias = '{}', expected letters of qkvo (the projections with a bias)", where, attn_bias);
    // Names, keys and syntax; values resolve per length.
    const variants::position_spec spec = variants::parse_spec(pos, fmt::format("{}: pos", where));
    if (spec.position.def->qk_bias && (attn_bias.find('q') != std::string::npos || attn_bias.find('k') != std::string::npos))
        fail("{}: pos = '{}' adds q/k biases, and attn_bias = '{}' has them already", where, pos, attn_bias);
    if (variants::trains_learned_sinks(spec)) {
        if (is_gau()) fail("{}: pos = '{}' trains learned sinks, which need block = transformer (softmax heads)", where, pos);
        for (const auto& m : spec.modifiers)
            if (m.def->relu2_divisor)
                fail("{}: pos = '{}' trains learned sinks, which join a softmax's denominator; '{}' has none", where,
                     pos, m.def->name);
    }
    if (norm_position != "pre" && norm_position != "post" && norm_position != "sandwich")
        fail("{}: norm_position = '{}', expected pre, post or sandwich", where, norm_position);
    if (deepnorm && norm_position != "post")
        fail("{}: deepnorm = true needs norm_position = post (DeepNorm keeps Post-LN, methods.md D3)", where);
    if (deepnorm_constants != "paper" && deepnorm_constants != "adam")
        fail("{}: deepnorm_constants = '{}', expected paper or adam", where, deepnorm_constants);
    if (block != "transformer" && block != "gau") fail("{}: block = '{}', expected transformer or gau", where, block);
    if (flash_chunk < 0) fail("{}: flash_chunk = {}, expected 0 (off) or a chunk size in tokens", where, flash_chunk);
    if (!is_gau()) {  // n_head, n_head_kv and d_ff are unused by GAU layers
        if (head_dim == 0 && d_model % n_head != 0)
            fail("{}: d_model = {} is not divisible by n_head = {}", where, d_model, n_head);
        if (head_width() % 2 != 0) fail("{}: head dimension = {}, expected an even number (RoPE pairs)", where, head_width());
        if (rotary_dim() % 2 != 0 || rotary_dim() > head_width())
            fail("{}: n_rot = {}, expected an even number <= the head dimension {}", where, rotary_dim(), head_width());
        if (n_head % n_head_kv != 0)
            fail("{}: n_head = {} is not divisible by n_head_kv = {} (grouped-query attention)", where, n_head, n_head_kv);
        if (flash_chunk > 0) fail("{}: flash_chunk = {} needs block = gau (FLASH is a GAU stack, methods.md D6)", where, flash_chunk);
        return;
    }
    if (spec.position.def->qk_bias)
        fail("{}: pos = '{}' adds q/k biases; a GAU layer's beta_q, beta_k are such biases already (methods.md D4)",
             where, pos);
    if (ffn != "swiglu" || !attn_bias.empty() || qk_norm || norm_position == "sandwich" || sliding_window > 0 ||
        nope_every > 0 || head_dim > 0)
        fail("{}: block = gau takes none of ffn, attn_bias, qk_norm, sandwich norms, sliding_window, nope_every, "
             "head_dim (they describe attention + FFN blocks)", where);
    positive("gau_expansion", gau_expansion);
    positive("gau_key_dim", gau_key_dim);
    if (gau_key_dim % 2 != 0) fail("{}: gau_key_dim = {}, expected an even number (RoPE pairs)", where, gau_key_dim);
    // The attention kernel's value heads have the key width: V [T, e] is read as e / s heads that
    // share one set of scores (model/gau_block.cpp).
    if (gau_value_dim() % gau_key_dim != 0)
        fail("{}: gau_expansion * d_model = {} is not divisible by gau_key_dim = {} (GAU value heads are s wide)", where,
             gau_value_dim(), gau_key_dim);
}

layer_desc model_config::layer(std::int64_t il) const {
    layer_desc d;
    d.n_head = n_head;
    d.n_head_kv = n_head_kv;
    d.head_dim = head_width();
    d.n_rot = rotary_dim();
    d.rotates = rotates(il);
    d.window = windowed(il) ? sliding_window : 0;
    d.rope_base = windowed(il) ? rope_base_local : rope_base;
    const auto biased = [&](char projection) { return attn_bias.find(projection) != std::string::npos; };
    d.q_bias = biased('q');
    d.k_bias = biased('k');
    d.v_bias = biased('v');
    d.o_bias = biased('o');
    d.qk_norm = qk_norm;
    d.pre_norm = norm_position != "post";
    d.post_norm = norm_position == "sandwich";
    d.gelu = ffn == "geglu";
    d.d_ff = d_ff;
    return d;
}

double model_config::logit_scale() const {
    return attn_scale > 0 ? attn_scale : 1.0 / std::sqrt(double(is_gau() ? gau_key_dim : head_width()));
}

// methods.md D3: the paper's decoder-only row, alpha = (2N)^(1/4), beta = (8N)^(-1/4); Su's Adam row
// (post 8978: lambda / alpha = 1 / sqrt(2N) split symmetrically), alpha = (2N)^(1/2), beta = (2N)^(-1/2).
double model_config::residual_alpha() const {
    if (!deepnorm) return 1.0;
    return std::pow(2.0 * double(n_layer), deepnorm_constants == "adam" ? 0.5 : 0.25);
}

double model_config::init_gain() const {
    if (!deepnorm) return 1.0;
    return deepnorm_constants == "adam" ? std::pow(2.0 * double(n_layer), -0.5) : std::pow(8.0 * double(n_layer), -0.25);
}

variants::model_context model_config::position_context(std::int64_t target_length) const {
    // A GAU layer attends with one head of width s (methods.md D4).
    return {n_ctx_train, rotary_dim(), rope_base, target_length, is_gau() ? 1 : n_head, d_model, n_attention_layers()};
}

std::string model_config::shape_text() const {
    if (!is_gau()) return fmt::format("{} layers, d_model {}, {} heads / {} kv", n_layer, d_model, n_head, n_head_kv);
    const std::string flash = flash_chunk > 0 ? fmt::format(", FLASH chunk {}", flash_chunk) : "";
    return fmt::format("{} GAU layers, d_model {}, e {}, s {}{}", n_attention_layers(), d_model, gau_value_dim(),
                       gau_key_dim, flash);
}

std::int64_t model_config::n_parameters() const {
    const std::int64_t q_dim = head_width() * n_head, kv_dim = head_width() * n_head_kv;
    const auto biased = [&](char projection) { return attn_bias.find(projection) != std::string::npos; };
    const std::int64_t per_block = (norm_position == "sandwich" ? 4 : 2) * d_model  // RMSNorm gains
                                   + 2 * q_dim * d_model            // wq, wo
                                   + 2 * kv_dim * d_model           // wk, wv
                                   + 3 * d_ff * d_model             // w1, w2, w3
                                   + (biased('q') ? q_dim : 0) + (biased('k') ? kv_dim : 0) +
                                   (biased('v') ? kv_dim : 0) + (biased('o') ? d_model : 0)
                                   + (qk_norm ? 2 * head_width() : 0);  // per-head q and k gains
    const std::int64_t e = gau_value_dim(), s = gau_key_dim;
    const std::int64_t per_gau_layer = d_model                            // RMSNorm gain
                                       + d_model * (2 * e + s) + e * d_model  // W_i, W_o
                                       + (flash_chunk > 0 ? 4 : 2) * 2 * s;   // gamma, beta of each map of Z
    const std::int64_t layers = is_gau() ? n_attention_layers() * per_gau_layer : n_layer * per_block;
    const variants::position_setup trained(variants::parse_spec(pos, "pos"), position_context(n_ctx_train), "pos");
    const std::int64_t final_norm = norm_position != "post" ? d_model : 0;  // Post-LN ends normalised
    const std::int64_t qk_biases = trained.qk_bias() ? n_layer * (q_dim + kv_dim) : 0;
    const std::int64_t sinks = trained.learned_sink_init() ? n_layer * n_head : 0;
    return vocab_size * d_model * (tie_embeddings ? 1 : 2) + trained.learned_rows() * d_model + layers + final_norm +
           qk_biases + sinks;
}

}  // namespace stretch
