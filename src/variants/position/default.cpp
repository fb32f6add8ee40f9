// `default` — direct extrapolation (methods.md B1): theta'_t = base^(-2t/d), rho = rel, m = 1;
// positions simply run past L_train. `base` defaults to the model's; setting it by hand is what
// llama.cpp calls NTK-aware scaling (--rope-freq-base) and what Code Llama's "RoPE-ABF" did.
// Source: HF rope_type="default"; https://kexue.fm/archives/9675.
#include "kernels/cpu/rope.h"
#include "variants/variant.h"

namespace stretch::variants {
namespace {

const registrar reg{variant_def{
    .name = "default",
    .kind = variant_kind::position,
    .summary = "plain RoPE, positions run past the training length",
    .source = "methods.md B1; kexue.fm/archives/9675",
    .params = {{.name = "base", .type = param_type::real, .default_value = "auto",
                .help = "RoPE base (auto: the model's)", .min = 1.0 + 1e-9,
                .automatic = [](const model_context& c) { return c.base; }}},
    .frequencies = [](const param_values& p, const model_context& c, std::int64_t) {
        return rotation{cpu::rope_inv_freq(p.real("base"), c.n_rot), 1.0};
    },
}};

}  // namespace
}  // namespace stretch::variants
