// `logn` — log-n query scaling (methods.md B12), from entropy invariance (post 8823): the logits of
// query i are multiplied by c_i (a scalar commutes with the rotation, so scaling q is the same):
//   mode = inference ("log n†", for models trained without it): c_i = max(1, ln n_i / ln base_len)
//   mode = trained   ("-log n", on during training too):        c_i = ln max(n_i, n_min) / ln base_len
// with n_i the keys visible to query i (n_def = visible: i + 1 when causal, at most w under a window,
// so window + logn at w <= L_train has c = 1) or the whole length (n_def = seq), and
// base_len = L_train. n_min: 1 for inference, 16 for trained (bert4keras softmax_plus). c = 1 for
// every query below L_train in inference mode, so short runs are unchanged. Combines with every
// other variant.
// Sources: https://kexue.fm/archives/8823, /9706; bojone/rerope patches; bert4keras softmax_plus.
#include <algorithm>
#include <cmath>

#include "variants/common.h"

namespace stretch::variants {
namespace {

double logn_scale(const param_values& p, const model_context&, std::int64_t, std::int64_t n_visible,
                  std::int64_t length) {
    const bool inference = p.text("mode") == "inference";
    const double n_min = p.real("n_min") > 0 ? p.real("n_min") : (inference ? 1.0 : 16.0);
    const double n = std::max(double(p.text("n_def") == "visible" ? n_visible : length), n_min);
    const double c = std::log(n) / std::log(double(p.integer("base_len")));
    return inference ? std::max(1.0, c) : c;
}

const registrar reg{variant_def{
    .name = "logn",
    .kind = variant_kind::modifier,
    .summary = "scale query i's logits by log_{L_train}(n_i) (entropy invariance)",
    .source = "methods.md B12; kexue.fm/archives/8823, 9706",
    .params = {{.name = "mode", .type = param_type::text, .default_value = "inference",
                .help = "inference: max(1, log); trained: no clamp, must be on in training too",
                .choices = {"inference", "trained"}},
               {.name = "base_len", .type = param_type::integer, .default_value = "auto",
                .help = "the length at which c = 1 (auto: L_train)", .min = 2.0,
                .automatic = [](const model_context& c) { return double(c.n_ctx_train); }},
               {.name = "n_def", .type = param_type::text, .default_value = "visible",
                .help = "visible: keys query i sees; seq: the sequence length", .choices = {"visible", "seq"}},
               {.name = "n_min", .type = param_type::real, .default_value = "0",
                .help = "lower clamp of n (0: 1 for inference, 16 for trained)", .min = 0.0}},
    .query_scale = logn_scale,
}};

}  // namespace
}  // namespace stretch::variants
