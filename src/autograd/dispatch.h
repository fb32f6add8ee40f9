// Runs f(T{}) with T the scalar type of a dtype: how every op picks its f32 or f64 kernel.
#pragma once

#include "core/tensor.h"

namespace stretch::ag {

template <class F>
void dispatch(dtype type, F&& f) {
    if (type == dtype::f32)
        f(float{});
    else
        f(double{});
}

}  // namespace stretch::ag
