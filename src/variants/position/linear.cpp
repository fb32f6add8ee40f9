// `linear` — Position Interpolation (methods.md B2): theta'_t = theta_t / k, i.e. positions p -> p/k,
// so every rho <= (L-1)/k stays inside the trained range. Poor without fine-tuning (it is an
// initialisation for ~1000 steps of it, post 9948). Default k = s = L_target / L_train.
// Source: HF rope_type="linear" (kaiokendev); https://kexue.fm/archives/9675.
#include "kernels/cpu/rope.h"
#include "variants/common.h"

namespace stretch::variants {
namespace {

const registrar reg{variant_def{
    .name = "linear",
    .kind = variant_kind::position,
    .summary = "position interpolation: every frequency divided by the factor",
    .source = "methods.md B2; HF rope_type=linear; kexue.fm/archives/9675",
    .params = {factor_param("interpolation factor k (auto: L_target / L_train, at least 1)")},
    .frequencies = [](const param_values& p, const model_context& c, std::int64_t) {
        auto inv_freq = cpu::rope_inv_freq(c.base, c.n_rot);
        for (double& f : inv_freq) f /= p.real("factor");
        return rotation{std::move(inv_freq), 1.0};
    },
}};

}  // namespace
}  // namespace stretch::variants
