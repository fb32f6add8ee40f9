// RULER's common-words extraction (scripts/data/synthetic/common_words_extraction.py, task cwe): `size`
// distinct words drawn from wonderwords' nouns, adjectives and verbs; the first ten are common and
// appear 30 times each, the others 3 times (6 and 1 below 4096 tokens), shuffled into a numbered list
// "1. w 2. w ..."; the answers are the ten common words. One in-context example comes first (40
// words, 10 and 3 repeats; 20 words, 3 and 1 below 4096), followed by its answers as a numbered list.
#pragma once

#include "eval/ruler.h"

namespace stretch {

// min_size 10 (the common words); max_size the distinct words of the lists (past it RULER draws from
// a downloaded word list, which stretch does not have).
ruler_generator cwe_generator(const ruler_word_lists& words, std::int64_t length);

}  // namespace stretch
