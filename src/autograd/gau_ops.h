// The differentiable ops GAU layers are written with besides autograd/ops.h (methods.md D4, D6):
// swish, column slices of the fused projection, the per-dimension scale and offset that make Q and K
// from the shared Z, the gate U ⊙ (A V), heads that repeat one head, row gathers (FLASH's chunks) and
// FLASH's chunked linear attention. Forward and backward side by side, f32 and f64, as in ops.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "autograd/tape.h"

namespace stretch::ag {

// y = silu(x) = x * sigmoid(x), element-wise.
var silu(context& ctx, const var& x, std::string name);
// y [N, count] = x[:, first : first + count] of x [N, C].
var columns(context& ctx, const var& x, std::int64_t first, std::int64_t count, std::string name);
// y[i, :] = gamma ⊙ x[i, :] + beta for every row of x [N, S]; gamma, beta [S].
var scale_offset(context& ctx, const var& x, const var& gamma, const var& beta, std::string name);
// y = a ⊙ b (same shape).
var multiply(context& ctx, const var& a, const var& b, std::string name);
// y [N, times * C] = [x, x, ..., x] for x [N, C]: one head repeated as `times` heads.
var repeat_columns(context& ctx, const var& x, std::int64_t times, std::string name);
// y [rows.size(), C]: row r is x[rows[r], :], or zeros where rows[r] < 0.
var gather_rows(context& ctx, const var& x, std::vector<std::int64_t> rows, std::string name);
// FLASH's causal linear attention over previous chunks (kernels/cpu/chunked_linear_attention.h):
// q, k [B*T, S], v [B*T, E] -> [B*T, E].
var chunked_linear_attention(context& ctx, const var& q, const var& k, const var& v, std::int64_t batch,
                             std::int64_t time, std::int64_t chunk, std::string name);

}  // namespace stretch::ag
