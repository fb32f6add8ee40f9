// The differentiable ops the models are written with. Each op computes its forward with a kernel
// from kernels/cpu and, when the context records, pushes its backward (the matching kernel) onto the
// tape. Forward and backward of an op sit side by side in ops.cpp. Tensors are 2-D [rows, features]
// unless stated; every op works in f32 and f64 (f64 is what the finite-difference checks run).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>

#include "autograd/tape.h"
#include "kernels/cpu/attention.h"
#include "kernels/cpu/rope.h"

namespace stretch::ag {

// y[M,N] = x[M,K] w[N,K]^T
var linear(context& ctx, const var& x, const var& w, std::string name);
// Inference: the same product for rows that are each one sequence's next token (a serving batch),
// every row of y what that row of x would get alone, whatever M is: quantised weights take the
// integer products at every row count (kernels/cpu/quant_matmul.h switches to dequantised sgemm
// from 48 rows, whose rounding differs); f32 weights as `linear`.
var linear_decode(context& ctx, const var& x, const var& w, std::string name);
// y[i, :] = x[i, :] + b for every row (a bias vector [C] broadcast over the rows of x [N, C]).
var add_bias(context& ctx, const var& x, const var& b, std::string name);
// y = alpha a + b (same shape); alpha is DeepNorm's residual scale, 1 elsewhere.
var add(context& ctx, const var& a, const var& b, std::string name, double alpha = 1.0);
// y = g * x / sqrt(mean(x^2) + eps) over the last dim; g may be null (no gain)
var rmsnorm(context& ctx, const var& x, const var& g, double eps, std::string name);
// RMSNorm over every `segment` consecutive values (each head of a [rows, H*D] tensor), with a gain
// g [segment] shared by the heads (QK-norm of Gemma 3 and Qwen3) or none (g null: KeyNorm, B15).
var rmsnorm_segments(context& ctx, const var& x, const var& g, std::int64_t segment, double eps, std::string name);
// y = factor x (Gemma's embedding scale sqrt(C)).
var scale(context& ctx, const var& x, double factor, std::string name);
// y = silu(a) * b
var swiglu(context& ctx, const var& a, const var& b, std::string name);
// y = gelu_tanh(a) * b (GeGLU, Gemma).
var geglu(context& ctx, const var& a, const var& b, std::string name);
// y[i] = table[tokens[i]]; token ids must be in range (checked)
var embedding(context& ctx, const var& table, std::span<const std::int32_t> tokens, std::string name);
// RoPE on x viewed as [B, T, H, D]; the table is shared by every layer of a forward.
var rope(context& ctx, const var& x, std::int64_t batch, std::int64_t time, std::int64_t heads,
         std::int64_t head_dim, std::shared_ptr<const cpu::rope_table> table, cpu::rope_pairing pairing,
         std::string name);
// Causal attention (kernels/cpu/attention.h): q [B*T_q, H*D], k/v [B*T_k, H_kv*D] -> [B*T_q, H*D].
// `rules` carry a variant's mask, per-query scale and two-score split; a two-score variant passes
// its far operands q_far, k_far (shaped as q, k), which get gradients like q and k. `sinks` [H]:
// the layer's learned sink logits (rules.sink_logits are taken from it), which get a gradient too.
var attention(context& ctx, const var& q, const var& k, const var& v, const cpu::attention_dims& dims, double scale,
              std::string name, const cpu::attention_rules& rules = {}, const var& q_far = nullptr,
              const var& k_far = nullptr, const var& sinks = nullptr);
// y[i, :] = the mean of x's rows [ranges[i].first, ranges[i].second) (x [N, C] -> y [ranges, C]): a
// sequence's pooled hidden state, its last token's row or the mean over its tokens.
var mean_of_rows(context& ctx, const var& x, std::span<const std::pair<std::int64_t, std::int64_t>> ranges,
                 std::string name);
// The same attention in inference (nothing is recorded) over a KV cache's rows as it stores them
// (kernels/cpu/kv_format.h: f16, bf16, q8_0 or q4_0 rows, or plain f32), which the kernel
// dequantises a tile at a time; q is f32.
var attention_stored(context& ctx, const var& q, const cpu::kv_rows<float>& k, const cpu::kv_rows<float>& v,
                     const cpu::attention_dims& dims, double scale, std::string name,
                     const cpu::attention_rules& rules = {}, const var& q_far = nullptr, const var& k_far = nullptr,
                     const var& sinks = nullptr);
// Mean cross-entropy (nats) over targets >= 0 of logits [N, V]: a scalar [1].
var cross_entropy(context& ctx, const var& logits, std::span<const std::int32_t> targets, std::string name);

}  // namespace stretch::ag
