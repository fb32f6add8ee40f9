#include "train/labelled_passages.h"

#include <algorithm>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "io/corpus.h"

namespace stretch {

namespace {

struct raw_passage {
    std::string text, label, where;
    bool integer_label = false;
};

std::vector<raw_passage> read_jsonl(const std::string& path, const char* what) {
    const std::string text = read_text_file(path);
    std::vector<raw_passage> out;
    std::istringstream lines(text);
    std::string line;
    for (std::int64_t number = 1; std::getline(lines, line); ++number) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const std::string where = fmt::format("{} {}:{}", what, path, number);
        const auto object = nlohmann::json::parse(line, nullptr, false);
        if (object.is_discarded() || !object.is_object())
            fail("{}: not a JSON object; expected {{\"text\": \"...\", \"label\": ...}} on each line", where);
        const auto text_field = object.find("text"), label_field = object.find("label");
        if (text_field == object.end() || !text_field->is_string())
            fail("{}: no string \"text\"; expected {{\"text\": \"...\", \"label\": ...}}", where);
        raw_passage p{text_field->get<std::string>(), "", where};
        if (label_field != object.end() && label_field->is_string()) {
            p.label = label_field->get<std::string>();
        } else if (label_field != object.end() && label_field->is_number_integer()) {
            p.label = std::to_string(label_field->get<std::int64_t>());
            p.integer_label = true;
        } else {
            fail("{}: \"label\" is {}; expected a string or an integer", where,
                 label_field == object.end() ? "missing" : label_field->type_name());
        }
        if (p.text.empty()) fail("{}: \"text\" is empty; expected a passage", where);
        out.push_back(std::move(p));
    }
    if (out.empty()) fail("{} {}: no passages; expected one JSON object per line", what, path);
    return out;
}

// The distinct labels, sorted: numerically when every one is an integer, else as text.
std::vector<std::string> class_names(const std::vector<raw_passage>& passages) {
    std::vector<std::string> names;
    bool integers = true;
    for (const raw_passage& p : passages) {
        integers = integers && p.integer_label;
        if (std::find(names.begin(), names.end(), p.label) == names.end()) names.push_back(p.label);
    }
    if (integers)
        std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) { return std::stoll(a) < std::stoll(b); });
    else
        std::sort(names.begin(), names.end());
    return names;
}

}  // namespace

std::int64_t labelled_passages::longest() const {
    std::int64_t n = 0;
    for (const auto& t : tokens) n = std::max(n, std::int64_t(t.size()));
    return n;
}

labelled_passages read_labelled_passages(const std::vector<std::string>& paths, const char* what, const tokenizer& tok,
                                         std::int64_t context, std::vector<std::string> classes) {
    std::vector<raw_passage> raw;
    for (const std::string& path : paths) {
        auto part = read_jsonl(path, what);
        raw.insert(raw.end(), std::make_move_iterator(part.begin()), std::make_move_iterator(part.end()));
    }
    labelled_passages out;
    out.classes = classes.empty() ? class_names(raw) : std::move(classes);
    if (out.classes.size() < 2)
        fail("{} {}: every passage has the label '{}'; expected at least two classes", what, paths.front(),
             out.classes.front());
    for (const raw_passage& p : raw) {
        const auto found = std::find(out.classes.begin(), out.classes.end(), p.label);
        if (found == out.classes.end())
            fail("{}: label '{}' is not one of the training data's classes: {}", p.where, p.label,
                 fmt::format("{}", fmt::join(out.classes, ", ")));
        std::vector<std::int32_t> ids;
        try {
            ids = tok.encode(p.text, tok.add_bos_default());
        } catch (const error& e) {
            fail("{}: {}", p.where, e.what());
        }
        if (std::int64_t(ids.size()) > context) ids.resize(std::size_t(context));
        out.tokens.push_back(std::move(ids));
        out.labels.push_back(std::int32_t(found - out.classes.begin()));
    }
    return out;
}

batch passage_rows(const labelled_passages& passages, std::span<const std::size_t> picks, std::int64_t window,
                   std::span<const std::int64_t> lengths) {
    STRETCH_ASSERT(lengths.empty() || lengths.size() == picks.size());
    batch b;
    b.inputs.assign(picks.size() * std::size_t(window), 0);  // padding: any id, never seen by the passage
    b.targets.assign(picks.size() * std::size_t(window), -1);
    for (std::size_t row = 0; row < picks.size(); ++row) {
        const auto& whole = passages.tokens[picks[row]];
        const std::span<const std::int32_t> ids =
            std::span(whole).first(lengths.empty() ? whole.size() : std::size_t(lengths[row]));
        STRETCH_ASSERT(std::int64_t(ids.size()) <= window && !ids.empty());
        std::copy(ids.begin(), ids.end(), b.inputs.begin() + std::ptrdiff_t(row * std::size_t(window)));
        b.targets[row * std::size_t(window) + ids.size() - 1] = passages.labels[picks[row]];
    }
    return b;
}

passage_sampler::passage_sampler(labelled_passages passages, std::int64_t window, std::uint64_t seed, bool prefixes)
    : passages_(std::move(passages)), window_(window), generator_(seed), prefixes_(prefixes) {}

batch passage_sampler::next(std::int64_t rows, const position_draw& draw_positions) {
    STRETCH_ASSERT(!draw_positions);  // refused when the run is set up (finetune.cpp)
    std::vector<std::size_t> picks(static_cast<std::size_t>(rows));
    for (auto& p : picks) p = std::size_t(generator_.below(passages_.tokens.size()));
    std::vector<std::int64_t> lengths;
    if (prefixes_)
        for (const std::size_t p : picks) lengths.push_back(1 + std::int64_t(generator_.below(passages_.tokens[p].size())));
    return passage_rows(passages_, picks, window_, lengths);
}

std::string passage_sampler::fingerprint() const {
    std::uint64_t hash = fnv1a({});
    for (std::size_t i = 0; i < passages_.tokens.size(); ++i) {
        hash = fnv1a(passages_.tokens[i], hash);
        hash = fnv1a(std::span(&passages_.labels[i], 1), hash);
    }
    return fmt::format("{} passages of {} classes ({}), fnv1a {:016x}", passages_.tokens.size(), passages_.classes.size(),
                       fmt::join(passages_.classes, ", "), hash);
}

}  // namespace stretch
