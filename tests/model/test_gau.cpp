// GAU models (model/gau_block.h; methods.md D4, D6): the forward against a naive float64 evaluation
// of D4's formula (softmax and relu^2 / n) and of D6's mixed-chunk masked sums, written here score
// by score over kernels/ref; D4/D6's invariants (A = I gives the GLU FFN, causality, n <= c is
// FLASH-Quad); float64 finite-difference checks of whole tiny GAU models (pre-norm, post-norm,
// DeepNorm, FLASH, position variants); f32 against f64; GGUF round trip; one-line errors.
#include "model/gau_block.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/rng.h"
#include "io/gguf.h"
#include "kernels/ref/ref.h"
#include "model/gguf_model.h"
#include "model/load.h"
#include "model/transformer.h"
#include "support/gradcheck.h"

namespace stretch {
namespace {

// d_model 8, one block = two GAU layers, e = 16, s = 4: four value heads share each score.
model_config gau_config(const std::string& pos = "default", std::int64_t flash_chunk = 0) {
    model_config c;
    c.vocab_size = 11;
    c.d_model = 8;
    c.n_layer = 1;
    c.n_ctx_train = 6;
    c.rope_base = 100.0;  // every frequency of s = 4 turns noticeably over a few positions
    c.tie_embeddings = false;
    c.block = "gau";
    c.gau_expansion = 2;
    c.gau_key_dim = 4;
    c.flash_chunk = flash_chunk;
    c.pos = pos;
    return c;
}

// Large enough weights that attention is far from uniform and relu^2 scores are far from 0; gains
// (norms, gamma) near 1, betas non-zero so that the offsets are exercised.
void init_large(transformer& model, std::uint64_t seed = 7) {
    rng generator(seed);
    for (const auto& [name, p] : model.parameters()) {
        const bool gain = p->value.rank() == 1 && name.ends_with(".weight");
        double* x = p->value.data<double>();
        for (std::int64_t i = 0; i < p->value.numel(); ++i)
            x[i] = double(float(gain ? 1.0 + 0.3 * generator.normal() : 0.6 * generator.normal()));
    }
}

std::vector<double> weights(const transformer& model, const std::string& name) {
    for (const auto& [n, p] : model.parameters())
        if (n == name) return std::vector<double>(p->value.data<double>(), p->value.data<double>() + p->value.numel());
    ADD_FAILURE() << "no parameter " << name;
    return {};
}

std::vector<double> logits_of(const transformer& model, const std::vector<std::int32_t>& tokens, std::int64_t batch,
                              const std::string& pos = "") {
    ag::context ctx;
    const std::int64_t time = std::int64_t(tokens.size()) / batch;
    const tensor y = pos.empty() ? model.forward(ctx, tokens, batch, time)->value
                                 : model.forward(ctx, tokens, batch, time,
                                                 model.positions(variants::parse_spec(pos, "test"), time, "test"))
                                       ->value;
    const tensor wide = y.to(dtype::f64);
    return std::vector<double>(wide.data<double>(), wide.data<double>() + wide.numel());
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
    EXPECT_EQ(a.size(), b.size());
    double worst = 0;
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]));
    return worst;
}

// How the oracle attends: A_ij of D4 (softmax, or relu(S)^2 / n_i), or D6's mixed chunks.
struct oracle_attention {
    enum class kind { softmax, relu2, flash } type = kind::softmax;
    std::function<double(std::int64_t i)> n = [](std::int64_t i) { return double(i + 1); };  // relu2's n_i
    std::int64_t chunk = 0;                                                                  // flash's c
};

