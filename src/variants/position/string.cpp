// `string` — STRING, ShifTed RoPE (arXiv 2410.18745, An et al.; github.com/HKUNLP/STRING). The
// largest relative positions, which pretraining saw least (position frequencies are left-skewed),
// are dropped: the well-trained ones are shifted over them by S, and a local window W is added back
// so that neighbours keep distinct small positions:
//   rho(i, j) = rel              if rel < S
//             = rel - S + W      otherwise
// The reference merges two flash attentions by log-sum-exp: a sliding window of S keys at the normal
// positions, and the shifted attention of the queries at i - S + W over the keys at j (causal, keys
// at distance >= S). Here that is one softmax over both score sets: a far branch at distance S, query
// at i - S + W, key at j; the KV cache keeps keys unrotated. S = 0 drops nothing and is default (the
// reference's RoPE baseline is shifted_offset 0). Within the training length every rho stays below
// L_train - S + W. Defaults: S = floor(0.33 L_train) (the reference's shifted_ratio 0.33 of the
// training length), W = min(128, S / 4): 128 is the reference's value for models trained on 2k to 128k
// tokens, S / 4 keeps W well below S at short training lengths (our choice). 0 <= W < S.
// Source: arXiv 2410.18745 (figure 5); github.com/HKUNLP/STRING README.
#include <algorithm>

#include "core/error.h"
#include "variants/common.h"

namespace stretch::variants {
namespace {

std::int64_t default_shift(const model_context& c) { return std::int64_t(0.33 * double(c.n_ctx_train)); }

const registrar reg{variant_def{
    .name = "string",
    .kind = variant_kind::position,
    .summary = "ShifTed RoPE: distances >= S seen at distance - S + W (well-trained positions reused)",
    .source = "arXiv 2410.18745; github.com/HKUNLP/STRING",
    .params = {{.name = "shift", .type = param_type::integer, .default_value = "auto",
                .help = "S: distances >= S move down by S - W; 0 = default (auto: 0.33 L_train)", .min = 0.0,
                .automatic = [](const model_context& c) { return double(default_shift(c)); }},
               {.name = "local_window", .type = param_type::integer, .default_value = "auto",
                .help = "W: where the shifted distances start, below S (auto: min(128, S / 4))", .min = 0.0,
                .automatic = [](const model_context& c) { return double(std::min<std::int64_t>(128, default_shift(c) / 4)); }}},
    .far = [](const param_values& p, const model_context&) {
        const std::int64_t s = p.integer("shift"), w = p.integer("local_window");
        if (s == 0) return far_branch{};
        return far_branch{beyond_distance(s), [s, w](std::int64_t i) { return double(i - s + w); },
                          [](std::int64_t j) { return double(j); }};
    },
    .validate = [](const param_values& p, const model_context&) {
        const std::int64_t s = p.integer("shift"), w = p.integer("local_window");
        if (s > 0 && w >= s)
            fail("string.local_window = {} must be below string.shift = {} (the shift moves distances >= S down by S - W)",
                 w, s);
    },
}};

}  // namespace
}  // namespace stretch::variants
