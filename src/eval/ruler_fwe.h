// RULER's frequent-words extraction (scripts/data/synthetic/freq_words_extraction.py, task fwe): a
// vocabulary of max(5, length / 50) random six-letter words whose first is replaced by "..." (noise);
// the word of rank k appears floor(size * k^-2 / zeta(2)) times (a zeta distribution, alpha = 2), all
// shuffled into one space-separated text; the answers are the words of ranks 2, 3 and 4.
#pragma once

#include "eval/ruler.h"

namespace stretch {

// min_size 74: from there on every answer appears strictly more often than every word after it
// (floor(a) > floor(b) when a - b >= 1, and size (1/16 - 1/25) / zeta(2) >= 1 needs size >= 74).
ruler_generator fwe_generator(std::int64_t length);

}  // namespace stretch