// Logits [T, V] of one sequence, from methods.md D4/D6 with plain RoPE at absolute positions
// (ref::rope rotates every row by its own angle), pre- or post-norm residuals.
std::vector<double> oracle_forward(const transformer& model, const std::vector<std::int32_t>& tokens,
                                   const oracle_attention& attention) {
    const model_config& c = model.config();
    const std::int64_t T = std::int64_t(tokens.size()), C = c.d_model, e = c.gau_value_dim(), s = c.gau_key_dim;
    const auto w = [&](const std::string& name) { return weights(model, name); };
    std::vector<double> positions(static_cast<std::size_t>(T));
    for (std::int64_t t = 0; t < T; ++t) positions[std::size_t(t)] = double(t);
    const auto pairing = c.rope_pairing == cpu::rope_pairing::interleaved ? ref::rope_pairing::interleaved
                                                                           : ref::rope_pairing::half;
    const auto rotated = [&](const std::vector<double>& x) { return ref::rope(x, 1, T, 1, s, s, positions, c.rope_base, pairing); };
    const auto dot = [&](const std::vector<double>& a, std::int64_t i, const std::vector<double>& b, std::int64_t j) {
        double sum = 0;
        for (std::int64_t d = 0; d < s; ++d) sum += a[std::size_t(i * s + d)] * b[std::size_t(j * s + d)];
        return sum;
    };
    const bool pre = c.norm_position == "pre";
    const double alpha = c.residual_alpha();
    std::vector<double> x = ref::embedding(w("token_embd.weight"), tokens, C);
    for (std::int64_t il = 0; il < 2 * c.n_layer; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        const auto h = pre ? ref::rmsnorm(x, w(p + "gau_norm.weight"), T, C, c.norm_eps) : x;
        const auto uvz = ref::matmul(h, w(p + "gau_in.weight"), T, C, 2 * e + s);
        std::vector<double> u(std::size_t(T * e)), v(std::size_t(T * e)), z(std::size_t(T * s));
        for (std::int64_t t = 0; t < T; ++t) {
            for (std::int64_t d = 0; d < e; ++d) {
                u[std::size_t(t * e + d)] = ref::silu(uvz[std::size_t(t * (2 * e + s) + d)]);
                v[std::size_t(t * e + d)] = ref::silu(uvz[std::size_t(t * (2 * e + s) + e + d)]);
            }
            for (std::int64_t d = 0; d < s; ++d) z[std::size_t(t * s + d)] = ref::silu(uvz[std::size_t(t * (2 * e + s) + 2 * e + d)]);
        }
        const auto affine = [&](const std::string& name) {  // gamma ⊙ Z + beta, then RoPE
            const auto gamma = w(p + name + ".weight"), beta = w(p + name + ".bias");
            std::vector<double> y(z.size());
            for (std::size_t n = 0; n < z.size(); ++n) y[n] = gamma[n % std::size_t(s)] * z[n] + beta[n % std::size_t(s)];
            return rotated(y);
        };
        const auto q = affine("gau_q"), k = affine("gau_k");
        const bool flash = attention.type == oracle_attention::kind::flash;
        const auto q_lin = flash ? affine("gau_q_lin") : std::vector<double>{};
        const auto k_lin = flash ? affine("gau_k_lin") : std::vector<double>{};
        std::vector<double> av(std::size_t(T * e), 0.0);
        for (std::int64_t i = 0; i < T; ++i) {
            std::vector<double> a(std::size_t(T), 0.0);  // A_ij of row i (0 for j > i)
            if (attention.type == oracle_attention::kind::softmax) {
                std::vector<double> scores(std::size_t(T), -INFINITY);
                for (std::int64_t j = 0; j <= i; ++j) scores[std::size_t(j)] = dot(q, i, k, j) / std::sqrt(double(s));
                a = ref::softmax(scores);
            } else if (attention.type == oracle_attention::kind::relu2) {
                for (std::int64_t j = 0; j <= i; ++j) {
                    const double r = std::max(0.0, dot(q, i, k, j) / std::sqrt(double(s)));
                    a[std::size_t(j)] = r * r / attention.n(i);
                }
            } else {  // D6: relu^2(Q^quad K^quad^T) / (c s) within the chunk, Q^lin K^lin^T / (g c) before it
                const std::int64_t cs = attention.chunk, g = i / cs;
                for (std::int64_t j = 0; j <= i; ++j) {
                    if (j / cs == g) {
                        const double r = std::max(0.0, dot(q, i, k, j));
                        a[std::size_t(j)] = r * r / double(cs * s);
                    } else {
                        a[std::size_t(j)] = dot(q_lin, i, k_lin, j) / double(g * cs);
                    }
                }
            }
            for (std::int64_t j = 0; j <= i; ++j)
                for (std::int64_t d = 0; d < e; ++d) av[std::size_t(i * e + d)] += a[std::size_t(j)] * v[std::size_t(j * e + d)];
        }
        for (std::size_t n = 0; n < av.size(); ++n) av[n] *= u[n];
        const auto f = ref::matmul(av, w(p + "gau_out.weight"), T, e, C);
        for (std::size_t n = 0; n < x.size(); ++n) x[n] = alpha * x[n] + f[n];
        if (!pre) x = ref::rmsnorm(x, w(p + "gau_norm.weight"), T, C, c.norm_eps);
    }
    if (pre) x = ref::rmsnorm(x, w("output_norm.weight"), T, C, c.norm_eps);
    return ref::matmul(x, w(c.tie_embeddings ? "token_embd.weight" : "output.weight"), T, C, c.vocab_size);
}

const std::vector<std::int32_t> sequence{1, 4, 7, 2, 9, 3, 3, 10, 0, 5, 8};  // 11 tokens: chunks of 3 end partial

