// `nope` — no position encoding (methods.md C1): nothing is added or rotated; the causal mask is the
// only source of order. In the first layer, output i is invariant to permuting tokens 0..i-1. Train
// with it (`--set pos=nope`); HWFA uses it in its full-attention layer.
// Source: arXiv 2305.19466 (Kazemnejad et al. 2023); https://kexue.fm/archives/9603.
#include "variants/variant.h"

namespace stretch::variants {
namespace {

const registrar reg{variant_def{
    .name = "nope",
    .kind = variant_kind::position,
    .summary = "no position encoding: the causal mask is the only source of order (needs training)",
    .source = "methods.md C1; arXiv 2305.19466",
    .frequencies = [](const param_values&, const model_context& c, std::int64_t) {
        return rotation{std::vector<double>(std::size_t(c.n_rot / 2), 0.0), 1.0};  // angle 0: the identity
    },
    .needs_training = true,
}};

}  // namespace
}  // namespace stretch::variants
