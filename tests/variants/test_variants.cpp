// Every registered variant through the model's fast path against the float64 oracle of methods.md
// eq. (0.2) (tests/variants/oracle.h), with rho, mask and c_i written here from methods.md, not taken
// from the variant files (U1); and the limiting-case identities of methods.md group B (U4).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "model/transformer.h"
#include "support/tiny_model.h"
#include "variants/oracle.h"
#include "variants/spec.h"

namespace stretch {
namespace {

using test::scaled_error;
using test::tiny_model;
constexpr std::int64_t train_len = test::tiny_train_len;
constexpr std::int64_t test_len = 64;  // 4x: far past the training length and every window below

std::vector<std::int32_t> tokens_of(std::int64_t n) { return test::tiny_tokens(n); }

layer_positions setup_of(const transformer& model, const std::string& spec, std::int64_t target = test_len) {
    return model.positions(variants::parse_spec(spec, "test"), target, "test");
}

std::vector<double> fast_logits(const transformer& model, const std::vector<std::int32_t>& tokens,
                                const layer_positions& setup) {
    ag::context ctx;
    const tensor y = model.forward(ctx, tokens, 1, std::int64_t(tokens.size()), setup)->value;
    return std::vector<double>(y.data<double>(), y.data<double>() + y.numel());
}

// Fast path vs oracle: both in float64, differing only in summation order and in rotating q and k
// separately (angles i theta and j theta) versus once by (i - j) theta: ~1e-14 relative per score,
// a few 1e-13 through two layers. 1e-10 leaves room and is 1e6x below any wrong rho or mask.
constexpr double oracle_tol = 1e-10;

struct oracle_case {
    std::string spec;
    std::function<double(std::int64_t, std::int64_t)> rho;
    std::function<bool(std::int64_t, std::int64_t)> visible = [](std::int64_t i, std::int64_t j) { return j <= i; };
    std::function<double(std::int64_t)> c = [](std::int64_t) { return 1.0; };
};

void check_against_oracle(const oracle_case& oc, cpu::rope_pairing pairing = cpu::rope_pairing::interleaved) {
    SCOPED_TRACE(oc.spec);
    const transformer model = tiny_model(pairing);
    const auto tokens = tokens_of(test_len);
    const auto setup = setup_of(model, oc.spec);
    const variants::rotation r = setup.global().frequencies(test_len);
    test::oracle_variant ov{test::rho_angle(oc.rho, r.inv_freq), r.mscale * r.mscale, oc.visible, oc.c};
    EXPECT_LT(scaled_error(fast_logits(model, tokens, setup), test::oracle_forward(model, tokens, ov)), oracle_tol);
}

double rel(std::int64_t i, std::int64_t j) { return double(i - j); }

TEST(VariantOracle, FrequencyVariantsUseRhoEqualsRel) {
    for (const char* spec : {"default", "default:base=1000", "linear:factor=4", "ntk:factor=4", "ntk:factor=4,form=base_k",
                             "ntk:factor=4,form=fixed", "dynamic", "dynamic:factor=2,mode=request", "ntk_mixed:factor=4",
                             "yarn:factor=4", "yarn:factor=4,beta_fast=8,beta_slow=2,truncate=false", "llama3:factor=4",
                             "longrope:short_factor=1;1.5;2;3,long_factor=1;2;4;8"})
        check_against_oracle({spec, rel});
}

TEST(VariantOracle, RotateHalfPairing) {
    check_against_oracle({"yarn:factor=4", rel}, cpu::rope_pairing::half);
    check_against_oracle({"rerope:window=5", [](auto i, auto j) { return std::min(rel(i, j), 5.0); }},
                         cpu::rope_pairing::half);
}

TEST(VariantOracle, ReRopeClampsDistanceAtTheWindow) {
    // methods.md B9: rho = min(rel, w)
    check_against_oracle({"rerope:window=5", [](auto i, auto j) { return std::min(rel(i, j), 5.0); }});
    check_against_oracle({"rerope", [](auto i, auto j) { return std::min(rel(i, j), double(train_len / 4)); }});
}

TEST(VariantOracle, LeakyReRopeCompressesBeyondTheWindow) {
    // methods.md B10: rho = rel if rel < w, else w + (rel - w)/k
    check_against_oracle({"leaky_rerope:window=5,k=3", [](auto i, auto j) {
                              const double r = rel(i, j);
                              return r < 5 ? r : 5 + (r - 5) / 3;
                          }});
}

TEST(VariantOracle, SelfExtendGroupsFarPositions) {
    // methods.md B16: rho = rel if rel < w_n, else (floor(i/G) + w_n - floor(w_n/G)) - floor(j/G)
    check_against_oracle({"self_extend:group_size=3,neighbor_window=4", [](auto i, auto j) {
                              return i - j < 4 ? rel(i, j) : double((i / 3 + 4 - 4 / 3) - j / 3);
                          }});
}

TEST(VariantOracle, WindowMasksOldKeys) {
    // methods.md B13: visible iff 0 <= i - j < w
    check_against_oracle({"window:w=6", rel, [](auto i, auto j) { return j <= i && i - j < 6; }});
}

TEST(VariantOracle, LognScalesQueriesPastTheTrainingLength) {
    // methods.md B12, inference mode: c_i = max(1, ln(i + 1) / ln L_train)
    const auto c = [](std::int64_t i) { return std::max(1.0, std::log(double(i + 1)) / std::log(double(train_len))); };
    check_against_oracle({"logn", rel, [](auto i, auto j) { return j <= i; }, c});
    check_against_oracle({"rerope:window=5+logn", [](auto i, auto j) { return std::min(rel(i, j), 5.0); },
                          [](auto i, auto j) { return j <= i; }, c});
    // trained mode: c_i = ln(max(i + 1, 16)) / ln L_train, no clamp at 1 (equal to 1 at n = 16 here)
    check_against_oracle({"logn:mode=trained,n_min=4", rel, [](auto i, auto j) { return j <= i; }, [](std::int64_t i) {
                              return std::log(std::max(double(i + 1), 4.0)) / std::log(double(train_len));
                          }});
}

TEST(VariantOracle, SinksKeepTheFirstTokensAtCacheSlotDistances) {
    // methods.md B17: visible iff j < n_sink or i - j < W; cache mode: sinks at min(i, n_sink + W - 1) - j
    const auto visible = [](std::int64_t i, std::int64_t j) { return j <= i && (i - j < 6 || j < 2); };
    check_against_oracle({"sinks:n_sink=2,window=6", [](auto i, auto j) {
                              return i - j < 6 ? rel(i, j) : double(std::min<std::int64_t>(i, 7) - j);
                          }, visible});
    check_against_oracle({"sinks:n_sink=2,window=6,position_mode=original", rel, visible});
}

TEST(VariantOracle, DcaUsesVllmDualChunkPositions) {
    // rho(i, j) straight from vLLM's rules (tests/reference/make_dca_fixture.py; the first case there:
    // chunk_size 12, local_size 3, 64 tokens, so chunks of 9 and 7 of them).
    std::ifstream in(std::string(STRETCH_SOURCE_DIR) + "/tests/fixtures/dca/positions.json");
    ASSERT_TRUE(in) << "missing tests/fixtures/dca/positions.json";
    const auto first = nlohmann::json::parse(in)["cases"][0];
    ASSERT_EQ(first["chunk_size"], 12);
    ASSERT_EQ(first["local_size"], 3);
    ASSERT_EQ(first["length"], test_len);
    const auto rho = first["rho"].get<std::vector<std::vector<double>>>();
    const auto vllm = [rho](std::int64_t i, std::int64_t j) { return rho[std::size_t(i)][std::size_t(j)]; };
    check_against_oracle({"dca:chunk_size=12,local_size=3", vllm});
    check_against_oracle({"dca:chunk_size=12,local_size=3", vllm}, cpu::rope_pairing::half);
}

TEST(VariantOracle, StringShiftsTheFarDistancesDown) {
    // STRING (arXiv 2410.18745): rho = rel if rel < S, else rel - S + W
    check_against_oracle({"string:shift=6,local_window=2", [](auto i, auto j) {
                              const double r = rel(i, j);
                              return r < 6 ? r : r - 6 + 2;
                          }});
}

TEST(VariantOracle, AttentionTemperatureStepsWithThePosition) {
    // c(p) = 1 + beta ln(floor((p + offset) / F) + 1), by the absolute position: under a chunked mask
    // a query sees far fewer keys than p + 1, which must not matter.
    const auto causal = [](auto i, auto j) { return j <= i; };
    check_against_oracle({"attn_temp:beta=0.3,floor_len=10,offset=1", rel, causal, [](std::int64_t i) {
                              return 1 + 0.3 * std::log(std::floor(double(i + 1) / 10) + 1);
                          }});
    // mistral3_temp: 1 + 0.1 ln(1 + floor(p / L_orig)) with L_orig = L_train = 16
    check_against_oracle({"mistral3_temp", rel, causal, [](std::int64_t i) {
                              return 1 + 0.1 * std::log(1 + std::floor(double(i) / 16));
                          }});
    check_against_oracle({"attn_temp:beta=0.2,floor_len=7+chunked:chunk=10", rel,
                          [](auto i, auto j) { return j <= i && j / 10 == i / 10; },
                          [](std::int64_t i) { return 1 + 0.2 * std::log(std::floor(double(i) / 7) + 1); }});
}

TEST(VariantOracle, ChunkedSeesOnlyTheQuerysOwnChunk) {
    // Llama 4's local chunks: visible iff j <= i and floor(j / C) == floor(i / C); log n counts them.
    const auto own_chunk = [](auto i, auto j) { return j <= i && j / 10 == i / 10; };
    check_against_oracle({"chunked:chunk=10", rel, own_chunk});
    check_against_oracle({"chunked:chunk=10+logn:base_len=4", rel, own_chunk, [](std::int64_t i) {
                              return std::max(1.0, std::log(double(i % 10 + 1)) / std::log(4.0));
                          }});
}

TEST(VariantOracle, PRopeRotatesOnlyTheHighestFrequencies) {
    // p-RoPE (arXiv 2410.06205): of the tiny model's 4 pairs (base 100, d = 8) floor(0.5 * 4) = 2, the
    // highest theta_t = 100^(-2t/8), t = 0, 1, rotate; t = 2, 3 do not.
    const transformer model = tiny_model();
    const auto tokens = tokens_of(test_len);
    test::oracle_variant ov{[](std::int64_t i, std::int64_t j, std::int64_t t) {
        return t < 2 ? rel(i, j) * std::pow(100.0, -2.0 * double(t) / 8.0) : 0.0;
    }};
    EXPECT_LT(scaled_error(fast_logits(model, tokens, setup_of(model, "p_rope:p=0.5")), test::oracle_forward(model, tokens, ov)),
              oracle_tol);
}

TEST(VariantOracle, NopeRotatesNothing) {
    check_against_oracle({"nope", [](auto, auto) { return 0.0; }});
}

TEST(VariantOracle, AlibiAddsALinearDistancePenaltyPerHead) {
    // methods.md C5 with H = 2 heads: m_h = 2^(-8h/2), h = 1, 2: slopes 1/16 and 1/256; no rotation.
    const transformer model = tiny_model();
    const auto tokens = tokens_of(test_len);
    const auto setup = setup_of(model, "alibi");
    test::oracle_variant ov{[](std::int64_t, std::int64_t, std::int64_t) { return 0.0; }};
    ov.bias = [](std::int64_t h, std::int64_t i, std::int64_t j) { return -std::pow(2.0, -8.0 * double(h + 1) / 2) * double(i - j); };
    EXPECT_LT(scaled_error(fast_logits(model, tokens, setup), test::oracle_forward(model, tokens, ov)), oracle_tol);
}

TEST(VariantIdentity, AlibiSlopesFollowThePaperAndTheReferenceCode) {
    const auto slopes = [](std::int64_t heads) {
        const auto& def = variants::find_variant("alibi", "test");
        return def.head_slopes(variants::param_values{}, variants::model_context{16, 8, 100.0, 16, heads});
    };
    const auto eight = slopes(8);  // 1/2, 1/4, ..., 1/256
    ASSERT_EQ(eight.size(), 8u);
    for (std::size_t h = 0; h < 8; ++h) EXPECT_EQ(eight[h], std::ldexp(1.0, -int(h) - 1));
    // 12 heads: the 8-head slopes, then 2^-0.5, 2^-1.5, 2^-2.5, 2^-3.5 (every second of 16 heads' 2^(-h/2)).
    const auto twelve = slopes(12);
    ASSERT_EQ(twelve.size(), 12u);
    for (std::size_t h = 0; h < 8; ++h) EXPECT_EQ(twelve[h], eight[h]);
    for (std::size_t k = 0; k < 4; ++k) EXPECT_DOUBLE_EQ(twelve[8 + k], std::pow(2.0, -0.5 - double(k)));
}

TEST(VariantIdentity, NopeFirstLayerIgnoresTheOrderOfEarlierTokens) {
    // methods.md C1: with one layer, the last output depends on the earlier tokens as a set.
    model_config c = test::tiny_config();
    c.n_layer = 1;
    c.pos = "nope";
    transformer one(c, dtype::f64);
    const transformer source = tiny_model();
    for (const auto& [name, p] : one.parameters())
        for (const auto& [n2, p2] : source.parameters())
            if (name == n2) p->value = p2->value;
    std::vector<std::int32_t> a = tokens_of(12), b = a;
    std::swap(b[1], b[7]);
    std::swap(b[3], b[9]);
    ag::context ca, cb;
    const tensor ya = one.forward(ca, a, 1, 12)->value, yb = one.forward(cb, b, 1, 12)->value;
    const std::int64_t v = c.vocab_size;
    for (std::int64_t t = 0; t < v; ++t) EXPECT_NEAR(ya.data<double>()[11 * v + t], yb.data<double>()[11 * v + t], 1e-12);
    double moved = 0;  // while plain RoPE would see the swap
    c.pos = "default";
    transformer rope(c, dtype::f64);
    for (std::size_t i = 0; i < rope.parameters().size(); ++i) rope.parameters()[i].second->value = one.parameters()[i].second->value;
    ag::context ra, rb;
    const tensor za = rope.forward(ra, a, 1, 12)->value, zb = rope.forward(rb, b, 1, 12)->value;
    for (std::int64_t t = 0; t < v; ++t) moved = std::max(moved, std::abs(za.data<double>()[11 * v + t] - zb.data<double>()[11 * v + t]));
    EXPECT_GT(moved, 1e-3);
}

TEST(VariantIdentity, SinusoidalDotProductsDependOnlyOnTheDistance) {
    // methods.md C2: PE(p).PE(p') = sum_t cos((p - p') theta_t), |PE(p)|^2 = C/2 (at scale 1).
    const transformer model = tiny_model();  // C = 16
    const auto setup = setup_of(model, "sinusoidal:scale=1");
    const auto pe = setup.global().absolute(0, 40);
    // The default scale (0.02) multiplies every entry and nothing else.
    const auto scaled = setup_of(model, "sinusoidal").global().absolute(0, 40);
    ASSERT_EQ(scaled.size(), pe.size());
    for (std::size_t i = 0; i < pe.size(); ++i) EXPECT_NEAR(scaled[i], 0.02 * pe[i], 1e-15);
    const auto dot = [&](std::int64_t a, std::int64_t b) {
        double s = 0;
        for (std::int64_t k = 0; k < 16; ++k) s += pe[std::size_t(a * 16 + k)] * pe[std::size_t(b * 16 + k)];
        return s;
    };
    for (std::int64_t p = 0; p < 40; ++p) EXPECT_NEAR(dot(p, p), 8.0, 1e-12);
    for (std::int64_t d = 1; d < 10; ++d) {
        double want = 0;
        for (std::int64_t t = 0; t < 8; ++t) want += std::cos(double(d) * std::pow(10000.0, -2.0 * double(t) / 16.0));
        for (std::int64_t p = 0; p + d < 40; p += 7) EXPECT_NEAR(dot(p, p + d), want, 1e-12);
    }
    EXPECT_TRUE(setup_of(model, "default").global().absolute(0, 4).empty());
}

TEST(VariantIdentity, RelativeEncodingsCannotTellIdenticalTokensApart) {
    // methods.md G6: n copies of one token; with softmax attention and a relative (or no) encoding
    // every position computes the same thing, whatever the weights. An absolute encoding breaks it.
    model_config c = test::tiny_config();
    const transformer source = tiny_model();
    const std::vector<std::int32_t> same(24, 5);
    // relu^2 / n with n = the sequence length lets row sums grow with i (D5): it can count.
    for (const char* pos : {"default", "alibi", "nope", "rerope:window=4", "nope+relu2:n_def=visible", "sinusoidal",
                            "nope+relu2"}) {
        c.pos = pos;
        transformer model(c, dtype::f32);
        for (std::size_t i = 0; i < model.parameters().size(); ++i)
            model.parameters()[i].second->value = source.parameters()[i].second->value.to(dtype::f32);
        ag::context ctx;
        const tensor y = model.forward(ctx, same, 1, 24)->value;
        double spread = 0;
        for (std::int64_t t = 1; t < 24; ++t)
            for (std::int64_t v = 0; v < c.vocab_size; ++v)
                spread = std::max(spread, double(std::abs(y.data<float>()[t * c.vocab_size + v] - y.data<float>()[v])));
        if (std::string(pos) == "sinusoidal" || std::string(pos) == "nope+relu2")
            EXPECT_GT(spread, 1e-2) << pos;
        else
            EXPECT_LE(spread, 1e-5) << pos;  // f32 rounding of sums over different numbers of equal terms
    }
}

TEST(VariantOracle, HwfaIsWindowRopeBlocksThenAFullNopeBlockWithLogn) {
    // methods.md B14 on the 2-block tiny model: block 0 window attention (w = 6) with RoPE, block 1
    // full causal attention without rotation and c_i = ln(max(i + 1, 16)) / ln 16 (trained log n).
    const transformer model = tiny_model();
    const auto tokens = tokens_of(test_len);
    const auto setup = setup_of(model, "hwfa:window=6");
    const auto inv_freq = setup.layer(0).frequencies(test_len).inv_freq;
    test::oracle_variant window{test::rho_angle(rel, inv_freq)};
    window.visible = [](std::int64_t i, std::int64_t j) { return j <= i && i - j < 6; };
    test::oracle_variant full{[](std::int64_t, std::int64_t, std::int64_t) { return 0.0; }};
    full.c = [](std::int64_t i) { return std::log(std::max(double(i + 1), 16.0)) / std::log(16.0); };
    EXPECT_LT(scaled_error(fast_logits(model, tokens, setup), test::oracle_forward(model, tokens, {window, full})),
              oracle_tol);
    // Its default window: the largest w with (w - 1)(N - 1) + 1 <= 3/4 L_train = 12: w = 12.
    EXPECT_EQ(setup_of(model, "hwfa").global().full_text().substr(0, 15), "hwfa:window=12,");
}

TEST(VariantOracle, SuperBaselineIsWindowAtTrainLengthWithUnitLogn) {
    // methods.md B13: window w = L_train; with n_def = visible every query sees <= L_train keys, c = 1
    check_against_oracle({"super_baseline", rel, [](auto i, auto j) { return j <= i && i - j < train_len; }});
}

// ---- U4: identities at the identity parameters (bitwise where the frequencies are identical) ----

void expect_same(const std::string& a, const std::string& b, double tol, std::int64_t length = test_len) {
    SCOPED_TRACE(a + " vs " + b);
    const transformer model = tiny_model();
    const auto tokens = tokens_of(length);
    EXPECT_LE(scaled_error(fast_logits(model, tokens, setup_of(model, a, length)),
                           fast_logits(model, tokens, setup_of(model, b, length))),
              tol);
}

// Formulas that reduce to theta exactly in floating point (x / 1, x * 1^y, ...) give identical logits;
// those that go through pow/exp/log agree to a few ulps of theta: 1e-12 covers that.
constexpr double same_tol = 1e-12;

// (Not `dynamic`: HF's bracket k n / Lmax - (k - 1) is n / Lmax at k = 1, so it still scales past
// L_train; its identity is L <= L_train, below.)
TEST(VariantIdentity, ScalingWithFactorOneIsDefault) {
    for (const char* spec : {"linear:factor=1", "ntk:factor=1", "ntk:factor=1,form=base_k", "ntk:factor=1,form=fixed",
                             "ntk_mixed:factor=1", "yarn:factor=1", "llama3:factor=1",
                             "longrope:short_factor=1,long_factor=1,factor=1", "leaky_rerope:window=5,k=1",
                             "self_extend:group_size=1,neighbor_window=4"})
        expect_same(spec, "default", same_tol);
}

TEST(VariantIdentity, NtkMixedEndpoints) {
    expect_same("ntk_mixed:factor=4,b=1", "ntk:factor=4,form=fixed", same_tol);
    expect_same("ntk_mixed:factor=4,b=0", "linear:factor=4", same_tol);
}

TEST(VariantIdentity, YarnWithoutExtrapolationIsLinear) {
    // ext_factor = 0 gives linear(s); the attention factor must then be forced to 1 as well.
    expect_same("yarn:factor=4,ext_factor=0,attention_factor=1", "linear:factor=4", same_tol);
}

TEST(VariantIdentity, WindowsCoveringTheSequenceChangeNothing) {
    expect_same("rerope:window=15", "default", same_tol, 15);
    expect_same("leaky_rerope:window=15,k=4", "default", same_tol, 15);
    expect_same("self_extend:group_size=4,neighbor_window=15", "default", same_tol, 15);
    expect_same("window:w=64", "default", 0.0);
    expect_same("sinks:n_sink=4,window=60", "default", same_tol);
    expect_same("chunked:chunk=64", "default", 0.0);
    // dca: one chunk of 60 plus a local 4 at the start of the second: every pair at rel = i - j.
    expect_same("dca:chunk_size=64,local_size=4", "default", same_tol);
    expect_same("dca:chunk_size=15,local_size=3", "default", same_tol, 15);
}

TEST(VariantIdentity, PRopeEndpointsAreRopeAndNope) {
    expect_same("p_rope:p=1", "default", 0.0);
    expect_same("p_rope:p=0", "nope", 0.0);
}

TEST(VariantIdentity, StringWithoutAShiftIsDefault) {
    expect_same("string:shift=0", "default", 0.0);
    expect_same("string:shift=0,local_window=5", "default", 0.0);
}

TEST(VariantIdentity, TemperaturePresetsAreOneBelowTheirThreshold) {
    // c = 1 exactly while floor((p + offset) / F) = 0: Llama 4's F = 8192, Mistral 3's F = L_train.
    expect_same("llama4_temp", "default", 0.0);
    expect_same("mistral3_temp", "default", 0.0, train_len);
    expect_same("attn_temp:floor_len=64,offset=1", "default", 0.0, 63);
    // ... and step to 1 + beta ln 2 at the threshold itself.
    const transformer model = tiny_model();
    const std::tuple<const char*, std::int64_t, double> presets[] = {
        {"llama4_temp", 8191, 0.1}, {"mistral3_temp", 16, 0.1}, {"attn_temp:beta=0.5,floor_len=64,offset=1", 63, 0.5}};
    for (const auto& [spec, threshold, beta] : presets) {
        SCOPED_TRACE(spec);
        const auto rules = setup_of(model, spec, threshold + 1).global().rules(threshold - 1, 2, threshold + 1);
        ASSERT_EQ(rules.query_scale.size(), 2u);
        EXPECT_EQ(rules.query_scale[0], 1.0);
        EXPECT_NEAR(rules.query_scale[1], 1 + beta * std::log(2.0), 1e-15);
    }
}

TEST(VariantIdentity, LeakyReRopeTendsToReRope) {
    // k = 1e9: rho differs from rerope's by (rel - w)/k < 1e-7 positions; through the rotations
    // (theta <= 1) the logits move by ~1e-7 relative, well below 1e-6.
    expect_same("leaky_rerope:window=5,k=1e9", "rerope:window=5", 1e-6);
}

TEST(VariantIdentity, DefaultsBelowTheTrainingLength) {
    // dynamic: the bracket is 1 for L <= L_train; logn (inference): c = 1 for every position < L_train;
    // window + logn with w = L_train sees the whole sequence up to L_train.
    expect_same("dynamic:factor=4", "default", same_tol, train_len);
    expect_same("logn", "default", 0.0, train_len);
    expect_same("super_baseline", "default", 0.0, train_len);
}

// ---- the spec language ----

std::string error_of(const std::string& spec) {
    try {
        const transformer model = tiny_model();
        setup_of(model, spec);
    } catch (const error& e) {
        return e.what();
    }
    return "";
}

TEST(VariantSpec, RejectsUnknownNamesAndKeysWithTheValidOnes) {
    std::string names;  // the registry's order: default first, positions, modifiers, then aliases
    for (const auto* def : variants::all_variants()) names += (names.empty() ? "" : ", ") + def->name;
    for (const auto& a : variants::aliases()) names += ", " + a.name;
    EXPECT_EQ(error_of("rerpoe"), "test: unknown variant 'rerpoe'; expected one of: " + names);
    EXPECT_EQ(names.substr(0, 29), "default, alibi, dca, dynamic,");
    EXPECT_EQ(error_of("rerope:widow=4"), "test: unknown key 'widow' for variant 'rerope'; expected one of: window");
    EXPECT_EQ(error_of("yarn:factor=0.5"), "test: yarn.factor: found '0.5', expected a number in [1, 1e+12]");
    EXPECT_EQ(error_of("rerope:window=2.5"), "test: rerope.window: found '2.5', expected an integer in [1, 2147483648]");
    EXPECT_EQ(error_of("ntk:form=big"), "test: ntk.form = 'big'; expected one of: bloc97, base_k, fixed");
    EXPECT_EQ(error_of("rerope+yarn"),
              "test: 'rerope+yarn' names two position variants ('rerope' and 'yarn'); expected at most one, plus modifiers");
    EXPECT_EQ(error_of("window+sinks"),
              "test: 'sinks' and 'window' both restrict the visible keys; expected at most one of them");
    EXPECT_EQ(error_of("window+chunked"),
              "test: 'chunked' and 'window' both restrict the visible keys; expected at most one of them");
    EXPECT_EQ(error_of("string:shift=4,local_window=4"),
              "test: string.local_window = 4 must be below string.shift = 4 (the shift moves distances >= S down by S - W)");
    EXPECT_EQ(error_of("rerope+sinks"),
              "test: 'rerope' and 'sinks' both remap far positions (two-score attention); expected at most one of them");
    EXPECT_EQ(error_of("rerope:window=16"),
              "test: rerope.window = 16 must be below the training length 16 (w = L_train collapses, post 9708)");
    EXPECT_EQ(error_of("longrope:short_factor=1;2,long_factor=1"),
              "test: longrope.short_factor has 2 values; expected 4 (one per rotary pair) or 1");
}

// Every number in a spec is range-checked before a variant computes with it: an integer parameter
// is at most max_tokens (2^31, so sums and products with lengths stay in int64), a real one at most
// 1e12 in magnitude, whatever its own range says.
TEST(VariantSpec, NumbersOutsideTheirRangeAreRefusedBeforeUse) {
    EXPECT_EQ(error_of("default+sinks:n_sink=1e30"), "test: sinks.n_sink: found '1e30', expected an integer in [0, 2147483648]");
    EXPECT_EQ(error_of("default+sinks:window=4611686018427387904"),
              "test: sinks.window: found '4611686018427387904', expected an integer in [1, 2147483648]");
    EXPECT_EQ(error_of("default+window:w=-3"), "test: window.w: found '-3', expected an integer in [1, 2147483648]");
    EXPECT_EQ(error_of("yarn:factor=1e30"), "test: yarn.factor: found '1e30', expected a number in [1, 1e+12]");
    EXPECT_EQ(error_of("linear:factor=nan"), "test: linear.factor: found 'nan', expected a number in [1, 1e+12]");
    EXPECT_EQ(error_of("longrope:short_factor=1;1e300"),
              "test: longrope.short_factor: found '1e300', expected a number in [1e-09, 1e+12]");
    // An exponent's sign is part of the number, not a '+' joining terms (GGUF scalings print so).
    const auto spec = variants::parse_spec("yarn:factor=1e+3+logn", "test");
    EXPECT_EQ(spec.modifiers.size(), 1u);
    EXPECT_EQ(spec.position.given.at("factor"), "1e+3");
    EXPECT_EQ(error_of("yarn:factor=1e+30+logn"), "test: yarn.factor: found '1e+30', expected a number in [1, 1e+12]");
    for (const auto* def : variants::all_variants())
        for (const auto& p : def->params) {
            if (p.type != variants::param_type::integer && p.type != variants::param_type::real &&
                p.type != variants::param_type::real_list)
                continue;
            const double limit = p.type == variants::param_type::integer ? double(max_tokens) : max_real;
            EXPECT_LE(p.max, limit) << def->name << "." << p.name;
            EXPECT_GE(p.min, -limit) << def->name << "." << p.name;
        }
}

TEST(VariantSpec, CanonicalTextAndResolvedParameters) {
    const auto spec = variants::parse_spec("logn+rerope:window=4", "test");
    EXPECT_EQ(spec.text(), "rerope:window=4+logn");
    EXPECT_EQ(variants::parse_spec("super_baseline", "test").text(), "logn+window");
    EXPECT_EQ(variants::parse_spec_with_modifiers("yarn", {"logn"}, "test").text(), "yarn+logn");
    const transformer model = tiny_model();
    EXPECT_EQ(setup_of(model, "rerope+logn", 64).global().full_text(),
              "rerope:window=4+logn:mode=inference,base_len=16,n_def=visible,n_min=0");
    // factor follows the target length: s = 64 / 16
    EXPECT_EQ(setup_of(model, "linear", 64).global().full_text(), "linear:factor=4");
    EXPECT_EQ(setup_of(model, "linear", 8).global().full_text(), "linear:factor=1");
    // STRING's defaults: S = floor(0.33 L_train), W = min(128, S / 4); the presets expand to attn_temp.
    EXPECT_EQ(setup_of(model, "string").global().full_text(), "string:shift=5,local_window=1");
    EXPECT_EQ(variants::parse_spec("llama4_temp", "test").text(), "attn_temp:beta=0.1,floor_len=8192,offset=1");
}

TEST(VariantSpec, EveryVariantDocumentsItsParameters) {
    for (const auto* def : variants::all_variants()) {
        EXPECT_FALSE(def->summary.empty()) << def->name;
        EXPECT_FALSE(def->source.empty()) << def->name;
        for (const auto& p : def->params) {
            EXPECT_FALSE(p.help.empty()) << def->name << "." << p.name;
            EXPECT_EQ(p.default_value == "auto", bool(p.automatic)) << def->name << "." << p.name;
        }
    }
}

}  // namespace
}  // namespace stretch
