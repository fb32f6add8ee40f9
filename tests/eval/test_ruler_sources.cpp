// RULER's sources (eval/ruler_sources.h): wonderwords' lists found through python3 and read as RULER
// reads them, the essay cut into words as re.sub(r'\s+', ' ', text).split(' ') does, and sentences
// cut at their ends but not after titles, abbreviations or initials.
#include "eval/ruler_sources.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "support/cli.h"

namespace stretch::test {
namespace {

std::vector<std::string> strings(const std::vector<std::string_view>& views) { return {views.begin(), views.end()}; }

TEST(RulerSources, SentencesEndAtStopsButNotAfterTitlesOrInitials) {
    EXPECT_EQ(strings(split_sentences("Mr. Knightley came. She said \"Yes!\" Then (it rained.) Done")),
              (std::vector<std::string>{"Mr. Knightley came.", "She said \"Yes!\"", "Then (it rained.)", "Done"}));
    EXPECT_EQ(strings(split_sentences(" It cost 3.5 pounds. J. R. Smith, Mrs. Smith etc. came? Yes.  ")),
              (std::vector<std::string>{"It cost 3.5 pounds.", "J. R. Smith, Mrs. Smith etc. came?", "Yes."}));
    EXPECT_TRUE(split_sentences("   ").empty());
    EXPECT_EQ(strings(split_sentences("no stop at all")), (std::vector<std::string>{"no stop at all"}));
}

TEST(RulerSources, HaystackWordsSplitLikePython) {
    EXPECT_EQ(haystack_words("  a\n\tb  c ", "x"), (std::vector<std::string>{"", "a", "b", "c", ""}));
    EXPECT_EQ(haystack_words("one", "x"), (std::vector<std::string>{"one"}));
    EXPECT_THROW(haystack_words(" \n ", "x"), error);
}

TEST(RulerSources, WordListsAreReadLineByLineWithoutTrailingSpace) {
    const std::string dir = fresh_dir("wonderwords");
    std::filesystem::create_directory(dir + "/assets");
    write_file(dir + "/assets/nounlist.txt", "ATM\ncat \r\ndog");
    write_file(dir + "/assets/adjectivelist.txt", "red\n");
    write_file(dir + "/assets/verblist.txt", "run\n");
    const ruler_word_lists lists = read_wonderwords(dir);
    EXPECT_EQ(lists.nouns, (std::vector<std::string>{"ATM", "cat", "dog"}));
    EXPECT_EQ(lists.adjectives, (std::vector<std::string>{"red"}));
    std::filesystem::remove(dir + "/assets/verblist.txt");
    try {
        read_wonderwords(dir);
        ADD_FAILURE() << "no error";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.what()).find("verblist.txt: missing; expected the word list of the package wonderwords"),
                  std::string::npos) << e.what();
    }
    // The installed package (scripts/setup.sh).
    const ruler_word_lists real = read_wonderwords(wonderwords_folder());
    EXPECT_FALSE(real.nouns.empty() || real.adjectives.empty() || real.verbs.empty());
}

}  // namespace
}  // namespace stretch::test
