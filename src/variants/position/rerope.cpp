// `rerope` — ReRoPE (methods.md B9): rho(i, j) = min(rel, w): exact RoPE inside the window, every
// farther key seen at distance w, so positions never exceed w. Two scores, as bojone/rerope's
// rerope_patch.py computes them:
//   s1_ij = RoPE(q_i, i) . RoPE(k_j, j)      (rel < w)
//   s2_ij = RoPE(q_i, w) . k_j               (rel >= w: query rotated by the constant w, key unrotated)
// The KV cache keeps keys unrotated, with their positions, as the reference code does. The
// reference patch always applies the inference log-n scale; here that is the separate `+logn`.
// Default w = L_train / 4 (Su: the optimum lies in 1/4..1/2 of L_train, post 9708); 1 <= w < L_train.
// Training with ReRoPE from scratch gives no extrapolation at all (post 9948).
// Source: https://kexue.fm/archives/9708; github.com/bojone/rerope rerope_patch.py.
#include "core/error.h"
#include "variants/common.h"

namespace stretch::variants {
namespace {

const registrar reg{variant_def{
    .name = "rerope",
    .kind = variant_kind::position,
    .summary = "exact RoPE inside a window, every farther key at distance w",
    .source = "methods.md B9; kexue.fm/archives/9708; github.com/bojone/rerope",
    .params = {quarter_window_param("window", "w: keys at distance >= w are seen at distance w (auto: L_train / 4)")},
    .far = [](const param_values& p, const model_context&) {
        const std::int64_t w = p.integer("window");
        return far_branch{beyond_distance(w), [w](std::int64_t) { return double(w); }, [](std::int64_t) { return 0.0; }};
    },
    .validate = [](const param_values& p, const model_context& c) {
        if (p.integer("window") >= c.n_ctx_train)
            fail("rerope.window = {} must be below the training length {} (w = L_train collapses, post 9708)",
                 p.integer("window"), c.n_ctx_train);
    },
}};

}  // namespace
}  // namespace stretch::variants
