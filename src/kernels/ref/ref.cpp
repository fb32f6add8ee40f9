// The float64 oracle: plain loops straight from the formulas in ref.h. Each function validates its
// sizes (a mis-sized test buffer should fail loudly here, not read out of bounds) and otherwise
// does the obvious thing in the obvious order.
#include "kernels/ref/ref.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <limits>

#include "core/error.h"

namespace stretch::ref {

namespace {

std::size_t at(std::int64_t i) { return static_cast<std::size_t>(i); }

template <class V>
bool sized(const V& x, std::int64_t n) { return static_cast<std::int64_t>(x.size()) == n; }

}  // namespace

vec matmul(const vec& x, const vec& w, std::int64_t m, std::int64_t k, std::int64_t n) {
    STRETCH_ASSERT(sized(x, m * k) && sized(w, n * k));
    vec y(at(m * n));
    for (std::int64_t r = 0; r < m; ++r)
        for (std::int64_t o = 0; o < n; ++o) {
            double sum = 0;
            for (std::int64_t i = 0; i < k; ++i) sum += x[at(r * k + i)] * w[at(o * k + i)];
            y[at(r * n + o)] = sum;
        }
    return y;
}

void matmul_backward(const vec& x, const vec& w, const vec& dy, vec& dx, vec& dw, std::int64_t m, std::int64_t k,
                     std::int64_t n) {
    STRETCH_ASSERT(sized(x, m * k) && sized(w, n * k) && sized(dy, m * n));
    dx.assign(at(m * k), 0.0);
    dw.assign(at(n * k), 0.0);
    for (std::int64_t r = 0; r < m; ++r)
        for (std::int64_t i = 0; i < k; ++i) {
            double sum = 0;
            for (std::int64_t o = 0; o < n; ++o) sum += dy[at(r * n + o)] * w[at(o * k + i)];
            dx[at(r * k + i)] = sum;
        }
    for (std::int64_t o = 0; o < n; ++o)
        for (std::int64_t i = 0; i < k; ++i) {
            double sum = 0;
            for (std::int64_t r = 0; r < m; ++r) sum += dy[at(r * n + o)] * x[at(r * k + i)];
            dw[at(o * k + i)] = sum;
        }
}

// 1 / sqrt(mean(x_r^2) + eps) of row r.
static double inv_rms(const vec& x, std::int64_t r, std::int64_t c, double eps) {
    double sum_sq = 0;
    for (std::int64_t i = 0; i < c; ++i) sum_sq += x[at(r * c + i)] * x[at(r * c + i)];
    return 1.0 / std::sqrt(sum_sq / double(c) + eps);
}

vec rmsnorm(const vec& x, const vec& g, std::int64_t rows, std::int64_t c, double eps) {
    STRETCH_ASSERT(sized(x, rows * c) && (g.empty() || sized(g, c)));
    vec y(x.size());
    for (std::int64_t r = 0; r < rows; ++r) {
        const double s = inv_rms(x, r, c, eps);
        for (std::int64_t i = 0; i < c; ++i) y[at(r * c + i)] = (g.empty() ? 1.0 : g[at(i)]) * x[at(r * c + i)] * s;
    }
    return y;
}

void rmsnorm_backward(const vec& x, const vec& g, const vec& dy, vec& dx, vec& dg, std::int64_t rows,
                      std::int64_t c, double eps) {
    STRETCH_ASSERT(sized(x, rows * c) && sized(dy, rows * c) && (g.empty() || sized(g, c)));
    dx.assign(x.size(), 0.0);
    dg.assign(g.empty() ? 0 : at(c), 0.0);
    for (std::int64_t r = 0; r < rows; ++r) {
        const double s = inv_rms(x, r, c, eps);
        // y_i = g_i x_i s with ds/dx_j = -s^3 x_j / C.
        double u_dot_x = 0;
        for (std::int64_t i = 0; i < c; ++i)
            u_dot_x += (g.empty() ? 1.0 : g[at(i)]) * dy[at(r * c + i)] * x[at(r * c + i)];
        for (std::int64_t j = 0; j < c; ++j) {
            const double u_j = (g.empty() ? 1.0 : g[at(j)]) * dy[at(r * c + j)];
            dx[at(r * c + j)] = u_j * s - u_dot_x * s * s * s * x[at(r * c + j)] / double(c);
            if (!g.empty()) dg[at(j)] += dy[at(r * c + j)] * x[at(r * c + j)] * s;
        }
    }
}

double silu(double z) { return z / (1.0 + std::exp(-z)); }

vec swiglu(const vec& a, const vec& b) {
    STRETCH_ASSERT(a.size() == b.size());
    vec y(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) y[i] = silu(a[i]) * b[i];
    return y;
}

void swiglu_backward(const vec& a, const vec& b, const vec& dy, vec& da, vec& db) {
    STRETCH_ASSERT(a.size() == b.size() && a.size() == dy.size());
    da.assign(a.size(), 0.0);
    db.assign(a.size(), 0.0);
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double sig = 1.0 / (1.0 + std::exp(-a[i]));
        // d silu / dz = sigma(z) + z sigma(z) (1 - sigma(z))
        da[i] = dy[i] * b[i] * (sig + a[i] * sig * (1.0 - sig));
        db[i] = dy[i] * silu(a[i]);
    }
}

