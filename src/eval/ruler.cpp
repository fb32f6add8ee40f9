#include "eval/ruler.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <unordered_map>

#include "core/error.h"
#include "eval/ruler_cwe.h"
#include "eval/ruler_fwe.h"
#include "eval/ruler_niah.h"
#include "eval/ruler_vt.h"
#include "generate/generator.h"

namespace stretch {

namespace {

using enum niah_haystack;
using enum niah_kind;

// scripts/synthetic.yaml (the eleven tasks without downloads) and constants.py's tokens_to_generate.
const std::array<ruler_task, 11> tasks = {{
    {"niah_single_1", ruler_family::niah, 128, {noise, words, numbers, 1, 1, 1}},
    {"niah_single_2", ruler_family::niah, 128, {essay, words, numbers, 1, 1, 1}},
    {"niah_single_3", ruler_family::niah, 128, {essay, words, uuids, 1, 1, 1}},
    {"niah_multikey_1", ruler_family::niah, 128, {essay, words, numbers, 4, 1, 1}},
    {"niah_multikey_2", ruler_family::niah, 128, {needle, words, numbers, 1, 1, 1}},
    {"niah_multikey_3", ruler_family::niah, 128, {needle, uuids, uuids, 1, 1, 1}},
    {"niah_multivalue", ruler_family::niah, 128, {essay, words, numbers, 1, 4, 1}},
    {"niah_multiquery", ruler_family::niah, 128, {essay, words, numbers, 1, 1, 4}},
    {"vt", ruler_family::vt, 30, {}},
    {"cwe", ruler_family::cwe, 120, {}},
    {"fwe", ruler_family::fwe, 50, {}},
}};

// splitmix64's finaliser (Steele, Lea & Flood 2014): a well-mixed 64-bit function of its input.
std::uint64_t mix(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; }

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out) c = ascii_lower(c);
    return out;
}

std::string_view strip(std::string_view text) {
    // Python's str.strip(): ASCII white space and the separators 0x1c-0x1f.
    const auto space = [](char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f); };
    while (!text.empty() && space(text.front())) text.remove_prefix(1);
    while (!text.empty() && space(text.back())) text.remove_suffix(1);
    return text;
}

}  // namespace

bool ruler_task::needs_words() const {
    return family == ruler_family::cwe ||
           (family == ruler_family::niah && (niah.key == niah_kind::words || niah.value == niah_kind::words));
}

bool ruler_task::needs_essay() const { return family == ruler_family::niah && niah.haystack == niah_haystack::essay; }

std::span<const ruler_task> ruler_tasks() { return tasks; }

