#include "autograd/tape.h"

#include <cmath>

namespace stretch::ag {

tensor& node::grad_buffer() {
    if (!grad.defined()) grad = tensor(value.shape(), value.type());
    return grad;
}

var make_var(tensor value, std::string name, bool requires_grad) {
    auto n = std::make_shared<node>();
    n->value = std::move(value);
    n->name = std::move(name);
    n->requires_grad = requires_grad;
    return n;
}

void tape::record(var output, std::function<void()> backward) {
    output->requires_grad = true;
    outputs_.push_back(std::move(output));
    backwards_.push_back(std::move(backward));
}

void tape::backward(const var& loss) {
    STRETCH_ASSERT(loss->value.numel() == 1);
    tensor& seed = loss->grad_buffer();
    if (seed.type() == dtype::f32)
        seed.data<float>()[0] = 1.0f;
    else
        seed.data<double>()[0] = 1.0;
    for (auto it = backwards_.rbegin(); it != backwards_.rend(); ++it) (*it)();
}

void tape::clear() {
    outputs_.clear();
    backwards_.clear();
}

bool context::records(std::initializer_list<const var*> inputs) const {
    if (recorder == nullptr) return false;
    for (const var* v : inputs)
        if (v != nullptr && *v && (*v)->requires_grad) return true;
    return false;
}

bool all_finite(const tensor& t) {
    if (t.type() == dtype::f32) {
        const float* p = t.data<float>();
        for (std::int64_t i = 0; i < t.numel(); ++i)
            if (!std::isfinite(p[i])) return false;
    } else {
        const double* p = t.data<double>();
        for (std::int64_t i = 0; i < t.numel(); ++i)
            if (!std::isfinite(p[i])) return false;
    }
    return true;
}

const node* first_non_finite(const tape& t) {
    for (const var& v : t.outputs())
        if (!all_finite(v->value)) return v.get();
    return nullptr;
}

}  // namespace stretch::ag
