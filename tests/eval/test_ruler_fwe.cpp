// RULER's frequent-words extraction (eval/ruler_fwe.h) as freq_words_extraction.py builds it: the
// word of rank k appears floor(size k^-2 / zeta(2)) times, rank 1 is "...", and the answers, ranks 2
// to 4, appear strictly more often than every other coded word from the smallest size on.
#include "eval/ruler_fwe.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <regex>
#include <sstream>

#include "support/ruler.h"

namespace stretch::test {
namespace {

TEST(RulerFwe, AnswersAreRanksTwoToFourOfAZetaDistribution) {
    for (const std::int64_t length : {std::int64_t(1024), std::int64_t(8192)}) {
        const ruler_generator g = fwe_generator(length);
        EXPECT_EQ(g.min_size, 74);
        const std::int64_t vocabulary = std::max<std::int64_t>(5, length / 50);
        for (const std::int64_t size : {std::int64_t(74), std::int64_t(75), std::int64_t(1000), std::int64_t(5000)}) {
            SCOPED_TRACE(fmt::format("length {} size {}", length, size));
            const ruler_sample s = g.make(size, std::uint64_t(size + length));
            std::map<std::string, std::int64_t> counts;
            std::istringstream in(s.context);
            for (std::string word; in >> word;) ++counts[word];
            ASSERT_EQ(s.answers.size(), 3u);
            // zeta(2) = pi^2 / 6 (Euler); counts by rank, independently of the generator's order of operations
            const double zeta = M_PI * M_PI / 6;
            const auto expected = [&](int rank) { return std::int64_t(std::floor(double(size) / (rank * rank) / zeta)); };
            EXPECT_EQ(counts["..."], expected(1));
            for (int rank = 2; rank <= 4; ++rank) {
                const std::string& answer = s.answers[std::size_t(rank - 2)];
                EXPECT_TRUE(std::regex_match(answer, std::regex("[a-z]{6}"))) << answer;
                EXPECT_EQ(counts[answer], expected(rank)) << answer;
            }
            EXPECT_GT(counts[s.answers[0]], counts[s.answers[1]]);
            EXPECT_GT(counts[s.answers[1]], counts[s.answers[2]]);
            std::int64_t others = 0;
            for (const auto& [word, n] : counts)
                if (word != "..." && std::find(s.answers.begin(), s.answers.end(), word) == s.answers.end()) {
                    EXPECT_LT(n, counts[s.answers[2]]) << word;
                    ++others;
                }
            EXPECT_LE(others, vocabulary - 4);
            EXPECT_EQ(s.prompt, "Read the following coded text and track the frequency of each coded word. Find the "
                                "three most frequently appeared coded words. " + s.context +
                                    "\nQuestion: Do not provide any explanation. Please ignore the dots '....'. What are "
                                    "the three most frequently appeared words in the above coded text? Answer: According "
                                    "to the coded text above, the three most frequently appeared words are:");
        }
    }
}

}  // namespace
}  // namespace stretch::test
