// An independent float64 forward of the Transformer for variant tests: methods.md eq. (0.2) written
// out score by score, from a variant's effective relative position rho(i, j) (or, more generally,
// the relative rotation angle of each pair), its attention factor m, mask and per-query scale c_i —
// none of which it takes from the code under test except the frequencies theta' (checked on their
// own against Hugging Face's values). The blocks around attention use kernels/ref (no BLAS, no
// thread pool, no rope tables).
#pragma once

#include <cmath>
#include <functional>
#include <vector>

#include "kernels/ref/ref.h"
#include "model/transformer.h"

namespace stretch::test {

struct oracle_variant {
    // Relative angle of pair t between query i and key j: rho(i, j) * theta'_t for most variants.
    std::function<double(std::int64_t i, std::int64_t j, std::int64_t t)> angle;
    double m2 = 1.0;  // squared attention factor
    std::function<bool(std::int64_t i, std::int64_t j)> visible = [](std::int64_t i, std::int64_t j) { return j <= i; };
    std::function<double(std::int64_t i)> c = [](std::int64_t) { return 1.0; };
    // Additive logit bias b_ij of head h (ALiBi); 0 by default.
    std::function<double(std::int64_t h, std::int64_t i, std::int64_t j)> bias = [](std::int64_t, std::int64_t,
                                                                                     std::int64_t) { return 0.0; };
};

// rho(i, j) * theta'_t.
inline std::function<double(std::int64_t, std::int64_t, std::int64_t)> rho_angle(
    std::function<double(std::int64_t, std::int64_t)> rho, std::vector<double> inv_freq) {
    return [rho = std::move(rho), inv_freq = std::move(inv_freq)](std::int64_t i, std::int64_t j, std::int64_t t) {
        return rho(i, j) * inv_freq[static_cast<std::size_t>(t)];
    };
}

inline std::vector<double> values_of(const transformer& model, const std::string& name) {
    for (const auto& [n, p] : model.parameters())
        if (n == name) return std::vector<double>(p->value.data<double>(), p->value.data<double>() + p->value.numel());
    return {};
}

// Logits [T, V] of one sequence, block il attending with variants[il] (or variants[0] for all when
// there is one). The model must be f64.
inline std::vector<double> oracle_forward(const transformer& model, const std::vector<std::int32_t>& tokens,
                                          const std::vector<oracle_variant>& variants) {
    const auto& c = model.config();
    const std::int64_t T = std::int64_t(tokens.size()), C = c.d_model, H = c.n_head, Hkv = c.n_head_kv;
    const std::int64_t D = c.head_width(), group = H / Hkv, P = D / 2;
    auto w = [&](const std::string& n) { return values_of(model, n); };
    std::vector<double> x = ref::embedding(w("token_embd.weight"), tokens, C);
    for (std::int64_t il = 0; il < c.n_layer; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        const oracle_variant& variant = variants[variants.size() == 1 ? 0 : std::size_t(il)];
        const auto h = ref::rmsnorm(x, w(p + "attn_norm.weight"), T, C, c.norm_eps);
        const auto q = ref::matmul(h, w(p + "attn_q.weight"), T, C, H * D);
        const auto k = ref::matmul(h, w(p + "attn_k.weight"), T, C, Hkv * D);
        const auto v = ref::matmul(h, w(p + "attn_v.weight"), T, C, Hkv * D);
        std::vector<double> att(std::size_t(T * H * D), 0.0);
        for (std::int64_t hh = 0; hh < H; ++hh) {
            const std::int64_t g = hh / group;
            for (std::int64_t i = 0; i < T; ++i) {
                std::vector<double> s(std::size_t(T), -INFINITY);
                for (std::int64_t j = 0; j < T; ++j) {
                    if (!variant.visible(i, j)) continue;
                    const double* qi = &q[std::size_t((i * H + hh) * D)];
                    const double* kj = &k[std::size_t((j * Hkv + g) * D)];
                    double dot = 0;
                    for (std::int64_t t = 0; t < P; ++t) {  // (R(angle) q_i) . k_j, pair by pair
                        const std::int64_t a = c.rope_pairing == cpu::rope_pairing::interleaved ? 2 * t : t;
                        const std::int64_t b = c.rope_pairing == cpu::rope_pairing::interleaved ? 2 * t + 1 : t + P;
                        const double phi = variant.angle(i, j, t);
                        dot += (qi[a] * std::cos(phi) - qi[b] * std::sin(phi)) * kj[a] +
                               (qi[a] * std::sin(phi) + qi[b] * std::cos(phi)) * kj[b];
                    }
                    s[std::size_t(j)] = variant.c(i) * dot / std::sqrt(double(D)) * variant.m2 + variant.bias(hh, i, j);
                }
                const auto prob = ref::softmax(s);
                for (std::int64_t j = 0; j < T; ++j)
                    for (std::int64_t d = 0; d < D; ++d)
                        att[std::size_t((i * H + hh) * D + d)] += prob[std::size_t(j)] * v[std::size_t((j * Hkv + g) * D + d)];
            }
        }
        const auto o = ref::matmul(att, w(p + "attn_output.weight"), T, H * D, C);
        for (std::size_t n = 0; n < x.size(); ++n) x[n] += o[n];
        const auto h2 = ref::rmsnorm(x, w(p + "ffn_norm.weight"), T, C, c.norm_eps);
        const auto gate = ref::matmul(h2, w(p + "ffn_gate.weight"), T, C, c.d_ff);
        const auto up = ref::matmul(h2, w(p + "ffn_up.weight"), T, C, c.d_ff);
        const auto f = ref::matmul(ref::swiglu(gate, up), w(p + "ffn_down.weight"), T, c.d_ff, C);
        for (std::size_t n = 0; n < x.size(); ++n) x[n] += f[n];
    }
    const auto out = ref::rmsnorm(x, w("output_norm.weight"), T, C, c.norm_eps);
    return ref::matmul(out, w(c.tie_embeddings ? "token_embd.weight" : "output.weight"), T, C, c.vocab_size);
}

inline std::vector<double> oracle_forward(const transformer& model, const std::vector<std::int32_t>& tokens,
                                          const oracle_variant& variant) {
    return oracle_forward(model, tokens, std::vector<oracle_variant>{variant});
}

}  // namespace stretch::test
