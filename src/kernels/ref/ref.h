// The oracle every test compares against; clarity over speed. Naive float64 loops, one output
// element at a time, written straight from the formulas (methods.md A1–A3, A6, eq. 0.2, E1).
// Deliberately independent of kernels/cpu: no BLAS, no thread pool, no shared helpers or tables
// (RoPE recomputes every angle), so a bug there cannot hide by appearing on both sides of a test.
// Not for production use: attention materialises every score, nothing is cached or vectorised.
// Layouts match kernels/cpu (row-major, outermost first); every buffer is a std::vector<double>.
#pragma once

#include <cstdint>
#include <vector>

namespace stretch::ref {

using vec = std::vector<double>;

// y[M,N] = x[M,K] w[N,K]^T (a bias-free linear layer, weights [out, in]).
vec matmul(const vec& x, const vec& w, std::int64_t m, std::int64_t k, std::int64_t n);
// Gradients of sum(dy ⊙ y) for y = matmul(x, w): dx[M,K] = dy w, dw[N,K] = dy^T x.
void matmul_backward(const vec& x, const vec& w, const vec& dy, vec& dx, vec& dw, std::int64_t m, std::int64_t k,
                     std::int64_t n);

// y = g ⊙ x / sqrt(mean(x^2) + eps) per row of C; an empty g means no gain.
vec rmsnorm(const vec& x, const vec& g, std::int64_t rows, std::int64_t c, double eps);
// dx [rows, C]; dg [C] (left empty when g is empty).
void rmsnorm_backward(const vec& x, const vec& g, const vec& dy, vec& dx, vec& dg, std::int64_t rows,
                      std::int64_t c, double eps);

// silu(z) = z / (1 + e^-z); swiglu(a, b) = silu(a) ⊙ b.
double silu(double z);
vec swiglu(const vec& a, const vec& b);
void swiglu_backward(const vec& a, const vec& b, const vec& dy, vec& da, vec& db);
// gelu_tanh(z) = 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))); geglu(a, b) = gelu_tanh(a) ⊙ b.
double gelu_tanh(double z);
vec geglu(const vec& a, const vec& b);
void geglu_backward(const vec& a, const vec& b, const vec& dy, vec& da, vec& db);

// y[i, :] = table[tokens[i], :]; table [V, C]. dtable[tokens[i], :] += dy[i, :].
vec embedding(const vec& table, const std::vector<std::int32_t>& tokens, std::int64_t c);
vec embedding_backward(const std::vector<std::int32_t>& tokens, const vec& dy, std::int64_t vocab, std::int64_t c);

enum class rope_pairing { interleaved, half };

// RoPE on x [B, T, H, D]: row (b, t) at position positions[t]; the first n_rot dims of each head
// rotate by p * base^(-2i/n_rot) for pair i, the rest pass through. Interleaved pairs (2i, 2i+1),
// half pairs (i, i + n_rot/2). The backward of a rotation is the rotation by -p.
vec rope(const vec& x, std::int64_t batch, std::int64_t time, std::int64_t heads, std::int64_t head_dim,
         std::int64_t n_rot, const vec& positions, double base, rope_pairing pairing);

// Softmax of one row (max-subtracted); entries of -infinity get exactly 0.
vec softmax(const vec& z);

struct attention_shape {
    std::int64_t batch = 1;
    std::int64_t time_q = 0;  // query i sits at position time_k - time_q + i
    std::int64_t time_k = 0;
    std::int64_t heads = 1;
    std::int64_t heads_kv = 1;  // query head h reads K/V head h / (heads / heads_kv)
    std::int64_t head_dim = 0;
};

// What a variant changes in eq. (0.2) besides the rotations (methods.md B9-B17, C5, D5), spelled
// out again here rather than taken from kernels/cpu: key j is visible to the query at position i
// when j <= i and either j < n_sink or j passes every restriction that is set, i - j < window
// (window > 0) and j / chunk == i / chunk (chunk > 0); with first_near given, key j < first_near[r] of query row r
// scores q_far . k_far instead of q . k; the logit is c_i * scale * dot - slope_h * (i - j); P is
// the softmax of the visible logits, or relu(logit)^2 / n_i when relu2_divisor is given. With
// sink_logits, each row's softmax runs over its logits and one more entry s_h (head h's learned
// sink, gpt-oss) whose probability is dropped: P_ij = e^(S_ij) / (e^(s_h) + sum_l e^(S_il)).
struct attention_rules {
    std::int64_t window = 0, chunk = 0, n_sink = 0;
    std::vector<std::int64_t> first_near;  // [T_q]; empty: one score set
    vec query_scale;    // [T_q] c_i; empty: all 1
    vec head_slopes;    // [H] ALiBi slopes; empty: no bias
    vec relu2_divisor;  // [T_q] n_i; empty: softmax
    vec sink_logits;    // [H] s_h; empty: no sink
    vec q_far, k_far;   // with first_near: the far operands, laid out as q and k
};

// Logits [B, H, T_q, T_k] with -infinity where key j is invisible to query i (position
// T_k - T_q + i). q [B, T_q, H, D], k [B, T_k, H_kv, D].
vec attention_scores(const vec& q, const vec& k, const attention_shape& s, double scale,
                     const attention_rules& rules = {});
// out [B, T_q, H, D] = P V.
vec attention(const vec& q, const vec& k, const vec& v, const attention_shape& s, double scale,
              const attention_rules& rules = {});
// Gradients of sum(dout ⊙ out): dq, dk, dv in the layouts of q, k, v; with first_near also
// dq_far, dk_far (the gradients of rules.q_far, rules.k_far); with sink_logits also d_sink [H].
void attention_backward(const vec& q, const vec& k, const vec& v, const vec& dout, vec& dq, vec& dk, vec& dv,
                        const attention_shape& s, double scale, const attention_rules& rules = {},
                        vec* dq_far = nullptr, vec* dk_far = nullptr, vec* d_sink = nullptr);

// loss_i = logsumexp(z_i) - z_i[y_i] (nats) for logits [N, V]; rows with y_i < 0 get 0.
vec cross_entropy(const vec& logits, const std::vector<std::int32_t>& targets, std::int64_t n, std::int64_t v);
// Gradient of sum_i weight * loss_i: weight * (softmax(z_i) - onehot(y_i)); skipped rows get 0.
vec cross_entropy_backward(const vec& logits, const std::vector<std::int32_t>& targets, std::int64_t n,
                           std::int64_t v, double weight);

}  // namespace stretch::ref
