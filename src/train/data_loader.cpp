#include "train/data_loader.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/error.h"

namespace stretch {

window_sampler::window_sampler(std::vector<std::vector<std::int32_t>> documents, std::vector<std::string> names,
                               std::int64_t window, std::uint64_t seed)
    : documents_(std::move(documents)), window_(window), generator_(seed) {
    std::int64_t total = 0;
    for (std::size_t i = 0; i < documents_.size(); ++i) {
        const auto n = static_cast<std::int64_t>(documents_[i].size());
        if (n < window + 1)
            fail("--data {}: {} tokens, expected at least {} (a window of {} and the next token)", names[i], n,
                 window + 1, window);
        total += n - window;  // starts 0 .. n - window - 1
        cumulative_starts_.push_back(total);
    }
    STRETCH_ASSERT(total > 0);
}

batch window_sampler::next(std::int64_t batch_size, const position_draw& draw_positions) {
    batch b;
    b.inputs.reserve(static_cast<std::size_t>(batch_size * window_));
    b.targets.reserve(static_cast<std::size_t>(batch_size * window_));
    for (std::int64_t i = 0; i < batch_size; ++i) {
        const auto pick = static_cast<std::int64_t>(generator_.below(static_cast<std::uint64_t>(cumulative_starts_.back())));
        const auto doc = static_cast<std::size_t>(
            std::upper_bound(cumulative_starts_.begin(), cumulative_starts_.end(), pick) - cumulative_starts_.begin());
        const std::int64_t start = pick - (doc == 0 ? 0 : cumulative_starts_[doc - 1]);
        const auto* p = documents_[doc].data() + start;
        b.inputs.insert(b.inputs.end(), p, p + window_);
        b.targets.insert(b.targets.end(), p + 1, p + window_ + 1);
        if (draw_positions) {
            const auto drawn = draw_positions(generator_, window_);
            STRETCH_ASSERT(std::int64_t(drawn.size()) == window_);
            b.positions.insert(b.positions.end(), drawn.begin(), drawn.end());
        }
    }
    return b;
}

std::uint64_t fnv1a(std::span<const std::int32_t> values, std::uint64_t hash) {
    for (const std::int32_t t : values) {
        hash ^= static_cast<std::uint64_t>(t);
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

std::string window_sampler::fingerprint() const {
    std::uint64_t hash = fnv1a({});
    std::string sizes;
    for (const auto& d : documents_) {
        sizes += fmt::format("{}{}", sizes.empty() ? "" : "+", d.size());
        hash = fnv1a(d, hash);
    }
    return fmt::format("{} tokens, fnv1a {:016x}", sizes, hash);
}

batch validation_windows(const std::vector<std::int32_t>& tokens, std::int64_t window, std::int64_t max_windows) {
    batch b;
    const auto n = static_cast<std::int64_t>(tokens.size());
    const std::int64_t fit = (n - 1) / window;  // non-overlapping windows with a next-token target
    const std::int64_t count = std::min(max_windows, fit);
    // Spread evenly over the whole text: the opening pages of a novel are not typical of it.
    for (std::int64_t w = 0; w < count; ++w) {
        const std::int64_t slot = count == 1 ? 0 : w * (fit - 1) / (count - 1);
        const auto* p = tokens.data() + slot * window;
        b.inputs.insert(b.inputs.end(), p, p + window);
        b.targets.insert(b.targets.end(), p + 1, p + window + 1);
    }
    return b;
}

}  // namespace stretch
