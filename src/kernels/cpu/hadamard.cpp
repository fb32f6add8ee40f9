#include "kernels/cpu/hadamard.h"

#include <cmath>

#include "core/error.h"

namespace stretch::cpu {

std::int64_t hadamard_block(std::int64_t head_dim) {
    STRETCH_ASSERT(head_dim > 0);
    return head_dim & -head_dim;  // the lowest set bit
}

template <class T>
void hadamard_rows(T* x, std::int64_t count, std::int64_t n) {
    STRETCH_ASSERT(n > 0 && (n & (n - 1)) == 0);
    const T norm = T(1) / std::sqrt(T(n));
    for (std::int64_t r = 0; r < count; ++r, x += n) {
        // Butterflies of span h: (a, b) -> (a + b, a - b), for h = 1, 2, ..., n / 2 (H_2m's recursion).
        for (std::int64_t h = 1; h < n; h *= 2)
            for (std::int64_t i = 0; i < n; i += 2 * h)
                for (std::int64_t j = i; j < i + h; ++j) {
                    const T a = x[j], b = x[j + h];
                    x[j] = a + b;
                    x[j + h] = a - b;
                }
        for (std::int64_t j = 0; j < n; ++j) x[j] *= norm;
    }
}

template void hadamard_rows<float>(float*, std::int64_t, std::int64_t);
template void hadamard_rows<double>(double*, std::int64_t, std::int64_t);

}  // namespace stretch::cpu
