// `rope_qk_bias` — RoPE + q/k bias (methods.md C8, post 9577): only the query and key projections
// get a bias, added before RoPE; (q + a)^T R((j-i) theta) (k + b) gains a term a^T R b that decays
// with distance and does not cancel in the softmax. a, b trained, initialised to 0 (so training
// starts at plain RoPE). Caveat of the author, bolded later in the post: the extrapolation gain was
// not reliably reproducible — run several seeds. Needs training.
// Source: https://kexue.fm/archives/9577.
#include "kernels/cpu/rope.h"
#include "variants/variant.h"

namespace stretch::variants {
namespace {

const registrar reg{variant_def{
    .name = "rope_qk_bias",
    .kind = variant_kind::position,
    .summary = "RoPE with trained biases on q and k before the rotation (needs training; gain not reliably reproducible)",
    .source = "methods.md C8; kexue.fm/archives/9577",
    .frequencies = [](const param_values&, const model_context& c, std::int64_t) {
        return rotation{cpu::rope_inv_freq(c.base, c.n_rot), 1.0};
    },
    .qk_bias = true,
    .needs_training = true,
}};

}  // namespace
}  // namespace stretch::variants
