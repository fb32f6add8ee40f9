#include "eval/rolling_loglikelihood.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"
#include "eval/next_token.h"

namespace stretch {

std::vector<rolling_request> rolling_requests(const std::vector<std::int32_t>& t, std::int32_t prefix,
                                              std::int64_t max_length) {
    const std::int64_t window = max_length - 2, n = std::int64_t(t.size());
    if (window < 1) fail("-c: found {}, expected at least 3 (lm-eval predicts max_length - 2 tokens per request)", max_length);
    std::vector<rolling_request> out;
    if (n == 0) return out;
    const std::int64_t first = std::min(window, n);
    rolling_request r{{prefix}, 1};
    r.tokens.insert(r.tokens.end(), t.begin(), t.begin() + first);
    out.push_back(std::move(r));
    for (std::int64_t predicted = first; predicted < n;) {
        const std::int64_t scored = std::min(n - predicted, window), end = predicted + scored;
        const std::int64_t begin = end - window - 1;  // >= 0: the first request predicted `window` tokens
        out.push_back({std::vector<std::int32_t>(t.begin() + begin, t.begin() + end), end - scored - begin});
        predicted = end;
    }
    return out;
}

rolling_result rolling_loglikelihood(const transformer& model, const variants::position_spec& positions,
                                     const std::vector<std::int32_t>& document_tokens, std::string_view text,
                                     std::int32_t prefix, std::int64_t max_length,
                                     const kv_cache_types& cache_types) {
    rolling_result r;
    for (const rolling_request& q : rolling_requests(document_tokens, prefix, max_length)) {
        const std::int64_t n = std::int64_t(q.tokens.size());
        // As the server resolves a request of n prompt tokens and one generated (lm-eval's max_tokens 1).
        const layer_positions setup = model.positions(positions, n + 1, "--pos");
        std::vector<std::int32_t> targets(std::size_t(n), -1);  // row j predicts token j + 1
        for (std::int64_t j = q.context - 1; j < n - 1; ++j) targets[std::size_t(j)] = q.tokens[std::size_t(j + 1)];
        const tensor hidden = window_hidden(model, q.tokens, setup, cache_types);
        const next_token_scores s = score_next_tokens(model, hidden, targets, q.context - 1, n - 1);
        for (const double loss : s.loss) r.loglikelihood -= loss;
        r.tokens += n - q.context;
        ++r.requests;
    }
    r.words = count_words(text);
    r.bytes = std::int64_t(text.size());
    r.token_perplexity = std::exp(-r.loglikelihood / double(std::max<std::int64_t>(r.tokens, 1)));
    r.word_perplexity = std::exp(-r.loglikelihood / double(r.words));
    r.byte_perplexity = std::exp(-r.loglikelihood / double(std::max<std::int64_t>(r.bytes, 1)));
    r.bits_per_byte = -r.loglikelihood / double(std::max<std::int64_t>(r.bytes, 1)) / std::numbers::ln2;
    return r;
}

namespace {

// Python's str.isspace(): the Unicode White_Space characters and the ASCII separators 0x1C-0x1F.
bool python_space(char32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

}  // namespace

std::int64_t count_words(std::string_view text) {
    std::int64_t runs = 0;
    bool in_space = false;
    for (std::size_t i = 0; i < text.size();) {
        const auto b = static_cast<unsigned char>(text[i]);
        const std::size_t len = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
        char32_t c = len == 1 ? b : b & (0xFF >> (len + 1));
        for (std::size_t k = 1; k < len && i + k < text.size(); ++k) c = (c << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
        const bool space = python_space(c);
        if (space && !in_space) ++runs;
        in_space = space;
        i += len;
    }
    return runs + 1;
}

}  // namespace stretch
