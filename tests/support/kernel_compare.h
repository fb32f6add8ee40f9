// Shared pieces of the kernel tests (tests/kernels): f32-exact random inputs, the same values in
// another element type, the error measure against the float64 oracle, and a guard that restores
// the thread count.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "core/thread_pool.h"
#include "kernels/ref/ref.h"

namespace stretch::test {

// shift + scale * N(0, 1), rounded to f32 so the f32 kernel and the f64 oracle see the same inputs.
inline ref::vec random_vec(std::int64_t n, std::uint64_t seed, double scale = 1.0, double shift = 0.0) {
    std::mt19937_64 engine(seed);
    std::normal_distribution<double> normal;
    ref::vec x(static_cast<std::size_t>(n));
    for (double& v : x) v = double(float(shift + scale * normal(engine)));
    return x;
}

template <class T>
std::vector<T> as(const ref::vec& x) {
    return std::vector<T>(x.begin(), x.end());
}

// max |got - want| over the RMS of want: the error relative to the output's scale.
template <class T>
double max_scaled_error(const std::vector<T>& got, const ref::vec& want) {
    EXPECT_EQ(got.size(), want.size());
    double sum_sq = 0, err = 0;
    for (double w : want) sum_sq += w * w;
    for (std::size_t i = 0; i < want.size(); ++i) err = std::max(err, std::abs(double(got[i]) - want[i]));
    return err / std::max(std::sqrt(sum_sq / double(want.size())), 1e-300);
}

// The first near key of each of T_q query rows (query row r at position first_query + r) for a
// two-score split at distance `from` (ReRoPE's: keys with i - j >= from are far).
inline std::vector<std::int64_t> split_at_distance(std::int64_t from, std::int64_t first_query, std::int64_t time_q) {
    std::vector<std::int64_t> first_near;
    for (std::int64_t r = 0; r < time_q; ++r) first_near.push_back(std::max<std::int64_t>(0, first_query + r - from + 1));
    return first_near;
}

// set_threads changes the calling thread's pool: put the count back whatever the test does.
struct thread_count_guard {
    int saved = pool().size();
    ~thread_count_guard() { set_threads(saved); }
};

}  // namespace stretch::test
