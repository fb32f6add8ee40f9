#include "eval/ruler_fwe.h"

#include <cmath>
#include <numbers>
#include <set>

namespace stretch {

namespace {

// scripts/data/synthetic/constants.py, task freq_words_extraction: template + answer_prefix.
constexpr std::string_view fwe_template =
    "Read the following coded text and track the frequency of each coded word. Find the three most frequently "
    "appeared coded words. {context}\nQuestion: Do not provide any explanation. Please ignore the dots '....'. "
    "What are the three most frequently appeared words in the above coded text? Answer: According to the coded "
    "text above, the three most frequently appeared words are:";
constexpr int word_letters = 6;  // coded_wordlen
constexpr double zeta_2 = std::numbers::pi * std::numbers::pi / 6;  // scipy.special.zeta(2), alpha = 2

}  // namespace

ruler_generator fwe_generator(std::int64_t length) {
    const std::int64_t vocabulary_size = std::max<std::int64_t>(5, length / 50);  // max_seq_length // 50
    ruler_generator g;
    g.min_size = 74;
    g.make = [vocabulary_size](std::int64_t size, std::uint64_t seed) {
        rng r(seed);
        std::set<std::string> distinct;
        std::vector<std::string> vocabulary;
        while (std::int64_t(vocabulary.size()) < vocabulary_size) {
            std::string word;
            for (int i = 0; i < word_letters; ++i) word += char('a' + r.below(26));
            if (distinct.insert(word).second) vocabulary.push_back(word);
        }
        shuffle_in_place(r, vocabulary);
        vocabulary[0] = "...";  // the top rank is noise
        std::vector<std::string> words;
        for (std::size_t k = 1; k <= vocabulary.size(); ++k) {
            // num_words * (k ** -alpha) / zeta(alpha), truncated (numpy's astype(int))
            const auto count = std::int64_t(double(size) * std::pow(double(k), -2.0) / zeta_2);
            words.insert(words.end(), std::size_t(count), vocabulary[k - 1]);
        }
        shuffle_in_place(r, words);
        ruler_sample s;
        s.size = size;
        for (std::size_t i = 0; i < words.size(); ++i) s.context += (i ? " " : "") + words[i];
        s.answers.assign(vocabulary.begin() + 1, vocabulary.begin() + 4);
        s.prompt = replace_all(std::string(fwe_template), "{context}", s.context);
        return s;
    };
    return g;
}

}  // namespace stretch
