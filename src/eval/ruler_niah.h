// RULER's needle-in-a-haystack tasks (scripts/data/synthetic/niah.py). A needle is "One of the special
// magic {values} for {key} is: {value}." (values: numbers, words, uuids); keys x values needles go into
// the haystack; queries of the keys are asked for, and the answers are all values of the queried keys.
//   haystack noise:  `size` copies of "The grass is green. ... There and back again." joined by
//                    newlines, the needles inserted between copies at random indices;
//   haystack needle: `size` distractor needles with random keys and values, likewise;
//   haystack essay:  the first `size` words of the essay text (repeated when shorter), cut into
//                    sentences; each needle goes before sentence floor(n_sentences * d / 100) for a
//                    depth d drawn without replacement from round(linspace(0, 100, 40)); joined by spaces.
// values: numbers are 7-digit integers, words "adjective-noun" from wonderwords' lists, uuids UUID4.
// Keys are distinct and no distractor repeats a real key (RULER leaves such collisions to chance,
// about 1 in 6 million for words).
#pragma once

#include "eval/ruler.h"

namespace stretch {

// min_size: the needle count for noise and needle haystacks (Python's random.sample needs that many
// slots), 1 for essays.
ruler_generator niah_generator(const niah_config& config, const ruler_sources& sources);

}  // namespace stretch
