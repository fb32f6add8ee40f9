#include "autograd/ops.h"

#include <vector>

#include "autograd/dispatch.h"
#include "kernels/cpu/cross_entropy.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/norms.h"
#include "kernels/cpu/quant_matmul.h"

namespace stretch::ag {

namespace {

void check_same_dtype(const var& a, const var& b) { STRETCH_ASSERT(a->value.type() == b->value.type()); }

// Quantised weights have no f32 values to differentiate: they can be frozen (LoRA keeps the base in
// its blocks), never trained.
void check_frozen(const context& ctx, const var& w, const std::string& op) {
    if (ctx.recorder != nullptr && w->requires_grad)
        fail("{} {}: the weights are quantised ({}), which cannot be trained; load the model dequantised to train them",
             op, w->name, gguf::ggml_type_name(w->quantized->type));
}

var quantized_linear(context& ctx, const var& x, const var& w, std::string name) {
    check_frozen(ctx, w, "linear");
    const cpu::quantized_matrix& q = *w->quantized;
    const std::int64_t m = x->value.dim(0), k = x->value.dim(-1);
    STRETCH_ASSERT(q.cols == k && x->value.type() == dtype::f32);
    auto y = make_var(tensor({m, q.rows}), std::move(name));
    cpu::quantized_linear_forward(x->value.data<float>(), q, y->value.data<float>(), m);
    if (ctx.records({&x})) {
        node* yp = y.get();
        ctx.recorder->record(y, [x, w, yp, m] {
            cpu::quantized_linear_backward_input(yp->grad_buffer().data<float>(), *w->quantized,
                                                 x->grad_buffer().data<float>(), m);
        });
    }
    return y;
}

var quantized_embedding(context& ctx, const var& table, std::span<const std::int32_t> tokens, std::string name) {
    check_frozen(ctx, table, "embedding");
    const cpu::quantized_matrix& q = *table->quantized;
    auto y = make_var(tensor({std::int64_t(tokens.size()), q.cols}), std::move(name));
    for (std::size_t i = 0; i < tokens.size(); ++i) cpu::dequantize_row(q, tokens[i], y->value.data<float>() + i * q.cols);
    return y;
}

}  // namespace

var linear(context& ctx, const var& x, const var& w, std::string name) {
    if (w->quantized) return quantized_linear(ctx, x, w, std::move(name));
    check_same_dtype(x, w);
    const std::int64_t m = x->value.dim(0), k = x->value.dim(-1), n = w->value.dim(0);
    STRETCH_ASSERT(w->value.dim(1) == k);
    auto y = make_var(tensor({m, n}, x->value.type()), std::move(name));
    dispatch(x->value.type(), [&](auto t) {
        using T = decltype(t);
        cpu::linear_forward<T>(x->value.data<T>(), w->value.data<T>(), y->value.data<T>(), m, k, n);
    });
    if (ctx.records({&x, &w})) {
        node* yp = y.get();
        ctx.recorder->record(y, [x, w, yp, m, k, n] {
            dispatch(x->value.type(), [&](auto t) {
                using T = decltype(t);
                T* dx = x->requires_grad ? x->grad_buffer().data<T>() : nullptr;
                T* dw = w->requires_grad ? w->grad_buffer().data<T>() : nullptr;
                cpu::linear_backward<T>(x->value.data<T>(), w->value.data<T>(), yp->grad_buffer().data<T>(), dx, dw,
                                        m, k, n, true);
            });
        });
    }
    return y;
}

var linear_decode(context& ctx, const var& x, const var& w, std::string name) {
    if (!w->quantized) return linear(ctx, x, w, std::move(name));
    STRETCH_ASSERT(ctx.recorder == nullptr);
    const cpu::quantized_matrix& q = *w->quantized;
    const std::int64_t m = x->value.dim(0);
    STRETCH_ASSERT(q.cols == x->value.dim(-1) && x->value.type() == dtype::f32);
    auto y = make_var(tensor({m, q.rows}), std::move(name));
    cpu::quantized_linear_integer(x->value.data<float>(), q, y->value.data<float>(), m);
    return y;
}

var add_bias(context& ctx, const var& x, const var& b, std::string name) {
    check_same_dtype(x, b);
    const std::int64_t c = b->value.numel(), rows = x->value.numel() / c;
    STRETCH_ASSERT(rows * c == x->value.numel());
    auto y = make_var(x->value.clone(), std::move(name));
    dispatch(x->value.type(), [&](auto t) {
        using T = decltype(t);
        T* py = y->value.data<T>();
        const T* pb = b->value.data<T>();
        for (std::int64_t i = 0; i < rows * c; ++i) py[i] += pb[i % c];
    });
    if (ctx.records({&x, &b})) {
        node* yp = y.get();
        ctx.recorder->record(y, [x, b, yp, rows, c] {
            dispatch(x->value.type(), [&](auto t) {
                using T = decltype(t);
                const T* dy = yp->grad_buffer().template data<T>();
                if (x->requires_grad) {
                    T* dx = x->grad_buffer().template data<T>();
                    for (std::int64_t i = 0; i < rows * c; ++i) dx[i] += dy[i];
                }
                if (b->requires_grad) {  // the sum over rows, accumulated in row order (deterministic)
                    T* db = b->grad_buffer().template data<T>();
                    for (std::int64_t i = 0; i < rows * c; ++i) db[i % c] += dy[i];
                }
            });
        });
    }
    return y;
}

var add(context& ctx, const var& a, const var& b, std::string name, double alpha) {
    check_same_dtype(a, b);
    STRETCH_ASSERT(a->value.numel() == b->value.numel());
    auto y = make_var(b->value.clone(), std::move(name));
    dispatch(a->value.type(), [&](auto t) {
        using T = decltype(t);
        T* py = y->value.data<T>();
        const T* pa = a->value.data<T>();
        for (std::int64_t i = 0; i < a->value.numel(); ++i) py[i] += T(alpha) * pa[i];
    });
    if (ctx.records({&a, &b})) {
        node* yp = y.get();
        ctx.recorder->record(y, [a, b, yp, alpha] {
            dispatch(a->value.type(), [&](auto t) {
                using T = decltype(t);
                const T* dy = yp->grad_buffer().data<T>();
                const std::pair<const var*, T> inputs[] = {{&a, T(alpha)}, {&b, T(1)}};
                for (const auto& [in, weight] : inputs) {
                    if (!(*in)->requires_grad) continue;
                    T* d = (*in)->grad_buffer().template data<T>();
                    for (std::int64_t i = 0; i < yp->value.numel(); ++i) d[i] += weight * dy[i];
                }
            });
        });
    }
    return y;
}

namespace {

var rmsnorm_rows(context& ctx, const var& x, const var& g, std::int64_t c, double eps, std::string name) {
    STRETCH_ASSERT(c > 0 && x->value.numel() % c == 0);
    const std::int64_t rows = x->value.numel() / c;
    auto y = make_var(tensor(x->value.shape(), x->value.type()), std::move(name));
    auto rstd = std::make_shared<tensor>(shape_t{rows}, x->value.type());
    dispatch(x->value.type(), [&](auto t) {
        using T = decltype(t);
        cpu::rmsnorm_forward<T>(x->value.data<T>(), g ? g->value.data<T>() : nullptr, y->value.data<T>(),
                                rstd->data<T>(), rows, c, eps);
    });
    if (ctx.records({&x, &g})) {
        node* yp = y.get();
        ctx.recorder->record(y, [x, g, yp, rstd, rows, c] {
            dispatch(x->value.type(), [&](auto t) {
                using T = decltype(t);
                // The kernel needs a dx buffer even when only dg is wanted.
                tensor scratch;
                T* dx;
                if (x->requires_grad) {
                    dx = x->grad_buffer().data<T>();
                } else {
                    scratch = tensor(x->value.shape(), x->value.type());
                    dx = scratch.data<T>();
                }
                T* dg = (g && g->requires_grad) ? g->grad_buffer().data<T>() : nullptr;
                cpu::rmsnorm_backward<T>(x->value.data<T>(), g ? g->value.data<T>() : nullptr, rstd->data<T>(),
                                         yp->grad_buffer().data<T>(), dx, dg, rows, c);
            });
        });
    }
    return y;
}

}  // namespace

var rmsnorm(context& ctx, const var& x, const var& g, double eps, std::string name) {
    return rmsnorm_rows(ctx, x, g, x->value.dim(-1), eps, std::move(name));
}

var rmsnorm_segments(context& ctx, const var& x, const var& g, std::int64_t segment, double eps, std::string name) {
    STRETCH_ASSERT(g == nullptr || g->value.numel() == segment);
    return rmsnorm_rows(ctx, x, g, segment, eps, std::move(name));
}

var scale(context& ctx, const var& x, double factor, std::string name) {
    auto y = make_var(x->value.clone(), std::move(name));
    dispatch(x->value.type(), [&](auto t) {
        using T = decltype(t);
        T* py = y->value.data<T>();
        for (std::int64_t i = 0; i < y->value.numel(); ++i) py[i] *= T(factor);
    });
    if (ctx.records({&x})) {
        node* yp = y.get();
        ctx.recorder->record(y, [x, yp, factor] {
            dispatch(x->value.type(), [&](auto t) {
                using T = decltype(t);
                const T* dy = yp->grad_buffer().data<T>();
                T* dx = x->grad_buffer().template data<T>();
                for (std::int64_t i = 0; i < yp->value.numel(); ++i) dx[i] += T(factor) * dy[i];
            });
        });
    }
    return y;
}

namespace {

// A gated linear unit y = act(a) * b through its forward and backward kernels.
template <class Forward, class Backward>
var gated_unit(context& ctx, const var& a, const var& b, std::string name, Forward forward, Backward backward) {
    check_same_dtype(a, b);
    STRETCH_ASSERT(a->value.numel() == b->value.numel());
    auto y = make_var(tensor(a->value.shape(), a->value.type()), std::move(name));
    const std::int64_t n = a->value.numel();
    dispatch(a->value.type(), [&](auto t) {
        using T = decltype(t);
        forward(a->value.data<T>(), b->value.data<T>(), y->value.data<T>(), n);
    });
    if (ctx.records({&a, &b})) {
        node* yp = y.get();
        ctx.recorder->record(y, [a, b, yp, n, backward] {
            dispatch(a->value.type(), [&](auto t) {
                using T = decltype(t);
                backward(a->value.data<T>(), b->value.data<T>(), yp->grad_buffer().data<T>(),
                         a->requires_grad ? a->grad_buffer().data<T>() : nullptr,
                         b->requires_grad ? b->grad_buffer().data<T>() : nullptr, n);
            });
        });
    }
    return y;
}

}  // namespace

var swiglu(context& ctx, const var& a, const var& b, std::string name) {
    return gated_unit(
        ctx, a, b, std::move(name), [](const auto* pa, const auto* pb, auto* py, std::int64_t n) { cpu::swiglu_forward(pa, pb, py, n); },
        [](const auto* pa, const auto* pb, const auto* dy, auto* da, auto* db, std::int64_t n) {
            cpu::swiglu_backward(pa, pb, dy, da, db, n);
        });
}

var geglu(context& ctx, const var& a, const var& b, std::string name) {
    return gated_unit(
        ctx, a, b, std::move(name), [](const auto* pa, const auto* pb, auto* py, std::int64_t n) { cpu::geglu_forward(pa, pb, py, n); },
        [](const auto* pa, const auto* pb, const auto* dy, auto* da, auto* db, std::int64_t n) {
            cpu::geglu_backward(pa, pb, dy, da, db, n);
        });
}

var embedding(context& ctx, const var& table, std::span<const std::int32_t> tokens, std::string name) {
    const std::int64_t vocab = table->quantized ? table->quantized->rows : table->value.dim(0);
    const auto n = static_cast<std::int64_t>(tokens.size());
    for (std::int64_t i = 0; i < n; ++i)
        if (tokens[i] < 0 || tokens[i] >= vocab)
            fail("token id {} at position {} is outside the vocabulary [0, {})", tokens[i], i, vocab);
    if (table->quantized) return quantized_embedding(ctx, table, tokens, std::move(name));
    const std::int64_t c = table->value.dim(1);
    auto y = make_var(tensor({n, c}, table->value.type()), std::move(name));
    dispatch(table->value.type(), [&](auto t) {
        using T = decltype(t);
        cpu::embedding_forward<T>(table->value.data<T>(), tokens.data(), y->value.data<T>(), n, c);
    });
    if (ctx.records({&table})) {
        node* yp = y.get();
        std::vector<std::int32_t> ids(tokens.begin(), tokens.end());
        ctx.recorder->record(y, [table, yp, ids = std::move(ids), n, c] {
            dispatch(table->value.type(), [&](auto t) {
                using T = decltype(t);
                cpu::embedding_backward<T>(ids.data(), yp->grad_buffer().data<T>(), table->grad_buffer().data<T>(),
                                           n, c);
            });
        });
    }
    return y;
}

var rope(context& ctx, const var& x, std::int64_t batch, std::int64_t time, std::int64_t heads,
         std::int64_t head_dim, std::shared_ptr<const cpu::rope_table> table, cpu::rope_pairing pairing,
         std::string name) {
    STRETCH_ASSERT(x->value.numel() == batch * time * heads * head_dim);
    auto y = make_var(x->value.clone(), std::move(name));
    dispatch(x->value.type(), [&](auto t) {
        using T = decltype(t);
        cpu::rope_apply<T>(y->value.data<T>(), batch, time, heads, head_dim, *table, pairing, false);
    });
    if (ctx.records({&x})) {
        node* yp = y.get();
        ctx.recorder->record(y, [x, yp, batch, time, heads, head_dim, table, pairing] {
            dispatch(x->value.type(), [&](auto t) {
                using T = decltype(t);
                tensor dx = yp->grad_buffer().clone();
                cpu::rope_apply<T>(dx.data<T>(), batch, time, heads, head_dim, *table, pairing, true);
                T* d = x->grad_buffer().data<T>();
                const T* s = dx.data<T>();
                for (std::int64_t i = 0; i < dx.numel(); ++i) d[i] += s[i];
            });
        });
    }
    return y;
}

template <class T>
cpu::far_operands<T> far_operands_of(const var& q_far, const var& k_far) {
    if (q_far == nullptr) return {};
    return {q_far->value.data<T>(), k_far->value.data<T>()};
}

namespace {

// The rules with a layer's learned sink logits [H] read from `sinks` (rules as they are without one).
cpu::attention_rules with_sinks(const cpu::attention_rules& rules, const var& sinks, std::int64_t heads) {
    cpu::attention_rules out = rules;
    if (sinks == nullptr) return out;
    STRETCH_ASSERT(sinks->value.numel() == heads);
    out.sink_logits.resize(std::size_t(heads));
    dispatch(sinks->value.type(), [&](auto t) {
        using T = decltype(t);
        for (std::int64_t h = 0; h < heads; ++h) out.sink_logits[std::size_t(h)] = double(sinks->value.data<T>()[h]);
    });
    return out;
}

}  // namespace

var attention(context& ctx, const var& q, const var& k, const var& v, const cpu::attention_dims& dims, double scale,
              std::string name, const cpu::attention_rules& layer_rules, const var& q_far, const var& k_far,
              const var& sinks) {
    check_same_dtype(q, k);
    check_same_dtype(q, v);
    const cpu::attention_rules rules = with_sinks(layer_rules, sinks, dims.heads);
    const bool two_score = rules.two_score();
    STRETCH_ASSERT(two_score == (q_far != nullptr) && two_score == (k_far != nullptr));
    if (two_score) {
        check_same_dtype(q, q_far);
        check_same_dtype(q, k_far);
    }
    if (sinks != nullptr) check_same_dtype(q, sinks);
    auto y = make_var(tensor({dims.batch * dims.time_q, dims.heads * dims.head_dim}, q->value.type()), std::move(name));
    const bool records = (two_score ? ctx.records({&q, &k, &v, &q_far, &k_far}) : ctx.records({&q, &k, &v})) ||
                         (sinks != nullptr && ctx.records({&sinks}));
    // The backward needs the output and, for the softmax, one log-sum-exp per row: O(T), not P.
    std::shared_ptr<tensor> log_sum_exp;
    if (records && rules.relu2_divisor.empty())
        log_sum_exp = std::make_shared<tensor>(shape_t{dims.batch, dims.heads, dims.time_q}, q->value.type());
    dispatch(q->value.type(), [&](auto t) {
        using T = decltype(t);
        cpu::attention_forward<T>(q->value.data<T>(), k->value.data<T>(), v->value.data<T>(), y->value.data<T>(),
                                  log_sum_exp ? log_sum_exp->data<T>() : nullptr, dims, T(scale), rules,
                                  far_operands_of<T>(q_far, k_far));
    });
    if (records) {
        node* yp = y.get();
        ctx.recorder->record(y, [q, k, v, q_far, k_far, sinks, yp, log_sum_exp, dims, scale, rules, two_score] {
            dispatch(q->value.type(), [&](auto t) {
                using T = decltype(t);
                cpu::attention_backward<T>(q->value.data<T>(), k->value.data<T>(), v->value.data<T>(),
                                           yp->value.data<T>(), log_sum_exp ? log_sum_exp->data<T>() : nullptr,
                                           yp->grad_buffer().data<T>(), q->grad_buffer().data<T>(),
                                           k->grad_buffer().data<T>(), v->grad_buffer().data<T>(), dims, T(scale),
                                           rules, far_operands_of<T>(q_far, k_far),
                                           two_score ? q_far->grad_buffer().data<T>() : nullptr,
                                           two_score ? k_far->grad_buffer().data<T>() : nullptr,
                                           sinks != nullptr ? sinks->grad_buffer().data<T>() : nullptr);
            });
        });
    }
    return y;
}

var mean_of_rows(context& ctx, const var& x, std::span<const std::pair<std::int64_t, std::int64_t>> ranges,
                 std::string name) {
    const std::int64_t rows = x->value.dim(0), c = x->value.dim(1), n = std::int64_t(ranges.size());
    for (const auto& [first, end] : ranges) STRETCH_ASSERT(0 <= first && first < end && end <= rows);
    auto y = make_var(tensor({n, c}, x->value.type()), std::move(name));
    std::vector<std::pair<std::int64_t, std::int64_t>> kept(ranges.begin(), ranges.end());
    dispatch(x->value.type(), [&](auto t) {
        using T = decltype(t);
        const T* px = x->value.data<T>();
        T* py = y->value.data<T>();
        for (std::int64_t i = 0; i < n; ++i) {
            const auto [first, end] = kept[std::size_t(i)];
            for (std::int64_t j = 0; j < c; ++j) {
                T sum = 0;
                for (std::int64_t r = first; r < end; ++r) sum += px[r * c + j];
                py[i * c + j] = sum / T(end - first);
            }
        }
    });
    if (ctx.records({&x})) {
        node* yp = y.get();
        ctx.recorder->record(y, [x, yp, kept = std::move(kept), c] {
            dispatch(x->value.type(), [&](auto t) {
                using T = decltype(t);
                const T* dy = yp->grad_buffer().data<T>();
                T* dx = x->grad_buffer().data<T>();
                for (std::size_t i = 0; i < kept.size(); ++i) {
                    const auto [first, end] = kept[i];
                    for (std::int64_t r = first; r < end; ++r)
                        for (std::int64_t j = 0; j < c; ++j) dx[r * c + j] += dy[std::int64_t(i) * c + j] / T(end - first);
                }
            });
        });
    }
    return y;
}

var attention_stored(context& ctx, const var& q, const cpu::kv_rows<float>& k, const cpu::kv_rows<float>& v,
                     const cpu::attention_dims& dims, double scale, std::string name,
                     const cpu::attention_rules& layer_rules, const var& q_far, const var& k_far, const var& sinks) {
    STRETCH_ASSERT(ctx.recorder == nullptr && q->value.type() == dtype::f32);
    const cpu::attention_rules rules = with_sinks(layer_rules, sinks, dims.heads);
    STRETCH_ASSERT(rules.two_score() == (q_far != nullptr) && (q_far != nullptr) == (k_far != nullptr));
    auto y = make_var(tensor({dims.batch * dims.time_q, dims.heads * dims.head_dim}), std::move(name));
    cpu::attention_forward<float>(q->value.data<float>(), k, v, y->value.data<float>(), nullptr, dims, float(scale),
                                  rules, far_operands_of<float>(q_far, k_far));
    return y;
}

var cross_entropy(context& ctx, const var& logits, std::span<const std::int32_t> targets, std::string name) {
    const std::int64_t n = logits->value.dim(0), vocab = logits->value.dim(1);
    STRETCH_ASSERT(static_cast<std::int64_t>(targets.size()) == n);
    std::vector<double> losses(static_cast<std::size_t>(n));
    dispatch(logits->value.type(), [&](auto t) {
        using T = decltype(t);
        cpu::cross_entropy_forward<T>(logits->value.data<T>(), targets.data(), losses.data(), nullptr, n, vocab);
    });
    double sum = 0;
    std::int64_t scored = 0;
    for (std::int64_t i = 0; i < n; ++i)
        if (targets[i] >= 0) {
            sum += losses[static_cast<std::size_t>(i)];
            ++scored;
        }
    STRETCH_ASSERT(scored > 0);
    auto y = make_var(tensor({1}, logits->value.type()), std::move(name));
    dispatch(logits->value.type(), [&](auto t) {
        using T = decltype(t);
        y->value.data<T>()[0] = T(sum / double(scored));
    });
    if (ctx.records({&logits})) {
        node* yp = y.get();
        std::vector<std::int32_t> ids(targets.begin(), targets.end());
        ctx.recorder->record(y, [logits, yp, ids = std::move(ids), n, vocab, scored] {
            dispatch(logits->value.type(), [&](auto t) {
                using T = decltype(t);
                const T weight = yp->grad_buffer().data<T>()[0] / T(scored);
                cpu::cross_entropy_backward<T>(logits->value.data<T>(), ids.data(), logits->grad_buffer().data<T>(), n,
                                               vocab, weight);
            });
        });
    }
    return y;
}

}  // namespace stretch::ag
