#include "kernels/cpu/chunked_linear_attention.h"

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "core/thread_pool.h"
#include "kernels/cpu/gemm.h"

namespace stretch::cpu {

template <class T>
void chunked_linear_attention_forward(const T* q, const T* k, const T* v, T* out, std::int64_t batch,
                                      std::int64_t time, std::int64_t s, std::int64_t e, std::int64_t chunk) {
    STRETCH_ASSERT(chunk > 0 && s > 0 && e > 0);
    pool().parallel_for(batch, [&](std::int64_t b0, std::int64_t b1, int) {
        std::vector<T> state(static_cast<std::size_t>(s * e));
        for (std::int64_t b = b0; b < b1; ++b) {
            std::fill(state.begin(), state.end(), T(0));
            for (std::int64_t first = 0; first < time; first += chunk) {
                const std::int64_t rows = std::min(chunk, time - first), at = b * time + first;
                T* out_g = out + at * e;
                if (first == 0)
                    std::fill(out_g, out_g + rows * e, T(0));
                else  // out_g = Q_g M_g / (g c)
                    gemm<T>(false, false, rows, e, s, T(1) / T(first), q + at * s, s, state.data(), e, T(0), out_g, e);
                if (first + rows < time)  // M += K_g^T V_g
                    gemm<T>(true, false, s, e, rows, T(1), k + at * s, s, v + at * e, e, T(1), state.data(), e);
            }
        }
    });
}

template <class T>
void chunked_linear_attention_backward(const T* q, const T* k, const T* v, const T* dout, T* dq, T* dk, T* dv,
                                       std::int64_t batch, std::int64_t time, std::int64_t s, std::int64_t e,
                                       std::int64_t chunk) {
    STRETCH_ASSERT(chunk > 0 && s > 0 && e > 0);
    const std::int64_t n_chunks = (time + chunk - 1) / chunk;
    pool().parallel_for(batch, [&](std::int64_t b0, std::int64_t b1, int) {
        std::vector<T> state(static_cast<std::size_t>(s * e));
        for (std::int64_t b = b0; b < b1; ++b) {
            std::fill(state.begin(), state.end(), T(0));  // M_g, as in the forward
            for (std::int64_t first = chunk; first < time; first += chunk) {
                const std::int64_t at = b * time + first, prev = at - chunk;
                gemm<T>(true, false, s, e, chunk, T(1), k + prev * s, s, v + prev * e, e, T(1), state.data(), e);
                // dQ_g += dout_g M_g^T / (g c)
                const std::int64_t rows = std::min(chunk, time - first);
                gemm<T>(false, true, rows, s, e, T(1) / T(first), dout + at * e, e, state.data(), e, T(1), dq + at * s, s);
            }
            std::fill(state.begin(), state.end(), T(0));  // now R_h = sum_{g>h} Q_g^T dout_g / (g c)
            for (std::int64_t g = n_chunks - 1; g >= 0; --g) {
                const std::int64_t first = g * chunk, rows = std::min(chunk, time - first), at = b * time + first;
                gemm<T>(false, true, rows, s, e, T(1), v + at * e, e, state.data(), e, T(1), dk + at * s, s);
                gemm<T>(false, false, rows, e, s, T(1), k + at * s, s, state.data(), e, T(1), dv + at * e, e);
                if (g > 0)
                    gemm<T>(true, false, s, e, rows, T(1) / T(first), q + at * s, s, dout + at * e, e, T(1),
                            state.data(), e);
            }
        }
    });
}

#define STRETCH_INSTANTIATE(T)                                                                                    \
    template void chunked_linear_attention_forward<T>(const T*, const T*, const T*, T*, std::int64_t, std::int64_t, \
                                                      std::int64_t, std::int64_t, std::int64_t);                  \
    template void chunked_linear_attention_backward<T>(const T*, const T*, const T*, const T*, T*, T*, T*,        \
                                                       std::int64_t, std::int64_t, std::int64_t, std::int64_t,    \
                                                       std::int64_t);
STRETCH_INSTANTIATE(float)
STRETCH_INSTANTIATE(double)
#undef STRETCH_INSTANTIATE

}  // namespace stretch::cpu