// f64 on both sides, different summation orders (BLAS, the kernel's row passes): ~1e-15 relative on
// O(1..10) logits. 1e-11 is far below any wrong term (a missing 1/n or a key one position off moves
// logits by > 1e-3 with these weights).
constexpr double oracle_tol = 1e-11;

TEST(GauForward, Relu2EqualsTheFormulaForEveryDivisor) {
    for (const auto& [spec, n] : std::vector<std::pair<std::string, std::function<double(std::int64_t)>>>{
             {"relu2:n_def=seq", [](std::int64_t) { return 11.0; }},
             {"relu2:n_def=fixed", [](std::int64_t) { return 6.0; }},
             {"relu2:n_def=visible", [](std::int64_t i) { return double(i + 1); }}}) {
        transformer model(gau_config(spec), dtype::f64);
        init_large(model);
        const auto want = oracle_forward(model, sequence, {oracle_attention::kind::relu2, n});
        EXPECT_LT(max_abs_diff(logits_of(model, sequence, 1), want), oracle_tol) << spec;
    }
}

TEST(GauForward, SoftmaxEqualsTheFormulaPreAndPostNorm) {
    for (const std::string position : {"pre", "post"}) {
        model_config c = gau_config();
        c.norm_position = position;
        c.deepnorm = position == "post";
        transformer model(c, dtype::f64);
        init_large(model);
        EXPECT_LT(max_abs_diff(logits_of(model, sequence, 1), oracle_forward(model, sequence, {})), oracle_tol) << position;
    }
}

TEST(GauForward, FlashEqualsTheMaskedSumsOfD6) {
    for (const std::int64_t chunk : {3, 4, 11, 16}) {  // partial last chunk, an even split, one chunk, n < c
        transformer model(gau_config("default", chunk), dtype::f64);
        init_large(model);
        const auto want = oracle_forward(model, sequence, {oracle_attention::kind::flash, {}, chunk});
        EXPECT_LT(max_abs_diff(logits_of(model, sequence, 1), want), oracle_tol) << "chunk " << chunk;
    }
}

TEST(GauForward, BatchedSequencesEqualEachAlone) {
    // Rows of different sequences never mix: FLASH's chunk gathering and running sums are per sequence.
    transformer model(gau_config("default", 3), dtype::f64);
    init_large(model);
    std::vector<std::int32_t> two(sequence.begin(), sequence.begin() + 10);
    const auto both = logits_of(model, two, 2);
    const auto first = logits_of(model, std::vector<std::int32_t>(two.begin(), two.begin() + 5), 1);
    const auto second = logits_of(model, std::vector<std::int32_t>(two.begin() + 5, two.end()), 1);
    std::vector<double> each = first;
    each.insert(each.end(), second.begin(), second.end());
    EXPECT_LT(max_abs_diff(both, each), oracle_tol);
}

TEST(GauInvariant, AttentionIdentityIsTheGluFfn) {
    // methods.md D4: A = I gives O = (U ⊙ V) W_o. A window of one key makes softmax's A the identity.
    transformer model(gau_config("window:w=1"), dtype::f64);
    init_large(model);
    const model_config& c = model.config();
    const std::int64_t T = std::int64_t(sequence.size()), C = c.d_model, e = c.gau_value_dim(), s = c.gau_key_dim;
    std::vector<double> x = ref::embedding(weights(model, "token_embd.weight"), sequence, C);
    for (std::int64_t il = 0; il < 2; ++il) {
        const std::string p = "blk." + std::to_string(il) + ".";
        const auto h = ref::rmsnorm(x, weights(model, p + "gau_norm.weight"), T, C, c.norm_eps);
        const auto uvz = ref::matmul(h, weights(model, p + "gau_in.weight"), T, C, 2 * e + s);
        std::vector<double> glu(std::size_t(T * e));
        for (std::int64_t t = 0; t < T; ++t)
            for (std::int64_t d = 0; d < e; ++d)
                glu[std::size_t(t * e + d)] = ref::silu(uvz[std::size_t(t * (2 * e + s) + d)]) *
                                              ref::silu(uvz[std::size_t(t * (2 * e + s) + e + d)]);
        const auto f = ref::matmul(glu, weights(model, p + "gau_out.weight"), T, e, C);
        for (std::size_t n = 0; n < x.size(); ++n) x[n] += f[n];
    }
    x = ref::rmsnorm(x, weights(model, "output_norm.weight"), T, C, c.norm_eps);
    const auto want = ref::matmul(x, weights(model, "output.weight"), T, C, c.vocab_size);
    EXPECT_LT(max_abs_diff(logits_of(model, sequence, 1), want), oracle_tol);
}