double gelu_tanh(double z) {
    const double c = std::sqrt(2.0 / std::numbers::pi);
    return 0.5 * z * (1.0 + std::tanh(c * (z + 0.044715 * z * z * z)));
}

vec geglu(const vec& a, const vec& b) {
    STRETCH_ASSERT(a.size() == b.size());
    vec y(a.size());
    for (std::size_t i = 0; i < a.size(); ++i) y[i] = gelu_tanh(a[i]) * b[i];
    return y;
}

void geglu_backward(const vec& a, const vec& b, const vec& dy, vec& da, vec& db) {
    STRETCH_ASSERT(a.size() == b.size() && a.size() == dy.size());
    const double c = std::sqrt(2.0 / std::numbers::pi);
    da.assign(a.size(), 0.0);
    db.assign(a.size(), 0.0);
    for (std::size_t i = 0; i < a.size(); ++i) {
        const double z = a[i], t = std::tanh(c * (z + 0.044715 * z * z * z));
        // d/dz 0.5 z (1 + t) = 0.5 (1 + t) + 0.5 z (1 - t^2) c (1 + 3 * 0.044715 z^2)
        const double slope = 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * c * (1.0 + 3.0 * 0.044715 * z * z);
        da[i] = dy[i] * b[i] * slope;
        db[i] = dy[i] * gelu_tanh(z);
    }
}

vec embedding(const vec& table, const std::vector<std::int32_t>& tokens, std::int64_t c) {
    const std::int64_t vocab = static_cast<std::int64_t>(table.size()) / c;
    STRETCH_ASSERT(sized(table, vocab * c));
    vec y(tokens.size() * at(c));
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        STRETCH_ASSERT(tokens[i] >= 0 && tokens[i] < vocab);
        for (std::int64_t j = 0; j < c; ++j) y[i * at(c) + at(j)] = table[at(tokens[i] * c + j)];
    }
    return y;
}

vec embedding_backward(const std::vector<std::int32_t>& tokens, const vec& dy, std::int64_t vocab, std::int64_t c) {
    STRETCH_ASSERT(dy.size() == tokens.size() * at(c));
    vec dtable(at(vocab * c), 0.0);
    for (std::size_t i = 0; i < tokens.size(); ++i) {
        STRETCH_ASSERT(tokens[i] >= 0 && tokens[i] < vocab);
        for (std::int64_t j = 0; j < c; ++j) dtable[at(tokens[i] * c + j)] += dy[i * at(c) + at(j)];
    }
    return dtable;
}

