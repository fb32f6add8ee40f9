// KV-cache decoding for every variant (methods.md U2, U3): feeding a sequence through the cache one
// token at a time, or in chunks, gives the logits of recomputing the whole sequence — below and far
// beyond the windows and the training length. `dynamic` in hf mode is the documented exception: past
// L_train, cached keys keep the rotation of the step that wrote them, as in Hugging Face.
#include "model/kv_cache.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "support/tiny_model.h"
#include "variants/oracle.h"

namespace stretch {
namespace {

constexpr std::int64_t test_len = 64;  // 4x L_train, 10x the smallest window below

std::vector<double> values(const tensor& t) {
    std::vector<double> out(static_cast<std::size_t>(t.numel()));
    for (std::int64_t i = 0; i < t.numel(); ++i)
        out[std::size_t(i)] = t.type() == dtype::f64 ? t.data<double>()[i] : double(t.data<float>()[i]);
    return out;
}

std::vector<double> recomputed(const transformer& model, const std::vector<std::int32_t>& tokens,
                               const layer_positions& setup) {
    ag::context ctx;
    return values(model.forward(ctx, tokens, 1, std::int64_t(tokens.size()), setup)->value);
}

// Row t of the result: the last row of recomputing tokens[0..t] from scratch (U2: decoding token t
// equals a full recomputation over the same tokens; for length-dependent frequencies such as
// longrope's by_length switch this is a different computation from row t of the 64-token pass).
std::vector<double> recomputed_prefixes(const transformer& model, const std::vector<std::int32_t>& tokens,
                                        const layer_positions& setup) {
    std::vector<double> out;
    const auto vocab = std::size_t(model.config().vocab_size);
    for (std::size_t t = 1; t <= tokens.size(); ++t) {
        const auto rows = recomputed(model, std::vector<std::int32_t>(tokens.begin(), tokens.begin() + std::ptrdiff_t(t)), setup);
        out.insert(out.end(), rows.end() - std::ptrdiff_t(vocab), rows.end());
    }
    return out;
}

// Prefill `first` tokens, then chunks of `chunk` tokens; the logits of every step, concatenated.
std::vector<double> decoded(const transformer& model, const std::vector<std::int32_t>& tokens,
                            const layer_positions& setup, std::int64_t first, std::int64_t chunk,
                            const kv_cache_types& types = {}) {
    kv_cache cache(model.config(), std::int64_t(tokens.size()), model.type(), types);
    std::vector<double> out;
    for (std::int64_t at = 0; at < std::int64_t(tokens.size());) {
        const std::int64_t n = std::min<std::int64_t>(at == 0 ? first : chunk, std::int64_t(tokens.size()) - at);
        ag::context ctx;
        const auto step = values(model.forward(ctx, std::span(tokens).subspan(std::size_t(at), std::size_t(n)), 1, n,
                                               setup, &cache)->value);
        out.insert(out.end(), step.begin(), step.end());
        at += n;
    }
    EXPECT_EQ(cache.size(), std::int64_t(tokens.size()));
    return out;
}

layer_positions setup_of(const transformer& model, const std::string& spec, std::int64_t target) {
    return model.positions(variants::parse_spec(spec, "test"), target, "test");
}

class DecodeEqualsRecompute : public testing::TestWithParam<std::string> {};

// f64: the cached and recomputed paths differ in GEMM shapes (1 x T_k against T x T_k) and, for
// unrotated caches, in nothing else; summation order moves results by ~1e-15 relative. 1e-11 is far
// below any wrong position (a key rotated one step off moves logits by O(1e-2)).
TEST_P(DecodeEqualsRecompute, TokenByTokenAndChunked) {
    const transformer model = test::tiny_model();
    const auto tokens = test::tiny_tokens(test_len);
    const auto setup = setup_of(model, GetParam(), test_len);
    EXPECT_LT(test::scaled_error(decoded(model, tokens, setup, 1, 1), recomputed_prefixes(model, tokens, setup)), 1e-11)
        << "one token at a time";
    // Chunks: every row of a chunk sees the context length at the chunk's end, as one recomputation
    // of the whole sequence does when the frequencies do not depend on the length.
    if (GetParam().starts_with("longrope")) return;
    const auto want = recomputed(model, tokens, setup);
    EXPECT_LT(test::scaled_error(decoded(model, tokens, setup, 7, 5), want), 1e-11) << "prefill 7, chunks of 5";
    EXPECT_LT(test::scaled_error(decoded(model, tokens, setup, 40, 1), want), 1e-11) << "prefill 40, then tokens";
}

INSTANTIATE_TEST_SUITE_P(EveryVariant, DecodeEqualsRecompute,
                         testing::Values("default", "linear", "ntk", "dynamic:mode=request", "ntk_mixed", "yarn",
                                         "llama3", "longrope:short_factor=1;1.5;2;3,long_factor=1;2;4;8",
                                         "rerope:window=5", "leaky_rerope:window=5,k=3",
                                         "self_extend:group_size=3,neighbor_window=4", "window:w=6", "logn",
                                         "super_baseline", "sinks:n_sink=2,window=6",
                                         "sinks:n_sink=2,window=6,position_mode=original", "rerope:window=5+logn",
                                         "yarn+logn+window:w=20", "alibi", "sinusoidal", "learned:max_positions=64",
                                         "keynorm", "relu2:n_def=fixed", "relu2:n_def=visible+window:w=9", "hwfa:window=6",
                                         "hwfa:window=5,n_full=2,placement=middle,full_pe=rope",
                                         "dca:chunk_size=12,local_size=3", "dca:chunk_size=10,local_size=6",
                                         "string:shift=6,local_window=2", "attn_temp:beta=0.3,floor_len=10,offset=1",
                                         "chunked:chunk=10", "string:shift=6,local_window=2+chunked:chunk=20+mistral3_temp",
                                         "p_rope:p=0.5", "pose:target=128"),
                         [](const testing::TestParamInfo<std::string>& info) {
                             std::string name;
                             for (char ch : info.param) name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                             return name;
                         });

// A model trained with learned sinks keeps them whatever spec a run uses: each row's denominator
// holds the sink once, at every step of a decode and in every chunk, as in one recomputation
// (f64, the tolerance above).
TEST(DecodeLearnedSinks, EqualsRecomputeUnderRunSpecsOfEveryKind) {
    model_config c = test::tiny_config();
    c.pos = "learned_sinks";
    const transformer model = test::tiny_model(c);
    const auto tokens = test::tiny_tokens(test_len);
    for (const std::string spec : {"default", "window:w=6", "yarn+logn", "rerope:window=5", "learned_sinks"}) {
        SCOPED_TRACE(spec);
        const auto setup = setup_of(model, spec, test_len);
        EXPECT_LT(test::scaled_error(decoded(model, tokens, setup, 1, 1), recomputed_prefixes(model, tokens, setup)),
                  1e-11);
        EXPECT_LT(test::scaled_error(decoded(model, tokens, setup, 7, 5), recomputed(model, tokens, setup)), 1e-11);
    }
}

// GAU layers (methods.md D4) cache s-wide keys and e-wide values; every variant that changes the
// attention reaches them through the same rules, with the same tolerance as above.
class GauDecodeEqualsRecompute : public testing::TestWithParam<std::string> {};

TEST_P(GauDecodeEqualsRecompute, TokenByTokenAndChunked) {
    const transformer model = test::tiny_model(test::tiny_gau_config());
    const auto tokens = test::tiny_tokens(test_len);
    const auto setup = setup_of(model, GetParam(), test_len);
    EXPECT_LT(test::scaled_error(decoded(model, tokens, setup, 1, 1), recomputed_prefixes(model, tokens, setup)), 1e-11);
    EXPECT_LT(test::scaled_error(decoded(model, tokens, setup, 7, 5), recomputed(model, tokens, setup)), 1e-11);
}

INSTANTIATE_TEST_SUITE_P(GauVariants, GauDecodeEqualsRecompute,
                         testing::Values("default", "yarn", "rerope:window=5", "sinks:n_sink=2,window=6",
                                         "window:w=6+logn", "alibi", "keynorm", "relu2:n_def=fixed", "hwfa:window=6",
                                         "dca:chunk_size=12,local_size=3", "chunked:chunk=10+attn_temp:floor_len=7"),
                         [](const testing::TestParamInfo<std::string>& info) {
                             std::string name;
                             for (char ch : info.param) name += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
                             return name;
                         });

TEST(DecodeDynamic, HfModeEqualsRecomputeUpToTheTrainingLength) {
    const transformer model = test::tiny_model();
    const auto tokens = test::tiny_tokens(test::tiny_train_len);
    const auto setup = setup_of(model, "dynamic:factor=4", test_len);
    EXPECT_LT(test::scaled_error(decoded(model, tokens, setup, 1, 1), recomputed(model, tokens, setup)), 1e-11);
}

TEST(DecodeDynamic, HfModeKeepsTheRotationCachedKeysWereWrittenWith) {
    // Token by token, key j is rotated with base'(j + 1) when it is written and query i with
    // base'(i + 1): the relative angle of pair t is i theta_t(i + 1) - j theta_t(j + 1) (HF's
    // dynamic_rope_update with a cache; transformers #25104). Recomputing instead rotates every key
    // with base'(L), which differs past L_train.
    const transformer model = test::tiny_model();
    const auto tokens = test::tiny_tokens(test_len);
    const auto setup = setup_of(model, "dynamic:factor=4", test_len);
    std::vector<std::vector<double>> theta;  // theta[L][t]
    for (std::int64_t length = 0; length <= test_len; ++length) theta.push_back(setup.global().frequencies(length).inv_freq);
    test::oracle_variant hf;
    hf.angle = [&](std::int64_t i, std::int64_t j, std::int64_t t) {
        return double(i) * theta[std::size_t(i + 1)][std::size_t(t)] - double(j) * theta[std::size_t(j + 1)][std::size_t(t)];
    };
    const auto cached = decoded(model, tokens, setup, 1, 1);
    EXPECT_LT(test::scaled_error(cached, test::oracle_forward(model, tokens, hf)), 1e-10);
    EXPECT_GT(test::scaled_error(cached, recomputed(model, tokens, setup)), 1e-3);  // the documented difference
}

TEST(DecodeF32, UnrotatedAndRotatedCachesMatchRecompute) {
    // f32: BLAS accumulates 1 x T_k and T x T_k products in different orders; with O(1) logits the
    // difference is a few f32 ulps amplified through two layers, measured ~1e-6. 1e-4 leaves margin.
    const transformer model = test::tiny_model(cpu::rope_pairing::half, dtype::f32);
    const auto tokens = test::tiny_tokens(test_len);
    for (const char* spec : {"rerope:window=5+logn", "yarn"}) {
        const auto setup = setup_of(model, spec, test_len);
        EXPECT_LT(test::scaled_error(decoded(model, tokens, setup, 1, 1), recomputed(model, tokens, setup)), 1e-4) << spec;
    }
}

TEST(DecodeLastOnly, LastRowLogitsEqualTheFullPass) {
    // The LM head on the last row alone (generation's prefill) against row T-1 of the full pass:
    // only the GEMM shape differs, f64 rounding ~1e-15 relative.
    const transformer model = test::tiny_model();
    const auto tokens = test::tiny_tokens(test_len);
    const auto setup = setup_of(model, "rerope:window=5", test_len);
    const auto all = recomputed(model, tokens, setup);
    kv_cache cache(model.config(), test_len, model.type());
    ag::context ctx;
    const auto last = values(model.forward(ctx, tokens, 1, test_len, setup, &cache, true)->value);
    const std::size_t vocab = std::size_t(model.config().vocab_size);
    ASSERT_EQ(last.size(), vocab);
    EXPECT_LT(test::scaled_error(last, std::vector<double>(all.end() - std::ptrdiff_t(vocab), all.end())), 1e-12);
}

TEST(KvCache, RejectsMoreTokensThanItsCapacity) {
    const transformer model = test::tiny_model();
    kv_cache cache(model.config(), 4, dtype::f64);
    const auto tokens = test::tiny_tokens(5);
    ag::context ctx;
    const auto setup = setup_of(model, "default", 5);
    try {
        model.forward(ctx, tokens, 1, 5, setup, &cache);
        FAIL() << "no error";
    } catch (const error& e) {
        EXPECT_STREQ(e.what(), "kv cache: 5 tokens would exceed its capacity of 4; expected at most 4 new tokens");
    }
}

// ---- storage types (--cache-type-k / --cache-type-v) ----

// The tiny model with heads of 32 values (one q8_0 / q4_0 block), in f32 as the stored types need,
// trained (for the variants that need training: its tables and biases exist) with `pos`.
transformer head32_model(const std::string& pos = "default") {
    model_config c = test::tiny_config();
    c.d_model = 64;
    c.n_head = 2;
    c.n_head_kv = 1;
    c.d_ff = 48;
    c.pos = pos;
    transformer model(c, dtype::f32);
    rng generator(11);
    for (const auto& [name, p] : model.parameters()) {
        const bool norm = name.find("norm") != std::string::npos;
        const double std = 1.0 / std::sqrt(double(p->value.dim(-1)));
        for (std::int64_t i = 0; i < p->value.numel(); ++i)
            p->value.data<float>()[i] = float(norm ? 1.0 + 0.2 * generator.normal() : std * generator.normal());
    }
    return model;
}

// A format's rounding error as the logits see it: the RMS error of storing and loading rows of 32
// Gaussian values (what a Hadamard-rotated head looks like), relative to their RMS: f16 ~2e-4,
// bf16 ~1.7e-3, q8_0 ~5.4e-3 (steps of a block's max / 127), q4_0 ~8.6e-2 (max / 8).
double format_epsilon(cpu::kv_type type) {
    constexpr std::int64_t n = 32 * 1000;
    std::vector<float> x(std::size_t(n), 0.0f), back(x.size());
    rng generator(3);
    for (float& v : x) v = float(generator.normal());
    std::vector<std::byte> bytes(cpu::kv_row_bytes(type, n));
    cpu::kv_store_row(type, x.data(), n, bytes.data());
    cpu::kv_load_row(type, bytes.data(), n, back.data());
    double error = 0, norm = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        error += (double(back[i]) - x[i]) * (double(back[i]) - x[i]);
        norm += double(x[i]) * x[i];
    }
    return std::sqrt(error / norm);
}

// sqrt(mean (a - b)^2) / sqrt(mean b^2)
double rms_error(const std::vector<double>& a, const std::vector<double>& b) {
    double error = 0, norm = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        error += (a[i] - b[i]) * (a[i] - b[i]);
        norm += b[i] * b[i];
    }
    return std::sqrt(error / norm);
}

