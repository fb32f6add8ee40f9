// RULER's variable tracking (eval/ruler_vt.h) as variable_tracking.py builds it: the answers are the
// five names of one chain whose statements stand in order between the noise lines, the question asks
// for the chain's value, and an in-context example of three-letter names with its answers comes first.
#include "eval/ruler_vt.h"

#include <gtest/gtest.h>

#include <regex>

#include "support/ruler.h"

namespace stretch::test {
namespace {

constexpr std::string_view noise = "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";

TEST(RulerVt, AnswersAreTheChainsNamesInOrderInTheNoise) {
    const ruler_generator g = vt_generator(byte_tokenizer());
    EXPECT_EQ(g.min_size, 5);
    for (const std::int64_t size : {std::int64_t(5), std::int64_t(40)})
        for (std::uint64_t seed = 0; seed < 4; ++seed) {
            SCOPED_TRACE(fmt::format("size {} seed {}", size, seed));
            const ruler_sample s = g.make(size, seed);
            ASSERT_EQ(s.answers.size(), 5u);
            for (const std::string& name : s.answers) EXPECT_TRUE(std::regex_match(name, std::regex("[A-Z]{5}"))) << name;
            EXPECT_EQ(std::set<std::string>(s.answers.begin(), s.answers.end()).size(), 5u);
            // Lines: `size` noise sentences and the five statements, in chain order.
            std::vector<std::string> lines;
            for (std::size_t start = 0, end; start <= s.context.size(); start = end + 1) {
                end = std::min(s.context.find('\n', start), s.context.size());
                lines.push_back(s.context.substr(start, end - start));
            }
            ASSERT_EQ(std::int64_t(lines.size()), size + 5);
            EXPECT_EQ(std::count(lines.begin(), lines.end(), std::string(noise)), size);
            std::smatch first;
            std::vector<std::string> statements;
            for (const std::string& line : lines)
                if (line != noise) statements.push_back(line);
            ASSERT_EQ(statements.size(), 5u);
            ASSERT_TRUE(std::regex_match(statements[0], first, std::regex("VAR ([A-Z]{5}) = ([0-9]{5})")));
            EXPECT_EQ(first[1], s.answers[0]);
            for (std::size_t j = 1; j < 5; ++j)
                EXPECT_EQ(statements[j], "VAR " + s.answers[j] + " = VAR " + s.answers[j - 1] + " ");
            const std::string value = first[2];
            const std::string question = "\nQuestion: Find all variables that are assigned the value " + value +
                                         " in the text above. Answer: According to the chain(s) of variable assignment "
                                         "in the text above, 5 variables are assgined the value " + value + ", they are: ";
            EXPECT_TRUE(s.prompt.ends_with("Memorize and track the chain(s) of variable assignment hidden in the following "
                                           "text.\n\n" + s.context + question));
            // The example first: the same task with three-letter names, then its five answers.
            const std::size_t example_end = s.prompt.find("\n\nMemorize and track", 1);
            ASSERT_NE(example_end, std::string::npos);
            const std::string example = s.prompt.substr(0, example_end + 1);
            EXPECT_TRUE(example.starts_with("Memorize and track the chain(s)"));
            EXPECT_TRUE(std::regex_search(example, std::regex("they are:  [A-Z]{3} [A-Z]{3} [A-Z]{3} [A-Z]{3} [A-Z]{3}\n$")))
                << example.substr(example.size() - 60);
        }
}

std::size_t noise_lines(const std::string& text) {
    std::size_t n = 0;
    for (std::size_t at = text.find(noise); at != std::string::npos; at = text.find(noise, at + 1)) ++n;
    return n;
}

// The example's prompt (up to "they are: ") of a sample.
std::string example_prompt(const ruler_sample& s) {
    const std::string example = s.prompt.substr(0, s.prompt.find("\n\nMemorize and track", 1));
    return example.substr(0, example.rfind("they are: ") + 10);
}

// The example has the most noise lines whose prompt fits the budget (RULER's 500 tokens). With bytes
// for tokens its length is fixed by its line count (names of three letters, a five-digit value), so
// the boundary is exact: one more line (91 bytes with its newline) would not fit. With stories260K's
// tok512 not even the smallest example fits 500 tokens, and it keeps the smallest, as RULER does.
TEST(RulerVt, InContextExampleIsTheLargestThatFitsItsBudget) {
    for (const std::int64_t budget : {2000, 3000}) {
        const ruler_generator g = vt_generator(byte_tokenizer(), budget);
        for (std::uint64_t seed = 0; seed < 3; ++seed) {
            const std::string prompt = example_prompt(g.make(5, seed));
            EXPECT_LE(std::int64_t(prompt.size()), budget);
            EXPECT_GT(std::int64_t(prompt.size()) + 91, budget);
        }
    }
    const ruler_generator small = vt_generator(tok512());
    const std::string prompt = example_prompt(small.make(5, 1));
    EXPECT_EQ(noise_lines(prompt), 5u);
    EXPECT_GT(ruler_prompt_tokens(tok512(), prompt), 500);
}

}  // namespace
}  // namespace stretch::test
