// Rotary position embedding (Su et al. 2021; methods.md A1–A3, A6). A table holds cos/sin of
// p * theta_t for every row position p and pair t; angles are formed in double, because at
// p ~ 1e5 a float angle is off by ~1e-2 rad (methods.md A1). Two pairings:
//   interleaved: pair t = (2t, 2t+1)      (llama2.c, bert4keras, GGML "normal")
//   half:        pair t = (t, t + d/2)    (HF Llama "rotate_half", GGML "neox")
// Only the first n_rot dims of each head rotate (partial rotary); the rest pass through.
// The backward of a rotation is the rotation by the negative angle.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace stretch::cpu {

enum class rope_pairing { interleaved, half };

struct rope_table {
    std::int64_t n_pos = 0;    // rows: one per position in the sequence
    std::int64_t n_pairs = 0;  // n_rot / 2
    std::vector<double> cos;   // [n_pos, n_pairs]
    std::vector<double> sin;   // [n_pos, n_pairs]
};

// cos/sin of positions[p] * inv_freq[t], both scaled by `mscale` (YaRN's attention factor; 1 = none).
rope_table make_rope_table(std::span<const double> positions, std::span<const double> inv_freq, double mscale = 1.0);

// theta_t = base^(-2t/n_rot), t = 0 .. n_rot/2 - 1 (methods.md A1).
std::vector<double> rope_inv_freq(double base, std::int64_t n_rot);

// In place on x [B, T, H, D] (rows of H*D): row (b, t) rotates by table row t, or by row b T + t when
// the table has one row per token (n_pos == B T: each sequence at its own positions, as random-position
// training draws them). `inverse` rotates by the negative angle: the transpose, which is what the
// backward applies. Requires table.n_pos == T or B T, and 2 * table.n_pairs <= D.
template <class T>
void rope_apply(T* x, std::int64_t batch, std::int64_t time, std::int64_t heads, std::int64_t head_dim,
                const rope_table& table, rope_pairing pairing, bool inverse);

}  // namespace stretch::cpu
