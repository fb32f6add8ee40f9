// `pose` — PoSE, positional skip-wise training (arXiv 2309.10400, Zhu et al.): a training window of
// N tokens is given positions that reach a target length L_t, so that a model trained on short
// windows has seen the relative positions of long ones. The official train_pose.py cuts the window
// into two chunks and skips the second one ahead:
//   r ~ U{1 .. floor((N + 1) / 2)}   (the first chunk's length)
//   u ~ U{0 .. L_t - N}              (the skip)
//   positions 0 .. r - 1, then r + u .. N - 1 + u
// (its lt = 0 revision: "makes the coverage possibility more uniform for large relative positions").
// At test time positions are plain 0 .. M - 1, up to L_t. The reference also takes the second
// chunk's tokens from further into a longer document; here the window's tokens stay contiguous and
// only the positions skip (as the data sampler draws them with the window: exact resume). RoPE only.
// Default L_t = 8 L_train (the paper's main setting extends 2k to 16k).
// Source: arXiv 2309.10400; github.com/dwzhu-pku/PoSE src/train_pose.py (train_preprocess_function_pose).
#include "core/error.h"
#include "variants/variant.h"

namespace stretch::variants {
namespace {

const registrar reg{variant_def{
    .name = "pose",
    .kind = variant_kind::position,
    .summary = "RoPE trained with a random skip between two chunks of positions, up to a target length (needs training)",
    .source = "arXiv 2309.10400; github.com/dwzhu-pku/PoSE",
    .params = {{.name = "target", .type = param_type::integer, .default_value = "auto",
                .help = "L_t, the length the skipped positions reach (auto: 8 L_train)", .min = 1.0,
                .automatic = [](const model_context& c) { return double(8 * c.n_ctx_train); }}},
    .train_positions = [](const param_values& p, const model_context&, rng& generator, std::int64_t length) {
        if (length > p.integer("target"))
            fail("pose.target = {} is below the window of {} tokens it should skip positions in", p.integer("target"),
                 length);
        const auto first_chunk = std::int64_t(1 + generator.below(std::uint64_t((length + 1) / 2)));
        const auto skip = std::int64_t(generator.below(std::uint64_t(p.integer("target") - length + 1)));
        std::vector<double> positions(static_cast<std::size_t>(length));
        for (std::int64_t t = 0; t < length; ++t) positions[std::size_t(t)] = double(t < first_chunk ? t : t + skip);
        return positions;
    },
    .validate = [](const param_values& p, const model_context& c) {
        if (p.integer("target") < c.n_ctx_train)
            fail("pose.target = {} is below the training length {}; expected L_t >= L_train (the skip is drawn from "
                 "[0, L_t - N])",
                 p.integer("target"), c.n_ctx_train);
    },
    .needs_training = true,
}};

}  // namespace
}  // namespace stretch::variants