TEST(GauInvariant, FlashWithinOneChunkIsFlashQuad) {
    // methods.md D6: n <= c leaves only the quadratic part, relu^2 / (c s): the plain GAU with the
    // same quadratic maps and relu2 with n fixed at c (L_train = c).
    model_config flash = gau_config("default", 8);
    transformer mixed(flash, dtype::f64);
    init_large(mixed);
    model_config quad = gau_config("relu2:n_def=fixed");
    quad.n_ctx_train = 8;
    transformer plain(quad, dtype::f64);
    for (const auto& [name, p] : plain.parameters()) {
        const auto from = weights(mixed, name);
        std::copy(from.begin(), from.end(), p->value.data<double>());
    }
    const std::vector<std::int32_t> short_text(sequence.begin(), sequence.begin() + 8);
    EXPECT_LT(max_abs_diff(logits_of(mixed, short_text, 1), logits_of(plain, short_text, 1)), oracle_tol);
}

TEST(GauInvariant, OutputsDoNotSeeLaterTokens) {
    // Causality by perturbation (D4, D6): changing token t changes no logits of rows < t.
    for (const std::int64_t chunk : {0, 3}) {
        transformer model(gau_config("default", chunk), dtype::f64);
        init_large(model);
        const auto base = logits_of(model, sequence, 1);
        for (std::size_t t = 1; t < sequence.size(); ++t) {
            std::vector<std::int32_t> changed = sequence;
            changed[t] = (changed[t] + 1) % 11;
            const auto after = logits_of(model, changed, 1);
            const std::size_t before_t = t * 11;
            EXPECT_EQ(std::vector<double>(after.begin(), after.begin() + std::ptrdiff_t(before_t)),
                      std::vector<double>(base.begin(), base.begin() + std::ptrdiff_t(before_t)))
                << "chunk " << chunk << ", token " << t;
            EXPECT_NE(after[before_t], base[before_t]) << "row t itself must change";
        }
    }
}

// The tape's float64 gradient of the training loss against central differences for every parameter
// entry. Same budget as the Transformer's checks (tests/model/test_transformer.cpp): FD rounding
// ~1e-9 absolute on an O(1) loss over the 1e-2 floor, O(h^2) truncation; 1e-6 is far below any
// wrong term.
void check_gradients(model_config c) {
    c.gau_expansion = 1;  // e = 8: two value heads, half the parameters to perturb
    c.tie_embeddings = true;
    transformer model(c, dtype::f64);
    init_large(model);
    const std::vector<std::int32_t> inputs{1, 4, 7, 2, 9, 3, 3, 10, 0, 5};  // [2, 5]
    const std::vector<std::int32_t> targets{4, 7, 2, 9, 6, 3, 10, 0, 5, 8};
    ag::tape tape;
    ag::context ctx{&tape};
    tape.backward(ag::cross_entropy(ctx, model.forward(ctx, inputs, 2, 5), targets, "loss"));
    std::vector<ag::var> params;
    for (const auto& [name, p] : model.parameters()) params.push_back(p);
    const auto loss = [&] {
        ag::context inference;
        return ag::cross_entropy(inference, model.forward(inference, inputs, 2, 5), targets, "loss")->value.data<double>()[0];
    };
    const auto report = test::check_gradients(loss, params);
    EXPECT_LT(report.max_relative_error, 1e-6) << c.pos << ", flash " << c.flash_chunk << ": " << report.worst;
    EXPECT_EQ(report.n_checked, c.n_parameters());
}

TEST(GauGradients, SoftmaxAndRelu2MatchFiniteDifferences) {
    check_gradients(gau_config());
    check_gradients(gau_config("relu2"));
}

TEST(GauGradients, PostNormAndDeepNormMatchFiniteDifferences) {
    for (const bool deepnorm : {false, true}) {
        model_config c = gau_config("relu2");
        c.norm_position = "post";
        c.deepnorm = deepnorm;
        check_gradients(c);
    }
}

TEST(GauGradients, FlashMatchesFiniteDifferences) {
    check_gradients(gau_config("default", 2));  // chunks {0,1} {2,3} {4}: quadratic, linear, partial chunk
    model_config post = gau_config("default", 3);
    post.norm_position = "post";
    post.deepnorm = true;
    check_gradients(post);
}

TEST(GauGradients, PositionVariantsMatchFiniteDifferences) {
    // Masks and trained log n, ALiBi's slope on the shared head, two scores, KeyNorm, HWFA's layers.
    for (const std::string pos : {"window:w=3+logn:mode=trained,n_min=2,base_len=5", "alibi",
                                  "leaky_rerope:window=2,k=3", "keynorm", "hwfa:window=2"})
        check_gradients(gau_config(pos));
}

