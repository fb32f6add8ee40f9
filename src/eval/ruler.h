// RULER (Hsieh et al. 2024, arXiv 2404.06654; github NVIDIA/RULER, scripts/data/synthetic): the
// eleven synthetic tasks that need no downloaded data, generated natively with RULER's templates,
// sized in the model's own tokens and scored with RULER's string_match_all (docs/ruler.md):
//   niah_single_1..3, niah_multikey_1..3, niah_multivalue, niah_multiquery  (eval/ruler_niah.h)
//   vt, variable tracking                                                   (eval/ruler_vt.h)
//   cwe, common-words extraction                                            (eval/ruler_cwe.h)
//   fwe, frequent-words extraction                                          (eval/ruler_fwe.h)
// A sample is a pure function of (haystack size, seed); its size is the largest for which the prompt
// (BOS, template, context and answer prefix) plus the task's max new tokens fits the target length
// (RULER's binary search, scripts/data/synthetic/*.py generate_samples), searched per sample.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/numbers.h"
#include "core/rng.h"
#include "eval/ruler_sources.h"
#include "io/tokenizer.h"
#include "model/transformer.h"
#include "variants/spec.h"

namespace stretch {

struct ruler_sample {
    std::string prompt;   // what the model reads after its BOS: template, context, answer prefix
    std::string context;  // the template's {context}: the haystack with its needles (few-shot examples excluded)
    std::vector<std::string> answers;  // RULER's "outputs": each must occur in the prediction
    std::vector<double> depths;        // NIAH: per answer, its needle's byte offset / context bytes, in [0, 1)
    std::int64_t size = 0;    // haystack units (essay words, noise sentences, distractor needles, list words, coded words)
    std::int64_t tokens = 0;  // prompt tokens under the model's tokenizer, its BOS included
};

// A task at one target length: its sample as a pure function of (size, seed), size in [min_size, max_size].
struct ruler_generator {
    std::int64_t min_size = 1;
    std::int64_t max_size = max_tokens;
    std::function<ruler_sample(std::int64_t size, std::uint64_t seed)> make;
};

enum class ruler_family { niah, vt, cwe, fwe };
enum class niah_haystack { noise, essay, needle };  // RULER's type_haystack ("noise" was once "repeat")
enum class niah_kind { numbers, words, uuids };      // type_needle_k / type_needle_v

struct niah_config {  // scripts/synthetic.yaml's args of a niah task
    niah_haystack haystack = niah_haystack::essay;
    niah_kind key = niah_kind::words, value = niah_kind::numbers;
    std::int64_t keys = 1, values = 1, queries = 1;  // num_needle_k, num_needle_v, num_needle_q
};

struct ruler_task {
    std::string_view name;
    ruler_family family;
    std::int64_t max_new_tokens;  // RULER's tokens_to_generate (scripts/data/synthetic/constants.py)
    niah_config niah;             // NIAH tasks only
    bool needs_words() const;     // wonderwords' lists
    bool needs_essay() const;     // the essay haystack
};

// The eleven, in RULER's order (scripts/synthetic.yaml).
std::span<const ruler_task> ruler_tasks();
// "niah_single_1,vt" -> tasks, or every task for "all"; throws stretch::error naming --tasks, the
// unknown name and the known ones.
std::vector<const ruler_task*> parse_ruler_tasks(const std::string& text);

struct ruler_sources {
    ruler_word_lists words;           // empty unless a chosen task needs them
    std::vector<std::string> essay;   // haystack_words of the essay text; empty unless needed
};

// The task's generator at `length` tokens (VT sizes its in-context example with `tok` here); it
// refers to `sources`, which must outlive it.
ruler_generator make_ruler_generator(const ruler_task& task, const ruler_sources& sources, const tokenizer& tok,
                                     std::int64_t length);

// Prompt tokens of a sample as the model reads them (with BOS when the model adds one).
std::int64_t ruler_prompt_tokens(const tokenizer& tok, const std::string& prompt);

// The sample of `seed` with the largest size whose prompt_tokens + max_new_tokens <= length: the
// returned size fits and size + 1 does not (or size is max_size). `guess` (a size, e.g. the previous
// sample's) starts the search. Throws stretch::error naming the task and the length when even
// min_size does not fit.
ruler_sample fit_ruler_sample(const ruler_task& task, const ruler_generator& generator, const tokenizer& tok,
                              std::int64_t length, std::uint64_t seed, std::int64_t guess);

// The largest size in [min_size, max_size] with fits(size) such that fits(size + 1) is false (or
// size == max_size), found by galloping from `guess` and bisecting (fits need not be monotone: the
// answer is a boundary). Requires fits(min_size); the last call that returned true was for the answer.
std::int64_t largest_fitting_size(const std::function<bool(std::int64_t)>& fits, std::int64_t min_size,
                                  std::int64_t max_size, std::int64_t guess);

// The sample seed of (run seed, task, length, index): independent of which other tasks, lengths and
// how many samples run.
std::uint64_t ruler_sample_seed(std::uint64_t seed, std::string_view task, std::int64_t length, std::int64_t index);

// RULER's postprocess_pred (scripts/eval/evaluate.py): strip white space, every byte 0x00-0x1f
// becomes '\n', strip again.
std::string ruler_postprocess(std::string_view prediction);
// Per answer, whether it occurs in the prediction ignoring ASCII case (r.lower() in pred.lower()).
std::vector<bool> ruler_matches(std::string_view prediction, std::span<const std::string> answers);
// string_match_all for one sample (scripts/eval/synthetic/constants.py): the fraction of answers found.
double string_match_all(std::string_view prediction, std::span<const std::string> answers);

// Draws shared by the task families (Python's random.sample / random.shuffle, as RULER uses them).
// `k` distinct indices of [0, n) in random order (k <= n).
std::vector<std::int64_t> sample_indices(rng& r, std::int64_t n, std::int64_t k);
template <class T>
void shuffle_in_place(rng& r, std::vector<T>& items) {
    for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[r.below(i)]);
}
// `s` with every occurrence of `from` replaced by `to` (Python's str.replace).
std::string replace_all(std::string s, std::string_view from, std::string_view to);

// ---- running a model on the tasks ----

struct ruler_request {
    std::vector<std::int64_t> lengths;
    std::vector<const ruler_task*> tasks;
    std::int64_t samples = 10;
    std::uint64_t seed = 42;  // RULER's random_seed default
    variants::position_spec positions = variants::parse_spec("default", "--pos");
};

struct ruler_prediction {
    std::int64_t size = 0, tokens = 0;
    std::vector<std::string> answers;
    std::vector<double> depths;
    std::vector<bool> found;  // per answer
    std::string prediction;   // the decoded answer, postprocessed
    double score = 0;         // string_match_all, in [0, 1]
};

struct ruler_cell {
    std::string task;
    std::int64_t length = 0;
    double score = 0;  // RULER's task score: 100 x the mean of the samples' string_match_all
    std::vector<ruler_prediction> samples;
    double seconds = 0;
};

// Cells in order length-major, tasks in request order; `progress` sees each when done.
std::vector<ruler_cell> run_ruler(const transformer& model, const tokenizer& tok, const ruler_sources& sources,
                                  const ruler_request& request, const std::function<void(const ruler_cell&)>& progress = {});

}  // namespace stretch
