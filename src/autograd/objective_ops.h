// The classification objectives of stretch finetune as ops (kernels/cpu/objectives.h has the
// formulas): the mean over rows of logits [N, K] against labels [N] (every label in [0, K)), a
// scalar [1]. Cross-entropy is ag::cross_entropy.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "autograd/tape.h"
#include "kernels/cpu/objectives.h"

namespace stretch::ag {

// Crammer-Singer multi-class hinge.
var multiclass_hinge(context& ctx, const var& logits, std::span<const std::int32_t> labels, std::string name);
// EXACT: 1 - p(y | x) (or -log p) under Gaussian noise of standard deviation options.sigma.
var expected_accuracy(context& ctx, const var& logits, std::span<const std::int32_t> labels,
                      const cpu::exact_options& options, std::string name);

}  // namespace stretch::ag
