#include "eval/ruler_cwe.h"

#include <fmt/format.h>

#include <algorithm>
#include <memory>

#include "core/error.h"

namespace stretch {

namespace {

// scripts/data/synthetic/constants.py, task common_words_extraction: template + answer_prefix.
constexpr std::string_view cwe_template =
    "Below is a numbered list of words. In these words, some appear more often than others. Memorize the ones "
    "that appear most often.\n{context}\nQuestion: What are the 10 most common words in the above list? Answer: "
    "The top 10 words that appear most often in the list are:";
constexpr std::int64_t common_count = 10;  // synthetic.yaml cwe: num_cw 10 (freq_cw 30, freq_ucw 3)

struct repeats {
    std::int64_t words, common, uncommon;
};

// get_example: `r.words` distinct words, the first ten repeated `common` times, the rest `uncommon`
// times, shuffled and numbered. Returns the list and the common words.
std::pair<std::string, std::vector<std::string>> word_list(const std::vector<std::string>& vocabulary, repeats shape,
                                                           rng& r) {
    std::vector<std::string> drawn;
    for (const std::int64_t i : sample_indices(r, std::int64_t(vocabulary.size()), shape.words))
        drawn.push_back(vocabulary[std::size_t(i)]);
    std::vector<std::string> list;
    for (std::size_t i = 0; i < drawn.size(); ++i)
        list.insert(list.end(), std::size_t(i < std::size_t(common_count) ? shape.common : shape.uncommon), drawn[i]);
    shuffle_in_place(r, list);
    std::string text;
    for (std::size_t i = 0; i < list.size(); ++i) text += fmt::format("{}{}. {}", i ? " " : "", i + 1, list[i]);
    drawn.resize(std::size_t(std::min<std::int64_t>(common_count, std::int64_t(drawn.size()))));
    return {text, drawn};
}

std::string numbered(const std::vector<std::string>& words) {
    std::string out;
    for (std::size_t i = 0; i < words.size(); ++i) out += fmt::format("{}{}. {}", i ? " " : "", i + 1, words[i]);
    return out;
}

}  // namespace

ruler_generator cwe_generator(const ruler_word_lists& words, std::int64_t length) {
    // words = sorted(set(nouns + adjs + verbs))
    auto vocabulary = std::make_shared<std::vector<std::string>>(words.nouns);
    vocabulary->insert(vocabulary->end(), words.adjectives.begin(), words.adjectives.end());
    vocabulary->insert(vocabulary->end(), words.verbs.begin(), words.verbs.end());
    std::sort(vocabulary->begin(), vocabulary->end());
    vocabulary->erase(std::unique(vocabulary->begin(), vocabulary->end()), vocabulary->end());
    if (std::int64_t(vocabulary->size()) < 40) fail("ruler: cwe needs wonderwords' word lists (found {} words)", vocabulary->size());
    // generate_input_output: shorter lists and fewer repeats below 4096 tokens.
    const bool short_length = length < 4096;
    const repeats example = short_length ? repeats{20, 3, 1} : repeats{40, 10, 3};
    const repeats main = short_length ? repeats{0, 6, 1} : repeats{0, 30, 3};
    ruler_generator g;
    g.min_size = common_count;
    g.max_size = std::int64_t(vocabulary->size());
    g.make = [vocabulary, example, main](std::int64_t size, std::uint64_t seed) {
        rng r(seed);
        const auto [example_list, example_answers] = word_list(*vocabulary, example, r);
        const auto [list, answers] = word_list(*vocabulary, {size, main.common, main.uncommon}, r);
        ruler_sample s;
        s.size = size;
        s.context = list;
        s.answers = answers;
        s.prompt = replace_all(std::string(cwe_template), "{context}", example_list) + " " + numbered(example_answers) +
                   "\n" + replace_all(std::string(cwe_template), "{context}", list);
        return s;
    };
    return g;
}

}  // namespace stretch