const cpu::kv_type stored_types[] = {cpu::kv_type::f16, cpu::kv_type::bf16, cpu::kv_type::q8_0, cpu::kv_type::q4_0};

// Every registered method (iterating the registry, as `stretch sweep` does) with every stored type
// of keys and values, decoded after a 5-token prefill past L_train, against the same decode with the
// f32 cache. Rounding every key and value with a relative RMS error e moves the logits by e times
// the network's gain, which the model's scale keeps near 1 (weights of std 1/sqrt(fan_in)):
// measured between 1.1 and 3.8 e over every method and type, relu^2 the highest (no softmax to
// saturate). 5 e bounds a correct cache; a misread block, scale or head, or a missing Hadamard
// un-rotation, is off by O(1), at least 10 e even for q4_0. The floor e / 4 checks that the values
// really were rounded as the type says.
TEST(KvCacheTypes, EveryMethodDecodesWithEveryTypeWithinTheFormatsRounding) {
    constexpr std::int64_t length = 24;  // 1.5 L_train; methods with a learned table stop at L_train
    int methods = 0;
    for (const auto* def : variants::all_variants()) {
        SCOPED_TRACE(def->name);
        const transformer model = head32_model(def->name);
        const std::int64_t n = def->learned_rows ? test::tiny_train_len : length;
        const auto tokens = test::tiny_tokens(n);
        const auto setup = setup_of(model, def->name, n);
        const auto want = decoded(model, tokens, setup, 5, 1);
        for (const cpu::kv_type type : stored_types) {
            const double err = rms_error(decoded(model, tokens, setup, 5, 1, {type, type}), want);
            EXPECT_LT(err, 5 * format_epsilon(type)) << cpu::kv_type_name(type);
            EXPECT_GT(err, format_epsilon(type) / 4) << cpu::kv_type_name(type);
        }
        ++methods;
    }
    EXPECT_GE(methods, 20);
}

