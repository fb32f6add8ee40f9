// transformer::hidden_batch: one step of a serving batch (model/transformer.h). The rows of every
// sequence's new tokens are stacked into one [N, C] stream; the products run per row group (all
// one-token rows together, then each longer sequence on its own) and attention per sequence.
#include <cstring>

#include "model/transformer.h"

namespace stretch {

namespace {

// Rows [r0, r1) of x [N, W], copied.
tensor rows_of(const tensor& x, std::int64_t r0, std::int64_t r1) {
    const std::int64_t width = x.dim(1);
    tensor out({r1 - r0, width}, x.type());
    const std::size_t row_bytes = std::size_t(width) * dtype_size(x.type());
    std::memcpy(out.raw(), static_cast<const std::byte*>(x.raw()) + std::size_t(r0) * row_bytes, out.bytes());
    return out;
}

// The parts [n_i, W] stacked into [sum n_i, W].
tensor stack_rows(const std::vector<tensor>& parts) {
    std::int64_t rows = 0;
    for (const tensor& p : parts) rows += p.dim(0);
    tensor out({rows, parts.front().dim(1)}, parts.front().type());
    std::size_t at = 0;
    for (const tensor& p : parts) {
        std::memcpy(static_cast<std::byte*>(out.raw()) + at, p.raw(), p.bytes());
        at += p.bytes();
    }
    return out;
}

}  // namespace

ag::var transformer::hidden_batch(ag::context& ctx, std::span<const sequence_step> steps) const {
    STRETCH_ASSERT(!steps.empty() && ctx.recorder == nullptr);
    const auto& c = config_;
    if (steps.size() == 1 || c.is_gau()) {  // one sequence, or GAU layers (one cache per forward)
        std::vector<tensor> parts;
        for (const sequence_step& s : steps)
            parts.push_back(hidden(ctx, s.tokens, 1, std::int64_t(s.tokens.size()), *s.positions, s.cache)->value);
        return ag::make_var(parts.size() == 1 ? parts.front() : stack_rows(parts), "hidden");
    }
    // Row ranges: sequence i owns rows [first[i], first[i + 1]); one-token sequences lead.
    std::vector<std::int64_t> first{0}, past;
    std::vector<layer_plans> plans;
    std::vector<tensor> embedded;
    std::int64_t one_token_rows = 0;
    for (const sequence_step& s : steps) {
        const std::int64_t time = std::int64_t(s.tokens.size()), p = s.cache->size();
        STRETCH_ASSERT(time > 0 && s.positions->n_layers() == c.n_attention_layers());
        STRETCH_ASSERT(time > 1 || one_token_rows == first.back());  // one-token sequences first
        if (time == 1) ++one_token_rows;
        // A method whose rotation switches with the length (LongRoPE) would need its cache recomputed;
        // the server resolves such a method once per request instead (serve/positions.h).
        STRETCH_ASSERT(p == 0 || !s.positions->global().refill_cache_on_rotation_change() ||
                       s.cache->written_with(s.positions->global().frequencies(p + time)));
        past.push_back(p);
        first.push_back(first.back() + time);
        plans.push_back(plan_layers(*s.positions, p, time, true));
        embedded.push_back(embed(ctx, s.tokens, 1, time, p, *s.positions)->value);
    }
    const std::size_t n = steps.size();
    // Row groups of the products: the one-token rows together, then each longer sequence alone.
    std::vector<std::pair<std::int64_t, std::int64_t>> groups;
    if (one_token_rows > 0) groups.emplace_back(0, one_token_rows);
    for (std::size_t i = 0; i < n; ++i)
        if (first[i + 1] - first[i] > 1) groups.emplace_back(first[i], first[i + 1]);
    const block_step step{
        [&](const ag::var& x, const ag::var& w, const std::string& name) {
            std::vector<tensor> parts;
            for (const auto& [r0, r1] : groups) {
                const ag::var rows = ag::make_var(rows_of(x->value, r0, r1), name + ".rows");
                parts.push_back((r1 - r0 == 1 || r0 < one_token_rows ? ag::linear_decode(ctx, rows, w, name)
                                                                     : ag::linear(ctx, rows, w, name))
                                    ->value);
            }
            return ag::make_var(stack_rows(parts), name);
        },
        [&](const ag::var& q_raw, const ag::var& k_raw, const ag::var& v, const layer_desc& d, std::int64_t il,
            const std::string& p, const ag::var& sinks) {
            std::vector<tensor> parts;
            for (std::size_t i = 0; i < n; ++i) {
                const std::int64_t r0 = first[i], r1 = first[i + 1];
                const head_shape heads{1, r1 - r0, past[i], d.n_head, d.n_head_kv, d.head_dim, c.rope_pairing};
                const auto slice = [&](const ag::var& x) { return ag::make_var(rows_of(x->value, r0, r1), p + "rows"); };
                parts.push_back(attend(ctx, slice(q_raw), slice(k_raw), slice(v), plans[i][il], heads, steps[i].cache,
                                       il, p, c.logit_scale(), sinks)
                                    ->value);
            }
            return ag::make_var(stack_rows(parts), p + "attn");
        }};
    ag::var x = ag::make_var(stack_rows(embedded), "token_embd");
    for (std::int64_t il = 0; il < c.n_attention_layers(); ++il)
        x = block_forward(ctx, blocks_[static_cast<std::size_t>(il)], x, step, il);
    for (std::size_t i = 0; i < n; ++i)
        steps[i].cache->advance(steps[i].tokens, steps[i].positions->global().frequencies(first[i + 1] - first[i] + past[i]));
    if (out_norm_ != nullptr) x = ag::rmsnorm(ctx, x, out_norm_, c.norm_eps, "output_norm");
    return x;
}

}  // namespace stretch
