#include "eval/by_length.h"

#include <algorithm>
#include <chrono>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <numbers>

#include <fmt/format.h>

#include "core/error.h"
#include "core/numbers.h"
#include "eval/next_token.h"

namespace stretch {

std::string score_rule::text() const {
    return beyond ? "beyond" : last_n == 0 ? "all" : "last:" + std::to_string(last_n);
}

static std::int64_t parse_positive(std::string_view item, const char* what) {
    return parse_integer(item, integer_range(1, max_tokens), what);
}

std::vector<std::int64_t> parse_lengths(const std::string& text) {
    std::vector<std::int64_t> lengths;
    std::string_view rest = text;
    while (true) {
        const auto comma = rest.find(',');
        lengths.push_back(parse_positive(rest.substr(0, comma), "--lengths"));
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
    }
    return lengths;
}

eval_mode parse_eval_mode(const std::string& text) {
    if (text == "plain") return eval_mode::plain;
    if (text == "repeated") return eval_mode::repeated;
    if (text == "mixed") return eval_mode::mixed;
    fail("--mode: '{}', expected plain, repeated or mixed", text);
}

score_rule parse_score_rule(const std::string& text) {
    if (text == "all") return {};
    if (text == "beyond") return {.beyond = true};
    if (text.starts_with("last:")) return {parse_positive(std::string_view(text).substr(5), "--score last:N")};
    fail("--score: '{}', expected all, last:N or beyond", text);
}

apply_rule parse_apply_rule(const std::string& text) {
    if (text == "always") return apply_rule::always;
    if (text == "beyond_train") return apply_rule::beyond_train;
    fail("--apply: '{}', expected always or beyond_train", text);
}

const char* eval_mode_name(eval_mode mode) {
    return mode == eval_mode::plain ? "plain" : mode == eval_mode::repeated ? "repeated" : "mixed";
}

std::uint64_t fnv1a(std::uint64_t hash, std::int32_t token) {
    const auto value = static_cast<std::uint32_t>(token);
    for (int shift = 0; shift < 32; shift += 8) {
        hash ^= (value >> shift) & 0xff;
        hash *= 1099511628211ull;
    }
    return hash;
}

namespace {

// The text positions that window `w` of `mode` reads, L + 1 of them (file comment of by_length.h);
// `windows_in` is how many such windows the text holds.
struct window_layout {
    eval_mode mode;
    std::int64_t length, n_ctx, n_text;
    std::int64_t sample = 0;  // > 0: G3, window w is the last L + 1 tokens of sample w of this many

    // Plain windows advance by L and read L + 1 tokens; repeated ones advance by L_train and tile
    // a span of up to L_train + 1.
    std::int64_t span(bool plain) const { return plain ? length + 1 : std::min(length + 1, n_ctx); }
    std::int64_t stride(bool plain) const { return sample > 0 ? sample : plain ? length : n_ctx; }
    std::int64_t fits(bool plain) const {
        const std::int64_t need = sample > 0 ? sample : span(plain);
        return n_text < need ? 0 : (n_text - need) / stride(plain) + 1;
    }

    std::int64_t windows_in() const {
        if (mode != eval_mode::mixed) return fits(mode == eval_mode::plain);
        return std::min(fits(true), fits(false)) * 2;
    }
    std::int64_t min_text() const { return sample > 0 ? sample : mode == eval_mode::repeated ? span(false) : span(true); }

