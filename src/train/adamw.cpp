#include "train/adamw.h"

#include <cmath>
#include <numbers>

#include "core/thread_pool.h"

namespace stretch {

adamw::adamw(std::vector<std::pair<std::string, ag::var>> parameters, const train_config& config)
    : parameters_(std::move(parameters)), config_(config) {
    for (auto& [name, p] : parameters_) {
        STRETCH_ASSERT(p->value.type() == dtype::f32);
        m_.emplace_back(p->value.shape(), dtype::f32);
        v_.emplace_back(p->value.shape(), dtype::f32);
    }
}

void adamw::update(double lr, std::int64_t step) {
    const double c1 = 1.0 - std::pow(config_.beta1, double(step));
    const double c2 = 1.0 - std::pow(config_.beta2, double(step));
    const float b1 = float(config_.beta1), b2 = float(config_.beta2);
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
        auto& p = parameters_[i].second;
        if (!p->grad.defined()) continue;  // a parameter the loss does not reach
        const float decay = p->value.rank() >= 2 ? float(config_.weight_decay) : 0.0f;
        float* w = p->value.data<float>();
        const float* g = p->grad.data<float>();
        float* m = m_[i].data<float>();
        float* v = v_[i].data<float>();
        const float step_size = float(lr / c1);
        const float inv_c2 = float(1.0 / c2);
        const float eps = float(config_.adam_eps), lr_f = float(lr);
        pool().parallel_for(p->value.numel(), [&](std::int64_t j0, std::int64_t j1, int) {
            for (std::int64_t j = j0; j < j1; ++j) {
                m[j] = b1 * m[j] + (1.0f - b1) * g[j];
                v[j] = b2 * v[j] + (1.0f - b2) * g[j] * g[j];
                w[j] -= step_size * m[j] / (std::sqrt(v[j] * inv_c2) + eps) + lr_f * decay * w[j];
            }
        });
    }
}

void adamw::zero_grad() {
    for (auto& [name, p] : parameters_)
        if (p->grad.defined()) p->grad.fill_zero();
}

double adamw::grad_norm() const {
    double sum = 0;
    for (const auto& [name, p] : parameters_) {
        if (!p->grad.defined()) continue;
        const float* g = p->grad.data<float>();
        for (std::int64_t j = 0; j < p->grad.numel(); ++j) sum += double(g[j]) * double(g[j]);
    }
    return std::sqrt(sum);
}

void adamw::scale_grads(double factor) {
    for (auto& [name, p] : parameters_) {
        if (!p->grad.defined()) continue;
        float* g = p->grad.data<float>();
        for (std::int64_t j = 0; j < p->grad.numel(); ++j) g[j] = float(g[j] * factor);
    }
}

const std::string* adamw::first_non_finite_grad() const {
    for (const auto& [name, p] : parameters_)
        if (p->grad.defined() && !ag::all_finite(p->grad)) return &name;
    return nullptr;
}

const std::string* adamw::first_non_finite_parameter() const {
    for (const auto& [name, p] : parameters_)
        if (!ag::all_finite(p->value)) return &name;
    return nullptr;
}

double learning_rate(const train_config& c, std::int64_t step) {
    if (c.warmup_steps > 0 && step <= c.warmup_steps) return c.lr * double(step) / double(c.warmup_steps);
    const double span = double(std::max<std::int64_t>(1, c.steps - c.warmup_steps));
    const double progress = std::min(1.0, double(step - c.warmup_steps) / span);
    const double min_lr = c.lr * c.min_lr_ratio;
    return min_lr + 0.5 * (c.lr - min_lr) * (1.0 + std::cos(std::numbers::pi * progress));
}

}  // namespace stretch
