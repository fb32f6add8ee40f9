// The orthonormal Walsh-Hadamard transform H = H_n / sqrt(n), n a power of two, with H_n Sylvester's
// matrix (H_1 = [1], H_2m = [[H_m, H_m], [H_m, -H_m]]; entry (i, j) = (-1)^popcount(i & j)). H is
// symmetric and orthogonal, so it is its own inverse and keeps every dot product: rotating queries
// and keys by it leaves q . k unchanged, and an attention output over rotated values is the rotated
// output. llama.cpp rotates a quantised KV cache so (PR #21038, "rotate activations for better
// quantization"): H spreads a head's outlier channels over all of them, so a block's scale is no
// longer set by one large value. Computed by the fast transform, n log2 n additions per block.
#pragma once

#include <cstdint>

namespace stretch::cpu {

// The block a head of `head_dim` values is rotated in: the largest power of two dividing it (the
// whole head when head_dim is a power of two).
std::int64_t hadamard_block(std::int64_t head_dim);

// x [count, n] <- x H, row by row (n a power of two).
template <class T>
void hadamard_rows(T* x, std::int64_t count, std::int64_t n);

}  // namespace stretch::cpu
