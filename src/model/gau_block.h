// The GAU layer (Gated Attention Unit, FLASH: arXiv 2202.10447; methods.md D4) and FLASH's
// mixed-chunk attention (D6), the layers of a model with block = gau (model/config.h):
//   U, V, Z = silu(h W_i) split into [e | e | s]        one fused W_i [2e + s, C] (bert4keras)
//   Q = gamma_q ⊙ Z + beta_q,  K = gamma_k ⊙ Z + beta_k,  RoPE on Q and K (the model's position variant)
//   A = normaliser(Q K^T / sqrt(s) + the variant's mask, scale, bias)   one head; softmax or relu2
//   F = (U ⊙ A V) W_o                                   W_o [C, e]
// With flash_chunk = c > 0, A V becomes FLASH's mixed-chunk attention: four maps of Z (quadratic and
// linear Q and K), relu^2 / (c s) causal attention within each chunk of c tokens plus causal linear
// attention over the previous chunks (divided by the tokens summed). The residual wraps F as the
// Transformer's blocks do: x + F(Norm(x)) (pre) or Norm(alpha x + F(x)) (post, DeepNorm).
// Parameter names: blk.N.gau_norm.weight, gau_in.weight, gau_q.weight/.bias (gamma/beta),
// gau_k.weight/.bias, (flash) gau_q_lin.weight/.bias, gau_k_lin.weight/.bias, gau_out.weight.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "model/attention_plan.h"
#include "model/config.h"

namespace stretch {

struct gau_layer {
    ag::var norm, w_in, w_out;
    ag::var q_gamma, q_beta, k_gamma, k_beta;              // FLASH: the quadratic part's maps
    ag::var q_lin_gamma, q_lin_beta, k_lin_gamma, k_lin_beta;  // FLASH only
};

// Allocates layer il's parameters through `add` (name, shape), in a fixed order.
gau_layer make_gau_layer(const model_config& config, std::int64_t il,
                         const std::function<ag::var(const std::string&, shape_t)>& add);

// FLASH attends with rotations only (D6's relu^2 / (c s) and causal chunks are its own mask and
// normaliser): throws stretch::error naming the spec when the variant would change the attention,
// or when a KV cache is asked for (incremental FLASH decoding is not built).
void require_flash_positions(const model_config& config, const variants::position_setup& positions, bool cached);

// The position of one forward: `batch` sequences of `time` new tokens after `past` cached ones.
struct gau_step {
    std::int64_t batch = 1, time = 0, past = 0;
    kv_cache* cache = nullptr;
};

// x [B*T, C] -> the residual stream after layer il.
ag::var gau_forward(ag::context& ctx, const model_config& config, const gau_layer& layer, const ag::var& x,
                    const layer_attention& attention, const gau_step& step, std::int64_t il);

}  // namespace stretch