TEST(KvCacheTypes, KeysAndValuesTakeTheirOwnTypes) {
    // q4_0 keys with f32 values and the reverse, q8_0 keys with bf16 values: each side's rotation
    // and rounding on its own, within the bound above for the sum of the two sides' errors.
    const transformer model = head32_model();
    const auto tokens = test::tiny_tokens(24);
    for (const char* spec : {"default", "rerope:window=5"}) {
        const auto setup = setup_of(model, spec, 24);
        const auto want = decoded(model, tokens, setup, 5, 1);
        for (const kv_cache_types types : {kv_cache_types{cpu::kv_type::q4_0, cpu::kv_type::f32},
                                           kv_cache_types{cpu::kv_type::f32, cpu::kv_type::q4_0},
                                           kv_cache_types{cpu::kv_type::q8_0, cpu::kv_type::bf16}}) {
            const double both = (types.k == cpu::kv_type::f32 ? 0 : format_epsilon(types.k)) +
                                (types.v == cpu::kv_type::f32 ? 0 : format_epsilon(types.v));
            const double err = rms_error(decoded(model, tokens, setup, 5, 1, types), want);
            EXPECT_LT(err, 5 * both) << spec;
            EXPECT_GT(err, both / 20) << spec;
        }
    }
}

TEST(KvCacheTypes, RefusesHeadsThatAreNotWholeBlocksAndGauLayers) {
    const auto error_of = [](const model_config& c, kv_cache_types types) {
        try {
            kv_cache cache(c, 4, dtype::f32, types);
        } catch (const error& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    EXPECT_EQ(error_of(test::tiny_config(), {cpu::kv_type::q8_0, cpu::kv_type::f32}),
              "--cache-type-k q8_0: the model's head dim 8 is not a multiple of q8_0's 32-value blocks (llama.cpp "
              "requires the same); expected f32, f16 or bf16 for this model");
    EXPECT_EQ(error_of(test::tiny_config(), {cpu::kv_type::f16, cpu::kv_type::q4_0}),
              "--cache-type-v q4_0: the model's head dim 8 is not a multiple of q4_0's 32-value blocks (llama.cpp "
              "requires the same); expected f32, f16 or bf16 for this model");
    EXPECT_EQ(error_of(test::tiny_config(), {cpu::kv_type::f16, cpu::kv_type::bf16}), "");
    EXPECT_EQ(error_of(test::tiny_gau_config(), {cpu::kv_type::f16, cpu::kv_type::f32}),
              "--cache-type-k f16: GAU layers (block = gau) read their cache as f32 tensors; expected f32 for this model");
}

TEST(KvCacheTypes, BytesPerTokenAreTheFormatsRowSizes) {
    // Two layers of one K/V head of 32 values: f32 128 bytes a row, f16 64, q8_0 34, q4_0 18.
    const model_config c = head32_model().config();
    EXPECT_EQ(cache_bytes_per_token(c, {}), 2 * (128 + 128));
    EXPECT_EQ(cache_bytes_per_token(c, {cpu::kv_type::f16, cpu::kv_type::bf16}), 2 * (64 + 64));
    EXPECT_EQ(cache_bytes_per_token(c, {cpu::kv_type::q8_0, cpu::kv_type::q4_0}), 2 * (34 + 18));
    EXPECT_EQ(cache_bytes_per_token(c, {}, dtype::f64), 2 * (256 + 256));
}

}  // namespace
}  // namespace stretch
