#include "kernels/cpu/cross_entropy.h"

#include <cmath>

#include "core/thread_pool.h"

namespace stretch::cpu {

template <class T>
void cross_entropy_forward(const T* logits, const std::int32_t* targets, double* losses, std::uint8_t* hits,
                           std::int64_t n, std::int64_t v) {
    pool().parallel_for(n, [&](std::int64_t i0, std::int64_t i1, int) {
        for (std::int64_t i = i0; i < i1; ++i) {
            const T* z = logits + i * v;
            std::int64_t argmax = 0;
            for (std::int64_t j = 1; j < v; ++j)
                if (z[j] > z[argmax]) argmax = j;
            if (targets[i] < 0) {
                losses[i] = 0;
                if (hits != nullptr) hits[i] = 0;
                continue;
            }
            const double max = double(z[argmax]);
            double sum = 0;
            for (std::int64_t j = 0; j < v; ++j) sum += std::exp(double(z[j]) - max);
            losses[i] = max + std::log(sum) - double(z[targets[i]]);
            if (hits != nullptr) hits[i] = argmax == targets[i] ? 1 : 0;
        }
    });
}

template <class T>
void cross_entropy_backward(const T* logits, const std::int32_t* targets, T* dlogits, std::int64_t n, std::int64_t v,
                            T weight) {
    pool().parallel_for(n, [&](std::int64_t i0, std::int64_t i1, int) {
        for (std::int64_t i = i0; i < i1; ++i) {
            if (targets[i] < 0) continue;
            const T* z = logits + i * v;
            T* dz = dlogits + i * v;
            T max = z[0];
            for (std::int64_t j = 1; j < v; ++j) max = z[j] > max ? z[j] : max;
            double sum = 0;
            for (std::int64_t j = 0; j < v; ++j) sum += std::exp(double(z[j] - max));
            const T inv = T(1.0 / sum);
            for (std::int64_t j = 0; j < v; ++j) dz[j] += weight * std::exp(z[j] - max) * inv;
            dz[targets[i]] -= weight;
        }
    });
}

template void cross_entropy_forward<float>(const float*, const std::int32_t*, double*, std::uint8_t*, std::int64_t,
                                           std::int64_t);
template void cross_entropy_forward<double>(const double*, const std::int32_t*, double*, std::uint8_t*, std::int64_t,
                                            std::int64_t);
template void cross_entropy_backward<float>(const float*, const std::int32_t*, float*, std::int64_t, std::int64_t,
                                            float);
template void cross_entropy_backward<double>(const double*, const std::int32_t*, double*, std::int64_t, std::int64_t,
                                             double);

}  // namespace stretch::cpu
