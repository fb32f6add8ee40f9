#include "eval/ruler_sources.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>

#include "core/error.h"
#include "eval/peer_process.h"
#include "io/corpus.h"

namespace stretch {

namespace {

constexpr std::string_view setup_hint =
    "RULER's word lists come from the PyPI package wonderwords 2.2.0, which scripts/setup.sh installs";

std::vector<std::string> read_lines(const std::string& path) {
    const std::string text = read_text_file(path);
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        while (!line.empty() && std::isspace((unsigned char)line.back())) line.pop_back();  // Python's rstrip()
        lines.push_back(std::move(line));
        start = end + 1;
    }
    if (lines.empty()) fail("{}: no words; expected one word per line ({})", path, setup_hint);
    return lines;
}

// Titles and abbreviations after which a '.' does not end a sentence (Punkt learns these from data;
// this list covers English prose of the kind the haystacks are).
bool is_abbreviation(std::string_view word) {
    static constexpr std::array<std::string_view, 24> known = {
        "Mr", "Mrs", "Ms", "Dr", "St", "Messrs", "Mme", "Mlle", "Jr", "Sr", "Capt", "Col",
        "Gen", "Lt", "Rev", "Prof", "Hon", "vs", "etc", "viz", "i.e", "e.g", "cf", "No"};
    if (word.size() == 1 && std::isalpha((unsigned char)word[0])) return true;  // an initial
    return std::find(known.begin(), known.end(), word) != known.end();
}

bool is_closing(char c) { return c == '"' || c == '\'' || c == ')' || c == ']' || c == '}'; }

}  // namespace

std::string wonderwords_folder() {
    const nlohmann::json answer = run_peer_script(
        "python3 -c 'import importlib.util, json; s = importlib.util.find_spec(\"wonderwords\"); "
        "print(json.dumps({\"folder\": list(s.submodule_search_locations)[0] if s else None}))'",
        "ruler", std::string(setup_hint));
    if (!answer.contains("folder") || !answer["folder"].is_string())
        fail("ruler: python3 cannot find the package wonderwords; {}", setup_hint);
    return answer["folder"].get<std::string>();
}

ruler_word_lists read_wonderwords(const std::string& folder) {
    const std::filesystem::path assets = std::filesystem::path(folder) / "assets";
    const auto list = [&](const char* name) {
        const std::filesystem::path path = assets / name;
        if (!std::filesystem::is_regular_file(path))
            fail("{}: missing; expected the word list of the package wonderwords ({})", path.string(), setup_hint);
        return read_lines(path.string());
    };
    return {list("nounlist.txt"), list("adjectivelist.txt"), list("verblist.txt")};
}

std::vector<std::string> haystack_words(std::string_view text, std::string_view where) {
    // re.sub(r'\s+', ' ', text).split(' '): a leading or trailing run of white space gives an empty
    // first or last word, as in RULER.
    std::vector<std::string> words(1);
    bool in_space = false;
    for (const char c : text) {
        const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
        if (space && !in_space) words.emplace_back();
        if (!space) words.back() += c;
        in_space = space;
    }
    if (std::all_of(words.begin(), words.end(), [](const std::string& w) { return w.empty(); }))
        fail("{}: no words; expected a text for RULER's essay haystack", where);
    return words;
}

std::vector<std::string_view> split_sentences(std::string_view text) {
    std::vector<std::string_view> sentences;
    const auto add = [&](std::size_t begin, std::size_t end) {
        while (begin < end && text[begin] == ' ') ++begin;
        while (end > begin && text[end - 1] == ' ') --end;
        if (end > begin) sentences.push_back(text.substr(begin, end - begin));
    };
    std::size_t start = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c != '.' && c != '!' && c != '?') continue;
        std::size_t end = i + 1;
        while (end < text.size() && is_closing(text[end])) ++end;
        if (end < text.size() && text[end] != ' ') continue;  // "3.5", "e.g.x": not an ending
        if (c == '.') {
            std::size_t word = i;
            while (word > start && text[word - 1] != ' ') --word;
            while (word < i && !std::isalnum((unsigned char)text[word])) ++word;  // "(Mr." -> "Mr"
            if (is_abbreviation(text.substr(word, i - word))) continue;
        }
        add(start, end);
        start = end;
        i = end - 1;
    }
    add(start, text.size());
    return sentences;
}

}  // namespace stretch
