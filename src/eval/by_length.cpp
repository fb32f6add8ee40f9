#include "eval/by_length.h"

#include <chrono>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <numbers>

#include <fmt/format.h>

#include "core/error.h"
#include "kernels/cpu/cross_entropy.h"

namespace stretch {

std::string score_rule::text() const {
    return beyond ? "beyond" : last_n == 0 ? "all" : "last:" + std::to_string(last_n);
}

static std::int64_t parse_positive(std::string_view item, const char* what) {
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (ec != std::errc() || end != item.data() + item.size() || v <= 0)
        fail("{}: '{}' is not a positive integer", what, item);
    return v;
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

namespace {

// The text positions that window `w` of `mode` reads, L + 1 of them (file comment of by_length.h);
// `windows_in` is how many such windows the text holds.
struct window_layout {
    eval_mode mode;
    std::int64_t length, n_ctx, n_text;

    // Plain windows advance by L and read L + 1 tokens; repeated ones advance by L_train and tile
    // a span of up to L_train + 1.
    std::int64_t span(bool plain) const { return plain ? length + 1 : std::min(length + 1, n_ctx); }
    std::int64_t stride(bool plain) const { return plain ? length : n_ctx; }
    std::int64_t fits(bool plain) const { return n_text < span(plain) ? 0 : (n_text - span(plain)) / stride(plain) + 1; }

    std::int64_t windows_in() const {
        if (mode != eval_mode::mixed) return fits(mode == eval_mode::plain);
        return std::min(fits(true), fits(false)) * 2;
    }
    std::int64_t min_text() const { return mode == eval_mode::repeated ? span(false) : span(true); }

    std::int64_t position(std::int64_t w, std::int64_t i) const {
        const bool plain = mode == eval_mode::plain || (mode == eval_mode::mixed && w % 2 == 0);
        const std::int64_t k = mode == eval_mode::mixed ? w / 2 : w;
        return k * stride(plain) + i % span(plain);
    }
};

}  // namespace

const char* apply_rule_name(apply_rule rule) { return rule == apply_rule::always ? "always" : "beyond_train"; }

void check_eval_request(const eval_request& request, std::int64_t n_ctx) {
    if (request.bucket <= 0) fail("--bucket: found {}, expected a positive number of positions", request.bucket);
    for (const std::int64_t length : request.lengths) {
        if (request.score.last_n > length)
            fail("--score last:{}: more positions than the window length {}", request.score.last_n, length);
        if (request.score.beyond && length <= n_ctx)
            fail("--score beyond: length {} has no position past n_ctx_train {}", length, n_ctx);
    }
}

std::vector<length_result> evaluate_by_length(const transformer& model, const std::vector<std::int32_t>& text,
                                              const std::string& text_name, const eval_request& request) {
    const std::int64_t n_ctx = model.config().n_ctx_train;
    const auto n_text = static_cast<std::int64_t>(text.size());
    const std::int64_t vocab = model.config().vocab_size;
    check_eval_request(request, n_ctx);
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
        const window_layout layout{request.mode, length, n_ctx, n_text};
        if (layout.windows_in() == 0)
            fail("--lengths {}: {} has {} tokens, expected at least {} for one window", length, text_name, n_text,
                 layout.min_text());
        const std::int64_t n_windows = std::min(windows, layout.windows_in());
        const bool as_trained = request.apply == apply_rule::beyond_train && length <= n_ctx;
        const variants::position_setup positions(as_trained ? request.trained : request.positions,
                                                 model.position_context(length), request.positions_where);

        const auto start = std::chrono::steady_clock::now();
        double loss_sum = 0;
        std::int64_t hits = 0, scored = 0;
        std::vector<std::int32_t> sample(static_cast<std::size_t>(length + 1));
        for (std::int64_t w = 0; w < n_windows; ++w) {
            for (std::int64_t i = 0; i <= length; ++i) sample[std::size_t(i)] = text[std::size_t(layout.position(w, i))];
            ag::context inference;
            ag::var logits = model.forward(inference, std::span(sample.data(), std::size_t(length)), 1, length, positions);
            std::vector<std::int32_t> targets(sample.begin() + 1, sample.end());
            for (std::int64_t i = 0; i < first; ++i) targets[std::size_t(i)] = -1;
            std::vector<double> losses(std::size_t(length), 0.0);
            std::vector<std::uint8_t> hit(std::size_t(length), 0);
            cpu::cross_entropy_forward<float>(logits->value.data<float>(), targets.data(), losses.data(), hit.data(),
                                              length, vocab);
            for (std::int64_t i = first; i < length; ++i) {
                loss_sum += losses[std::size_t(i)];
                hits += hit[std::size_t(i)];
                const auto b = std::size_t(i / request.bucket);
                bucket_loss[b] += losses[std::size_t(i)];
                bucket_hits[b] += hit[std::size_t(i)];
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
        r.loss = loss_sum / double(scored);
        r.ppl = std::exp(r.loss);
        r.bpb = r.loss / std::numbers::ln2;  // byte-level vocabulary: one token is one byte
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
