// `leaky_rerope` — Leaky ReRoPE (methods.md B10): rho(i, j) = rel if rel < w, else w + (rel - w)/k
// (RoPE : Leaky ReRoPE : ReRoPE = Linear : Leaky ReLU : ReLU). As leaky_rerope_patch.py, the far
// score uses a second RoPE with linear factor k and offset w(k - 1):
//   s2_ij = RoPE(q_i, (i + w(k-1))/k) . RoPE(k_j, j/k)   (relative (rel + w(k-1))/k = w + (rel - w)/k)
// k = 1 gives default; k -> infinity gives rerope. Post 9728: choose k so that
// w + (L_max - 1 - w)/k <= L_train / 2. Defaults: w = L_train / 4, k = 16 (the patch's values for
// window 512, training length 4096). The KV cache keeps keys unrotated.
// Source: https://kexue.fm/archives/9708; github.com/bojone/rerope leaky_rerope_patch.py.
#include "core/error.h"
#include "variants/common.h"

namespace stretch::variants {
namespace {

const registrar reg{variant_def{
    .name = "leaky_rerope",
    .kind = variant_kind::position,
    .summary = "exact RoPE inside a window, farther distances compressed by k",
    .source = "methods.md B10; kexue.fm/archives/9708; github.com/bojone/rerope",
    .params = {quarter_window_param("window", "w: distances >= w are compressed (auto: L_train / 4)"),
               {.name = "k", .type = param_type::real, .default_value = "16",
                .help = "compression of distances beyond w (1 = default, large = rerope)", .min = 1.0}},
    .far = [](const param_values& p, const model_context&) {
        const std::int64_t w = p.integer("window");
        const double k = p.real("k");
        return far_branch{beyond_distance(w), [w, k](std::int64_t i) { return (double(i) + double(w) * (k - 1)) / k; },
                          [k](std::int64_t j) { return double(j) / k; }};
    },
    .validate = [](const param_values& p, const model_context& c) {
        if (p.integer("window") >= c.n_ctx_train)
            fail("leaky_rerope.window = {} must be below the training length {}", p.integer("window"), c.n_ctx_train);
    },
}};

}  // namespace
}  // namespace stretch::variants
