#include "train/adamw.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numbers>

#include "core/thread_pool.h"

namespace stretch {

std::int64_t flat_size(const parameter_list& parameters) {
    std::int64_t total = 0;
    for (const auto& [name, p] : parameters) total += p->value.numel();
    return total;
}

void for_each_part(const parameter_list& parameters, flat_range range,
                   const std::function<void(std::size_t, std::int64_t, std::int64_t, std::int64_t)>& part) {
    std::int64_t start = 0;  // flat position of parameter i's first element
    for (std::size_t i = 0; i < parameters.size() && start < range.end; ++i) {
        const std::int64_t n = parameters[i].second->value.numel();
        const std::int64_t lo = std::max(start, range.begin), hi = std::min(start + n, range.end);
        if (lo < hi) part(i, lo - start, hi - lo, lo);
        start += n;
    }
}

namespace {

bool all_finite(const float* x, std::int64_t n) {
    for (std::int64_t j = 0; j < n; ++j)
        if (!std::isfinite(x[j])) return false;
    return true;
}

}  // namespace

adamw::adamw(parameter_list parameters, const train_config& config)
    : adamw(std::move(parameters), config, {0, std::numeric_limits<std::int64_t>::max()}) {}

adamw::adamw(parameter_list parameters, const train_config& config, flat_range owned)
    : parameters_(std::move(parameters)), config_(config) {
    owned_ = {std::min(owned.begin, flat_size(parameters_)), std::min(owned.end, flat_size(parameters_))};
    STRETCH_ASSERT(owned_.size() == 0 || owned_.begin % norm_block == 0);
    first_owned_.assign(parameters_.size(), 0);
    m_.resize(parameters_.size());
    v_.resize(parameters_.size());
    for (const auto& [name, p] : parameters_) STRETCH_ASSERT(p->value.type() == dtype::f32);
    for_each_part(parameters_, owned_, [&](std::size_t i, std::int64_t first, std::int64_t count, std::int64_t) {
        const tensor& value = parameters_[i].second->value;
        const shape_t shape = count == value.numel() ? value.shape() : shape_t{count};
        first_owned_[i] = first;
        m_[i] = tensor(shape, dtype::f32);
        v_[i] = tensor(shape, dtype::f32);
    });
}

void adamw::update(double lr, std::int64_t step) {
    const double c1 = 1.0 - std::pow(config_.beta1, double(step));
    const double c2 = 1.0 - std::pow(config_.beta2, double(step));
    const float b1 = float(config_.beta1), b2 = float(config_.beta2);
    const float step_size = float(lr / c1);
    const float inv_c2 = float(1.0 / c2);
    const float eps = float(config_.adam_eps), lr_f = float(lr);
    for_each_part(parameters_, owned_, [&](std::size_t i, std::int64_t first, std::int64_t count, std::int64_t) {
        auto& p = parameters_[i].second;
        if (!p->grad.defined()) return;  // a parameter the loss does not reach
        const float decay = p->value.rank() >= 2 ? float(config_.weight_decay) : 0.0f;
        float* w = p->value.data<float>() + first;
        const float* g = p->grad.data<float>() + first;
        float* m = m_[i].data<float>() + (first - first_owned_[i]);
        float* v = v_[i].data<float>() + (first - first_owned_[i]);
        pool().parallel_for(count, [&](std::int64_t j0, std::int64_t j1, int) {
            for (std::int64_t j = j0; j < j1; ++j) {
                m[j] = b1 * m[j] + (1.0f - b1) * g[j];
                v[j] = b2 * v[j] + (1.0f - b2) * g[j] * g[j];
                w[j] -= step_size * m[j] / (std::sqrt(v[j] * inv_c2) + eps) + lr_f * decay * w[j];
            }
        });
    });
}

void adamw::zero_grad() {
    for (auto& [name, p] : parameters_)
        if (p->grad.defined()) p->grad.fill_zero();
}

std::vector<double> adamw::grad_square_partials() const {
    const std::int64_t blocks = (owned_.size() + norm_block - 1) / norm_block;
    std::vector<double> partials(std::size_t(blocks), 0.0);
    pool().parallel_for(blocks, [&](std::int64_t b0, std::int64_t b1, int) {
        for (std::int64_t b = b0; b < b1; ++b) {
            const flat_range block{owned_.begin + b * norm_block, std::min(owned_.end, owned_.begin + (b + 1) * norm_block)};
            double sum = 0;
            for_each_part(parameters_, block, [&](std::size_t i, std::int64_t first, std::int64_t count, std::int64_t) {
                const tensor& grad = parameters_[i].second->grad;
                if (!grad.defined()) return;
                const float* g = grad.data<float>() + first;
                for (std::int64_t j = 0; j < count; ++j) sum += double(g[j]) * double(g[j]);
            });
            partials[std::size_t(b)] = sum;
        }
    });
    return partials;
}

double adamw::grad_norm() const {
    double sum = 0;
    for (const double partial : grad_square_partials()) sum += partial;
    return std::sqrt(sum);
}

void adamw::scale_grads(double factor) {
    for_each_part(parameters_, owned_, [&](std::size_t i, std::int64_t first, std::int64_t count, std::int64_t) {
        tensor& grad = parameters_[i].second->grad;
        if (!grad.defined()) return;
        float* g = grad.data<float>() + first;
        for (std::int64_t j = 0; j < count; ++j) g[j] = float(g[j] * factor);
    });
}

const std::string* adamw::first_non_finite_grad() const {
    const std::string* bad = nullptr;
    for_each_part(parameters_, owned_, [&](std::size_t i, std::int64_t first, std::int64_t count, std::int64_t) {
        const tensor& grad = parameters_[i].second->grad;
        if (bad == nullptr && grad.defined() && !all_finite(grad.data<float>() + first, count))
            bad = &parameters_[i].first;
    });
    return bad;
}

const std::string* adamw::first_non_finite_parameter() const {
    for (const auto& [name, p] : parameters_)
        if (!ag::all_finite(p->value)) return &name;
    return nullptr;
}

void adamw::read_moments(flat_range range, std::span<float> m, std::span<float> v) const {
    STRETCH_ASSERT(range.begin >= owned_.begin && range.end <= owned_.end);
    STRETCH_ASSERT(std::int64_t(m.size()) >= range.size() && std::int64_t(v.size()) >= range.size());
    for_each_part(parameters_, range, [&](std::size_t i, std::int64_t first, std::int64_t count, std::int64_t flat) {
        const std::int64_t from = first - first_owned_[i], to = flat - range.begin;
        std::memcpy(m.data() + to, m_[i].data<float>() + from, std::size_t(count) * sizeof(float));
        std::memcpy(v.data() + to, v_[i].data<float>() + from, std::size_t(count) * sizeof(float));
    });
}

void adamw::write_moments(flat_range range, std::span<const float> m, std::span<const float> v) {
    STRETCH_ASSERT(range.begin >= owned_.begin && range.end <= owned_.end);
    STRETCH_ASSERT(std::int64_t(m.size()) >= range.size() && std::int64_t(v.size()) >= range.size());
    for_each_part(parameters_, range, [&](std::size_t i, std::int64_t first, std::int64_t count, std::int64_t flat) {
        const std::int64_t to = first - first_owned_[i], from = flat - range.begin;
        std::memcpy(m_[i].data<float>() + to, m.data() + from, std::size_t(count) * sizeof(float));
        std::memcpy(v_[i].data<float>() + to, v.data() + from, std::size_t(count) * sizeof(float));
    });
}

double learning_rate(const train_config& c, std::int64_t step) {
    if (c.warmup_steps > 0 && step <= c.warmup_steps) return c.lr * double(step) / double(c.warmup_steps);
    const double span = double(std::max<std::int64_t>(1, c.steps - c.warmup_steps));
    const double progress = std::min(1.0, double(step - c.warmup_steps) / span);
    const double min_lr = c.lr * c.min_lr_ratio;
    return min_lr + 0.5 * (c.lr - min_lr) * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace stretch
