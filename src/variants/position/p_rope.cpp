// `p_rope` — p-RoPE (arXiv 2410.06205, Barbero et al., "Round and Round We Go! What makes Rotary
// Positional Encodings useful?"): only the fraction p of the frequencies, the highest ones, rotate;
// the lowest are left unrotated (frequency 0), since a trained Gemma uses its lowest frequencies as
// semantic channels that rotation disturbs rather than for position:
//   theta'_t = theta_t = base^(-2t/d)   for t < floor(p d / 2)
//            = 0                          otherwise
// (the paper's apply_p_rope: rope_angles = int(rope_percentage * head_dim // 2), the timescales of
// the remaining angles infinite). p = 1 is RoPE (`default`), p = 0 is NoPE (`nope`). Trained with it
// from scratch (the paper trains Gemma 2B models so); nothing changes at test time. Default
// p = 0.75 (our choice: a quarter of the frequencies, the lowest, left unrotated).
// Source: arXiv 2410.06205 (its apply_p_rope listing).
#include <cmath>

#include "kernels/cpu/rope.h"
#include "variants/variant.h"

namespace stretch::variants {
namespace {

const registrar reg{variant_def{
    .name = "p_rope",
    .kind = variant_kind::position,
    .summary = "RoPE on the highest fraction p of frequencies, the lowest left unrotated (needs training)",
    .source = "arXiv 2410.06205 (p-RoPE)",
    .params = {{.name = "p", .type = param_type::real, .default_value = "0.75",
                .help = "fraction of the frequencies that rotate, the highest ones (1 = RoPE, 0 = NoPE)", .min = 0.0,
                .max = 1.0}},
    .frequencies = [](const param_values& p, const model_context& c, std::int64_t) {
        auto inv_freq = cpu::rope_inv_freq(c.base, c.n_rot);
        const auto rotated = std::size_t(std::floor(p.real("p") * double(c.n_rot) / 2));
        for (std::size_t t = rotated; t < inv_freq.size(); ++t) inv_freq[t] = 0.0;
        return rotation{std::move(inv_freq), 1.0};
    },
    .needs_training = true,
}};

}  // namespace
}  // namespace stretch::variants
