// `keynorm` — KeyNorm (KNA, methods.md B15): every key is L2-normalised per head before the logits,
// k~_j = k_j / |k_j|, logits q_i . k~_j with no 1/sqrt(D). Normalising before or after RoPE is the
// same (rotations keep norms). KNA's output is unchanged when any k_j is scaled by c > 0. Works only
// with RoPE (KeyNorm + NoPE does not extrapolate); stacks with NTK, YaRN, ReRoPE at inference.
// Must be on in training too. Implemented as rmsnorm(k) / sqrt(D) with the usual 1/sqrt(D) scale.
// Source: https://kexue.fm/archives/9859.
#include <algorithm>

#include "variants/variant.h"

namespace stretch::variants {
namespace {

const registrar reg{variant_def{
    .name = "keynorm",
    .kind = variant_kind::modifier,
    .summary = "L2-normalise every key head; logits q . k/|k| (needs training)",
    .source = "methods.md B15; kexue.fm/archives/9859",
    .params = {{.name = "eps", .type = param_type::real, .default_value = "1e-6",
                .help = "added to |k|^2 before the square root", .min = 0.0}},
    .key_norm_eps = [](const param_values& p) { return std::max(p.real("eps"), 1e-30); },
    .needs_training = true,
}};

}  // namespace
}  // namespace stretch::variants
