// RULER's machinery (eval/ruler.h): the task list, the metric on hand-made predictions, the draws, and
// the sizing of every task in model tokens: a sample plus its answer budget fits the target length and
// the same sample one haystack unit larger does not, so it is within one unit (at most 128 bytes of
// the byte tokenizer; 10% of the target with stories260K's tok512) of the target; a seed gives the
// same samples.
#include "eval/ruler.h"

#include <gtest/gtest.h>

#include <set>

#include "support/ruler.h"

namespace stretch::test {
namespace {

TEST(Ruler, TasksAreRulersElevenWithoutDownloads) {
    const auto all = parse_ruler_tasks("all");
    std::vector<std::string> names;
    for (const ruler_task* t : all) names.emplace_back(t->name);
    EXPECT_EQ(names, (std::vector<std::string>{"niah_single_1", "niah_single_2", "niah_single_3", "niah_multikey_1",
                                               "niah_multikey_2", "niah_multikey_3", "niah_multivalue", "niah_multiquery",
                                               "vt", "cwe", "fwe"}));
    const auto two = parse_ruler_tasks("fwe,niah_single_2");
    ASSERT_EQ(two.size(), 2u);
    EXPECT_EQ(two[0]->name, "fwe");
    EXPECT_EQ(two[0]->max_new_tokens, 50);
    EXPECT_EQ(two[1]->max_new_tokens, 128);
    EXPECT_TRUE(two[1]->needs_essay());
    EXPECT_FALSE(ruler_task_named("niah_multikey_3").needs_words());  // uuid keys and values
    EXPECT_FALSE(ruler_task_named("niah_single_1").needs_essay());
    EXPECT_THROW(parse_ruler_tasks("niah"), error);
    try {
        parse_ruler_tasks("vt,qa_1");
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("--tasks: unknown task 'qa_1'; expected 'all' or names of niah_single_1"),
                  std::string::npos) << e.what();
    }
    EXPECT_THROW(parse_ruler_tasks("vt,vt"), error);
}

// string_match_all (scripts/eval/synthetic/constants.py) on predictions written by hand: the fraction
// of the answers that occur in the prediction, case ignored.
TEST(Ruler, StringMatchAllOnHandMadePredictions) {
    const std::vector<std::string> answers{"1234567", "Apple-Pie", "5f0c"};
    EXPECT_DOUBLE_EQ(string_match_all("1234567, apple-pie and 5F0C.", answers), 1.0);
    EXPECT_DOUBLE_EQ(string_match_all("The numbers are 1234567 and APPLE-PIE", answers), 2.0 / 3);
    EXPECT_DOUBLE_EQ(string_match_all("123456 apple pie 5f0", answers), 0.0);
    EXPECT_DOUBLE_EQ(string_match_all("x1234567x", answers), 1.0 / 3);  // a substring match, as RULER's
    EXPECT_DOUBLE_EQ(string_match_all("", answers), 0.0);
    EXPECT_EQ(ruler_matches("APPLE-PIE 5f0c", answers), (std::vector<bool>{false, true, true}));
    // postprocess_pred: strip, control bytes to newlines, strip.
    EXPECT_EQ(ruler_postprocess(" \n 12\x01" "34\t5 \x1f"), "12\n34\n5");
    EXPECT_EQ(ruler_postprocess(""), "");
}

TEST(Ruler, DrawsAndReplacements) {
    rng r(3);
    for (const std::int64_t n : {1, 5, 40, 1000}) {
        const auto k = std::min<std::int64_t>(n, 7);
        const auto picked = sample_indices(r, n, k);
        EXPECT_EQ(std::int64_t(std::set<std::int64_t>(picked.begin(), picked.end()).size()), k);
        for (const std::int64_t i : picked) EXPECT_TRUE(i >= 0 && i < n);
    }
    auto all = sample_indices(r, 6, 6);
    std::sort(all.begin(), all.end());
    EXPECT_EQ(all, (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5}));
    EXPECT_EQ(replace_all("are all are", "are", "is"), "is all is");
    EXPECT_EQ(replace_all("aaa", "aa", "b"), "ba");  // left to right, no overlaps (Python's str.replace)
    EXPECT_EQ(replace_all("x", "y", "z"), "x");
}

