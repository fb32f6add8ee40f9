// RULER's NIAH tasks (eval/ruler_niah.h) as niah.py builds them: every answer is the value of a needle
// "One of the special magic {values} for {key} is: {value}." that occurs once in the haystack under a
// queried key; the haystack around the needles is intact (noise lines, distractor needles, or the
// essay's words cut at sentence ends); the template in its singular or plural form; the value formats.
#include "eval/ruler_niah.h"

#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "support/ruler.h"

namespace stretch::test {
namespace {

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

const char* type_of(niah_kind kind) {
    return kind == niah_kind::numbers ? "numbers" : kind == niah_kind::words ? "words" : "uuids";
}

// The key of the needle holding `value`.
std::string key_of(const ruler_sample& s, const std::string& type, const std::string& value) {
    const std::string head = "One of the special magic " + type + " for ";
    const std::size_t end = s.context.find(" is: " + value + ".");
    const std::size_t start = s.context.rfind(head, end);
    return s.context.substr(start + head.size(), end - start - head.size());
}

void expect_value_format(niah_kind kind, const std::string& value) {
    static const std::regex number("[1-9][0-9]{6}"), word("[^ ]+-[^ ]+"),
        uuid("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    EXPECT_TRUE(std::regex_match(value, kind == niah_kind::numbers ? number : kind == niah_kind::words ? word : uuid))
        << value;
}

TEST(RulerNiah, AnswersAreTheQueriedNeedlesValuesInAnIntactHaystack) {
    for (const ruler_task& task : ruler_tasks()) {
        if (task.family != ruler_family::niah) continue;
        const niah_config& c = task.niah;
        const ruler_generator g = niah_generator(c, shared_ruler_sources());
        const std::string type = type_of(c.value);
        const std::int64_t needles = std::max(c.keys, c.queries) * c.values;
        EXPECT_EQ(g.min_size, c.haystack == niah_haystack::essay ? 1 : needles) << task.name;
        for (const std::int64_t size : {g.min_size, std::int64_t(60)}) {
            for (std::uint64_t seed = 0; seed < 3; ++seed) {
                SCOPED_TRACE(fmt::format("{} size {} seed {}", task.name, size, seed));
                const ruler_sample s = g.make(size, seed);
                EXPECT_EQ(s.size, size);
                ASSERT_EQ(std::int64_t(s.answers.size()), c.queries * c.values);
                ASSERT_EQ(s.depths.size(), s.answers.size());
                ASSERT_NE(s.prompt.find("\n" + s.context + "\n"), std::string::npos);
                std::vector<std::string> queried;
                for (std::size_t a = 0; a < s.answers.size(); ++a) {
                    expect_value_format(c.value, s.answers[a]);
                    const std::string key = key_of(s, type, s.answers[a]);
                    expect_value_format(c.key, key);
                    const std::string needle = "One of the special magic " + type + " for " + key + " is: " + s.answers[a] + ".";
                    EXPECT_EQ(count(s.context, needle), 1u);
                    EXPECT_DOUBLE_EQ(s.depths[a], double(s.context.find(needle)) / double(s.context.size()));
                    EXPECT_EQ(count(s.context, " for " + key + " is: "), std::size_t(c.values));  // no distractor has the key
                    if (std::find(queried.begin(), queried.end(), key) == queried.end()) queried.push_back(key);
                }
                EXPECT_EQ(std::int64_t(queried.size()), c.queries);
                for (const std::string& key : queried)  // asked for after the context
                    EXPECT_NE(s.prompt.find(key, s.prompt.find(s.context) + s.context.size()), std::string::npos);
                const std::size_t magic = count(s.context, "One of the special magic " + type + " for ");
                if (c.haystack == niah_haystack::noise) {
                    EXPECT_EQ(std::int64_t(count(s.context, "The grass is green. The sky is blue. The sun is yellow. "
                                                            "Here we go. There and back again.")), size);
                    EXPECT_EQ(std::int64_t(count(s.context, "\n")), size + needles - 1);
                    EXPECT_EQ(std::int64_t(magic), needles);
                } else if (c.haystack == niah_haystack::needle) {
                    EXPECT_EQ(std::int64_t(count(s.context, "\n")), size + needles - 1);
                    EXPECT_EQ(std::int64_t(magic), size + needles);
                } else {
                    EXPECT_EQ(std::int64_t(magic), needles);
                }
            }
        }
    }
}

// The essay haystack is the first `size` words of the text with the needles between sentences:
// taking the needles out gives the words back, and what precedes each needle is whole sentences.
TEST(RulerNiah, EssayNeedlesSitBetweenSentencesOfTheText) {
    const auto& sources = shared_ruler_sources();
    const ruler_generator g = niah_generator(ruler_task_named("niah_multivalue").niah, sources);
    for (const std::int64_t size : {std::int64_t(1), std::int64_t(500), std::int64_t(sources.essay.size() + 100)}) {
        SCOPED_TRACE(size);
        const ruler_sample s = g.make(size, 7);
        std::string text;  // the words, single spaces, trimmed
        for (std::int64_t i = 0; i < size; ++i) {
            const std::string& word = sources.essay[std::size_t(i) % sources.essay.size()];
            if (!word.empty()) text += (text.empty() ? "" : " ") + word;
        }
        std::vector<std::pair<std::size_t, std::size_t>> needles;  // [begin, end) in the context
        for (const std::string& value : s.answers) {
            const std::string needle = "One of the special magic numbers for " + key_of(s, "numbers", value) + " is: " + value + ".";
            const std::size_t at = s.context.find(needle);
            ASSERT_NE(at, std::string::npos);
            needles.emplace_back(at, at + needle.size());
        }
        // The context before `end` without the needles, runs of spaces made one, trimmed.
        const auto haystack_before = [&](std::size_t end) {
            std::string out;
            for (std::size_t i = 0; i < end; ++i) {
                const bool in_needle = std::any_of(needles.begin(), needles.end(), [&](const auto& n) { return i >= n.first && i < n.second; });
                if (in_needle || (s.context[i] == ' ' && (out.empty() || out.back() == ' '))) continue;
                out += s.context[i];
            }
            while (!out.empty() && out.back() == ' ') out.pop_back();
            return out;
        };
        EXPECT_EQ(haystack_before(s.context.size()), text);
        std::set<std::size_t> sentence_ends{0};
        for (const std::string_view sentence : split_sentences(text)) sentence_ends.insert(std::size_t(sentence.data() - text.data()) + sentence.size());
        for (const auto& n : needles) EXPECT_TRUE(sentence_ends.contains(haystack_before(n.first).size()));
    }
}

// niah.py's template: singular when one value is asked for, plural otherwise, the query keys
// joined "a, b, c, and d".
TEST(RulerNiah, TemplateIsRulersInItsSingularAndPluralForms) {
    const auto& sources = shared_ruler_sources();
    const ruler_sample single = niah_generator(ruler_task_named("niah_single_1").niah, sources).make(3, 1);
    const std::string key = key_of(single, "numbers", single.answers[0]);
    EXPECT_EQ(single.prompt,
              "A special magic number is hidden within the following text. Make sure to memorize it. I will quiz you "
              "about the number afterwards.\n" + single.context + "\nWhat is the special magic number for " + key +
                  " mentioned in the provided text? The special magic number for " + key +
                  " mentioned in the provided text is");

    const ruler_sample multi = niah_generator(ruler_task_named("niah_multiquery").niah, sources).make(200, 1);
    std::vector<std::string> keys;
    for (const std::string& value : multi.answers) keys.push_back(key_of(multi, "numbers", value));
    const std::string query = keys[0] + ", " + keys[1] + ", " + keys[2] + ", and " + keys[3];
    EXPECT_EQ(multi.prompt,
              "Some special magic numbers are hidden within the following text. Make sure to memorize it. I will quiz "
              "you about the numbers afterwards.\n" + multi.context + "\nWhat are all the special magic numbers for " +
                  query + " mentioned in the provided text? The special magic numbers for " + query +
                  " mentioned in the provided text are");
}

}  // namespace
}  // namespace stretch::test