std::vector<const ruler_task*> parse_ruler_tasks(const std::string& text) {
    std::vector<const ruler_task*> out;
    if (text == "all") {
        for (const ruler_task& t : tasks) out.push_back(&t);
        return out;
    }
    std::vector<std::string_view> names;
    for (const ruler_task& t : tasks) names.push_back(t.name);
    std::string_view rest = text;
    while (true) {
        const auto comma = rest.find(',');
        const std::string_view name = rest.substr(0, comma);
        const auto it = std::find_if(tasks.begin(), tasks.end(), [&](const ruler_task& t) { return t.name == name; });
        if (it == tasks.end()) fail("--tasks: unknown task '{}'; expected 'all' or names of {}", name, fmt::join(names, ", "));
        if (std::find(out.begin(), out.end(), &*it) != out.end()) fail("--tasks: '{}' named twice", name);
        out.push_back(&*it);
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    return out;
}

ruler_generator make_ruler_generator(const ruler_task& task, const ruler_sources& sources, const tokenizer& tok,
                                     std::int64_t length) {
    switch (task.family) {
        case ruler_family::niah: return niah_generator(task.niah, sources);
        case ruler_family::vt: return vt_generator(tok);
        case ruler_family::cwe: return cwe_generator(sources.words, length);
        case ruler_family::fwe: return fwe_generator(length);
    }
    fail("ruler: task '{}' has no generator", task.name);
}

std::int64_t ruler_prompt_tokens(const tokenizer& tok, const std::string& prompt) {
    return std::int64_t(tok.encode(prompt, tok.add_bos_default()).size());
}

std::int64_t largest_fitting_size(const std::function<bool(std::int64_t)>& fits, std::int64_t min_size,
                                  std::int64_t max_size, std::int64_t guess) {
    std::int64_t lo = min_size, hi = max_size + 1;  // fits(lo); hi: does not fit, or past max_size
    guess = std::clamp(guess, min_size, max_size);
    std::int64_t step = std::max<std::int64_t>(1, guess / 64);
    if (guess > lo && fits(guess)) lo = guess;
    else if (guess > lo) hi = guess;
    if (hi == max_size + 1) {  // gallop up from lo
        while (lo < max_size) {
            const std::int64_t next = std::min(max_size, lo + step);
            if (!fits(next)) {
                hi = next;
                break;
            }
            lo = next;
            step *= 2;
        }
        if (lo == max_size) return lo;
    } else {  // gallop down from the guess that did not fit
        for (std::int64_t next = hi - step; next > lo; next = hi - step) {
            if (fits(next)) {
                lo = next;
                break;
            }
            hi = next;
            step *= 2;
        }
    }
    while (hi - lo > 1) {
        const std::int64_t mid = lo + (hi - lo) / 2;
        if (fits(mid)) lo = mid;
        else hi = mid;
    }
    return lo;
}

ruler_sample fit_ruler_sample(const ruler_task& task, const ruler_generator& generator, const tokenizer& tok,
                              std::int64_t length, std::uint64_t seed, std::int64_t guess) {
    const std::int64_t budget = length - task.max_new_tokens;
    ruler_sample last_fit;
    const auto fits = [&](std::int64_t size) {
        ruler_sample s = generator.make(size, seed);
        s.tokens = ruler_prompt_tokens(tok, s.prompt);
        if (s.tokens > budget) return false;
        last_fit = std::move(s);
        return true;
    };
    if (!fits(generator.min_size)) {
        const ruler_sample smallest = generator.make(generator.min_size, seed);
        fail("--lengths {}: too short for RULER task {}: its smallest sample has {} prompt tokens and {} to generate",
             length, task.name, ruler_prompt_tokens(tok, smallest.prompt), task.max_new_tokens);
    }
    const std::int64_t size = largest_fitting_size(fits, generator.min_size, generator.max_size, guess);
    if (size == generator.max_size)
        fail("--lengths {}: too long for RULER task {}: its largest sample ({} words, all wonderwords has) has {} "
             "prompt tokens; RULER draws from a downloaded word list there",
             length, task.name, size, last_fit.tokens);
    STRETCH_ASSERT(last_fit.size == size);
    return last_fit;
}

std::uint64_t ruler_sample_seed(std::uint64_t seed, std::string_view task, std::int64_t length, std::int64_t index) {
    std::uint64_t h = mix(seed);
    for (const char c : task) h = mix(h ^ std::uint64_t((unsigned char)c));
    return mix(mix(h ^ std::uint64_t(length)) ^ std::uint64_t(index));
}

std::string ruler_postprocess(std::string_view prediction) {
    std::string out(strip(prediction));
    for (char& c : out)
        if ((unsigned char)c <= 0x1f) c = '\n';
    return std::string(strip(out));
}

std::vector<bool> ruler_matches(std::string_view prediction, std::span<const std::string> answers) {
    const std::string text = lower(prediction);
    std::vector<bool> found;
    for (const std::string& answer : answers) found.push_back(text.find(lower(answer)) != std::string::npos);
    return found;
}

double string_match_all(std::string_view prediction, std::span<const std::string> answers) {
    if (answers.empty()) fail("ruler: a sample without answers");
    const std::vector<bool> found = ruler_matches(prediction, answers);
    return double(std::count(found.begin(), found.end(), true)) / double(answers.size());
}

std::vector<std::int64_t> sample_indices(rng& r, std::int64_t n, std::int64_t k) {
    STRETCH_ASSERT(k >= 0 && k <= n);
    // Partial Fisher-Yates over a sparse permutation of [0, n): O(k) draws and memory.
    std::unordered_map<std::int64_t, std::int64_t> moved;
    const auto at = [&](std::int64_t i) {
        const auto it = moved.find(i);
        return it == moved.end() ? i : it->second;
    };
    std::vector<std::int64_t> out;
    for (std::int64_t i = 0; i < k; ++i) {
        const std::int64_t j = i + std::int64_t(r.below(std::uint64_t(n - i)));
        const std::int64_t picked = at(j);
        moved[j] = at(i);
        out.push_back(picked);
    }
    return out;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
    std::string out;
    std::size_t start = 0;
    for (std::size_t at; (at = s.find(from, start)) != std::string::npos; start = at + from.size())
        out.append(s, start, at - start).append(to);
    return out.append(s, start, std::string::npos);
}

std::vector<ruler_cell> run_ruler(const transformer& model, const tokenizer& tok, const ruler_sources& sources,
                                  const ruler_request& request, const std::function<void(const ruler_cell&)>& progress) {
    if (request.samples <= 0) fail("--samples: found {}, expected a positive number", request.samples);
    std::vector<ruler_cell> cells;
    for (const std::int64_t length : request.lengths) {
        for (const ruler_task* task : request.tasks) {
            const auto start = std::chrono::steady_clock::now();
            const ruler_generator generator = make_ruler_generator(*task, sources, tok, length);
            ruler_cell cell{std::string(task->name), length, 0, {}, 0};
            std::int64_t guess = generator.min_size;
            for (std::int64_t i = 0; i < request.samples; ++i) {
                const ruler_sample s =
                    fit_ruler_sample(*task, generator, tok, length, ruler_sample_seed(request.seed, task->name, length, i), guess);
                guess = s.size;
                generation_request g;
                g.prompt = tok.encode(s.prompt, tok.add_bos_default());
                g.n_predict = task->max_new_tokens;
                g.sampling.temperature = 0;  // greedy
                if (tok.eos() >= 0) g.stop = {tok.eos()};
                ruler_prediction p{s.size, s.tokens, s.answers, s.depths, {}, {}, 0};
                p.prediction = ruler_postprocess(tok.decode(generate(model, request.positions, g)));
                p.found = ruler_matches(p.prediction, s.answers);
                p.score = string_match_all(p.prediction, s.answers);
                cell.score += p.score;
                cell.samples.push_back(std::move(p));
            }
            cell.score *= 100.0 / double(request.samples);
            cell.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (progress) progress(cell);
            cells.push_back(std::move(cell));
        }
    }
    return cells;
}

}  // namespace stretch
