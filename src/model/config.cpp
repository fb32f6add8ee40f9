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
    if (d_model % n_head != 0) fail("{}: d_model = {} is not divisible by n_head = {}", where, d_model, n_head);
    if (head_dim() % 2 != 0) fail("{}: head dimension d_model / n_head = {}, expected an even number (RoPE pairs)", where, head_dim());
    if (n_head % n_head_kv != 0)
        fail("{}: n_head = {} is not divisible by n_head_kv = {} (grouped-query attention)", where, n_head, n_head_kv);
    if (!(rope_base > 1.0)) fail("{}: rope_base = {}, expected a number > 1", where, rope_base);
    if (!(norm_eps > 0.0)) fail("{}: norm_eps = {}, expected a number > 0", where, norm_eps);
    variants::parse_spec(pos, fmt::format("{}: pos", where));
    if (norm_position != "pre" && norm_position != "post")
        fail("{}: norm_position = '{}', expected pre or post", where, norm_position);
    if (deepnorm && norm_position != "post")
        fail("{}: deepnorm = true needs norm_position = post (DeepNorm keeps Post-LN, methods.md D3)", where);  // names, keys and syntax; values resolve per length
}

double model_config::residual_alpha() const {
    return deepnorm ? std::pow(2.0 * double(n_layer), 0.25) : 1.0;  // decoder-only row of methods.md D3
}

std::int64_t model_config::n_parameters() const {
    const std::int64_t kv_dim = head_dim() * n_head_kv;
    const std::int64_t per_layer = 2 * d_model                       // two RMSNorm gains
                                   + 2 * d_model * d_model           // wq, wo
                                   + 2 * kv_dim * d_model            // wk, wv
                                   + 3 * d_ff * d_model;             // w1, w2, w3
    const variants::position_setup trained(variants::parse_spec(pos, "pos"),
                                           {n_ctx_train, head_dim(), rope_base, n_ctx_train, n_head, d_model, n_layer},
                                           "pos");
    const std::int64_t final_norm = norm_position == "pre" ? d_model : 0;  // Post-LN ends normalised
    const std::int64_t qk_biases = trained.qk_bias() ? n_layer * (d_model + kv_dim) : 0;
    return vocab_size * d_model * (tie_embeddings ? 1 : 2) + trained.learned_rows() * d_model + n_layer * per_layer +
           final_norm + qk_biases;
}

}  // namespace stretch
