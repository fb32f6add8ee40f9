// `sinusoidal` — absolute sinusoidal encoding (methods.md C2): PE(p)_{2t} = sin(p theta_t),
// PE(p)_{2t+1} = cos(p theta_t), theta_t = base^(-2t/C), added to the token embedding (C = model
// width; bert4keras's interleaved [sin, cos] layout); no rotation of q and k. PE(p).PE(p') depends
// only on p - p'; |PE(p)|^2 = C/2. Extrapolates worst in the ALiBi study. Train with it.
//
// `scale` multiplies the table. What matters is its size beside the token embeddings: Vaswani et al.
// (section 3.4) and fairseq's transformer_lm, the ALiBi study's sinusoidal baseline, multiply
// embeddings drawn from N(0, C^-1/2) by sqrt(C), so tokens enter at RMS 1 beside PE's 1/sqrt(2).
// stretch's embeddings start at N(0, 0.02) (GPT-2); scale 0.02 keeps fairseq's 1 : 1/sqrt(2). At
// scale 1 the table is 35x the tokens and swamps them: the zoo's 800-step sinusoidal model left the
// byte-frequency plateau only after step 200 and ended at val 2.51 nats/byte (rope: ~1.4).
// Source: arXiv 1706.03762; https://kexue.fm/archives/9431; bert4keras sinusoidal_embeddings.
#include <cmath>

#include "variants/variant.h"

namespace stretch::variants {
namespace {

const registrar reg{variant_def{
    .name = "sinusoidal",
    .kind = variant_kind::position,
    .summary = "absolute sin/cos encoding added to the token embedding (needs training)",
    .source = "methods.md C2; arXiv 1706.03762",
    .params = {{.name = "base", .type = param_type::real, .default_value = "10000",
                .help = "theta_t = base^(-2t/C)", .min = 1.0 + 1e-9},
               {.name = "scale", .type = param_type::real, .default_value = "0.02",
                .help = "multiplies PE (0.02: PE : token embedding as sqrt(C)-scaled N(0, C^-1/2) tokens in fairseq)",
                .min = 0.0}},
    .frequencies = [](const param_values&, const model_context& c, std::int64_t) {
        return rotation{std::vector<double>(std::size_t(c.n_rot / 2), 0.0), 1.0};
    },
    .absolute = [](const param_values& p, const model_context& c, std::int64_t position) {
        std::vector<double> pe(std::size_t(c.d_model), 0.0);
        for (std::int64_t t = 0; 2 * t + 1 < c.d_model; ++t) {
            const double angle = double(position) * std::pow(p.real("base"), -2.0 * double(t) / double(c.d_model));
            pe[std::size_t(2 * t)] = p.real("scale") * std::sin(angle);
            pe[std::size_t(2 * t + 1)] = p.real("scale") * std::cos(angle);
        }
        return pe;
    },
    .needs_training = true,
}};

}  // namespace
}  // namespace stretch::variants