    std::int64_t position(std::int64_t w, std::int64_t i) const {
        if (sample > 0) return w * sample + (sample - length - 1) + i;
        const bool plain = mode == eval_mode::plain || (mode == eval_mode::mixed && w % 2 == 0);
        const std::int64_t k = mode == eval_mode::mixed ? w / 2 : w;
        return k * stride(plain) + i % span(plain);
    }
};

std::int64_t sample_length(const eval_request& request) {
    if (request.score.last_n == 0) return 0;
    if (request.sample_tokens > 0) return request.sample_tokens;
    return *std::max_element(request.lengths.begin(), request.lengths.end()) + 1;
}

}  // namespace

void use_tokenizer(eval_request& request, const tokenizer& tok) {
    request.token_bytes.resize(std::size_t(tok.vocab_size()));
    for (std::int32_t id = 0; id < tok.vocab_size(); ++id)
        request.token_bytes[std::size_t(id)] = std::int32_t(tok.token_bytes(id).size());
    request.bos = tok.add_bos_default() ? tok.bos() : -1;
}

const char* apply_rule_name(apply_rule rule) { return rule == apply_rule::always ? "always" : "beyond_train"; }

void check_eval_request(const eval_request& request, std::int64_t n_ctx) {
    if (request.bucket <= 0) fail("--bucket: found {}, expected a positive number of positions", request.bucket);
    if (request.score.last_n > 0 && request.mode != eval_mode::plain)
        fail("--score last:{}: G3 aligns every length's window at the end of the same samples of plain text; "
             "expected --mode plain, found {}",
             request.score.last_n, eval_mode_name(request.mode));
    const std::int64_t sample = sample_length(request);
    for (const std::int64_t length : request.lengths) {
        if (request.score.last_n > length)
            fail("--score last:{}: more positions than the window length {}", request.score.last_n, length);
        if (request.score.beyond && length <= n_ctx)
            fail("--score beyond: length {} has no position past n_ctx_train {}", length, n_ctx);
        if (sample > 0 && length + 1 > sample)
            fail("--lengths {}: a window of {} tokens does not fit G3's samples of {} tokens", length, length + 1, sample);
    }
}

std::vector<length_result> evaluate_by_length(const transformer& model, const std::vector<std::int32_t>& text,
                                              const std::string& text_name, const eval_request& request) {
    const std::int64_t n_ctx = model.config().n_ctx_train;
    const auto n_text = static_cast<std::int64_t>(text.size());
    check_eval_request(request, n_ctx);
    const std::int64_t sample = sample_length(request);
    std::vector<length_result> results;
    for (const std::int64_t length : request.lengths) {
        // Window positions first..length-1 are scored.
        const std::int64_t first = request.score.beyond       ? n_ctx
                                   : request.score.last_n > 0 ? length - request.score.last_n
                                                              : 0;
        const std::int64_t per_window = length - first;
        const std::int64_t n_buckets = (length + request.bucket - 1) / request.bucket;
        std::vector<double> bucket_loss(std::size_t(n_buckets), 0.0);
        std::vector<std::int64_t> bucket_hits(std::size_t(n_buckets), 0), bucket_tokens(std::size_t(n_buckets), 0);
        const std::int64_t windows = std::max<std::int64_t>(1, request.token_budget / per_window);
        const window_layout layout{request.mode, length, n_ctx, n_text, sample};
        if (layout.windows_in() == 0)
            fail("--lengths {}: {} has {} tokens, expected at least {} for one window", length, text_name, n_text,
                 layout.min_text());
        const std::int64_t n_windows = std::min(windows, layout.windows_in());
        const bool as_trained = request.apply == apply_rule::beyond_train && length <= n_ctx;
        const layer_positions positions =
            model.positions(as_trained ? request.trained : request.positions, length, request.positions_where);

        const auto start = std::chrono::steady_clock::now();
        double loss_sum = 0;
        std::int64_t hits = 0, scored = 0, bytes = 0;
        std::uint64_t hash = fnv1a_start;
        std::vector<std::int32_t> sample_tokens(static_cast<std::size_t>(length + 1));
        for (std::int64_t w = 0; w < n_windows; ++w) {
            for (std::int64_t i = 0; i <= length; ++i)
                sample_tokens[std::size_t(i)] = text[std::size_t(layout.position(w, i))];
            std::vector<std::int32_t> targets(sample_tokens.begin() + 1, sample_tokens.end());
            if (request.bos >= 0) sample_tokens[0] = request.bos;
            for (std::int64_t i = 0; i < first; ++i) targets[std::size_t(i)] = -1;
            const tensor hidden =
                window_hidden(model, std::span(sample_tokens.data(), std::size_t(length)), positions, request.cache_types);
            const next_token_scores s = score_next_tokens(model, hidden, targets, first, length);
            for (std::int64_t i = first; i < length; ++i) {
                const double loss = s.loss[std::size_t(i - first)];
                const std::int32_t target = targets[std::size_t(i)];
                loss_sum += loss;
                hits += s.hit[std::size_t(i - first)];
                bytes += request.token_bytes.empty() ? 1 : request.token_bytes[std::size_t(target)];
                hash = fnv1a(hash, target);
                const auto b = std::size_t(i / request.bucket);
                bucket_loss[b] += loss;
                bucket_hits[b] += s.hit[std::size_t(i - first)];
                ++bucket_tokens[b];
            }
            scored += per_window;
        }
        length_result r;
        r.length = length;
        r.mode = request.mode;
        r.score = request.score;
        r.tokens = scored;
        r.windows = n_windows;
        r.bytes = bytes;
        r.targets_hash = hash;
        r.loss = loss_sum / double(scored);
        r.ppl = std::exp(r.loss);
        r.bpb = bytes > 0 ? loss_sum / std::numbers::ln2 / double(bytes) : std::nan("");
        r.accuracy = double(hits) / double(scored);
        for (std::int64_t b = 0; b < n_buckets; ++b)
            if (const std::int64_t n = bucket_tokens[std::size_t(b)]; n > 0)
                r.buckets.push_back({b * request.bucket, std::min(length, (b + 1) * request.bucket),
                                     bucket_loss[std::size_t(b)] / double(n), double(bucket_hits[std::size_t(b)]) / double(n),
                                     n});
        r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        results.push_back(r);
    }
    return results;
}

std::vector<sweep_result> evaluate_methods(const transformer& model, const std::vector<std::int32_t>& text_tokens,
                                           const std::string& text_name, const eval_request& base,
                                           const std::vector<variants::position_spec>& methods,
                                           const std::vector<std::string>& labels, const std::vector<eval_mode>& modes) {
    STRETCH_ASSERT(methods.size() == labels.size());
    std::vector<sweep_result> results;
    for (std::size_t i = 0; i < methods.size(); ++i)
        for (const eval_mode mode : modes) {
            eval_request request = base;
            request.mode = mode;
            request.positions = methods[i];
            request.positions_where = fmt::format("method '{}'", labels[i]);
            for (const length_result& r : evaluate_by_length(model, text_tokens, text_name, request)) {
                std::fprintf(stderr, "  %-32s %-8s %6lld  loss %8.4f  acc %.4f  %6.1fs\n", labels[i].c_str(),
                             eval_mode_name(mode), (long long)r.length, r.loss, r.accuracy, r.seconds);
                results.push_back({labels[i], r});
            }
        }
    return results;
}

}  // namespace stretch
