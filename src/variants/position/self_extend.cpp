// `self_extend` — Self-Extend (methods.md B16): neighbour window w_n, group size G;
//   rho(i, j) = rel                                              if rel < w_n
//             = (floor(i/G) + w_n - floor(w_n/G)) - floor(j/G)   otherwise,
// i.e. Leaky ReRoPE with k = G plus rounding to integers (post 9948), two scores merged by the mask.
// Usable context (L_train - w_n) G + w_n. Defaults: w_n = L_train / 4; G = the smallest group
// whose usable context covers the target length. The KV cache keeps keys unrotated. (llama.cpp
// shifts and divides cached positions instead, "not exactly the same", ggml-org/llama.cpp #4886.)
// Source: arXiv 2401.01325; github.com/datamllab/LongLM; https://kexue.fm/archives/9948.
#include <cmath>

#include "core/error.h"
#include "variants/common.h"

namespace stretch::variants {
namespace {

const registrar reg{variant_def{
    .name = "self_extend",
    .kind = variant_kind::position,
    .summary = "exact RoPE for neighbours, grouped (floor-divided) positions beyond",
    .source = "methods.md B16; arXiv 2401.01325",
    .params = {{.name = "group_size", .type = param_type::integer, .default_value = "auto",
                .help = "G (auto: smallest G with (L_train - w_n) G + w_n >= L_target, for the default w_n)", .min = 1.0,
                .automatic = [](const model_context& c) {
                    const double wn = double(std::max<std::int64_t>(1, c.n_ctx_train / 4));
                    return std::max(1.0, std::ceil((double(c.target_length) - wn) / (double(c.n_ctx_train) - wn)));
                }},
               quarter_window_param("neighbor_window", "w_n: exact RoPE below this distance (auto: L_train / 4)")},
    .far = [](const param_values& p, const model_context&) {
        const std::int64_t g = p.integer("group_size"), wn = p.integer("neighbor_window");
        const auto floor_div = [g](std::int64_t x) { return x / g; };  // positions are >= 0
        return far_branch{beyond_distance(wn), [=](std::int64_t i) { return double(floor_div(i) + wn - floor_div(wn)); },
                          [=](std::int64_t j) { return double(floor_div(j)); }};
    },
    .validate = [](const param_values& p, const model_context& c) {
        if (p.integer("neighbor_window") >= c.n_ctx_train)
            fail("self_extend.neighbor_window = {} must be below the training length {}", p.integer("neighbor_window"),
                 c.n_ctx_train);
    },
}};

}  // namespace
}  // namespace stretch::variants