TEST(Ruler, LargestFittingSizeIsABoundaryFromAnyGuess) {
    for (const std::int64_t guess : {1, 2, 500, 999, 1000, 1001, 40000}) {
        EXPECT_EQ(largest_fitting_size([](std::int64_t s) { return s <= 1000; }, 1, 1 << 20, guess), 1000) << guess;
        EXPECT_EQ(largest_fitting_size([](std::int64_t s) { return s <= 1000; }, 1, 700, guess), 700) << guess;
    }
    // Not monotone: the answer fits and the next size does not.
    const auto bumpy = [](std::int64_t s) { return s <= 300 || (s >= 400 && s <= 450) || s == 460; };
    for (const std::int64_t guess : {1, 350, 420, 460, 2000}) {
        const std::int64_t size = largest_fitting_size(bumpy, 1, 1 << 20, guess);
        EXPECT_TRUE(bumpy(size) && !bumpy(size + 1)) << guess << " -> " << size;
    }
}

// Every task at one length with the byte tokenizer (prompt tokens = bytes), and a real one.
void expect_sized(const tokenizer& tok, std::int64_t length, std::int64_t margin) {
    const ruler_sources& sources = shared_ruler_sources();
    for (const ruler_task& task : ruler_tasks()) {
        const ruler_generator g = make_ruler_generator(task, sources, tok, length);
        std::int64_t guess = g.min_size;
        for (std::int64_t i = 0; i < 2; ++i) {
            SCOPED_TRACE(fmt::format("{} at {}, sample {}", task.name, length, i));
            const std::uint64_t seed = ruler_sample_seed(42, task.name, length, i);
            const ruler_sample s = fit_ruler_sample(task, g, tok, length, seed, guess);
            guess = s.size;
            EXPECT_EQ(s.tokens, ruler_prompt_tokens(tok, s.prompt));
            EXPECT_LE(s.tokens + task.max_new_tokens, length);
            EXPECT_GE(s.tokens + task.max_new_tokens, length - margin);
            EXPECT_GT(ruler_prompt_tokens(tok, g.make(s.size + 1, seed).prompt) + task.max_new_tokens, length);
            EXPECT_EQ(g.make(s.size, seed).prompt, s.prompt);  // the seed reproduces the sample
            EXPECT_NE(g.make(s.size, seed + 1).prompt, s.prompt);
        }
    }
}

TEST(Ruler, SamplesFitTheTargetInModelTokens) {
    expect_sized(byte_tokenizer(), 3000, 128);
    expect_sized(tok512(), 1500, 150);
    // BOS counts: tok512's model reads one before the prompt.
    EXPECT_EQ(ruler_prompt_tokens(tok512(), "Once"), std::int64_t(tok512().encode("Once", false).size()) + 1);
}

TEST(Ruler, TooShortAndTooLongTargetsAreRefused) {
    const ruler_task& task = ruler_task_named("niah_single_1");
    const ruler_generator g = make_ruler_generator(task, shared_ruler_sources(), byte_tokenizer(), 200);
    try {
        fit_ruler_sample(task, g, byte_tokenizer(), 200, 1, 1);
        ADD_FAILURE() << "no error";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("--lengths 200: too short for RULER task niah_single_1"), std::string::npos)
            << e.what();
    }
    ruler_generator capped = g;
    capped.max_size = 3;
    try {
        fit_ruler_sample(task, capped, byte_tokenizer(), 100000, 1, 1);
        ADD_FAILURE() << "no error";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("--lengths 100000: too long for RULER task niah_single_1"), std::string::npos)
            << e.what();
    }
}

TEST(Ruler, SampleSeedsDependOnEveryPart) {
    const std::uint64_t base = ruler_sample_seed(42, "vt", 4096, 0);
    EXPECT_EQ(ruler_sample_seed(42, "vt", 4096, 0), base);
    EXPECT_NE(ruler_sample_seed(43, "vt", 4096, 0), base);
    EXPECT_NE(ruler_sample_seed(42, "cwe", 4096, 0), base);
    EXPECT_NE(ruler_sample_seed(42, "vt", 8192, 0), base);
    EXPECT_NE(ruler_sample_seed(42, "vt", 4096, 1), base);
}

}  // namespace
}  // namespace stretch::test
