#include "eval/kl_divergence.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include <fmt/format.h>

#include "core/error.h"

namespace stretch {

namespace {

constexpr char magic[8] = {'S', 'T', 'K', 'L', 'D', '0', '0', '1'};
constexpr std::size_t fixed_header = sizeof magic + 6 * sizeof(std::int64_t);  // + the description

// Logit v of row r of logits [rows, V], f32 or f64.
double logit(const tensor& logits, std::int64_t r, std::int64_t v) {
    const std::int64_t i = r * logits.dim(1) + v;
    return logits.type() == dtype::f32 ? double(logits.data<float>()[i]) : logits.data<double>()[i];
}

// log sum_v exp(x_v) of row r, shifted by its maximum.
double log_sum_exp(const tensor& logits, std::int64_t r) {
    const std::int64_t vocab = logits.dim(1);
    double max = -INFINITY;
    for (std::int64_t v = 0; v < vocab; ++v) max = std::max(max, logit(logits, r, v));
    double sum = 0;
    for (std::int64_t v = 0; v < vocab; ++v) sum += std::exp(logit(logits, r, v) - max);
    return max + std::log(sum);
}

std::string describe(const kl_layout& l) {
    return fmt::format("vocabulary {}, -c {}, {} scored tokens per chunk, {} chunks, targets hash {:016x}", l.vocab,
                       l.n_ctx, l.rows_per_chunk, l.chunks, l.targets_hash);
}

}  // namespace

kl_base_writer::kl_base_writer(const std::string& path, const kl_layout& layout) : out_(path), layout_(layout) {
    std::vector<std::byte> header(fixed_header + layout.base.size());
    const std::int64_t fields[6] = {layout.vocab, layout.n_ctx, layout.rows_per_chunk, layout.chunks,
                                    std::int64_t(layout.targets_hash), std::int64_t(layout.base.size())};
    std::memcpy(header.data(), magic, sizeof magic);
    std::memcpy(header.data() + sizeof magic, fields, sizeof fields);
    std::memcpy(header.data() + fixed_header, layout.base.data(), layout.base.size());
    out_.write(header);
}

void kl_base_writer::add(const tensor& logits, std::int64_t rows) {
    STRETCH_ASSERT(logits.dim(1) == layout_.vocab);
    std::vector<float> row(std::size_t(layout_.vocab));  // [V] log-probabilities
    for (std::int64_t r = 0; r < rows; ++r) {
        const double lse = log_sum_exp(logits, r);
        for (std::int64_t v = 0; v < layout_.vocab; ++v) row[std::size_t(v)] = float(logit(logits, r, v) - lse);
        out_.write(std::as_bytes(std::span(row)));
    }
    written_ += rows;
}

void kl_base_writer::commit() {
    STRETCH_ASSERT(written_ == layout_.rows_per_chunk * layout_.chunks);
    out_.commit();
}

kl_comparison::kl_comparison(const std::string& path, const kl_layout& expected) : in_(path), layout_(expected) {
    const auto refuse = [&](const std::string& why) { fail("--kl-divergence-base {}: {}", path, why); };
    char found[sizeof magic] = {};
    std::int64_t fields[6] = {};
    if (in_.size() < fixed_header)
        refuse(fmt::format("{} bytes; expected a KL base file written by `stretch ppl --kl-divergence-base`", in_.size()));
    in_.read_at(found, sizeof found, 0);
    if (std::memcmp(found, magic, sizeof magic) != 0)
        refuse("not a KL base file; expected one written by `stretch ppl --kl-divergence-base` (without --kl-divergence)");
    in_.read_at(fields, sizeof fields, sizeof magic);
    kl_layout written{fields[0], fields[1], fields[2], fields[3], std::uint64_t(fields[4]), {}};
    const std::uint64_t base_length = std::uint64_t(fields[5]);
    if (base_length > in_.size() - fixed_header) refuse("the header is cut short; expected a whole file");
    written.base.resize(base_length);
    in_.read_at(written.base.data(), base_length, fixed_header);
    if (describe(written) != describe(expected))
        refuse(fmt::format("written for {}; this run scores {} (expected the same text, -c, --chunks and model "
                           "vocabulary)",
                           describe(written), describe(expected)));
    data_at_ = fixed_header + base_length;
    const std::uint64_t want = data_at_ + std::uint64_t(expected.rows_per_chunk * expected.chunks * expected.vocab) * 4;
    if (in_.size() != want) refuse(fmt::format("{} bytes; expected {} for {}", in_.size(), want, describe(expected)));
    layout_.base = written.base;
}

void kl_comparison::add(const tensor& logits, std::int64_t rows, const std::int32_t* targets) {
    const std::int64_t vocab = layout_.vocab;
    STRETCH_ASSERT(logits.dim(1) == vocab && read_ + rows <= layout_.rows_per_chunk * layout_.chunks);
    std::vector<float> base(static_cast<std::size_t>(vocab));  // [V] the base's log-probabilities
    for (std::int64_t r = 0; r < rows; ++r, ++read_) {
        in_.read_at(base.data(), base.size() * sizeof(float), data_at_ + std::uint64_t(read_ * vocab) * 4);
        const double lse = log_sum_exp(logits, r);
        double kl = 0;
        std::int64_t top = 0, base_top = 0;
        for (std::int64_t v = 0; v < vocab; ++v) {
            const double b = base[std::size_t(v)];
            kl += std::exp(b) * (b - (logit(logits, r, v) - lse));
            if (logit(logits, r, v) > logit(logits, r, top)) top = v;
            if (b > base[std::size_t(base_top)]) base_top = v;
        }
        divergences_.push_back(kl);
        same_top_ += top == base_top;
        base_nll_ -= base[std::size_t(targets[r])];
    }
}

kl_result kl_comparison::result() const {
    kl_result r;
    r.base = layout_.base;
    r.tokens = std::int64_t(divergences_.size());
    if (r.tokens == 0) return r;
    const double n = double(r.tokens);
    r.mean = std::accumulate(divergences_.begin(), divergences_.end(), 0.0) / n;
    double squares = 0;
    for (const double d : divergences_) squares += (d - r.mean) * (d - r.mean);
    r.mean_error = r.tokens > 1 ? std::sqrt(squares / (n - 1) / n) : 0.0;
    std::vector<double> sorted = divergences_;
    std::sort(sorted.begin(), sorted.end());
    const auto quantile = [&](double q) { return sorted[std::size_t(std::llround(q * (n - 1)))]; };
    r.median = quantile(0.5);
    r.p99 = quantile(0.99);
    r.max = sorted.back();
    r.same_top = double(same_top_) / n;
    r.base_ppl = std::exp(base_nll_ / n);
    return r;
}

}  // namespace stretch
