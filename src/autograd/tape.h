// Reverse-mode automatic differentiation over a tape. The model's forward is written once against
// the ops in autograd/ops.h; with a tape in the context every op records its output node and a
// backward closure, and `tape::backward` replays the closures in reverse. Without a tape (inference)
// nothing is recorded and intermediates are freed as soon as they go out of scope.
// Not a graph compiler: no fusion, no scheduling; each op calls its kernel directly.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace stretch::cpu {
struct quantized_matrix;
}

namespace stretch::ag {

// A value in the computation. `grad` is allocated (zero) the first time a backward writes to it.
struct node {
    tensor value;
    tensor grad;
    std::string name;  // e.g. "blk.3.attn.q": every intermediate is named so it can be found and dumped
    bool requires_grad = false;
    // Inference-only weights left in a GGUF block format (kernels/cpu/quant_matmul.h); `value` is then
    // undefined, and linear and embedding read these instead.
    std::shared_ptr<const cpu::quantized_matrix> quantized;

    tensor& grad_buffer();  // allocates a zero gradient of value's shape and dtype on first use
};

using var = std::shared_ptr<node>;

var make_var(tensor value, std::string name, bool requires_grad = false);

class tape {
public:
    // Called by ops: `output` is kept alive for the backward; `backward` reads output->grad.
    void record(var output, std::function<void()> backward);
    // Seeds d(loss)/d(loss) = 1 and runs every recorded backward in reverse order.
    void backward(const var& loss);
    // Every recorded output, in forward order (what a non-finite check scans).
    const std::vector<var>& outputs() const { return outputs_; }
    void clear();

private:
    std::vector<var> outputs_;
    std::vector<std::function<void()>> backwards_;
};

struct context {
    tape* recorder = nullptr;  // null: inference, nothing is recorded

    // An op records a backward only when it has a tape and one of its inputs needs a gradient.
    bool records(std::initializer_list<const var*> inputs) const;
};

// The first recorded output (in forward order) holding a NaN or Inf, or null if there is none.
const node* first_non_finite(const tape& t);
bool all_finite(const tensor& t);

}  // namespace stretch::ag
