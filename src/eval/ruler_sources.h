// What the RULER tasks (eval/ruler.h) draw from, read at run time and never committed: the word
// lists of the PyPI package wonderwords (2.2.0, installed by scripts/setup.sh; RULER reads the same
// files through wonderwords.random_word._get_words_from_text_file), and the text of the "essay"
// haystack (RULER: Paul Graham's essays, downloaded; stretch: a book of ../shared/data), cut into
// words and sentences.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace stretch {

struct ruler_word_lists {
    std::vector<std::string> nouns, adjectives, verbs;  // nounlist.txt, adjectivelist.txt, verblist.txt
};

// The folder of the installed wonderwords package, asked of `python3` (its import machinery finds the
// package wherever pip put it, without running it). Throws stretch::error in one line naming the
// package and scripts/setup.sh when python3 cannot find it.
std::string wonderwords_folder();

// The three lists from `folder`/assets, one word per line with trailing white space removed, as
// RULER reads them. Throws stretch::error naming a file that is missing or empty.
ruler_word_lists read_wonderwords(const std::string& folder);

// RULER's essay haystack: the text with every run of white space made one space, split at spaces
// (Python's re.sub(r'\s+', ' ', text).split(' ')). Throws stretch::error naming `where` when the text
// has no words.
std::vector<std::string> haystack_words(std::string_view text, std::string_view where);

// Sentences of a text whose white space is single spaces, in place of NLTK's Punkt (sent_tokenize),
// which RULER uses: a sentence ends after '.', '!' or '?' and any closing quotes or brackets when a
// space follows, except after a title or common abbreviation ("Mr.", "Mrs.", "Dr.", "St.", "etc.",
// ...) or a single letter (an initial). Each sentence is trimmed of spaces; none is empty.
std::vector<std::string_view> split_sentences(std::string_view text);

}  // namespace stretch
