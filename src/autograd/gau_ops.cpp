#include "autograd/gau_ops.h"

#include "autograd/dispatch.h"
#include "core/error.h"
#include "kernels/cpu/chunked_linear_attention.h"
#include "kernels/cpu/elementwise.h"

namespace stretch::ag {

var silu(context& ctx, const var& x, std::string name) {
    auto y = make_var(tensor(x->value.shape(), x->value.type()), std::move(name));
    const std::int64_t n = x->value.numel();
    dispatch(x->value.type(), [&](auto t) {
        using T = decltype(t);
        cpu::silu_forward<T>(x->value.data<T>(), y->value.data<T>(), n);
    });
    if (ctx.records({&x})) {
        node* yp = y.get();
        ctx.recorder->record(y, [x, yp, n] {
            dispatch(x->value.type(), [&](auto t) {
                using T = decltype(t);
                cpu::silu_backward<T>(x->value.data<T>(), yp->grad_buffer().data<T>(), x->grad_buffer().data<T>(), n);
            });
        });
    }
    return y;
}

var columns(context& ctx, const var& x, std::int64_t first, std::int64_t count, std::string name) {
    const std::int64_t rows = x->value.dim(0), width = x->value.dim(-1);
    STRETCH_ASSERT(first >= 0 && count > 0 && first + count <= width);
    auto y = make_var(tensor({rows, count}, x->value.type()), std::move(name));
    dispatch(x->value.type(), [&](auto t) {
        using T = decltype(t);
        const T* px = x->value.data<T>();
        T* py = y->value.data<T>();
        for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t j = 0; j < count; ++j) py[r * count + j] = px[r * width + first + j];
    });
    if (ctx.records({&x})) {
        node* yp = y.get();
        ctx.recorder->record(y, [x, yp, rows, width, first, count] {
            dispatch(x->value.type(), [&](auto t) {
                using T = decltype(t);
                const T* dy = yp->grad_buffer().data<T>();
                T* dx = x->grad_buffer().data<T>();
                for (std::int64_t r = 0; r < rows; ++r)
                    for (std::int64_t j = 0; j < count; ++j) dx[r * width + first + j] += dy[r * count + j];
            });
        });
    }
    return y;
}

var scale_offset(context& ctx, const var& x, const var& gamma, const var& beta, std::string name) {
    const std::int64_t c = gamma->value.numel(), rows = x->value.numel() / c;
    STRETCH_ASSERT(rows * c == x->value.numel() && beta->value.numel() == c);
    auto y = make_var(tensor(x->value.shape(), x->value.type()), std::move(name));
    dispatch(x->value.type(), [&](auto t) {
        using T = decltype(t);
        cpu::scale_offset_forward<T>(x->value.data<T>(), gamma->value.data<T>(), beta->value.data<T>(),
                                     y->value.data<T>(), rows, c);
    });
    if (ctx.records({&x, &gamma, &beta})) {
        node* yp = y.get();
        ctx.recorder->record(y, [x, gamma, beta, yp, rows, c] {
            dispatch(x->value.type(), [&](auto t) {
                using T = decltype(t);
                cpu::scale_offset_backward<T>(x->value.data<T>(), gamma->value.data<T>(), yp->grad_buffer().data<T>(),
                                              x->requires_grad ? x->grad_buffer().data<T>() : nullptr,
                                              gamma->requires_grad ? gamma->grad_buffer().data<T>() : nullptr,
                                              beta->requires_grad ? beta->grad_buffer().data<T>() : nullptr, rows, c);
            });
        });
    }
    return y;
}

var multiply(context& ctx, const var& a, const var& b, std::string name) {
    STRETCH_ASSERT(a->value.numel() == b->value.numel() && a->value.type() == b->value.type());
    const std::int64_t n = a->value.numel();
    auto y = make_var(tensor(a->value.shape(), a->value.type()), std::move(name));
    dispatch(a->value.type(), [&](auto t) {
        using T = decltype(t);
        cpu::multiply_forward<T>(a->value.data<T>(), b->value.data<T>(), y->value.data<T>(), n);
    });
    if (ctx.records({&a, &b})) {
        node* yp = y.get();
        ctx.recorder->record(y, [a, b, yp, n] {
            dispatch(a->value.type(), [&](auto t) {
                using T = decltype(t);
                cpu::multiply_backward<T>(a->value.data<T>(), b->value.data<T>(), yp->grad_buffer().data<T>(),
                                          a->requires_grad ? a->grad_buffer().data<T>() : nullptr,
                                          b->requires_grad ? b->grad_buffer().data<T>() : nullptr, n);
            });
        });
    }
    return y;
}

