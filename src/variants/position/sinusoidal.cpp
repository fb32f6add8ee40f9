// `sinusoidal` — absolute sinusoidal encoding (methods.md C2): PE(p)_{2t} = sin(p theta_t),
// PE(p)_{2t+1} = cos(p theta_t), theta_t = base^(-2t/C), added to the token embedding (C = model
// width; bert4keras's interleaved [sin, cos] layout); no rotation of q and k. PE(p).PE(p') depends
// only on p - p'; |PE(p)|^2 = C/2. Extrapolates worst in the ALiBi study. Train with it.
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
                .help = "theta_t = base^(-2t/C)", .min = 1.0 + 1e-9}},
    .frequencies = [](const param_values&, const model_context& c, std::int64_t) {
        return rotation{std::vector<double>(std::size_t(c.n_rot / 2), 0.0), 1.0};
    },
    .absolute = [](const param_values& p, const model_context& c, std::int64_t position) {
        std::vector<double> pe(std::size_t(c.d_model), 0.0);
        for (std::int64_t t = 0; 2 * t + 1 < c.d_model; ++t) {
            const double angle = double(position) * std::pow(p.real("base"), -2.0 * double(t) / double(c.d_model));
            pe[std::size_t(2 * t)] = std::sin(angle);
            pe[std::size_t(2 * t + 1)] = std::cos(angle);
        }
        return pe;
    },
    .needs_training = true,
}};

}  // namespace
}  // namespace stretch::variants
