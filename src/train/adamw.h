// AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay,
//   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,
//   p -= lr * ( (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + wd * p ),
// decay applied to matrices only (norm gains are not decayed, as in GPT-2 / nanoGPT), plus the
// global-norm gradient clipping and the warm-up + cosine learning-rate schedule that go with it.
// f32 parameters; the moments are f32 tensors saved in checkpoints.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tape.h"
#include "core/numbers.h"
#include "train/run_config.h"

namespace stretch {

// The hyper-parameters that make sense: beta = 1 divides by a zero bias correction, lr <= 0 does not
// descend, eps = 0 divides by zero where a gradient is 0; lr * weight_decay > 1 flips the sign.
namespace adamw_ranges {
inline const number_range lr = real_range(0, 1, true);
inline const number_range beta = real_range(0, 1, false, true);
inline const number_range eps = real_range(0, 1, true);
inline const number_range weight_decay = real_range(0, 1);
}  // namespace adamw_ranges

class adamw {
public:
    adamw(std::vector<std::pair<std::string, ag::var>> parameters, const train_config& config);

    // One update with learning rate `lr`; `step` counts from 1 (bias correction).
    void update(double lr, std::int64_t step);
    void zero_grad();

    // sqrt(sum of squared gradients) over all parameters, summed in double in parameter order.
    double grad_norm() const;
    // Scales every gradient by `factor`.
    void scale_grads(double factor);
    // The first parameter whose gradient, or whose value, holds a NaN or Inf, or null.
    const std::string* first_non_finite_grad() const;
    const std::string* first_non_finite_parameter() const;

    const std::vector<std::pair<std::string, ag::var>>& parameters() const { return parameters_; }
    std::vector<tensor>& first_moments() { return m_; }
    std::vector<tensor>& second_moments() { return v_; }

private:
    std::vector<std::pair<std::string, ag::var>> parameters_;
    std::vector<tensor> m_, v_;
    train_config config_;
};

// Linear warm-up from 0 to lr over warmup_steps, then cosine decay to lr * min_lr_ratio at `steps`.
// `step` counts from 1.
double learning_rate(const train_config& config, std::int64_t step);

}  // namespace stretch
