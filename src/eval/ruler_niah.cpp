#include "eval/ruler_niah.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"

namespace stretch {

namespace {

// scripts/data/synthetic/constants.py, task niah: template + answer_prefix (the base model template
// adds nothing), with {type_needle_v}, {context} and {query}.
constexpr std::string_view niah_template =
    "Some special magic {type_needle_v} are hidden within the following text. Make sure to memorize it. I will "
    "quiz you about the {type_needle_v} afterwards.\n{context}\nWhat are all the special magic {type_needle_v} for "
    "{query} mentioned in the provided text? The special magic {type_needle_v} for {query} mentioned in the "
    "provided text are";
constexpr std::string_view noise_sentence =
    "The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";

std::string_view kind_name(niah_kind kind) {
    switch (kind) {
        case niah_kind::numbers: return "numbers";
        case niah_kind::words: return "words";
        case niah_kind::uuids: return "uuids";
    }
    return "";
}

std::string needle_text(niah_kind value_kind, const std::string& key, const std::string& value) {
    return fmt::format("One of the special magic {} for {} is: {}.", kind_name(value_kind), key, value);
}

// uuid.UUID(int=random.getrandbits(128), version=4): version nibble 4, variant bits 10.
std::string random_uuid(rng& r) {
    std::uint64_t hi = r.next_u64(), lo = r.next_u64();
    hi = (hi & ~std::uint64_t{0xf000}) | 0x4000;
    lo = (lo & ~(std::uint64_t{0xc000} << 48)) | (std::uint64_t{0x8000} << 48);
    return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff, lo >> 48,
                       lo & 0xffffffffffffULL);
}

// RULER's words: sorted(set(f"{adj}-{noun}")), drawn uniformly; here an adjective and a noun of the
// de-duplicated lists, uniformly.
struct pair_words {
    std::vector<std::string> adjectives, nouns;
};

std::vector<std::string> sorted_unique(std::vector<std::string> words) {
    std::sort(words.begin(), words.end());
    words.erase(std::unique(words.begin(), words.end()), words.end());
    return words;
}

std::string random_value(niah_kind kind, rng& r, const pair_words& words) {
    switch (kind) {
        case niah_kind::numbers: return std::to_string(1000000 + r.below(9000000));  // randint(10**6, 10**7 - 1)
        case niah_kind::words:
            return words.adjectives[r.below(words.adjectives.size())] + "-" + words.nouns[r.below(words.nouns.size())];
        case niah_kind::uuids: return random_uuid(r);
    }
    return {};
}

// A value of `kind` not in `taken` (which it joins).
std::string fresh_value(niah_kind kind, rng& r, const pair_words& words, std::set<std::string>& taken) {
    while (true) {
        std::string value = random_value(kind, r, words);
        if (taken.insert(value).second) return value;
    }
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
    std::string out;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        if (i) out += separator;
        out += parts[i];
    }
    return out;
}

// The essay haystack: words [0, size) of the text (cycled), sentences, needles at drawn depths.
std::string essay_context(const std::vector<std::string>& essay, std::int64_t size, const std::vector<std::string>& needles,
                          rng& r) {
    std::string text;
    for (std::int64_t i = 0; i < size; ++i) {
        if (i) text += ' ';
        text += essay[std::size_t(i) % essay.size()];
    }
    const std::vector<std::string_view> sentences = split_sentences(text);
    const auto n = std::int64_t(sentences.size());
    // DEPTHS = round(linspace(0, 100, 40)): 40 percentages, drawn without replacement.
    std::vector<std::int64_t> positions{0};
    for (const std::int64_t pick : sample_indices(r, 40, std::int64_t(needles.size()))) {
        const auto depth = std::llround(100.0 * double(pick) / 39.0);
        positions.push_back(n * depth / 100);
    }
    std::sort(positions.begin() + 1, positions.end());
    positions.push_back(n);
    std::vector<std::string> pieces;
    for (std::size_t i = 1; i < positions.size(); ++i) {
        std::string piece;
        for (std::int64_t s = positions[i - 1]; s < positions[i]; ++s) {
            if (s > positions[i - 1]) piece += ' ';
            piece += sentences[std::size_t(s)];
        }
        pieces.push_back(std::move(piece));  // may be empty: " ".join keeps it, as in RULER
        if (i - 1 < needles.size()) pieces.push_back(needles[i - 1]);
    }
    return join(pieces, " ");
}

