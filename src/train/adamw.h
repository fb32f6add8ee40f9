// AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay,
//   m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2,
//   p -= lr * ( (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) + wd * p ),
// decay applied to matrices only (norm gains are not decayed, as in GPT-2 / nanoGPT), plus the
// global-norm gradient clipping and the warm-up + cosine learning-rate schedule that go with it.
// f32 parameters; the moments are f32 tensors saved in checkpoints.
//
// An optimizer updates every parameter, or one range of them laid end to end in list order (the
// flat layout): a shard of ZeRO-1 data-parallel training (train/data_parallel.h), which keeps the
// moments of its own elements only. Every operation but `zero_grad` and the parameter check acts on
// the owned elements; the update is element-wise, so shards updated apart equal one whole update.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
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

using parameter_list = std::vector<std::pair<std::string, ag::var>>;

// Elements [begin, end) of the parameters laid end to end.
struct flat_range {
    std::int64_t begin = 0, end = 0;
    std::int64_t size() const { return end - begin; }
};

std::int64_t flat_size(const parameter_list& parameters);
// Calls part(parameter index, its first element in the range, element count, flat position of that
// element) for each parameter the range reaches, in order.
void for_each_part(const parameter_list& parameters, flat_range range,
                   const std::function<void(std::size_t, std::int64_t, std::int64_t, std::int64_t)>& part);

// The global gradient norm is summed per block of this many flat elements (in order within a block),
// then over the blocks' partial sums in order: a shard of whole blocks computes its partials alone,
// so the norm is the same number however the layout is cut (docs/distributed.md).
constexpr std::int64_t norm_block = 4096;

class adamw {
public:
    adamw(parameter_list parameters, const train_config& config);
    // Owns `owned` of the flat layout (clipped to it); owned.begin is a multiple of norm_block.
    adamw(parameter_list parameters, const train_config& config, flat_range owned);

    // One update with learning rate `lr`; `step` counts from 1 (bias correction).
    void update(double lr, std::int64_t step);
    // Zeroes every gradient (owned or not).
    void zero_grad();

    // Sums of squared gradients, one per norm block of the owned elements, each in double.
    std::vector<double> grad_square_partials() const;
    // sqrt of those partials summed in order: the global norm when the optimizer owns everything.
    double grad_norm() const;
    // Scales every owned gradient by `factor`.
    void scale_grads(double factor);
    // The first parameter whose owned gradient, or whose value (all of it), holds a NaN or Inf, or null.
    const std::string* first_non_finite_grad() const;
    const std::string* first_non_finite_parameter() const;

    const parameter_list& parameters() const { return parameters_; }
    flat_range owned() const { return owned_; }
    // Per parameter, the moments of its owned elements: shaped like the parameter when all of it is
    // owned, else flat (undefined when none is).
    std::vector<tensor>& first_moments() { return m_; }
    std::vector<tensor>& second_moments() { return v_; }
    // The moments of `range` (within the owned elements) to flat arrays and back.
    void read_moments(flat_range range, std::span<float> m, std::span<float> v) const;
    void write_moments(flat_range range, std::span<const float> m, std::span<const float> v);

private:
    parameter_list parameters_;
    flat_range owned_;
    std::vector<std::int64_t> first_owned_;  // per parameter, its first owned element
    std::vector<tensor> m_, v_;
    train_config config_;
};

// Linear warm-up from 0 to lr over warmup_steps, then cosine decay to lr * min_lr_ratio at `steps`.
// `step` counts from 1.
double learning_rate(const train_config& config, std::int64_t step);

}  // namespace stretch
