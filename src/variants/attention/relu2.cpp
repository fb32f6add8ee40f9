// `relu2` — the relu^2 attention normaliser (methods.md D5; GAU/FLASH, arXiv 2202.10447):
// A_ij = relu(s_ij)^2 / n instead of softmax, with n = the sequence length (n_def = seq, FLASH's
// choice), L_train (fixed) or the keys query i sees (visible). With seq or fixed the row sums grow
// with the number of keys, so it can count positions (it passes the probe of G6); with visible it
// cannot. Needs training.
// Source: arXiv 2202.10447; https://kexue.fm/archives/8934, /9105.
#include "variants/variant.h"

namespace stretch::variants {
namespace {

const registrar reg{variant_def{
    .name = "relu2",
    .kind = variant_kind::modifier,
    .summary = "relu(s)^2 / n attention instead of softmax (needs training)",
    .source = "methods.md D5; arXiv 2202.10447",
    .params = {{.name = "n_def", .type = param_type::text, .default_value = "seq",
                .help = "n: seq (sequence length), fixed (L_train) or visible (keys seen by the query)",
                .choices = {"seq", "fixed", "visible"}}},
    .relu2_divisor = [](const param_values& p, const model_context& c, std::int64_t n_visible, std::int64_t length) {
        const std::string& n = p.text("n_def");
        return double(n == "seq" ? length : n == "fixed" ? c.n_ctx_train : n_visible);
    },
    .needs_training = true,
}};

}  // namespace
}  // namespace stretch::variants
