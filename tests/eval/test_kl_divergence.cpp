// The KL divergence of llama-perplexity's --kl-divergence-base / --kl-divergence workflow
// (eval/kl_divergence.h): against sum_v p_base (log p_base - log p) computed naively in float64 from
// the same logits, and end to end through stretch's perplexity with a KV cache type.
#include "eval/kl_divergence.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <unistd.h>

#include <fmt/format.h>

#include "core/error.h"
#include "eval/perplexity.h"
#include "support/kernel_compare.h"
#include "support/tiny_model.h"

namespace stretch {
namespace {

std::string scratch_file(const std::string& tag) {
    return (std::filesystem::temp_directory_path() / fmt::format("stretch-kl-{}-{}", tag, getpid())).string();
}

tensor logits_of(const std::vector<double>& x, std::int64_t rows) {
    tensor t({rows, std::int64_t(x.size()) / rows}, dtype::f64);
    std::copy(x.begin(), x.end(), t.data<double>());
    return t;
}

std::vector<double> log_softmax(const std::vector<double>& x, std::int64_t r, std::int64_t vocab) {
    const double* row = x.data() + r * vocab;
    const double max = *std::max_element(row, row + vocab);
    double sum = 0;
    for (std::int64_t v = 0; v < vocab; ++v) sum += std::exp(row[v] - max);
    std::vector<double> out(row, row + vocab);
    for (double& value : out) value -= max + std::log(sum);
    return out;
}

// The base file keeps f32 log-probabilities: 2^-24 relative of |log p| <= ~10 here, so each KL
// term moves by ~1e-6 at most; 1e-5 bounds the mean.
TEST(KvCacheKlDivergence, MatchesTheFloat64Definition) {
    constexpr std::int64_t vocab = 11, rows = 6;
    const std::vector<double> base = test::random_vec(rows * vocab, 1, 3.0), run = test::random_vec(rows * vocab, 2, 3.0);
    const std::vector<std::int32_t> targets = {0, 3, 5, 7, 9, 10};
    const kl_layout layout{vocab, 8, 3, 2, 12345, "pos default, f32"};
    const std::string path = scratch_file("unit");
    {
        kl_base_writer writer(path, layout);
        writer.add(logits_of(base, rows), 4);  // a slice of 4 rows and one of 2, as scoring slices them
        const std::vector<double> tail(base.begin() + 4 * vocab, base.end());
        writer.add(logits_of(tail, 2), 2);
        writer.commit();
    }
    kl_comparison compare(path, layout);
    compare.add(logits_of(run, rows), rows, targets.data());
    const kl_result r = compare.result();
    std::vector<double> want;
    double nll = 0;
    std::int64_t same = 0;
    for (std::int64_t row = 0; row < rows; ++row) {
        const auto p = log_softmax(base, row, vocab), q = log_softmax(run, row, vocab);
        double kl = 0;
        for (std::int64_t v = 0; v < vocab; ++v) kl += std::exp(p[std::size_t(v)]) * (p[std::size_t(v)] - q[std::size_t(v)]);
        want.push_back(kl);
        nll -= p[std::size_t(targets[std::size_t(row)])];
        same += std::max_element(p.begin(), p.end()) - p.begin() == std::max_element(q.begin(), q.end()) - q.begin();
    }
    EXPECT_EQ(r.tokens, rows);
    EXPECT_NEAR(r.mean, std::accumulate(want.begin(), want.end(), 0.0) / rows, 1e-5);
    EXPECT_NEAR(r.max, *std::max_element(want.begin(), want.end()), 1e-5);
    EXPECT_NEAR(r.base_ppl, std::exp(nll / rows), 1e-5 * std::exp(nll / rows));
    EXPECT_DOUBLE_EQ(r.same_top, double(same) / rows);
    EXPECT_EQ(r.base, "pos default, f32");
    kl_layout other = layout;
    other.n_ctx = 16;
    try {
        kl_comparison mismatch(path, other);
        FAIL() << "no error";
    } catch (const error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "--kl-divergence-base " + path +
                      ": written for vocabulary 11, -c 8, 3 scored tokens per chunk, 2 chunks, targets hash "
                      "0000000000003039; this run scores vocabulary 11, -c 16, 3 scored tokens per chunk, 2 chunks, "
                      "targets hash 0000000000003039 (expected the same text, -c, --chunks and model vocabulary)");
    }
    std::filesystem::remove(path);
}

// End to end: the base run against itself is KL 0 (up to the f32 file), and a q4_0 cache's run
// diverges from the f32 base by a positive amount while scoring the same tokens.
TEST(KvCacheKlDivergence, PerplexityComparesACacheTypeWithTheBaseRun) {
    model_config c = test::tiny_config();
    c.d_model = 64;
    c.n_head = 2;
    c.d_ff = 48;
    const transformer model = test::tiny_model(c, dtype::f32);
    const auto tokens = test::tiny_tokens(80);
    const std::string path = scratch_file("e2e");
    perplexity_request request;
    request.n_ctx = 32;
    request.kl_base = path;
    const perplexity_result base = llama_perplexity(model, tokens, request);
    EXPECT_FALSE(base.kl.has_value());
    request.kl_divergence = true;
    const perplexity_result same = llama_perplexity(model, tokens, request);
    ASSERT_TRUE(same.kl.has_value());
    EXPECT_EQ(same.kl->tokens, base.tokens);
    EXPECT_LT(std::fabs(same.kl->mean), 1e-6);
    EXPECT_EQ(same.kl->same_top, 1.0);
    EXPECT_NEAR(same.kl->base_ppl, base.ppl, 1e-5 * base.ppl);
    request.cache_types = {cpu::kv_type::q4_0, cpu::kv_type::q4_0};
    const perplexity_result q4 = llama_perplexity(model, tokens, request);
    EXPECT_GT(q4.kl->mean, 1e-6);
    EXPECT_NE(q4.ppl, base.ppl);
    std::filesystem::remove(path);
}

}  // namespace
}  // namespace stretch
