// `yarn` — YaRN (methods.md B6), as HF's modeling_rope_utils.py and ggml's rope_yarn compute it:
//   dim(r)   = d ln(L_orig / (2 pi r)) / (2 ln base)
//   low      = max(floor(dim(beta_fast)), 0),  high = min(ceil(dim(beta_slow)), d - 1)
//              (no floor/ceil when truncate = false; if low == high, high += 0.001)
//   ramp_t   = clamp((t - low) / (high - low), 0, 1),  gamma_t = (1 - ramp_t) * ext_factor
//   theta'_t = gamma_t theta_t + (1 - gamma_t) theta_t / s
//   m        = attention_factor, default 0.1 ln s + 1 (1 if s <= 1), or with DeepSeek's mscale and
//              mscale_all_dim: (0.1 mscale ln s + 1) / (0.1 mscale_all_dim ln s + 1).
// m multiplies cos and sin, so the logits scale by m^2. HF blends linearly in the pair index t (the
// post and the paper blend in the rotation count); stretch follows the code, for parity with peers.
// Sources: arXiv 2309.00071; HF rope_type="yarn"; ggml rope_yarn; https://kexue.fm/archives/9948.
#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"
#include "kernels/cpu/rope.h"
#include "variants/common.h"

namespace stretch::variants {
namespace {

double get_mscale(double s, double mscale) { return s <= 1 ? 1.0 : 0.1 * mscale * std::log(s) + 1.0; }

rotation yarn_frequencies(const param_values& p, const model_context& c, std::int64_t) {
    const double s = p.real("factor"), d = double(c.n_rot), base = c.base;
    const double orig = double(p.integer("original_max_position_embeddings"));
    const bool truncate = p.text("truncate") == "true";
    auto dim_of = [&](double r) { return d * std::log(orig / (r * 2 * std::numbers::pi)) / (2 * std::log(base)); };
    double low = dim_of(p.real("beta_fast")), high = dim_of(p.real("beta_slow"));
    if (truncate) {
        low = std::floor(low);
        high = std::ceil(high);
    }
    low = std::max(low, 0.0);
    high = std::min(high, d - 1);
    if (low == high) high += 0.001;
    auto inv_freq = cpu::rope_inv_freq(base, c.n_rot);
    for (std::size_t t = 0; t < inv_freq.size(); ++t) {
        const double ramp = std::clamp((double(t) - low) / (high - low), 0.0, 1.0);
        const double gamma = (1 - ramp) * p.real("ext_factor");
        inv_freq[t] = gamma * inv_freq[t] + (1 - gamma) * inv_freq[t] / s;
    }
    double m = p.real("attention_factor");
    if (m == 0) {
        const double ms = p.real("mscale"), ms_all = p.real("mscale_all_dim");
        m = ms != 0 && ms_all != 0 ? get_mscale(s, ms) / get_mscale(s, ms_all) : get_mscale(s, 1.0);
    }
    return {std::move(inv_freq), m};
}

const registrar reg{variant_def{
    .name = "yarn",
    .kind = variant_kind::position,
    .summary = "NTK-by-parts frequency blend with an attention factor (YaRN)",
    .source = "methods.md B6; arXiv 2309.00071; HF rope_type=yarn",
    .params = {factor_param("scale s (auto: L_target / L_train, at least 1)"),
               {.name = "original_max_position_embeddings", .type = param_type::integer, .default_value = "auto",
                .help = "L_orig, the length the model was trained at (auto: L_train)", .min = 1.0,
                .automatic = [](const model_context& c) { return double(c.n_ctx_train); }},
               {.name = "beta_fast", .type = param_type::real, .default_value = "32",
                .help = "rotations over L_orig above which a pair extrapolates", .min = 1e-9},
               {.name = "beta_slow", .type = param_type::real, .default_value = "1",
                .help = "rotations over L_orig below which a pair interpolates", .min = 1e-9},
               {.name = "attention_factor", .type = param_type::real, .default_value = "0",
                .help = "m (multiplies cos and sin); 0: 0.1 ln s + 1, or from mscale/mscale_all_dim", .min = 0.0},
               {.name = "mscale", .type = param_type::real, .default_value = "0",
                .help = "DeepSeek mscale (0: unset)", .min = 0.0},
               {.name = "mscale_all_dim", .type = param_type::real, .default_value = "0",
                .help = "DeepSeek mscale_all_dim (0: unset)", .min = 0.0},
               {.name = "truncate", .type = param_type::text, .default_value = "true",
                .help = "round the correction range to whole pairs", .choices = {"true", "false"}},
               {.name = "ext_factor", .type = param_type::real, .default_value = "1",
                .help = "llama.cpp yarn_ext_factor: extrapolation weight (0 = pure linear)", .min = 0.0}},
    .frequencies = yarn_frequencies,
    .validate = [](const param_values& p, const model_context&) {
        if (p.real("beta_fast") <= p.real("beta_slow"))
            fail("yarn.beta_fast = {} must exceed yarn.beta_slow = {}", p.real("beta_fast"), p.real("beta_slow"));
    },
}};

}  // namespace
}  // namespace stretch::variants