vec rope(const vec& x, std::int64_t batch, std::int64_t time, std::int64_t heads, std::int64_t head_dim,
         std::int64_t n_rot, const vec& positions, double base, rope_pairing pairing) {
    STRETCH_ASSERT(sized(x, batch * time * heads * head_dim) && sized(positions, time));
    STRETCH_ASSERT(n_rot > 0 && n_rot % 2 == 0 && n_rot <= head_dim);
    vec y = x;  // dims >= n_rot pass through
    const std::int64_t n_pairs = n_rot / 2;
    for (std::int64_t b = 0; b < batch; ++b)
        for (std::int64_t t = 0; t < time; ++t)
            for (std::int64_t h = 0; h < heads; ++h) {
                const std::int64_t row = ((b * time + t) * heads + h) * head_dim;
                for (std::int64_t i = 0; i < n_pairs; ++i) {
                    const double angle = positions[at(t)] * std::pow(base, -2.0 * double(i) / double(n_rot));
                    const std::int64_t i0 = pairing == rope_pairing::interleaved ? 2 * i : i;
                    const std::int64_t i1 = pairing == rope_pairing::interleaved ? 2 * i + 1 : i + n_pairs;
                    const double x0 = x[at(row + i0)], x1 = x[at(row + i1)];
                    y[at(row + i0)] = x0 * std::cos(angle) - x1 * std::sin(angle);
                    y[at(row + i1)] = x0 * std::sin(angle) + x1 * std::cos(angle);
                }
            }
    return y;
}

vec softmax(const vec& z) {
    STRETCH_ASSERT(!z.empty());
    double max = -std::numeric_limits<double>::infinity();
    for (double zi : z) max = std::fmax(max, zi);
    STRETCH_ASSERT(std::isfinite(max));  // at least one visible entry
    vec p(z.size());
    double sum = 0;
    for (std::size_t i = 0; i < z.size(); ++i) {
        p[i] = std::exp(z[i] - max);  // exp(-inf) = 0 exactly
        sum += p[i];
    }
    for (double& pi : p) pi /= sum;
    return p;
}

// Offsets of row i of head h (batch b) in the [B, T, H, D] layouts.
static std::int64_t q_at(const attention_shape& s, std::int64_t b, std::int64_t i, std::int64_t h) {
    return ((b * s.time_q + i) * s.heads + h) * s.head_dim;
}
static std::int64_t kv_at(const attention_shape& s, std::int64_t b, std::int64_t j, std::int64_t g) {
    return ((b * s.time_k + j) * s.heads_kv + g) * s.head_dim;
}
static std::int64_t kv_head(const attention_shape& s, std::int64_t h) { return h / (s.heads / s.heads_kv); }

static bool far_pair(const attention_rules& r, std::int64_t row, std::int64_t j) {
    return !r.first_near.empty() && j < r.first_near[at(row)];
}

static bool visible_pair(const attention_rules& r, std::int64_t i, std::int64_t j) {
    if (j > i) return false;
    if (r.window <= 0 && r.chunk <= 0) return true;
    const bool in_window = r.window <= 0 || i - j < r.window;
    const bool in_chunk = r.chunk <= 0 || j / r.chunk == i / r.chunk;
    return (in_window && in_chunk) || j < r.n_sink;
}

vec attention_scores(const vec& q, const vec& k, const attention_shape& s, double scale,
                     const attention_rules& rules) {
    STRETCH_ASSERT(s.heads % s.heads_kv == 0 && s.time_q <= s.time_k);
    STRETCH_ASSERT(sized(q, s.batch * s.time_q * s.heads * s.head_dim));
    STRETCH_ASSERT(sized(k, s.batch * s.time_k * s.heads_kv * s.head_dim));
    STRETCH_ASSERT(rules.first_near.empty() ||
                   (rules.q_far.size() == q.size() && rules.k_far.size() == k.size() && sized(rules.first_near, s.time_q)));
    STRETCH_ASSERT(rules.query_scale.empty() || sized(rules.query_scale, s.time_q));
    STRETCH_ASSERT(rules.head_slopes.empty() || sized(rules.head_slopes, s.heads));
    const std::int64_t offset = s.time_k - s.time_q;
    vec scores(at(s.batch * s.heads * s.time_q * s.time_k));
    for (std::int64_t b = 0; b < s.batch; ++b)
        for (std::int64_t h = 0; h < s.heads; ++h)
            for (std::int64_t r = 0; r < s.time_q; ++r)
                for (std::int64_t j = 0; j < s.time_k; ++j) {
                    const std::int64_t i = offset + r;
                    const bool far = far_pair(rules, r, j);
                    const vec& qs = far ? rules.q_far : q;
                    const vec& ks = far ? rules.k_far : k;
                    double dot = 0;
                    for (std::int64_t e = 0; e < s.head_dim; ++e)
                        dot += qs[at(q_at(s, b, r, h) + e)] * ks[at(kv_at(s, b, j, kv_head(s, h)) + e)];
                    const double c = rules.query_scale.empty() ? 1.0 : rules.query_scale[at(r)];
                    const double bias = rules.head_slopes.empty() ? 0.0 : -rules.head_slopes[at(h)] * double(i - j);
                    const bool visible = visible_pair(rules, i, j);
                    scores[at(((b * s.heads + h) * s.time_q + r) * s.time_k + j)] =
                        visible ? c * scale * dot + bias : -std::numeric_limits<double>::infinity();
                }
    return scores;
}

