#include "serve/token_scores.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace stretch::serve {

scored_token score_token(std::span<const float> logits, std::int32_t id, int k) {
    STRETCH_ASSERT(id >= 0 && std::size_t(id) < logits.size() && k >= 0);
    const double max = *std::max_element(logits.begin(), logits.end());
    double sum = 0;
    for (const float x : logits) sum += std::exp(double(x) - max);
    const double lse = max + std::log(sum);  // log sum_j exp(z_j)
    scored_token out{id, double(logits[std::size_t(id)]) - lse, {}};
    if (k == 0) return out;
    std::vector<std::int32_t> ids(logits.size());
    std::iota(ids.begin(), ids.end(), 0);
    const std::size_t keep = std::min(std::size_t(k), ids.size());
    std::partial_sort(ids.begin(), ids.begin() + std::ptrdiff_t(keep), ids.end(), [&](std::int32_t a, std::int32_t b) {
        const float za = logits[std::size_t(a)], zb = logits[std::size_t(b)];
        return za > zb || (za == zb && a < b);
    });
    for (std::size_t i = 0; i < keep; ++i) out.top.push_back({ids[i], double(logits[std::size_t(ids[i])]) - lse});
    return out;
}

std::vector<scored_token> score_rows(const transformer& model, const tensor& hidden,
                                     std::span<const std::int32_t> targets, int k, std::int64_t slice_rows) {
    const std::int64_t rows = hidden.dim(0), width = hidden.dim(1);
    STRETCH_ASSERT(std::int64_t(targets.size()) == rows && slice_rows > 0);
    std::vector<scored_token> out;
    for (std::int64_t row = 0; row < rows; row += slice_rows) {
        const std::int64_t n = std::min(slice_rows, rows - row);
        tensor slice({n, width}, hidden.type());  // [n, C]
        std::memcpy(slice.raw(), static_cast<const std::byte*>(hidden.raw()) + std::size_t(row) * slice.bytes() / std::size_t(n),
                    slice.bytes());
        ag::context inference;
        tensor logits = model.logits(inference, ag::make_var(slice, "prompt_rows"))->value;  // [n, V]
        if (logits.type() != dtype::f32) logits = logits.to(dtype::f32);
        const std::int64_t vocab = logits.dim(1);
        for (std::int64_t i = 0; i < n; ++i) {
            const std::int32_t target = targets[std::size_t(row + i)];
            if (target < 0) continue;
            out.push_back(score_token({logits.data<float>() + i * vocab, std::size_t(vocab)}, target, k));
        }
    }
    return out;
}

}  // namespace stretch::serve
