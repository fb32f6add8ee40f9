// `ntk_mixed` — NTK-mixed, the beta-base mixed radix (methods.md B5): digit mu = t + 1 gets its own
// radix; cumulative product exp(a mu^b) with a = ln(k) / (d/2)^b:
//   theta'_t = theta_t * exp(-a (t+1)^b).
// b = 1 gives ntk(form=fixed), b = 0 gives linear(k), k = 1 gives default; the lowest frequency is
// always theta/k. b = 0.625 was found by bisection on the GAU testbed (post 9706); bojone/rerope's
// ntk_patch.py uses k = 12, b = 0.75 for LLaMA-2. m = 1.
// Source: https://kexue.fm/archives/9706; github.com/bojone/rerope ntk_patch.py.
#include <cmath>

#include "kernels/cpu/rope.h"
#include "variants/common.h"

namespace stretch::variants {
namespace {

rotation ntk_mixed_frequencies(const param_values& p, const model_context& c, std::int64_t) {
    const double k = p.real("factor"), b = p.real("b");
    const double a = std::log(k) / std::pow(double(c.n_rot / 2), b);
    auto inv_freq = cpu::rope_inv_freq(c.base, c.n_rot);
    for (std::size_t t = 0; t < inv_freq.size(); ++t) inv_freq[t] *= std::exp(-a * std::pow(double(t + 1), b));
    return {std::move(inv_freq), 1.0};
}

const registrar reg{variant_def{
    .name = "ntk_mixed",
    .kind = variant_kind::position,
    .summary = "NTK with a mixed radix: each frequency scaled by exp(-a (t+1)^b)",
    .source = "methods.md B5; kexue.fm/archives/9706",
    .params = {factor_param("scale k (auto: L_target / L_train, at least 1)"),
               {.name = "b", .type = param_type::real, .default_value = "0.625",
                .help = "exponent: 0 = linear, 1 = ntk form=fixed", .min = 0.0, .max = 1.0}},
    .frequencies = ntk_mixed_frequencies,
}};

}  // namespace
}  // namespace stretch::variants