// P [B, H, T_q, T_k] from the logits: the row-wise softmax (over the row and the head's sink logit,
// whose probability goes to sink_probs [B, H, T_q] when given), or relu(logit)^2 / n_i.
static vec attention_probs(const vec& logits, const attention_shape& s, const attention_rules& rules,
                           vec* sink_probs = nullptr) {
    vec p = logits;
    if (sink_probs != nullptr) sink_probs->assign(at(s.batch * s.heads * s.time_q), 0.0);
    for (std::int64_t row = 0; row < s.batch * s.heads * s.time_q; ++row) {
        const auto first = p.begin() + row * s.time_k;
        if (rules.relu2_divisor.empty()) {
            vec z(first, first + s.time_k);
            if (!rules.sink_logits.empty()) z.push_back(rules.sink_logits[at(row / s.time_q % s.heads)]);
            const vec probs = softmax(z);
            std::copy(probs.begin(), probs.begin() + s.time_k, first);
            if (sink_probs != nullptr && !rules.sink_logits.empty()) (*sink_probs)[at(row)] = probs.back();
            continue;
        }
        const double n = rules.relu2_divisor[at(row % s.time_q)];
        for (auto x = first; x != first + s.time_k; ++x) *x = *x > 0 ? *x * *x / n : 0.0;  // relu(-inf) = 0
    }
    return p;
}

vec attention(const vec& q, const vec& k, const vec& v, const attention_shape& s, double scale,
              const attention_rules& rules) {
    STRETCH_ASSERT(v.size() == k.size());
    const vec p = attention_probs(attention_scores(q, k, s, scale, rules), s, rules);
    vec out(q.size(), 0.0);
    for (std::int64_t b = 0; b < s.batch; ++b)
        for (std::int64_t h = 0; h < s.heads; ++h)
            for (std::int64_t i = 0; i < s.time_q; ++i)
                for (std::int64_t j = 0; j < s.time_k; ++j) {
                    const double pij = p[at(((b * s.heads + h) * s.time_q + i) * s.time_k + j)];
                    for (std::int64_t e = 0; e < s.head_dim; ++e)
                        out[at(q_at(s, b, i, h) + e)] += pij * v[at(kv_at(s, b, j, kv_head(s, h)) + e)];
                }
    return out;
}

