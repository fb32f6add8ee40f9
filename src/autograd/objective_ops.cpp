#include "autograd/objective_ops.h"

#include <memory>
#include <vector>

#include "autograd/dispatch.h"
#include "core/error.h"

namespace stretch::ag {

namespace {

// The mean of per-row losses whose gradients the kernel computed with them (`rows` fills loss [N]
// and dz [N, K]); the backward scales dz by the output's gradient / N.
template <class Rows>
var mean_of_row_losses(context& ctx, const var& logits, std::span<const std::int32_t> labels, std::string name,
                       Rows rows) {
    const std::int64_t n = logits->value.dim(0), k = logits->value.dim(1);
    STRETCH_ASSERT(std::int64_t(labels.size()) == n && n > 0);
    std::vector<double> loss(static_cast<std::size_t>(n));
    auto dz = std::make_shared<std::vector<double>>(std::size_t(n * k));
    dispatch(logits->value.type(), [&](auto t) {
        using T = decltype(t);
        rows(logits->value.data<T>(), loss.data(), dz->data());
    });
    double sum = 0;
    for (const double l : loss) sum += l;
    auto y = make_var(tensor({1}, logits->value.type()), std::move(name));
    dispatch(logits->value.type(), [&](auto t) {
        using T = decltype(t);
        y->value.data<T>()[0] = T(sum / double(n));
    });
    if (ctx.records({&logits})) {
        node* yp = y.get();
        ctx.recorder->record(y, [logits, yp, dz, n] {
            dispatch(logits->value.type(), [&](auto t) {
                using T = decltype(t);
                const double weight = double(yp->grad_buffer().data<T>()[0]) / double(n);
                T* g = logits->grad_buffer().data<T>();
                for (std::size_t i = 0; i < dz->size(); ++i) g[i] += T(weight * (*dz)[i]);
            });
        });
    }
    return y;
}

}  // namespace

var multiclass_hinge(context& ctx, const var& logits, std::span<const std::int32_t> labels, std::string name) {
    const std::int64_t n = logits->value.dim(0), k = logits->value.dim(1);
    return mean_of_row_losses(ctx, logits, labels, std::move(name), [&](const auto* z, double* loss, double* dz) {
        cpu::multiclass_hinge(z, labels.data(), loss, dz, n, k);
    });
}

var expected_accuracy(context& ctx, const var& logits, std::span<const std::int32_t> labels,
                      const cpu::exact_options& options, std::string name) {
    const std::int64_t n = logits->value.dim(0), k = logits->value.dim(1);
    return mean_of_row_losses(ctx, logits, labels, std::move(name), [&](const auto* z, double* loss, double* dz) {
        cpu::expected_accuracy(z, labels.data(), loss, dz, n, k, options);
    });
}

}  // namespace stretch::ag
