// RULER's variable tracking (scripts/data/synthetic/variable_tracking.py, task vt: one chain of four
// hops in the noise haystack). The chain is "VAR X1 = V" then "VAR Xj+1 = VAR Xj " for j = 1..4 (five
// distinct names of five capital letters, V a random integer in [10000, 99999)); its statements go in
// order between `size` noise sentences (joined by newlines, ". \n" made ".\n"), and the answers are the
// five names. One in-context example comes first: the same task with names of three letters and a
// noise haystack sized to at most 500 tokens, followed by its answers.
#pragma once

#include "eval/ruler.h"

namespace stretch {

// The example's haystack is sized once here with `tok`: the most noise lines whose prompt fits
// `example_tokens` (RULER: 500), or 5 (one slot per statement) when none does. min_size is 5 too.
ruler_generator vt_generator(const tokenizer& tok, std::int64_t example_tokens = 500);

}  // namespace stretch