void attention_backward(const vec& q, const vec& k, const vec& v, const vec& dout, vec& dq, vec& dk, vec& dv,
                        const attention_shape& s, double scale, const attention_rules& rules, vec* dq_far,
                        vec* dk_far, vec* d_sink) {
    STRETCH_ASSERT(v.size() == k.size() && dout.size() == q.size());
    STRETCH_ASSERT(rules.first_near.empty() || (dq_far != nullptr && dk_far != nullptr));
    STRETCH_ASSERT(rules.sink_logits.empty() || (sized(rules.sink_logits, s.heads) && d_sink != nullptr));
    const vec logits = attention_scores(q, k, s, scale, rules);
    vec sink_probs;
    const vec p = attention_probs(logits, s, rules, &sink_probs);
    if (!rules.sink_logits.empty()) d_sink->assign(at(s.heads), 0.0);
    dq.assign(q.size(), 0.0);
    dk.assign(k.size(), 0.0);
    dv.assign(v.size(), 0.0);
    if (!rules.first_near.empty()) {
        dq_far->assign(q.size(), 0.0);
        dk_far->assign(k.size(), 0.0);
    }
    vec dp(at(s.time_k));
    for (std::int64_t b = 0; b < s.batch; ++b)
        for (std::int64_t h = 0; h < s.heads; ++h) {
            const std::int64_t g = kv_head(s, h);
            for (std::int64_t r = 0; r < s.time_q; ++r) {
                const std::int64_t row = ((b * s.heads + h) * s.time_q + r) * s.time_k;
                const double* pi = p.data() + row;
                // dP_ij = dO_i . V_j
                double p_dot_dp = 0;
                for (std::int64_t j = 0; j < s.time_k; ++j) {
                    double dot = 0;
                    for (std::int64_t e = 0; e < s.head_dim; ++e)
                        dot += dout[at(q_at(s, b, r, h) + e)] * v[at(kv_at(s, b, j, g) + e)];
                    dp[at(j)] = dot;
                    p_dot_dp += pi[j] * dot;
                }
                const double c = rules.query_scale.empty() ? 1.0 : rules.query_scale[at(r)];
                // The sink's logit: its probability's derivative is -P_sink P_sink (itself) and -P_sink P_ij
                // (others), and its dP is 0 (no value): dL/ds_h = -P_sink sum_j P_ij dP_ij.
                if (!rules.sink_logits.empty())
                    (*d_sink)[at(h)] -= sink_probs[at((b * s.heads + h) * s.time_q + r)] * p_dot_dp;
                for (std::int64_t j = 0; j < s.time_k; ++j) {
                    // The gradient of the logit: the softmax Jacobian P_ij (dP_ij - sum_l P_il dP_il), or
                    // relu^2's 2 relu(logit) / n_i dP_ij; then through logit = c_i scale dot.
                    const double x = logits[at(row + j)];
                    const double dlogit = rules.relu2_divisor.empty()
                                              ? pi[j] * (dp[at(j)] - p_dot_dp)
                                              : (x > 0 ? 2 * x / rules.relu2_divisor[at(r)] : 0.0) * dp[at(j)];
                    const double ddot = c * scale * dlogit;
                    const bool far = far_pair(rules, r, j);
                    const vec& qs = far ? rules.q_far : q;
                    const vec& ks = far ? rules.k_far : k;
                    vec& dqs = far ? *dq_far : dq;
                    vec& dks = far ? *dk_far : dk;
                    for (std::int64_t e = 0; e < s.head_dim; ++e) {
                        dv[at(kv_at(s, b, j, g) + e)] += pi[j] * dout[at(q_at(s, b, r, h) + e)];
                        dqs[at(q_at(s, b, r, h) + e)] += ddot * ks[at(kv_at(s, b, j, g) + e)];
                        dks[at(kv_at(s, b, j, g) + e)] += ddot * qs[at(q_at(s, b, r, h) + e)];
                    }
                }
            }
        }
}

vec cross_entropy(const vec& logits, const std::vector<std::int32_t>& targets, std::int64_t n, std::int64_t v) {
    STRETCH_ASSERT(sized(logits, n * v) && static_cast<std::int64_t>(targets.size()) == n);
    vec losses(at(n), 0.0);
    for (std::int64_t i = 0; i < n; ++i) {
        if (targets[at(i)] < 0) continue;
        STRETCH_ASSERT(targets[at(i)] < v);
        double max = logits[at(i * v)];
        for (std::int64_t j = 1; j < v; ++j) max = std::fmax(max, logits[at(i * v + j)]);
        double sum = 0;
        for (std::int64_t j = 0; j < v; ++j) sum += std::exp(logits[at(i * v + j)] - max);
        losses[at(i)] = max + std::log(sum) - logits[at(i * v + targets[at(i)])];
    }
    return losses;
}

vec cross_entropy_backward(const vec& logits, const std::vector<std::int32_t>& targets, std::int64_t n,
                           std::int64_t v, double weight) {
    STRETCH_ASSERT(sized(logits, n * v) && static_cast<std::int64_t>(targets.size()) == n);
    vec dlogits(logits.size(), 0.0);
    for (std::int64_t i = 0; i < n; ++i) {
        if (targets[at(i)] < 0) continue;
        const vec p = softmax(vec(logits.begin() + i * v, logits.begin() + (i + 1) * v));
        for (std::int64_t j = 0; j < v; ++j) dlogits[at(i * v + j)] = weight * p[at(j)];
        dlogits[at(i * v + targets[at(i)])] -= weight;
    }
    return dlogits;
}

}  // namespace stretch::ref
