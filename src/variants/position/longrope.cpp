// `longrope` — LongRoPE per-pair factors (methods.md B8): theta'_t = theta_t / ext_t with
// ext = long_factor when the selection rule says "long", else short_factor;
// m = attention_factor, default sqrt(1 + ln(s) / ln(L_orig)) for s > 1, else 1.
//   select = by_length (HF): long iff the current length L > L_orig;
//            by_context (llama.cpp): long iff the planned context exceeds L_orig, fixed per run.
// A factor list of one number applies to every pair. Real models ship factors searched for them
// (Phi-3); without such a search the defaults are short 1 and long s for every pair, i.e. position
// interpolation past L_orig with LongRoPE's attention factor. When by_length switches while
// decoding, every cached key and every hidden state behind it was computed with the short factors,
// so the KV cache is recomputed from its tokens with the long ones (HF's Phi-3 re-prefills).
// Source: HF rope_type="longrope"; llama.cpp issue #6849.
#include <cmath>

#include "core/error.h"
#include "kernels/cpu/rope.h"
#include "variants/common.h"

namespace stretch::variants {
namespace {

rotation longrope_frequencies(const param_values& p, const model_context& c, std::int64_t length) {
    const double orig = double(p.integer("original_max_position_embeddings"));
    const double current = p.text("select") == "by_length" ? double(length) : double(c.target_length);
    const auto& ext = current > orig ? p.list("long_factor") : p.list("short_factor");
    auto inv_freq = cpu::rope_inv_freq(c.base, c.n_rot);
    for (std::size_t t = 0; t < inv_freq.size(); ++t) inv_freq[t] /= ext.size() == 1 ? ext[0] : ext[t];
    double m = p.real("attention_factor");
    if (m == 0) {
        const double s = p.real("factor");
        m = s <= 1 ? 1.0 : std::sqrt(1 + std::log(s) / std::log(orig));
    }
    return {std::move(inv_freq), m};
}

const registrar reg{variant_def{
    .name = "longrope",
    .kind = variant_kind::position,
    .summary = "per-pair frequency divisors, a short and a long set (Phi-3)",
    .source = "methods.md B8; HF rope_type=longrope",
    .params = {{.name = "short_factor", .type = param_type::real_list, .default_value = "1",
                .help = "d/2 divisors (or one for all) used up to L_orig", .min = 1e-9},
               {.name = "long_factor", .type = param_type::real_list, .default_value = "auto",
                .help = "d/2 divisors (or one for all) used past L_orig (auto: s for every pair)", .min = 1e-9,
                .automatic = extension_ratio},
               factor_param("s, for the default attention factor (auto: L_target / L_train, at least 1)"),
               {.name = "original_max_position_embeddings", .type = param_type::integer, .default_value = "auto",
                .help = "L_orig (auto: L_train)", .min = 1.0,
                .automatic = [](const model_context& c) { return double(c.n_ctx_train); }},
               {.name = "attention_factor", .type = param_type::real, .default_value = "0",
                .help = "m; 0: sqrt(1 + ln s / ln L_orig)", .min = 0.0},
               {.name = "select", .type = param_type::text, .default_value = "by_length",
                .help = "by_length: long past L_orig (HF); by_context: from the planned length (llama.cpp)",
                .choices = {"by_length", "by_context"}}},
    .frequencies = longrope_frequencies,
    .validate = [](const param_values& p, const model_context& c) {
        for (const char* key : {"short_factor", "long_factor"}) {
            const auto n = std::int64_t(p.list(key).size());
            if (n != 1 && n != c.n_rot / 2)
                fail("longrope.{} has {} values; expected {} (one per rotary pair) or 1", key, n, c.n_rot / 2);
        }
    },
    .refill_cache_on_rotation_change = true,
}};

}  // namespace
}  // namespace stretch::variants
