#include "eval/passkey.h"

#include <chrono>
#include <cmath>

#include "core/error.h"
#include "core/rng.h"
#include "generate/generator.h"

namespace stretch {

namespace {

constexpr std::string_view prefix =
    "There is an important info hidden inside a lot of irrelevant text. Find it and memorize them. I will quiz you "
    "about the important information there.";
constexpr std::string_view suffix = " What is the pass key? The pass key is";
constexpr std::string_view junk = " The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.";

std::string needle(std::int64_t key) {
    const std::string n = std::to_string(key);
    return " The pass key is " + n + ". Remember it. " + n + " is the pass key.";
}

}  // namespace

std::string passkey_prompt(std::int64_t n_junk, std::int64_t i_pos, std::int64_t key) {
    std::string prompt(prefix);
    for (std::int64_t i = 0; i < n_junk; ++i) {
        if (i == i_pos) prompt += needle(key);
        prompt += junk;
    }
    return prompt + std::string(suffix);
}

std::int64_t first_integer(std::string_view text) {
    std::size_t at = 0;
    while (at < text.size() && !(text[at] >= '0' && text[at] <= '9')) ++at;
    if (at == text.size()) return -1;
    std::int64_t value = 0;
    for (; at < text.size() && text[at] >= '0' && text[at] <= '9' && value < 1'000'000'000; ++at)
        value = value * 10 + (text[at] - '0');
    return value;
}

std::vector<passkey_cell> run_passkey(const transformer& model, const tokenizer& tok, const passkey_request& request,
                                      const std::function<void(const passkey_cell&)>& progress) {
    if (request.trials <= 0) fail("--trials: found {}, expected a positive number", request.trials);
    for (const double d : request.depths)
        if (!(d >= 0 && d <= 1)) fail("--depths: found {}, expected numbers in [0, 1]", d);
    // Tokens of everything but the filler, and of one filler copy in context (prompt with 2 copies
    // minus prompt with 1), to choose n_junk for a target length.
    const auto count = [&](std::int64_t n) { return std::int64_t(tok.encode(passkey_prompt(n, 0, 12345), true).size()); };
    const std::int64_t per_junk = count(2) - count(1), fixed = count(1) - per_junk;
    std::vector<passkey_cell> cells;
    for (const std::int64_t length : request.lengths) {
        const std::int64_t n_junk = std::max<std::int64_t>(1, (length - fixed) / std::max<std::int64_t>(1, per_junk));
        for (const double depth : request.depths) {
            passkey_cell cell;
            cell.length = length;
            cell.depth = depth;
            cell.n_junk = n_junk;
            const auto start = std::chrono::steady_clock::now();
            rng generator(request.seed ^ (std::uint64_t(length) * 1000003u) ^ std::uint64_t(std::llround(depth * 1000)));
            for (std::int64_t t = 0; t < request.trials; ++t) {
                const std::int64_t key = 1 + std::int64_t(generator.below(50000));
                const std::int64_t i_pos = std::llround(depth * double(n_junk - 1));
                generation_request g;
                g.prompt = tok.encode(passkey_prompt(n_junk, i_pos, key), true);
                g.n_predict = 16;
                g.cache_types = request.cache_types;
                g.sampling.temperature = 0;
                if (tok.eos() >= 0) g.stop = {tok.eos()};
                cell.prompt_tokens = std::int64_t(g.prompt.size());
                cell.last_answer = tok.decode(generate(model, request.positions, g));
                cell.correct += first_integer(cell.last_answer) == key;
                ++cell.trials;
            }
            cell.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (progress) progress(cell);
            cells.push_back(cell);
        }
    }
    return cells;
}

}  // namespace stretch
