// A tiny float64 Llama-shaped model for variant and KV-cache tests: L_train 16, head_dim 8, GQA
// (2 query heads on 1 K/V head), two layers (or two GAU layers), weights large enough that attention is far from
// uniform (so a wrong score moves the logits), and a fixed random token sequence.
#pragma once

#include <string>
#include <vector>

#include "core/rng.h"
#include "model/transformer.h"

namespace stretch::test {

constexpr std::int64_t tiny_train_len = 16;

inline model_config tiny_config(cpu::rope_pairing pairing = cpu::rope_pairing::interleaved) {
    model_config c;
    c.vocab_size = 13;
    c.d_model = 16;
    c.n_layer = 2;
    c.n_head = 2;
    c.n_head_kv = 1;
    c.d_ff = 24;
    c.n_ctx_train = tiny_train_len;
    c.rope_base = 100.0;  // head_dim 8: periods from 6 to ~200 tokens, all of them turn within 64
    c.tie_embeddings = false;
    c.rope_pairing = pairing;
    return c;
}

// The same width as a GAU stack (methods.md D4): two GAU layers, e = 32, s = 8 (four value heads).
inline model_config tiny_gau_config() {
    model_config c = tiny_config();
    c.block = "gau";
    c.n_layer = 1;
    c.gau_key_dim = 8;
    return c;
}

inline transformer tiny_model(const model_config& config, dtype type = dtype::f64) {
    transformer model(config, type);
    rng generator(11);
    for (const auto& [name, p] : model.parameters()) {
        const bool norm = name.find("norm") != std::string::npos;
        for (std::int64_t i = 0; i < p->value.numel(); ++i) {
            const double x = norm ? 1.0 + 0.2 * generator.normal() : 0.6 * generator.normal();
            if (type == dtype::f64)
                p->value.data<double>()[i] = x;
            else
                p->value.data<float>()[i] = float(x);
        }
    }
    return model;
}

inline transformer tiny_model(cpu::rope_pairing pairing = cpu::rope_pairing::interleaved, dtype type = dtype::f64) {
    return tiny_model(tiny_config(pairing), type);
}

inline std::vector<std::int32_t> tiny_tokens(std::int64_t n) {
    std::vector<std::int32_t> t(static_cast<std::size_t>(n));
    rng generator(5);
    for (auto& x : t) x = static_cast<std::int32_t>(generator.below(13));
    return t;
}

// max |a - b| / max |b|
inline double scaled_error(const std::vector<double>& a, const std::vector<double>& b) {
    double err = 0, scale = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        err = std::max(err, std::abs(a[i] - b[i]));
        scale = std::max(scale, std::abs(b[i]));
    }
    return err / scale;
}

}  // namespace stretch::test
