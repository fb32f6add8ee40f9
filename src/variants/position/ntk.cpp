// `ntk` — fixed NTK-aware scaling (methods.md B3): high frequencies extrapolate, low ones
// interpolate. Three published forms (`form`):
//   bloc97 (default): base' = base * k^(d/(d-2)),  theta'_t = base'^(-2t/d)   (lowest = theta/k)
//   base_k:           base' = base * k                                      (Su's NTK-RoPE-old)
//   fixed:            theta'_t = (base*k)^(-2t/d) * k^(-2/d)                (Su's NTK-RoPE-fixed)
// m = 1. Default k = s; with k = s quality holds only to about L_target/2 (post 9948).
// Sources: https://kexue.fm/archives/9675, /9706, /9948; vLLM ntk_scaling_rope.py.
#include <cmath>

#include "kernels/cpu/rope.h"
#include "variants/common.h"

namespace stretch::variants {
namespace {

rotation ntk_frequencies(const param_values& p, const model_context& c, std::int64_t) {
    const double k = p.real("factor"), d = double(c.n_rot);
    const std::string& form = p.text("form");
    if (form == "bloc97") return {cpu::rope_inv_freq(c.base * std::pow(k, d / (d - 2)), c.n_rot), 1.0};
    if (form == "base_k") return {cpu::rope_inv_freq(c.base * k, c.n_rot), 1.0};
    auto inv_freq = cpu::rope_inv_freq(c.base * k, c.n_rot);  // fixed
    for (double& f : inv_freq) f *= std::pow(k, -2.0 / d);
    return {std::move(inv_freq), 1.0};
}

const registrar reg{variant_def{
    .name = "ntk",
    .kind = variant_kind::position,
    .summary = "NTK-aware scaling of the base: high frequencies extrapolate, low ones interpolate",
    .source = "methods.md B3; kexue.fm/archives/9675, 9706, 9948",
    .params = {factor_param("scale k (auto: L_target / L_train, at least 1)"),
               {.name = "form", .type = param_type::text, .default_value = "bloc97",
                .help = "bloc97: base*k^(d/(d-2)); base_k: base*k; fixed: (base*k) and k^(-2/d)",
                .choices = {"bloc97", "base_k", "fixed"}}},
    .frequencies = ntk_frequencies,
}};

}  // namespace
}  // namespace stretch::variants
