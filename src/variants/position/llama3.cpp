// `llama3` — Llama-3.1 frequency scaling (methods.md B7): with wavelength wl_t = 2 pi / theta_t,
// low_wl = L_orig / low_freq_factor and high_wl = L_orig / high_freq_factor,
//   wl_t < high_wl: theta'_t = theta_t;   wl_t > low_wl: theta'_t = theta_t / factor;
//   otherwise smooth = (L_orig / wl_t - low_freq_factor) / (high_freq_factor - low_freq_factor),
//             theta'_t = (1 - smooth) theta_t / factor + smooth theta_t.     m = 1.
// Llama 3.1 ships factor 8, low 1, high 4, L_orig 8192; here factor defaults to s and L_orig to L_train.
// Source: HF rope_type="llama3"; llama.cpp PR #8676.
#include <cmath>
#include <numbers>

#include "core/error.h"
#include "kernels/cpu/rope.h"
#include "variants/common.h"

namespace stretch::variants {
namespace {

rotation llama3_frequencies(const param_values& p, const model_context& c, std::int64_t) {
    const double factor = p.real("factor"), low = p.real("low_freq_factor"), high = p.real("high_freq_factor");
    const double orig = double(p.integer("original_max_position_embeddings"));
    const double low_wl = orig / low, high_wl = orig / high;
    auto inv_freq = cpu::rope_inv_freq(c.base, c.n_rot);
    for (double& f : inv_freq) {
        const double wl = 2 * std::numbers::pi / f;
        if (wl < high_wl) continue;
        if (wl > low_wl) {
            f /= factor;
        } else {
            const double smooth = (orig / wl - low) / (high - low);
            f = (1 - smooth) * f / factor + smooth * f;
        }
    }
    return {std::move(inv_freq), 1.0};
}

const registrar reg{variant_def{
    .name = "llama3",
    .kind = variant_kind::position,
    .summary = "Llama-3.1 scaling: long wavelengths interpolate, short ones keep, a smooth band between",
    .source = "methods.md B7; HF rope_type=llama3",
    .params = {factor_param("scale (auto: L_target / L_train, at least 1; Llama 3.1 uses 8)"),
               {.name = "low_freq_factor", .type = param_type::real, .default_value = "1",
                .help = "wavelengths above L_orig / low_freq_factor interpolate fully", .min = 1e-9},
               {.name = "high_freq_factor", .type = param_type::real, .default_value = "4",
                .help = "wavelengths below L_orig / high_freq_factor are kept", .min = 1e-9},
               {.name = "original_max_position_embeddings", .type = param_type::integer, .default_value = "auto",
                .help = "L_orig (auto: L_train)", .min = 1.0,
                .automatic = [](const model_context& c) { return double(c.n_ctx_train); }}},
    .frequencies = llama3_frequencies,
    .validate = [](const param_values& p, const model_context&) {
        if (p.real("high_freq_factor") <= p.real("low_freq_factor"))
            fail("llama3.high_freq_factor = {} must exceed llama3.low_freq_factor = {}", p.real("high_freq_factor"),
                 p.real("low_freq_factor"));
    },
}};

}  // namespace
}  // namespace stretch::variants
