#include "model/config.h"

#include <cmath>

#include <fmt/format.h>

#include "core/error.h"
#include "variants/spec.h"

namespace stretch {

void model_config::validate(const char* where) const {
    auto positive = [&](const char* key, std::int64_t value) {
        if (value <= 0) fail("{}: {} = {}, expected a positive integer", where, key, value);
    };
    positive("vocab_size", vocab_size);
    positive("d_model", d_model);
    positive("n_layer", n_layer);
    positive("n_head", n_head);
    positive("n_head_kv", n_head_kv);
    positive("d_ff", d_ff);
    positive("n_ctx_train", n_ctx_train);
    if (!(rope_base > 1.0)) fail("{}: rope_base = {}, expected a number > 1", where, rope_base);
    if (!(norm_eps > 0.0)) fail("{}: norm_eps = {}, expected a number > 0", where, norm_eps);
    // Names, keys and syntax; values resolve per length.
    const variants::position_spec spec = variants::parse_spec(pos, fmt::format("{}: pos", where));
    if (norm_position != "pre" && norm_position != "post")
        fail("{}: norm_position = '{}', expected pre or post", where, norm_position);
    if (deepnorm && norm_position != "post")
        fail("{}: deepnorm = true needs norm_position = post (DeepNorm keeps Post-LN, methods.md D3)", where);
    if (deepnorm_constants != "paper" && deepnorm_constants != "adam")
        fail("{}: deepnorm_constants = '{}', expected paper or adam", where, deepnorm_constants);
    if (block != "transformer" && block != "gau") fail("{}: block = '{}', expected transformer or gau", where, block);
    if (flash_chunk < 0) fail("{}: flash_chunk = {}, expected 0 (off) or a chunk size in tokens", where, flash_chunk);
    if (!is_gau()) {  // n_head, n_head_kv and d_ff are unused by GAU layers
        if (d_model % n_head != 0) fail("{}: d_model = {} is not divisible by n_head = {}", where, d_model, n_head);
        if (head_dim() % 2 != 0) fail("{}: head dimension d_model / n_head = {}, expected an even number (RoPE pairs)", where, head_dim());
        if (n_head % n_head_kv != 0)
            fail("{}: n_head = {} is not divisible by n_head_kv = {} (grouped-query attention)", where, n_head, n_head_kv);
        if (flash_chunk > 0) fail("{}: flash_chunk = {} needs block = gau (FLASH is a GAU stack, methods.md D6)", where, flash_chunk);
        return;
    }
    if (spec.position.def->qk_bias)
        fail("{}: pos = '{}' adds q/k biases; a GAU layer's beta_q, beta_k are such biases already (methods.md D4)",
             where, pos);
    positive("gau_expansion", gau_expansion);
    positive("gau_key_dim", gau_key_dim);
    if (gau_key_dim % 2 != 0) fail("{}: gau_key_dim = {}, expected an even number (RoPE pairs)", where, gau_key_dim);
    // The attention kernel's value heads have the key width: V [T, e] is read as e / s heads that
    // share one set of scores (model/gau_block.cpp).
    if (gau_value_dim() % gau_key_dim != 0)
        fail("{}: gau_expansion * d_model = {} is not divisible by gau_key_dim = {} (GAU value heads are s wide)", where,
             gau_value_dim(), gau_key_dim);
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
    const std::int64_t kv_dim = head_dim() * n_head_kv;
    const std::int64_t per_block = 2 * d_model                       // two RMSNorm gains
                                   + 2 * d_model * d_model           // wq, wo
                                   + 2 * kv_dim * d_model            // wk, wv
                                   + 3 * d_ff * d_model;             // w1, w2, w3
    const std::int64_t e = gau_value_dim(), s = gau_key_dim;
    const std::int64_t per_gau_layer = d_model                            // RMSNorm gain
                                       + d_model * (2 * e + s) + e * d_model  // W_i, W_o
                                       + (flash_chunk > 0 ? 4 : 2) * 2 * s;   // gamma, beta of each map of Z
    const std::int64_t layers = is_gau() ? n_attention_layers() * per_gau_layer : n_layer * per_block;
    const variants::position_setup trained(variants::parse_spec(pos, "pos"), position_context(n_ctx_train), "pos");
    const std::int64_t final_norm = norm_position == "pre" ? d_model : 0;  // Post-LN ends normalised
    const std::int64_t qk_biases = trained.qk_bias() ? n_layer * (d_model + kv_dim) : 0;
    return vocab_size * d_model * (tie_embeddings ? 1 : 2) + trained.learned_rows() * d_model + layers + final_norm +
           qk_biases;
}

}  // namespace stretch
