#include "eval/next_token.h"

#include <algorithm>
#include <cstring>

#include "kernels/cpu/cross_entropy.h"

namespace stretch {

next_token_scores score_next_tokens(const transformer& model, const tensor& hidden,
                                    std::span<const std::int32_t> targets, std::int64_t first, std::int64_t end,
                                    std::int64_t slice_rows, const logits_visitor& on_logits) {
    const std::int64_t width = hidden.dim(1), vocab = model.config().vocab_size;
    STRETCH_ASSERT(0 <= first && first <= end && end <= hidden.dim(0));
    STRETCH_ASSERT(std::int64_t(targets.size()) == hidden.dim(0) && slice_rows > 0);
    next_token_scores out;
    out.loss.assign(std::size_t(end - first), 0.0);
    out.hit.assign(std::size_t(end - first), 0);
    for (std::int64_t row = first; row < end; row += slice_rows) {
        const std::int64_t rows = std::min(slice_rows, end - row);
        tensor slice({rows, width}, hidden.type());  // [rows, C]
        const std::size_t row_bytes = std::size_t(width) * dtype_size(hidden.type());
        std::memcpy(slice.raw(), static_cast<const std::byte*>(hidden.raw()) + std::size_t(row) * row_bytes,
                    std::size_t(rows) * row_bytes);
        ag::context inference;
        const tensor logits = model.logits(inference, ag::make_var(slice, "hidden_rows"))->value;  // [rows, V]
        if (on_logits) on_logits(row, logits);
        const std::size_t at = std::size_t(row - first);
        if (logits.type() == dtype::f32)
            cpu::cross_entropy_forward<float>(logits.data<float>(), targets.data() + row, out.loss.data() + at,
                                              out.hit.data() + at, rows, vocab);
        else
            cpu::cross_entropy_forward<double>(logits.data<double>(), targets.data() + row, out.loss.data() + at,
                                               out.hit.data() + at, rows, vocab);
    }
    return out;
}

tensor window_hidden(const transformer& model, std::span<const std::int32_t> tokens, const layer_positions& setup,
                     const kv_cache_types& cache_types) {
    const auto time = std::int64_t(tokens.size());
    ag::context inference;
    if (cache_types.plain()) return model.hidden(inference, tokens, 1, time, setup)->value;
    kv_cache cache(model.config(), time, model.type(), cache_types);
    return model.hidden(inference, tokens, 1, time, setup, &cache)->value;
}

}  // namespace stretch