TEST(GauForward, F32MatchesF64) {
    transformer wide(gau_config("default", 3), dtype::f64);
    init_large(wide);
    transformer narrow(wide.config(), dtype::f32);
    for (std::size_t i = 0; i < wide.parameters().size(); ++i)
        narrow.parameters()[i].second->value = wide.parameters()[i].second->value.to(dtype::f32);
    const auto l64 = logits_of(wide, sequence, 1), l32 = logits_of(narrow, sequence, 1);
    double scale = 0;
    for (const double v : l64) scale = std::max(scale, std::abs(v));
    // f32 rounding (6e-8) through two layers of O(1) weights and sums of <= 36 terms: a few 1e-6 of
    // the logits' scale; 1e-5 leaves a margin and catches any difference of path.
    EXPECT_LT(max_abs_diff(l32, l64), 1e-5 * std::max(1.0, scale));
}

TEST(GauInit, GainsAreOneAndBiasesZero) {
    // methods.md D4: gamma 1, beta 0, so Q = K = Z at initialisation.
    transformer model(gau_config("default", 4));
    rng generator(3);
    model.init(generator);
    for (const auto& [name, p] : model.parameters()) {
        if (p->value.rank() != 1) continue;
        const double want = name.ends_with(".bias") ? 0.0 : 1.0;
        for (std::int64_t i = 0; i < p->value.numel(); ++i) EXPECT_EQ(p->value.data<float>()[i], want) << name;
    }
}

TEST(GauModel, SavedAndLoadedThroughGgufGivesTheSameLogits) {
    model_config c = gau_config("ntk:factor=2", 4);
    transformer model(c);
    rng generator(5);
    model.init(generator);
    const std::string path = (std::filesystem::temp_directory_path() / "stretch-gau-roundtrip.gguf").string();
    gguf::writer out;
    write_model_metadata(out, c);
    write_model_weights(out, model);
    out.write(path);
    const auto loaded = load_any_model(path).model;
    EXPECT_EQ(loaded->config().block, "gau");
    EXPECT_EQ(loaded->config().gau_key_dim, 4);
    EXPECT_EQ(loaded->config().flash_chunk, 4);
    EXPECT_EQ(loaded->config().pos, "ntk:factor=2");
    EXPECT_EQ(logits_of(*loaded, sequence, 1), logits_of(model, sequence, 1));  // f32 weights copied exactly
    std::filesystem::remove(path);
}

TEST(GauErrors, OneLineErrorsNameTheKey) {
    const auto message = [](const std::function<void()>& f) {
        try {
            f();
        } catch (const error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    model_config c = gau_config();
    c.gau_key_dim = 6;
    EXPECT_EQ(message([&] { c.validate("cfg"); }),
              "cfg: gau_expansion * d_model = 16 is not divisible by gau_key_dim = 6 (GAU value heads are s wide)");
    c = gau_config();
    c.block = "ffn";
    EXPECT_EQ(message([&] { c.validate("cfg"); }), "cfg: block = 'ffn', expected transformer or gau");
    c = gau_config();
    c.block = "transformer";
    c.n_head = c.n_head_kv = 2;
    c.flash_chunk = 4;
    EXPECT_EQ(message([&] { c.validate("cfg"); }),
              "cfg: flash_chunk = 4 needs block = gau (FLASH is a GAU stack, methods.md D6)");
    EXPECT_EQ(message([&] { transformer(gau_config("rope_qk_bias")); }),
              "model config: pos = 'rope_qk_bias' adds q/k biases; a GAU layer's beta_q, beta_k are such biases "
              "already (methods.md D4)");
    EXPECT_EQ(message([&] { transformer(gau_config("alibi", 4)); }),
              "pos = 'alibi': FLASH (flash_chunk = 4) attends with relu^2 / (c s) in causal chunks and takes only "
              "rotations from the position variant (methods.md D6); expected one without masks, scales, biases, two "
              "scores or normaliser modifiers");
    const transformer flash(gau_config("default", 4));
    kv_cache cache(flash.config(), 8);
    ag::context ctx;
    EXPECT_EQ(message([&] { flash.forward(ctx, std::vector<std::int32_t>{1, 2}, 1, 2,
                                          flash.positions(variants::parse_spec("default", "t"), 2, "t"), &cache); }),
              "flash_chunk = 4: decoding with a KV cache is not built for FLASH models; expected a full forward (eval, ppl)");
}

}  // namespace
}  // namespace stretch