var repeat_columns(context& ctx, const var& x, std::int64_t times, std::string name) {
    const std::int64_t rows = x->value.dim(0), c = x->value.dim(-1);
    STRETCH_ASSERT(times > 0 && rows * c == x->value.numel());
    auto y = make_var(tensor({rows, times * c}, x->value.type()), std::move(name));
    dispatch(x->value.type(), [&](auto t) {
        using T = decltype(t);
        const T* px = x->value.data<T>();
        T* py = y->value.data<T>();
        for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t h = 0; h < times; ++h)
                for (std::int64_t j = 0; j < c; ++j) py[(r * times + h) * c + j] = px[r * c + j];
    });
    if (ctx.records({&x})) {
        node* yp = y.get();
        ctx.recorder->record(y, [x, yp, rows, times, c] {
            dispatch(x->value.type(), [&](auto t) {
                using T = decltype(t);
                const T* dy = yp->grad_buffer().data<T>();
                T* dx = x->grad_buffer().data<T>();
                for (std::int64_t r = 0; r < rows; ++r)
                    for (std::int64_t h = 0; h < times; ++h)
                        for (std::int64_t j = 0; j < c; ++j) dx[r * c + j] += dy[(r * times + h) * c + j];
            });
        });
    }
    return y;
}

var gather_rows(context& ctx, const var& x, std::vector<std::int64_t> rows, std::string name) {
    const std::int64_t n = x->value.dim(0), c = x->value.dim(-1), out_rows = std::int64_t(rows.size());
    for (const std::int64_t r : rows) STRETCH_ASSERT(r < n);
    auto y = make_var(tensor({out_rows, c}, x->value.type()), std::move(name));  // zero-filled
    dispatch(x->value.type(), [&](auto t) {
        using T = decltype(t);
        const T* px = x->value.data<T>();
        T* py = y->value.data<T>();
        for (std::int64_t r = 0; r < out_rows; ++r)
            if (const std::int64_t from = rows[std::size_t(r)]; from >= 0)
                for (std::int64_t j = 0; j < c; ++j) py[r * c + j] = px[from * c + j];
    });
    if (ctx.records({&x})) {
        node* yp = y.get();
        ctx.recorder->record(y, [x, yp, rows = std::move(rows), out_rows, c] {
            dispatch(x->value.type(), [&](auto t) {
                using T = decltype(t);
                const T* dy = yp->grad_buffer().data<T>();
                T* dx = x->grad_buffer().data<T>();
                for (std::int64_t r = 0; r < out_rows; ++r)
                    if (const std::int64_t to = rows[std::size_t(r)]; to >= 0)
                        for (std::int64_t j = 0; j < c; ++j) dx[to * c + j] += dy[r * c + j];
            });
        });
    }
    return y;
}

var chunked_linear_attention(context& ctx, const var& q, const var& k, const var& v, std::int64_t batch,
                             std::int64_t time, std::int64_t chunk, std::string name) {
    const std::int64_t s = q->value.dim(-1), e = v->value.dim(-1);
    STRETCH_ASSERT(q->value.numel() == batch * time * s && k->value.numel() == q->value.numel() &&
                   v->value.numel() == batch * time * e);
    STRETCH_ASSERT(q->value.type() == k->value.type() && q->value.type() == v->value.type());
    auto y = make_var(tensor({batch * time, e}, q->value.type()), std::move(name));
    dispatch(q->value.type(), [&](auto t) {
        using T = decltype(t);
        cpu::chunked_linear_attention_forward<T>(q->value.data<T>(), k->value.data<T>(), v->value.data<T>(),
                                                 y->value.data<T>(), batch, time, s, e, chunk);
    });
    if (ctx.records({&q, &k, &v})) {
        node* yp = y.get();
        ctx.recorder->record(y, [q, k, v, yp, batch, time, s, e, chunk] {
            dispatch(q->value.type(), [&](auto t) {
                using T = decltype(t);
                cpu::chunked_linear_attention_backward<T>(q->value.data<T>(), k->value.data<T>(), v->value.data<T>(),
                                                          yp->grad_buffer().data<T>(), q->grad_buffer().data<T>(),
                                                          k->grad_buffer().data<T>(), v->grad_buffer().data<T>(),
                                                          batch, time, s, e, chunk);
            });
        });
    }
    return y;
}

}  // namespace stretch::ag
