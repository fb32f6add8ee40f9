#include "kernels/cpu/rope.h"

#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"

namespace stretch::cpu {

std::vector<double> rope_inv_freq(double base, std::int64_t n_rot) {
    STRETCH_ASSERT(n_rot > 0 && n_rot % 2 == 0);
    std::vector<double> inv_freq(static_cast<std::size_t>(n_rot / 2));
    for (std::size_t t = 0; t < inv_freq.size(); ++t) inv_freq[t] = std::pow(base, -2.0 * double(t) / double(n_rot));
    return inv_freq;
}

rope_table make_rope_table(std::span<const double> positions, std::span<const double> inv_freq, double mscale) {
    rope_table table;
    table.n_pos = static_cast<std::int64_t>(positions.size());
    table.n_pairs = static_cast<std::int64_t>(inv_freq.size());
    table.cos.resize(positions.size() * inv_freq.size());
    table.sin.resize(positions.size() * inv_freq.size());
    for (std::size_t p = 0; p < positions.size(); ++p)
        for (std::size_t t = 0; t < inv_freq.size(); ++t) {
            const double angle = positions[p] * inv_freq[t];
            table.cos[p * inv_freq.size() + t] = std::cos(angle) * mscale;
            table.sin[p * inv_freq.size() + t] = std::sin(angle) * mscale;
        }
    return table;
}

template <class T>
void rope_apply(T* x, std::int64_t batch, std::int64_t time, std::int64_t heads, std::int64_t head_dim,
                const rope_table& table, rope_pairing pairing, bool inverse) {
    STRETCH_ASSERT((table.n_pos == time || table.n_pos == batch * time) && 2 * table.n_pairs <= head_dim);
    const bool per_sequence = table.n_pos != time;
    const std::int64_t n_pairs = table.n_pairs;
    const double sign = inverse ? -1.0 : 1.0;
    pool().parallel_for(batch * time, [&](std::int64_t r0, std::int64_t r1, int) {
        for (std::int64_t r = r0; r < r1; ++r) {
            const std::int64_t t = per_sequence ? r : r % time;
            const double* cs = table.cos.data() + t * n_pairs;
            const double* sn = table.sin.data() + t * n_pairs;
            for (std::int64_t h = 0; h < heads; ++h) {
                T* xh = x + (r * heads + h) * head_dim;
                for (std::int64_t p = 0; p < n_pairs; ++p) {
                    const std::int64_t i0 = pairing == rope_pairing::interleaved ? 2 * p : p;
                    const std::int64_t i1 = pairing == rope_pairing::interleaved ? 2 * p + 1 : p + n_pairs;
                    const T c = T(cs[p]);
                    const T s = T(sign * sn[p]);
                    const T a = xh[i0];
                    const T b = xh[i1];
                    xh[i0] = a * c - b * s;
                    xh[i1] = a * s + b * c;
                }
            }
        }
    }, streaming_grain(heads * head_dim));
}

template void rope_apply<float>(float*, std::int64_t, std::int64_t, std::int64_t, std::int64_t, const rope_table&,
                                rope_pairing, bool);
template void rope_apply<double>(double*, std::int64_t, std::int64_t, std::int64_t, std::int64_t, const rope_table&,
                                 rope_pairing, bool);

}  // namespace stretch::cpu
