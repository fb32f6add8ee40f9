// lm-eval's rolling log-likelihood requests (eval/rolling_loglikelihood.h), against the windows
// lm-eval 0.4.13's get_rolling_token_windows + make_disjoint_window give (worked by hand from its
// source for max_length 6: windows of 4 predicted tokens), and its word count.
#include "eval/rolling_loglikelihood.h"

#include <gtest/gtest.h>

#include <cmath>

#include "eval/next_token.h"
#include "support/tiny_model.h"

namespace stretch {
namespace {

using namespace test;

TEST(RollingLoglikelihood, RequestsAreLmEvalsWindows) {
    const std::vector<std::int32_t> t{10, 11, 12, 13, 14, 15, 16, 17, 18, 19};
    const auto r = rolling_requests(t, 1, 6);
    ASSERT_EQ(r.size(), 3u);
    // [prefix] + t[0:3] with t[0:4] predicted: context [1], continuation 10..13.
    EXPECT_EQ(r[0].tokens, (std::vector<std::int32_t>{1, 10, 11, 12, 13}));
    EXPECT_EQ(r[0].context, 1);
    // t[3:8]: context [13], continuation 14..17.
    EXPECT_EQ(r[1].tokens, (std::vector<std::int32_t>{13, 14, 15, 16, 17}));
    EXPECT_EQ(r[1].context, 1);
    // The last window predicts 2 tokens with the rest as context: t[5:10], context 15..17.
    EXPECT_EQ(r[2].tokens, (std::vector<std::int32_t>{15, 16, 17, 18, 19}));
    EXPECT_EQ(r[2].context, 3);
    EXPECT_TRUE(rolling_requests({}, 1, 6).empty());
    EXPECT_EQ(rolling_requests({10, 11}, 1, 6).front().tokens, (std::vector<std::int32_t>{1, 10, 11}));
    EXPECT_THROW(rolling_requests(t, 1, 2), error);
}

TEST(RollingLoglikelihood, CountsWordsAsPythonsReSplit) {
    EXPECT_EQ(count_words("a b"), 2);
    EXPECT_EQ(count_words("a  b\n"), 3);       // ['a', 'b', '']
    EXPECT_EQ(count_words(" a"), 2);           // ['', 'a']
    EXPECT_EQ(count_words(""), 1);             // ['']
    EXPECT_EQ(count_words("a\xC2\xA0" "b"), 2);  // NO-BREAK SPACE is \s in Python 3
    EXPECT_EQ(count_words("a\xE3\x80\x80" "b\xE2\x80\x83" "c"), 3);
    EXPECT_EQ(count_words("caf\xC3\xA9 au"), 2);
}

// The sum over requests equals the log-likelihood of each request's scored tokens from a forward.
TEST(RollingLoglikelihood, SumsTheScoredTokens) {
    const transformer model = tiny_model(tiny_config(), dtype::f32);
    const std::vector<std::int32_t> doc = tiny_tokens(23);
    const auto spec = variants::parse_spec("default", "t");
    const rolling_result r = rolling_loglikelihood(model, spec, doc, "one two", 0, 10);
    double want = 0;
    std::int64_t scored = 0;
    for (const rolling_request& q : rolling_requests(doc, 0, 10)) {
        const auto n = std::int64_t(q.tokens.size());
        ag::context ctx;
        const tensor logits = model.forward(ctx, q.tokens, 1, n, model.positions(spec, n + 1, "t"))->value;
        const std::int64_t v = logits.dim(1);
        for (std::int64_t j = q.context; j < n; ++j) {
            const float* row = logits.data<float>() + (j - 1) * v;
            double sum = 0;
            for (std::int64_t k = 0; k < v; ++k) sum += std::exp(double(row[k]));
            want += double(row[q.tokens[std::size_t(j)]]) - std::log(sum);
            ++scored;
        }
    }
    EXPECT_EQ(r.tokens, 23);
    EXPECT_EQ(scored, 23);
    EXPECT_NEAR(r.loglikelihood, want, 1e-4 * std::abs(want));
    EXPECT_EQ(r.words, 2);
    EXPECT_NEAR(r.bits_per_byte, -r.loglikelihood / 7 / std::log(2.0), 1e-12);
}

}  // namespace
}  // namespace stretch
