// RULER's common-words extraction (eval/ruler_cwe.h) as common_words_extraction.py builds it: a list
// numbered 1..N in which the ten answers appear 6 times each and every other word once (30 and 3 from
// 4096 tokens on), the answers being exactly the ten most frequent words, after one example with its
// answers.
#include "eval/ruler_cwe.h"

#include <gtest/gtest.h>

#include <map>

#include "support/ruler.h"

namespace stretch::test {
namespace {

// "1. a 2. b ..." -> word counts, checking the numbering runs 1..N.
std::map<std::string, std::int64_t> list_counts(const std::string& list) {
    std::map<std::string, std::int64_t> counts;
    std::istringstream in(list);
    std::string number, word;
    for (std::int64_t expected = 1; in >> number >> word; ++expected) {
        EXPECT_EQ(number, std::to_string(expected) + ".");
        ++counts[word];
    }
    return counts;
}

TEST(RulerCwe, AnswersAreTheTenWordsThatAppearMostOften) {
    const auto& words = shared_ruler_sources().words;
    for (const auto& [length, common, uncommon, example_words] :
         {std::tuple<std::int64_t, std::int64_t, std::int64_t, std::int64_t>{2048, 6, 1, 20}, {4096, 30, 3, 40}}) {
        const ruler_generator g = cwe_generator(words, length);
        EXPECT_EQ(g.min_size, 10);
        EXPECT_GT(g.max_size, 5000);  // nouns, adjectives and verbs, without repeats
        for (const std::int64_t size : {std::int64_t(10), std::int64_t(57)}) {
            SCOPED_TRACE(fmt::format("length {} size {}", length, size));
            const ruler_sample s = g.make(size, std::uint64_t(size));
            ASSERT_EQ(s.answers.size(), 10u);
            const auto counts = list_counts(s.context);
            EXPECT_EQ(std::int64_t(counts.size()), size);
            for (const auto& [word, n] : counts) {
                const bool answer = std::find(s.answers.begin(), s.answers.end(), word) != s.answers.end();
                EXPECT_EQ(n, answer ? common : uncommon) << word;
            }
            for (const std::string& answer : s.answers) EXPECT_TRUE(counts.contains(answer)) << answer;
            const std::string question = "Question: What are the 10 most common words in the above list? Answer: The top "
                                         "10 words that appear most often in the list are:";
            const std::string task = "Below is a numbered list of words. In these words, some appear more often than "
                                     "others. Memorize the ones that appear most often.\n";
            EXPECT_TRUE(s.prompt.ends_with("\n" + task + s.context + "\n" + question));
            // The example: its list, then its ten answers numbered.
            ASSERT_TRUE(s.prompt.starts_with(task));
            const std::size_t example_end = s.prompt.find("\n" + task);
            const std::string example = s.prompt.substr(task.size(), example_end - task.size());
            const std::size_t list_end = example.find("\n" + question + " ");
            ASSERT_NE(list_end, std::string::npos);
            const auto example_counts = list_counts(example.substr(0, list_end));
            EXPECT_EQ(std::int64_t(example_counts.size()), example_words);
            const auto example_answers = list_counts(example.substr(list_end + question.size() + 2));
            ASSERT_EQ(example_answers.size(), 10u);
            for (const auto& [word, n] : example_answers) EXPECT_EQ(example_counts.at(word), length < 4096 ? 3 : 10) << word;
        }
    }
}

}  // namespace
}  // namespace stretch::test