// The noise and needle haystacks: `filler` lines with the needles inserted at drawn indices.
std::string line_context(std::vector<std::string> lines, const std::vector<std::string>& needles, rng& r) {
    std::vector<std::int64_t> indices = sample_indices(r, std::int64_t(lines.size()), std::int64_t(needles.size()));
    std::sort(indices.rbegin(), indices.rend());  // inserted from the back, so each index is of the original lines
    for (std::size_t i = 0; i < needles.size(); ++i) lines.insert(lines.begin() + indices[i], needles[i]);
    return join(lines, "\n");
}

ruler_sample make_sample(const niah_config& c, const pair_words& words, const std::vector<std::string>& essay,
                         std::int64_t size, std::uint64_t seed) {
    rng r(seed);
    const std::int64_t n_keys = std::max(c.keys, c.queries);
    std::set<std::string> keys_taken, values_taken;
    std::vector<std::string> keys, needles;
    std::vector<std::vector<std::string>> values(static_cast<std::size_t>(n_keys));
    for (std::int64_t k = 0; k < n_keys; ++k) {
        keys.push_back(fresh_value(c.key, r, words, keys_taken));
        for (std::int64_t v = 0; v < c.values; ++v) {
            values[std::size_t(k)].push_back(fresh_value(c.value, r, words, values_taken));
            needles.push_back(needle_text(c.value, keys.back(), values[std::size_t(k)].back()));
        }
    }
    shuffle_in_place(r, needles);

    ruler_sample s;
    s.size = size;
    if (c.haystack == niah_haystack::essay) {
        s.context = essay_context(essay, size, needles, r);
    } else {
        std::vector<std::string> lines;
        for (std::int64_t i = 0; i < size; ++i) {
            if (c.haystack == niah_haystack::noise) {
                lines.emplace_back(noise_sentence);
            } else {
                std::set<std::string> distractor_key = keys_taken;  // a distractor never repeats a real key
                lines.push_back(needle_text(c.value, fresh_value(c.key, r, words, distractor_key),
                                            random_value(c.value, r, words)));
            }
        }
        s.context = line_context(std::move(lines), needles, r);
    }

    std::vector<std::string> queries;
    for (const std::int64_t k : sample_indices(r, n_keys, c.queries)) {
        queries.push_back(keys[std::size_t(k)]);
        for (const std::string& value : values[std::size_t(k)]) {
            s.answers.push_back(value);
            const std::size_t at = s.context.find(needle_text(c.value, keys[std::size_t(k)], value));
            s.depths.push_back(double(at) / double(s.context.size()));
        }
    }
    std::string query = queries.back();
    if (queries.size() > 1) {
        queries.pop_back();
        query = join(queries, ", ") + ", and " + query;
    }

    std::string prompt(niah_template);
    std::string type(kind_name(c.value));
    if (c.queries * c.values == 1) {  // niah.py's singular form of the template
        prompt = replace_all(prompt, "Some", "A");
        prompt = replace_all(prompt, "are all", "is");
        prompt = replace_all(prompt, "are", "is");
        prompt = replace_all(prompt, "answers", "answer");
        type.pop_back();
    }
    prompt = replace_all(prompt, "{type_needle_v}", type);
    prompt = replace_all(prompt, "{query}", query);
    s.prompt = replace_all(prompt, "{context}", s.context);  // last: the context may hold any text
    return s;
}

}  // namespace

ruler_generator niah_generator(const niah_config& config, const ruler_sources& sources) {
    const bool words = config.key == niah_kind::words || config.value == niah_kind::words;
    if (words && (sources.words.adjectives.empty() || sources.words.nouns.empty()))
        fail("ruler: a niah task with word keys or values needs wonderwords' adjective and noun lists");
    if (config.haystack == niah_haystack::essay && sources.essay.empty())
        fail("ruler: an essay-haystack niah task needs the --haystack text");
    auto pairs = std::make_shared<pair_words>(
        pair_words{sorted_unique(sources.words.adjectives), sorted_unique(sources.words.nouns)});
    const std::vector<std::string>* essay = &sources.essay;
    ruler_generator g;
    g.min_size = config.haystack == niah_haystack::essay ? 1 : std::max(config.keys, config.queries) * config.values;
    g.make = [config, pairs, essay](std::int64_t size, std::uint64_t seed) {
        return make_sample(config, *pairs, *essay, size, seed);
    };
    return g;
}

}  // namespace stretch
