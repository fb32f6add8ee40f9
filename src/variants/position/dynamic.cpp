// `dynamic` — dynamic NTK (methods.md B4), HF's formula: with Lmax = L_train and n = max(L, Lmax),
//   base' = base * ((k n / Lmax) - (k - 1))^(d/(d-2)),  then the default frequencies with base'.
// mode = hf (default): n is the current context length, recomputed as the context grows; keys
//   already in the KV cache keep the rotation they were written with (HF's cache behaviour, a
//   known upstream inconsistency: huggingface/transformers #25104, #25306). Decoding therefore equals a
//   full recomputation only while L <= L_train.
// mode = request: n = the planned length of the request (prompt + new tokens), fixed for the whole
//   request (Su's "locally static" compromise, post 9948); decoding equals recomputation.
// Source: HF rope_type="dynamic" (bloc97, emozilla); https://kexue.fm/archives/9948.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/rope.h"
#include "variants/common.h"

namespace stretch::variants {
namespace {

rotation dynamic_frequencies(const param_values& p, const model_context& c, std::int64_t length) {
    const double k = p.real("factor"), d = double(c.n_rot), lmax = double(c.n_ctx_train);
    const double n = std::max(double(p.text("mode") == "hf" ? length : c.target_length), lmax);
    const double base = c.base * std::pow(k * n / lmax - (k - 1), d / (d - 2));
    return {cpu::rope_inv_freq(base, c.n_rot), 1.0};
}

const registrar reg{variant_def{
    .name = "dynamic",
    .kind = variant_kind::position,
    .summary = "NTK base scaled from the current length (equals default up to L_train)",
    .source = "methods.md B4; HF rope_type=dynamic; kexue.fm/archives/9948",
    .params = {factor_param("scale k (auto: L_target / L_train, at least 1)"),
               {.name = "mode", .type = param_type::text, .default_value = "hf",
                .help = "hf: from the current length, cached keys keep their rotation; request: from the planned length",
                .choices = {"hf", "request"}}},
    .frequencies = dynamic_frequencies,
}};

}  // namespace
}  // namespace stretch::variants
